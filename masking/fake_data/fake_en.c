/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_en.c - the en word lists of the "fake" method (the lists of every
 * sandbox before locales existed: their order must not change, or the fake
 * values of existing sandboxes would). Common given names and surnames,
 * invented places and companies; see README.md in this folder.
 */
#include "fake_dict.h"

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

static const char *const fake_company_word_list[] = {
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

const struct fake_words fake_company_words = FAKE_WORDS(fake_company_word_list);

const struct fake_dict fake_dict_en = {
	.first = FAKE_WORDS(fake_first),
	.last = FAKE_WORDS(fake_last),
	.city_a = FAKE_WORDS(fake_cities),
	.city_b = { NULL, 0 },
	.street_a = FAKE_WORDS(fake_streets),
	.street_b = FAKE_WORDS(fake_street_suffixes),
	.trade = FAKE_WORDS(fake_company_trades),
	.suffix = FAKE_WORDS(fake_company_suffixes),
};
