/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_fr.c - the fr word lists of the "fake" method: common French given
 * names and surnames, invented place names from two common parts, common
 * street words; see README.md in this folder.
 */
#include "fake_dict.h"

/* clang-format off */
static const char *const fr_first[] = {
	"Agathe", "Alain", "Alice", "André", "Anne", "Antoine", "Arthur",
	"Aurélie", "Baptiste", "Benoît", "Bernard", "Brigitte", "Camille",
	"Catherine", "Céline", "Chloé", "Christine", "Christophe", "Claire",
	"Clément", "Colette", "Daniel", "Didier", "Élodie", "Emma", "Étienne",
	"Françoise", "François", "Gabriel", "Gérard", "Guillaume", "Hélène",
	"Hugo", "Inès", "Isabelle", "Jacques", "Jade", "Jean", "Jeanne",
	"Julie", "Julien", "Juliette", "Laurent", "Léa", "Lina", "Louis",
	"Louise", "Lucas", "Lucie", "Manon", "Margaux", "Marie", "Martine",
	"Mathieu", "Mathilde", "Maxime", "Michel", "Monique", "Nathalie",
	"Nicolas", "Nicole", "Odile", "Olivier", "Pauline", "Philippe",
	"Pierre", "Quentin", "Raphaël", "Rémi", "Romain", "Sandrine",
	"Sébastien", "Sophie", "Stéphane", "Sylvie", "Théo", "Thomas",
	"Valérie", "Vincent", "Yves",
};

static const char *const fr_last[] = {
	"André", "Arnaud", "Aubert", "Barbier", "Benoît", "Bernard",
	"Bertrand", "Blanc", "Blanchard", "Bonnet", "Bourgeois", "Boyer",
	"Brun", "Brunet", "Caron", "Chevalier", "Clément", "Colin", "David",
	"Denis", "Dubois", "Dufour", "Dumas", "Dumont", "Dupont", "Durand",
	"Duval", "Fabre", "Faure", "Fontaine", "Fournier", "Gaillard",
	"Garnier", "Gauthier", "Gautier", "Girard", "Giraud", "Guérin",
	"Henry", "Joly", "Lacroix", "Lambert", "Laurent", "Leclerc",
	"Lecomte", "Lefèvre", "Lefebvre", "Legrand", "Lemaire", "Lemoine",
	"Leroux", "Leroy", "Lucas", "Marchand", "Martin", "Masson",
	"Mathieu", "Mercier", "Meunier", "Michel", "Morel", "Moreau",
	"Morin", "Nicolas", "Noël", "Olivier", "Perrin", "Petit", "Picard",
	"Renard", "Renaud", "Richard", "Rivière", "Robert", "Robin", "Roche",
	"Roger", "Rolland", "Roussel", "Rousseau", "Roux", "Roy", "Simon",
	"Thomas", "Vidal", "Vincent",
};

static const char *const fr_city_a[] = {
	"Beau", "Bel", "Blanc", "Bois", "Champ", "Clair", "Fontaine", "Grand",
	"Haut", "Mont", "Pont", "Pré", "Roche", "Val", "Ville",
};

static const char *const fr_city_b[] = {
	"bourg", "champ", "court", "fleur", "fort", "lieu", "mare", "mont",
	"pré", "roche", "val", "ville",
};

static const char *const fr_street_a[] = {
	"rue", "rue", "rue", "avenue", "boulevard", "place", "impasse",
	"allée", "chemin", "quai",
};

static const char *const fr_street_b[] = {
	"des Acacias", "des Cerisiers", "des Écoles", "des Jardins",
	"des Lilas", "des Peupliers", "des Roses", "des Tilleuls",
	"des Vignes", "du Château", "du Lavoir", "du Marché", "du Moulin",
	"du Pont", "du Port", "de la Fontaine", "de la Forêt", "de la Gare",
	"de la Mairie", "de la Paix", "de la Poste", "de la République",
	"de l'Église", "Principale",
};

static const char *const fr_trades[] = {
	"Conseil", "Logistique", "Transports", "Bâtiment", "Énergie",
	"Informatique", "Distribution", "Services", "Industries",
	"Alimentation", "Médias", "Ingénierie", "Textiles", "Immobilier",
};

static const char *const fr_suffixes[] = {
	"SARL", "SA", "SAS", "EURL", "SNC",
};
/* clang-format on */

const struct fake_dict fake_dict_fr = {
	.first = FAKE_WORDS(fr_first),
	.last = FAKE_WORDS(fr_last),
	.city_a = FAKE_WORDS(fr_city_a),
	.city_b = FAKE_WORDS(fr_city_b),
	.street_a = FAKE_WORDS(fr_street_a),
	.street_b = FAKE_WORDS(fr_street_b),
	.trade = FAKE_WORDS(fr_trades),
	.suffix = FAKE_WORDS(fr_suffixes),
};
