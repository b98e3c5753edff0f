/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_de.c - the de word lists of the "fake" method: common German given
 * names and surnames, invented place names from two common parts, common
 * street words; see README.md in this folder.
 */
#include "fake_dict.h"

/* clang-format off */
static const char *const de_first[] = {
	"Alexander", "Andrea", "Andreas", "Anja", "Anna", "Ben", "Bernd",
	"Birgit", "Charlotte", "Christian", "Christina", "Clara", "Daniel",
	"Dieter", "Dirk", "Elias", "Elisabeth", "Emma", "Felix", "Finn",
	"Florian", "Franziska", "Frieda", "Gerhard", "Gisela", "Greta",
	"Günter", "Hannah", "Hans", "Heike", "Heinz", "Helga", "Helmut",
	"Holger", "Horst", "Ida", "Ingrid", "Jan", "Jana", "Johanna", "Jonas",
	"Julia", "Jürgen", "Jutta", "Kai", "Karin", "Karl", "Katharina",
	"Klaus", "Laura", "Lea", "Lena", "Leon", "Luise", "Lukas", "Manfred",
	"Maria", "Marie", "Markus", "Martin", "Matthias", "Maximilian",
	"Melanie", "Mia", "Michael", "Monika", "Moritz", "Nicole", "Nina",
	"Noah", "Paul", "Paula", "Petra", "Peter", "Ralf", "Renate", "Rolf",
	"Sabine", "Sebastian", "Silke", "Sophie", "Stefan", "Stefanie",
	"Susanne", "Sven", "Tanja", "Thomas", "Tim", "Tobias", "Torsten",
	"Ursula", "Ute", "Uwe", "Vera", "Werner", "Wolfgang",
};

static const char *const de_last[] = {
	"Albrecht", "Arnold", "Bauer", "Baumann", "Beck", "Becker", "Berger",
	"Bergmann", "Böhm", "Brandt", "Braun", "Busch", "Dietrich", "Engel",
	"Fischer", "Frank", "Franke", "Friedrich", "Fuchs", "Graf", "Groß",
	"Günther", "Haas", "Hahn", "Hartmann", "Heinrich", "Herrmann",
	"Hoffmann", "Hofmann", "Horn", "Huber", "Jäger", "Jung", "Kaiser",
	"Keller", "Klein", "Koch", "Köhler", "König", "Kraus", "Krause",
	"Krämer", "Krüger", "Kuhn", "Lang", "Lange", "Lehmann", "Lorenz",
	"Ludwig", "Maier", "Mayer", "Meier", "Meyer", "Möller", "Müller",
	"Neumann", "Otto", "Peters", "Pfeiffer", "Pohl", "Richter", "Roth",
	"Sauer", "Schäfer", "Schmid", "Schmidt", "Schmitt", "Schmitz",
	"Schneider", "Scholz", "Schreiber", "Schröder", "Schubert", "Schulte",
	"Schulz", "Schulze", "Schumacher", "Schuster", "Schwarz", "Seidel",
	"Simon", "Sommer", "Stein", "Vogel", "Vogt", "Voigt", "Wagner",
	"Walter", "Weber", "Weiß", "Werner", "Winkler", "Winter", "Wolf",
	"Wolff", "Ziegler", "Zimmermann",
};

static const char *const de_city_a[] = {
	"Ahorn", "Alt", "Birken", "Buchen", "Eichen", "Erlen", "Falken",
	"Fichten", "Grün", "Hasel", "Hohen", "Kiefern", "Klee", "Lerchen",
	"Linden", "Mühl", "Neu", "Rosen", "Sonnen", "Tannen", "Weiden",
	"Wiesen",
};

static const char *const de_city_b[] = {
	"au", "bach", "berg", "brück", "burg", "dorf", "feld", "hagen",
	"hausen", "heim", "rode", "stedt", "tal", "weiler", "wald",
};

static const char *const de_street_a[] = {
	"Ahorn", "Amsel", "Birken", "Blumen", "Buchen", "Dorf",
	"Eichen", "Erlen", "Feld", "Fichten", "Garten", "Hasel", "Heide",
	"Holunder", "Kastanien", "Kirch", "Lerchen", "Linden", "Mühlen",
	"Nelken", "Rosen", "Schul", "Sonnen", "Tannen", "Tulpen", "Wald",
	"Weiden", "Wiesen",
};

static const char *const de_street_b[] = {
	"straße", "weg", "gasse", "allee", "ring", "steig",
};

static const char *const de_trades[] = {
	"Analytik", "Bau", "Beratung", "Elektrotechnik", "Energie",
	"Handel", "Immobilien", "Logistik", "Maschinenbau", "Medien",
	"Software", "Systeme", "Textil", "Transporte", "Versand",
	"Werkzeuge",
};

static const char *const de_suffixes[] = {
	"GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.",
};
/* clang-format on */

const struct fake_dict fake_dict_de = {
	.first = FAKE_WORDS(de_first),
	.last = FAKE_WORDS(de_last),
	.city_a = FAKE_WORDS(de_city_a),
	.city_b = FAKE_WORDS(de_city_b),
	.street_a = FAKE_WORDS(de_street_a),
	.street_b = FAKE_WORDS(de_street_b),
	.trade = FAKE_WORDS(de_trades),
	.suffix = FAKE_WORDS(de_suffixes),
};
