/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake.c - dictionaries and formats of the "fake" masking method.
 *
 * Every word below is a common given name, a common surname, or an invented
 * place or company word; combinations are random, so no real person, place
 * or company is described. Phone numbers use the 555-01xx range reserved for
 * fiction, e-mail addresses the example.* domains reserved by RFC 2606, and
 * SSNs the 9xx area that is never issued.
 */
#include "fake.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* clang-format off */
static const char *const fake_first[] = {
	"Aaron", "Abigail", "Adam", "Adrian", "Aisha", "Alan", "Albert",
	"Alex", "Alice", "Alicia", "Allison", "Amanda", "Amber", "Amelia",
	"Amy", "Andrea", "Andrew", "Angela", "Anna", "Anthony", "Arthur",
	"Ashley", "Audrey", "Austin", "Ava", "Barbara", "Benjamin", "Bernard",
	"Beth", "Beverly", "Blake", "Bonnie", "Brandon", "Brenda", "Brian",
	"Brooke", "Bruce", "Caleb", "Cameron", "Carl", "Carla", "Carmen",
	"Carol", "Caroline", "Carter", "Catherine", "Chad", "Charles",
	"Charlotte", "Chloe", "Christina", "Christopher", "Claire", "Clara",
	"Colin", "Connor", "Craig", "Cynthia", "Daisy", "Dale", "Daniel",
	"Danielle", "David", "Dean", "Deborah", "Dennis", "Derek", "Diana",
	"Diane", "Dominic", "Donald", "Donna", "Dorothy", "Douglas", "Dylan",
	"Edith", "Edward", "Eileen", "Elaine", "Eleanor", "Elena", "Eli",
	"Elijah", "Elise", "Ella", "Ellen", "Emily", "Emma", "Eric", "Erin",
	"Ethan", "Eva", "Evelyn", "Faith", "Felix", "Fiona", "Frances",
	"Frank", "Gabriel", "Gail", "Gary", "Gavin", "George", "Gerald",
	"Gina", "Gloria", "Grace", "Graham", "Grant", "Gregory", "Hannah",
	"Harold", "Harper", "Harry", "Hazel", "Heather", "Helen", "Henry",
	"Holly", "Hugo", "Ian", "Irene", "Isaac", "Isabel", "Ivan", "Jack",
	"Jacob", "Jade", "James", "Jane", "Janet", "Jasmine", "Jason", "Jean",
	"Jeffrey", "Jenna", "Jennifer", "Jeremy", "Jesse", "Jessica", "Joan",
	"Joel", "John", "Jonathan", "Jordan", "Joseph", "Joyce", "Judith",
	"Julia", "Julian", "Justin", "Karen", "Katherine", "Keith", "Kelly",
	"Kenneth", "Kevin", "Kyle", "Laura", "Lauren", "Lawrence", "Leah",
	"Leo", "Leonard", "Lily", "Linda", "Lisa", "Logan", "Louis", "Lucas",
	"Lucy", "Luke", "Lydia", "Madeline", "Maria", "Marcus", "Margaret",
	"Mark", "Martha", "Martin", "Mary", "Mason", "Matthew", "Megan",
	"Melissa", "Mia", "Michael", "Michelle", "Miles", "Miriam", "Molly",
	"Monica", "Nancy", "Naomi", "Nathan", "Neil", "Nicholas", "Nicole",
	"Nina", "Noah", "Nora", "Oliver", "Olivia", "Oscar", "Owen", "Pamela",
	"Patricia", "Patrick", "Paul", "Pauline", "Peter", "Philip", "Phoebe",
	"Quinn", "Rachel", "Ralph", "Raymond", "Rebecca", "Richard", "Robert",
	"Robin", "Rose", "Ruby", "Russell", "Ruth", "Ryan", "Samuel",
	"Sandra", "Sarah", "Scott", "Sean", "Sharon", "Simon", "Sofia",
	"Sophie", "Stella", "Stephen", "Steven", "Susan", "Sylvia", "Tara",
	"Teresa", "Theodore", "Thomas", "Timothy", "Tina", "Tyler", "Valerie",
	"Vanessa", "Victor", "Victoria", "Vincent", "Violet", "Walter",
	"Wanda", "Wayne", "William", "Xavier", "Yvonne", "Zachary", "Zoe",
};

