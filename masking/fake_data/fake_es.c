/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_es.c - the es word lists of the "fake" method: common Spanish given
 * names and surnames (a name carries two surnames), invented place names
 * from two common parts, common street words; see README.md in this
 * folder.
 */
#include "fake_dict.h"

/* clang-format off */
static const char *const es_first[] = {
	"Adrián", "Alba", "Alberto", "Alejandro", "Alicia", "Álvaro", "Ana",
	"Andrea", "Andrés", "Ángel", "Antonio", "Beatriz", "Carlos", "Carmen",
	"Clara", "Claudia", "Cristina", "Daniel", "David", "Diego", "Dolores",
	"Elena", "Enrique", "Esther", "Eva", "Fernando", "Francisco",
	"Gonzalo", "Hugo", "Ignacio", "Inés", "Íñigo", "Irene", "Isabel",
	"Iván", "Javier", "Jesús", "Joaquín", "Jorge", "José", "Juan",
	"Julia", "Laura", "Lorena", "Lucía", "Luis", "Manuel", "Marcos",
	"María", "Marina", "Mario", "Marta", "Martina", "Mercedes", "Miguel",
	"Montserrat", "Natalia", "Noelia", "Nuria", "Óscar", "Pablo",
	"Patricia", "Paula", "Pedro", "Pilar", "Rafael", "Ramón", "Raquel",
	"Raúl", "Rocío", "Rosa", "Rubén", "Santiago", "Sara", "Sergio",
	"Silvia", "Sofía", "Sonia", "Teresa", "Víctor",
};

static const char *const es_last[] = {
	"Aguilar", "Alonso", "Álvarez", "Arias", "Benítez", "Blanco", "Bravo",
	"Caballero", "Cabrera", "Calvo", "Campos", "Cano", "Carmona",
	"Carrasco", "Castillo", "Castro", "Cortés", "Crespo", "Cruz",
	"Delgado", "Díaz", "Domínguez", "Durán", "Esteban", "Fernández",
	"Ferrer", "Flores", "Fuentes", "Gallardo", "Gallego", "García",
	"Garrido", "Gil", "Giménez", "Gómez", "González", "Guerrero",
	"Gutiérrez", "Hernández", "Herrera", "Herrero", "Hidalgo", "Ibáñez",
	"Iglesias", "Jiménez", "León", "López", "Lorenzo", "Lozano", "Marín",
	"Márquez", "Martín", "Martínez", "Medina", "Méndez", "Molina",
	"Montero", "Mora", "Morales", "Moreno", "Moya", "Muñoz", "Navarro",
	"Nieto", "Núñez", "Ortega", "Ortiz", "Parra", "Pascual", "Pastor",
	"Peña", "Pérez", "Prieto", "Ramírez", "Ramos", "Reyes", "Rodríguez",
	"Rojas", "Román", "Romero", "Rubio", "Ruiz", "Sáez", "Sánchez",
	"Santana", "Santos", "Sanz", "Serrano", "Soler", "Soto", "Suárez",
	"Torres", "Vargas", "Vázquez", "Vega", "Velasco", "Vicente", "Vidal",
};

static const char *const es_city_a[] = {
	"Villa", "Valde", "Torre", "Fuente", "Monte", "Casas", "Puebla",
	"Castro", "Campo", "Sierra", "Vega", "Peña", "Rivas", "Alba",
};

static const char *const es_city_b[] = {
	"alta", "blanca", "clara", "hermosa", "llana", "mayor", "nueva",
	"real", "rubia", "seca", "verde", "vieja",
};

static const char *const es_street_a[] = {
	"Calle", "Calle", "Calle", "Avenida", "Plaza", "Paseo", "Camino",
	"Ronda", "Travesía",
};

static const char *const es_street_b[] = {
	"del Olmo", "del Sol", "de la Luna", "de la Fuente", "de los Pinos",
	"de las Flores", "del Río", "de la Iglesia", "del Mercado",
	"de la Estación", "del Molino", "de los Almendros", "de la Paz",
	"del Castillo", "de las Huertas", "Mayor", "Real", "Nueva",
	"de la Constitución", "del Puerto",
};

static const char *const es_trades[] = {
	"Consultoría", "Logística", "Transportes", "Construcciones",
	"Energía", "Informática", "Distribuciones", "Servicios", "Industrias",
	"Alimentación", "Medios", "Ingeniería", "Textil", "Inmobiliaria",
};

static const char *const es_suffixes[] = {
	"S.L.", "S.A.", "S.L.U.", "S.Coop.",
};
/* clang-format on */

const struct fake_dict fake_dict_es = {
	.first = FAKE_WORDS(es_first),
	.last = FAKE_WORDS(es_last),
	.city_a = FAKE_WORDS(es_city_a),
	.city_b = FAKE_WORDS(es_city_b),
	.street_a = FAKE_WORDS(es_street_a),
	.street_b = FAKE_WORDS(es_street_b),
	.trade = FAKE_WORDS(es_trades),
	.suffix = FAKE_WORDS(es_suffixes),
};