static const char *const fake_last[] = {
	"Abbott", "Adams", "Alvarez", "Anderson", "Armstrong", "Atkins",
	"Bailey", "Baker", "Baldwin", "Banks", "Barker", "Barnes", "Barrett",
	"Bates", "Bell", "Bennett", "Berry", "Bishop", "Black", "Blair",
	"Bowen", "Boyd", "Bradley", "Brennan", "Brooks", "Brown", "Bryant",
	"Burke", "Burns", "Butler", "Byrd", "Caldwell", "Campbell",
	"Carpenter", "Carr", "Carroll", "Carter", "Castillo", "Chambers",
	"Chapman", "Chen", "Clark", "Clarke", "Cole", "Coleman", "Collins",
	"Cook", "Cooper", "Cox", "Crawford", "Cross", "Cruz", "Cunningham",
	"Curtis", "Daniels", "Davidson", "Davies", "Davis", "Dawson", "Day",
	"Dean", "Delgado", "Diaz", "Dixon", "Douglas", "Doyle", "Duncan",
	"Dunn", "Edwards", "Elliott", "Ellis", "Evans", "Farmer", "Ferguson",
	"Fernandez", "Fields", "Fisher", "Fleming", "Fletcher", "Flores",
	"Ford", "Foster", "Fowler", "Fox", "Francis", "Franklin", "Fraser",
	"Freeman", "Fuller", "Garcia", "Gardner", "Garner", "Gibson",
	"Gilbert", "Gomez", "Gonzalez", "Goodwin", "Gordon", "Graham",
	"Grant", "Gray", "Green", "Greene", "Griffin", "Hale", "Hall",
	"Hamilton", "Hansen", "Hardy", "Harper", "Harris", "Harrison", "Hart",
	"Harvey", "Hawkins", "Hayes", "Henderson", "Henry", "Hicks", "Hill",
	"Hoffman", "Holland", "Holmes", "Hopkins", "Howard", "Hudson",
	"Hughes", "Hunt", "Hunter", "Jackson", "James", "Jenkins", "Jensen",
	"Johnson", "Johnston", "Jones", "Jordan", "Kane", "Keller", "Kelly",
	"Kennedy", "Kim", "King", "Knight", "Lambert", "Lane", "Larson",
	"Lawrence", "Lawson", "Lee", "Lewis", "Lindqvist", "Little", "Long",
	"Lopez", "Lowe", "Lynch", "Marsh", "Marshall", "Martin", "Martinez",
	"Mason", "Matthews", "Maxwell", "Meyer", "Miller", "Mills",
	"Mitchell", "Moore", "Morales", "Moreno", "Morgan", "Morris",
	"Morrison", "Murphy", "Murray", "Myers", "Nash", "Nelson", "Newman",
	"Nguyen", "Nichols", "Norris", "Novak", "Oliver", "Olsen", "Ortiz",
	"Owens", "Palmer", "Parker", "Patel", "Payne", "Pearson", "Perez",
	"Perry", "Peters", "Phillips", "Pierce", "Porter", "Powell", "Price",
	"Quinn", "Ramirez", "Ramos", "Reed", "Reid", "Reyes", "Reynolds",
	"Rhodes", "Rice", "Richards", "Riley", "Rivera", "Roberts",
	"Robinson", "Rogers", "Rose", "Ross", "Russell", "Ryan", "Sanders",
	"Santos", "Schmidt", "Scott", "Shaw", "Silva", "Simmons", "Simpson",
	"Sims", "Smith", "Snyder", "Spencer", "Stanley", "Stephens",
	"Stevens", "Stewart", "Stone", "Sullivan", "Sutton", "Taylor",
	"Thomas", "Thompson", "Torres", "Tucker", "Turner", "Vasquez",
	"Wagner", "Walker", "Wallace", "Walsh", "Ward", "Warren", "Watson",
	"Weaver", "Webb", "Wells", "West", "Wheeler", "White", "Wilkins",
	"Williams", "Willis", "Wilson", "Wood", "Woods", "Wright", "Young",
};

static const char *const fake_cities[] = {
	"Alderford", "Alderview", "Ambervale", "Ashdale", "Ashwood",
	"Aspenhaven", "Aspenholt", "Aspenmere", "Baydale", "Bayhaven",
	"Bayholt", "Baywood", "Beechford", "Beechgate", "Beechmere",
	"Beechwood", "Birchbrook", "Birchhaven", "Birchmoor", "Birchport",
	"Birchview", "Blackmoor", "Blackview", "Blackwick", "Blueholt",
	"Bluemere", "Bluewick", "Brambleholt", "Bramblehurst", "Brambleview",
	"Briarvale", "Clearmere", "Cloverbury", "Cloverford", "Coppergate",
	"Elmmere", "Fairford", "Fairton", "Fairview", "Ferndale", "Fernridge",
	"Glenford", "Goldport", "Goldvale", "Greengate", "Greenport",
	"Greenridge", "Hazelbrook", "Hazelfield", "Hazelmere", "Hazelmoor",
	"Hollybury", "Hollyridge", "Hollywood", "Ironbury", "Ironford",
	"Irongate", "Ironwood", "Ivybury", "Ivymoor", "Ivyton", "Ivywood",
	"Junipergate", "Larkvale", "Larkview", "Larkwood", "Maplefield",
	"Maplemere", "Marblebury", "Marbledale", "Marblewood", "Meadowhaven",
	"Millview", "Mossfield", "Northdale", "Northgate", "Oakbury",
	"Oakfield", "Oakford", "Oakmere", "Oakmoor", "Oakridge",
	"Orchardbury", "Orchardgate", "Orchardvale", "Pinebury", "Pineview",
	"Quarrybury", "Quarryfield", "Quarryhaven", "Quarryridge",
	"Ravenridge", "Redvale", "Riverdale", "Riverholt", "Riverport",
	"Sagedale", "Sageholt", "Sunmoor", "Sunwood",
};

static const char *const fake_company_words[] = {
	"Apex", "Arbor", "Atlas", "Aurora", "Beacon", "Birch", "Bluebird",
	"Bold", "Bright", "Brook", "Canyon", "Cascade", "Cedar", "Cinder",
	"Cobalt", "Comet", "Copper", "Coral", "Crest", "Crystal", "Delta",
	"Drift", "Eagle", "Echo", "Ember", "Evergreen", "Falcon", "Fern",
	"Fieldstone", "Flint", "Forge", "Foxglove", "Frontier", "Galaxy",
	"Garnet", "Glacier", "Golden", "Granite", "Harbor", "Harvest", "Hawk",
	"Horizon", "Indigo", "Ironwood", "Ivory", "Jade", "Juniper",
	"Keystone", "Lantern", "Laurel", "Legacy", "Lighthouse", "Linden",
	"Lunar", "Maple", "Marble", "Meadow", "Meridian", "Mesa", "Monarch",
	"Nimbus", "Noble", "Northwind", "Nova", "Oakridge", "Ocean", "Onyx",
	"Orchard", "Orbit", "Pacific", "Peak", "Pebble", "Pinecone",
	"Pioneer", "Pixel", "Prairie", "Prism", "Quarry", "Quartz", "Radiant",
	"Raven", "Redwood", "Ridge", "Riverbend", "Sable", "Sage", "Sierra",
	"Silverline", "Slate", "Solar", "Spark", "Spruce", "Stonegate",
	"Summit", "Swift", "Thistle", "Tide", "Timber", "Trail", "Union",
	"Vertex", "Vista", "Willow", "Zenith",
};

static const char *const fake_company_trades[] = {
	"Analytics", "Systems", "Labs", "Logistics", "Foods", "Holdings",
	"Partners", "Works", "Dynamics", "Solutions", "Media", "Health",
	"Energy", "Capital", "Supply", "Studios", "Networks", "Robotics",
	"Outfitters", "Consulting", "Textiles", "Freight", "Instruments",
	"Software",
};

static const char *const fake_company_suffixes[] = {
	"Inc", "LLC", "Ltd", "Co", "Group",
};

static const char *const fake_streets[] = {
	"Oak", "Maple", "Cedar", "Pine", "Elm", "Birch", "Willow", "Walnut",
	"Chestnut", "Spruce", "Aspen", "Hickory", "Laurel", "Magnolia",
	"Juniper", "Sycamore", "Poplar", "Alder", "Hawthorn", "Linden",
	"Meadow", "Orchard", "River", "Lake", "Hill", "Valley", "Forest",
	"Park", "Garden", "Spring", "Sunset", "Highland", "Ridge", "Church",
	"Mill", "Market", "Bridge", "School", "Station", "Harbor", "Bay",
	"Cherry", "Rose", "Ivy", "Fox", "Heron", "Sparrow", "Lark", "Quail",
	"Robin",
};

static const char *const fake_street_suffixes[] = {
	"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Way",
	"Boulevard", "Terrace",
};

/* clang-format on */

static const char *const fake_email_domains[] = {
	"example.com",
	"example.net",
	"example.org",
};

static const char *const fake_kind_names[MSK_FAKE_KIND_COUNT] = {
	[MSK_FAKE_NAME] = "name",
	[MSK_FAKE_FIRST_NAME] = "first_name",
	[MSK_FAKE_LAST_NAME] = "last_name",
	[MSK_FAKE_EMAIL] = "email",
	[MSK_FAKE_PHONE] = "phone",
	[MSK_FAKE_CITY] = "city",
	[MSK_FAKE_COMPANY] = "company",
	[MSK_FAKE_ADDRESS] = "address",
	[MSK_FAKE_SSN] = "ssn",
};

/*
 * Fixed seed offsets, so that the parts of different kinds agree for the
 * same value (see fake.h).
 */
enum fake_slot {
	FAKE_SLOT_FIRST = 0,
	FAKE_SLOT_LAST = 4,
	FAKE_SLOT_WORD = 8,
	FAKE_SLOT_TRADE = 12,
	FAKE_SLOT_SUFFIX = 16,
	FAKE_SLOT_NUMBER = 20,
	FAKE_SLOT_STREET = 24,
	FAKE_SLOT_EXTRA = 28,
};

static uint32_t fake_u32(const uint8_t *seed, enum fake_slot slot)
{
	const uint8_t *s = seed + slot;

	return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
	       (uint32_t)s[3] << 24;
}

/* A word of a dictionary; modulo bias is irrelevant for fake data. */
#define FAKE_PICK(dict, seed, slot)                                            \
	((dict)[fake_u32(seed, slot) % SPOT_ARRAY_SIZE(dict)])

static int fake_lower(struct spot_buf *out, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++)
		rc = spot_buf_putc(out, (uint8_t)tolower((unsigned char)*s));
	return rc;
}

static int fake_email(const uint8_t *seed, struct spot_buf *out)
{
	int rc;

	rc = fake_lower(out, FAKE_PICK(fake_first, seed, FAKE_SLOT_FIRST));
	if (!rc)
		rc = spot_buf_putc(out, '.');
	if (!rc)
		rc = fake_lower(out,
				FAKE_PICK(fake_last, seed, FAKE_SLOT_LAST));
	if (!rc)
		rc = spot_buf_printf(
			out, "%02u@%s", fake_u32(seed, FAKE_SLOT_NUMBER) % 100,
			FAKE_PICK(fake_email_domains, seed, FAKE_SLOT_EXTRA));
	return rc;
}

int msk_fake_write(enum msk_fake_kind kind,
		   const uint8_t seed[MSK_FAKE_SEED_LEN], struct spot_buf *out)
{
	const char *first = FAKE_PICK(fake_first, seed, FAKE_SLOT_FIRST);
	const char *last = FAKE_PICK(fake_last, seed, FAKE_SLOT_LAST);
	uint32_t num = fake_u32(seed, FAKE_SLOT_NUMBER);
	uint32_t extra = fake_u32(seed, FAKE_SLOT_EXTRA);

	switch (kind) {
	case MSK_FAKE_NAME:
		return spot_buf_printf(out, "%s %s", first, last);
	case MSK_FAKE_FIRST_NAME:
		return spot_buf_printf(out, "%s", first);
	case MSK_FAKE_LAST_NAME:
		return spot_buf_printf(out, "%s", last);
	case MSK_FAKE_EMAIL:
		return fake_email(seed, out);
	case MSK_FAKE_PHONE:
		/* Area code 200..999; 555-0100..0199 is reserved for fiction. */
		return spot_buf_printf(out, "(%03u) 555-01%02u",
				       200 + num % 800, extra % 100);
	case MSK_FAKE_CITY:
		return spot_buf_printf(
			out, "%s",
			FAKE_PICK(fake_cities, seed, FAKE_SLOT_WORD));
	case MSK_FAKE_COMPANY:
		return spot_buf_printf(
			out, "%s %s %s",
			FAKE_PICK(fake_company_words, seed, FAKE_SLOT_WORD),
			FAKE_PICK(fake_company_trades, seed, FAKE_SLOT_TRADE),
			FAKE_PICK(fake_company_suffixes, seed,
				  FAKE_SLOT_SUFFIX));
	case MSK_FAKE_ADDRESS:
		return spot_buf_printf(
			out, "%u %s %s", 1 + num % 9999,
			FAKE_PICK(fake_streets, seed, FAKE_SLOT_STREET),
			FAKE_PICK(fake_street_suffixes, seed,
				  FAKE_SLOT_SUFFIX));
	case MSK_FAKE_SSN:
		/* Area 900..999 is never issued; group and serial non-zero. */
		return spot_buf_printf(
			out, "9%02u-%02u-%04u", num % 100, 1 + extra % 99,
			1 + fake_u32(seed, FAKE_SLOT_STREET) % 9999);
	case MSK_FAKE_KIND_COUNT:
		break;
	}
	return -EINVAL;
}

int msk_fake_kind_parse(const char *name, enum msk_fake_kind *out)
{
	size_t i;

	for (i = 0; i < SPOT_ARRAY_SIZE(fake_kind_names); i++) {
		if (strcmp(name, fake_kind_names[i]) == 0) {
			*out = (enum msk_fake_kind)i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *msk_fake_kind_name(enum msk_fake_kind kind)
{
	if ((unsigned)kind >= SPOT_ARRAY_SIZE(fake_kind_names))
		return "unknown";
	return fake_kind_names[kind];
}
