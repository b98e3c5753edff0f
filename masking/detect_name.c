/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * detect_name.c - what a column's name says it holds, in English, German,
 * French and Spanish (`spotfs scan`, detect.h).
 */
#include "detect_i.h"

#include <string.h>

#define DET_WORDS 16
#define DET_WORD_LEN 32
#define DET_JOINED (DET_WORDS * DET_WORD_LEN)

struct det_words {
	char w[DET_WORDS][DET_WORD_LEN];
	size_t n;
	char joined[DET_JOINED]; /* the words without separators */
};

/*
 * The ASCII letters a UTF-8 letter of Latin-1 folds to ("é" -> "e", "ß" ->
 * "ss"), or NULL for anything else (a separator). c1 follows 0xC3.
 */
static const char *det_fold_c3(uint8_t c1)
{
	static const char *const map[64] = {
		"a",  "a", "a", "a", "a", "a", "ae", "c",  /* 80-87 */
		"e",  "e", "e", "e", "i", "i", "i",  "i",  /* 88-8f */
		NULL, "n", "o", "o", "o", "o", "o",  NULL, /* 90-97 */
		"o",  "u", "u", "u", "u", "y", NULL, "ss", /* 98-9f */
		"a",  "a", "a", "a", "a", "a", "ae", "c",  /* a0-a7 */
		"e",  "e", "e", "e", "i", "i", "i",  "i",  /* a8-af */
		NULL, "n", "o", "o", "o", "o", "o",  NULL, /* b0-b7 */
		"o",  "u", "u", "u", "u", "y", NULL, "y",  /* b8-bf */
	};

	return c1 >= 0x80 && c1 <= 0xbf ? map[c1 - 0x80] : NULL;
}

/*
 * The ASCII letter or digit a fullwidth one (U+FF10..U+FF19, U+FF21..U+FF3A,
 * U+FF41..U+FF5A: "ｅｍａｉｌ") at p (3 bytes, 0xEF first) reads as, or 0.
 */
static char det_fullwidth(const uint8_t *p)
{
	unsigned cp;

	if ((p[1] != 0xbc && p[1] != 0xbd) || (p[2] & 0xc0) != 0x80)
		return 0;
	cp = 0xf000u | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	if ((cp >= 0xff10 && cp <= 0xff19) || (cp >= 0xff21 && cp <= 0xff3a) ||
	    (cp >= 0xff41 && cp <= 0xff5a))
		return (char)(cp - 0xff01 + 0x21);
	return 0;
}

static void det_word_end(struct det_words *w, size_t *len)
{
	if (!*len || w->n == DET_WORDS)
		return;
	w->w[w->n][*len] = 0;
	w->n++;
	*len = 0;
}

/*
 * Split a name into lower-case ASCII words: separators (anything not a
 * letter or digit) and camelCase end words. Fullwidth letters and digits
 * read as ASCII ones. With fold, Latin-1 letters written in UTF-8 fold to
 * ASCII; without, they separate words (as `spotfs check` reads names).
 */
static void det_split(const char *name, size_t len, bool fold,
		      struct det_words *w)
{
	size_t wl = 0, jl = 0;
	char prev = 0;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < len && w->n < DET_WORDS; i++) {
		uint8_t c = (uint8_t)name[i];
		const char *f = NULL;
		char one[2] = { 0, 0 };

		if (fold && c == 0xc3 && i + 1 < len &&
		    (f = det_fold_c3((uint8_t)name[i + 1])))
			i++;
		else if (c == 0xef && len - i > 2 &&
			 (one[0] = det_fullwidth((const uint8_t *)name + i)))
			f = one, i += 2;
		else if (c < 0x80 && (det_lower((char)c) ||
				      det_upper((char)c) || det_digit(c)))
			f = one, one[0] = (char)c;
		if (!f) {
			det_word_end(w, &wl);
			prev = 0;
			continue;
		}
		if (det_upper(f[0]) && det_lower(prev))
			det_word_end(w, &wl);
		prev = f[0];
		for (; *f && w->n < DET_WORDS; f++) {
			char l = det_upper(*f) ? (char)(*f - 'A' + 'a') : *f;

			if (wl < DET_WORD_LEN - 1)
				w->w[w->n][wl++] = l;
			if (jl < DET_JOINED - 1)
				w->joined[jl++] = l;
		}
	}
	det_word_end(w, &wl);
	w->joined[jl] = 0;
}

static bool det_has_word(const struct det_words *w, const char *word)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->w[i], word))
			return true;
	return !strcmp(w->joined, word);
}

enum det_match {
	DET_EXACT, /* a word, or the whole name, is the entry */
	DET_SUB,   /* the name without separators contains the entry */
};

struct det_entry {
	const char *word;
	enum det_kind kind;
	const char *lang;
	enum det_match match;
};

/* Most specific first: the first entry that matches wins. */
static const struct det_entry det_dict[] = {
	{ "password", DET_SECRET, "en", DET_SUB },
	{ "passwd", DET_SECRET, "en", DET_SUB },
	{ "pwd", DET_SECRET, "en", DET_EXACT },
	{ "secret", DET_SECRET, "en", DET_EXACT },
	{ "token", DET_SECRET, "en", DET_EXACT },
	{ "apikey", DET_SECRET, "en", DET_SUB },
	{ "pin", DET_SECRET, "en", DET_EXACT },
	{ "passwort", DET_SECRET, "de", DET_SUB },
	{ "kennwort", DET_SECRET, "de", DET_SUB },
	{ "motdepasse", DET_SECRET, "fr", DET_SUB },
	{ "contrasena", DET_SECRET, "es", DET_SUB },
	{ "mail", DET_EMAIL, "*", DET_SUB },
	{ "courriel", DET_EMAIL, "fr", DET_SUB },
	{ "correo", DET_EMAIL, "es", DET_SUB },
	{ "dob", DET_BIRTH, "en", DET_EXACT },
	{ "birth", DET_BIRTH, "en", DET_SUB },
	{ "bday", DET_BIRTH, "en", DET_SUB },
	{ "bdate", DET_BIRTH, "en", DET_EXACT },
	{ "born", DET_BIRTH, "en", DET_EXACT },
	{ "yob", DET_BIRTH, "en", DET_EXACT },
	{ "geburt", DET_BIRTH, "de", DET_SUB },
	{ "gebdat", DET_BIRTH, "de", DET_SUB },
	{ "geboren", DET_BIRTH, "de", DET_SUB },
	{ "geb", DET_BIRTH, "de", DET_EXACT },
	{ "gebjahr", DET_BIRTH, "de", DET_SUB },
	{ "naissance", DET_BIRTH, "fr", DET_SUB },
	{ "datenaiss", DET_BIRTH, "fr", DET_SUB },
	{ "naiss", DET_BIRTH, "fr", DET_EXACT },
	{ "ddn", DET_BIRTH, "fr", DET_EXACT },
	{ "nacimiento", DET_BIRTH, "es", DET_SUB },
	{ "fechanac", DET_BIRTH, "es", DET_SUB },
	{ "fecnac", DET_BIRTH, "es", DET_SUB },
	{ "fnac", DET_BIRTH, "es", DET_EXACT },
	{ "nacido", DET_BIRTH, "es", DET_SUB },
	{ "ssn", DET_SSN, "en", DET_EXACT },
	{ "socialsecurity", DET_SSN, "en", DET_SUB },
	{ "sozialversicherung", DET_SSN, "de", DET_SUB },
	{ "svnr", DET_SSN, "de", DET_EXACT },
	{ "securitesociale", DET_SSN, "fr", DET_SUB },
	{ "nir", DET_SSN, "fr", DET_EXACT },
	{ "seguridadsocial", DET_SSN, "es", DET_SUB },
	{ "ahv", DET_SSN, "de", DET_EXACT },
	{ "nss", DET_SSN, "es", DET_EXACT },
	{ "passport", DET_NATIONAL_ID, "en", DET_SUB },
	{ "nationalid", DET_NATIONAL_ID, "en", DET_SUB },
	{ "idcard", DET_NATIONAL_ID, "en", DET_SUB },
	{ "taxid", DET_NATIONAL_ID, "en", DET_SUB },
	{ "driverslicense", DET_NATIONAL_ID, "en", DET_SUB },
	{ "reisepass", DET_NATIONAL_ID, "de", DET_SUB },
	{ "ausweis", DET_NATIONAL_ID, "de", DET_SUB },
	{ "steuerid", DET_NATIONAL_ID, "de", DET_SUB },
	{ "steuernummer", DET_NATIONAL_ID, "de", DET_SUB },
	{ "passeport", DET_NATIONAL_ID, "fr", DET_SUB },
	{ "cni", DET_NATIONAL_ID, "fr", DET_EXACT },
	{ "pasaporte", DET_NATIONAL_ID, "es", DET_SUB },
	{ "dni", DET_NATIONAL_ID, "es", DET_EXACT },
	{ "nie", DET_NATIONAL_ID, "es", DET_EXACT },
	{ "nif", DET_NATIONAL_ID, "es", DET_EXACT },
	{ "iban", DET_IBAN, "*", DET_SUB },
	{ "bankaccount", DET_IBAN, "en", DET_SUB },
	{ "accountnumber", DET_IBAN, "en", DET_SUB },
	{ "kontonummer", DET_IBAN, "de", DET_SUB },
	{ "rib", DET_IBAN, "fr", DET_EXACT },
	{ "kontonr", DET_IBAN, "de", DET_SUB },
	{ "bankverbindung", DET_IBAN, "de", DET_SUB },
	{ "numerodecompte", DET_IBAN, "fr", DET_SUB },
	{ "comptebancaire", DET_IBAN, "fr", DET_SUB },
	{ "cuenta", DET_IBAN, "es", DET_SUB },
	{ "card", DET_CARD, "en", DET_SUB },
	{ "cc", DET_CARD, "en", DET_EXACT },
	{ "ccnum", DET_CARD, "en", DET_SUB },
	{ "kreditkarte", DET_CARD, "de", DET_SUB },
	{ "kartennummer", DET_CARD, "de", DET_SUB },
	{ "carte", DET_CARD, "fr", DET_SUB },
	{ "tarjeta", DET_CARD, "es", DET_SUB },
	{ "phone", DET_PHONE, "en", DET_SUB },
	{ "tel", DET_PHONE, "*", DET_EXACT },
	{ "mobil", DET_PHONE, "*", DET_SUB },
	{ "cell", DET_PHONE, "en", DET_EXACT },
	{ "fax", DET_PHONE, "*", DET_EXACT },
	{ "telefon", DET_PHONE, "de", DET_SUB },
	{ "handy", DET_PHONE, "de", DET_EXACT },
	{ "rufnummer", DET_PHONE, "de", DET_SUB },
	{ "portable", DET_PHONE, "fr", DET_EXACT },
	{ "telefono", DET_PHONE, "es", DET_SUB },
	{ "movil", DET_PHONE, "es", DET_SUB },
	{ "celular", DET_PHONE, "es", DET_EXACT },
	{ "tfno", DET_PHONE, "es", DET_EXACT },
	{ "telf", DET_PHONE, "es", DET_EXACT },
	{ "tlf", DET_PHONE, "*", DET_EXACT },
	{ "gsm", DET_PHONE, "fr", DET_EXACT },
	{ "ip", DET_IP, "*", DET_EXACT },
	{ "ipaddr", DET_IP, "en", DET_SUB },
	{ "ipv4", DET_IP, "*", DET_EXACT },
	{ "ipv6", DET_IP, "*", DET_EXACT },
	{ "remoteaddr", DET_IP, "en", DET_SUB },
	{ "firstname", DET_FIRST_NAME, "en", DET_SUB },
	{ "givenname", DET_FIRST_NAME, "en", DET_SUB },
	{ "forename", DET_FIRST_NAME, "en", DET_SUB },
	{ "vorname", DET_FIRST_NAME, "de", DET_SUB },
	{ "prenom", DET_FIRST_NAME, "fr", DET_SUB },
	{ "fname", DET_FIRST_NAME, "en", DET_EXACT },
	{ "primernombre", DET_FIRST_NAME, "es", DET_SUB },
	{ "lastname", DET_LAST_NAME, "en", DET_SUB },
	{ "surname", DET_LAST_NAME, "en", DET_SUB },
	{ "familyname", DET_LAST_NAME, "en", DET_SUB },
	{ "nachname", DET_LAST_NAME, "de", DET_SUB },
	{ "familienname", DET_LAST_NAME, "de", DET_SUB },
	{ "nomdefamille", DET_LAST_NAME, "fr", DET_SUB },
	{ "apellido", DET_LAST_NAME, "es", DET_SUB },
	{ "lname", DET_LAST_NAME, "en", DET_EXACT },
	{ "fullnm", DET_NAME, "en", DET_SUB },
	{ "fullname", DET_NAME, "en", DET_SUB },
	{ "nomcomplet", DET_NAME, "fr", DET_SUB },
	{ "nombrecompleto", DET_NAME, "es", DET_SUB },
	{ "vollername", DET_NAME, "de", DET_SUB },
	{ "username", DET_USERNAME, "en", DET_SUB },
	{ "login", DET_USERNAME, "en", DET_EXACT },
	{ "nickname", DET_USERNAME, "en", DET_SUB },
	{ "benutzer", DET_USERNAME, "de", DET_SUB },
	{ "utilisateur", DET_USERNAME, "fr", DET_SUB },
	{ "usuario", DET_USERNAME, "es", DET_SUB },
	{ "address", DET_ADDRESS, "en", DET_SUB },
	{ "street", DET_ADDRESS, "en", DET_SUB },
	{ "addr", DET_ADDRESS, "en", DET_EXACT },
	{ "adr", DET_ADDRESS, "*", DET_EXACT },
	{ "domicile", DET_ADDRESS, "fr", DET_SUB },
	{ "adresse", DET_ADDRESS, "*", DET_SUB },
	{ "strasse", DET_ADDRESS, "de", DET_SUB },
	{ "anschrift", DET_ADDRESS, "de", DET_SUB },
	{ "rue", DET_ADDRESS, "fr", DET_EXACT },
	{ "direccion", DET_ADDRESS, "es", DET_SUB },
	{ "calle", DET_ADDRESS, "es", DET_EXACT },
	{ "domicilio", DET_ADDRESS, "es", DET_SUB },
	{ "zip", DET_POSTCODE, "en", DET_EXACT },
	{ "zipcode", DET_POSTCODE, "en", DET_SUB },
	{ "postcode", DET_POSTCODE, "en", DET_SUB },
	{ "postalcode", DET_POSTCODE, "en", DET_SUB },
	{ "plz", DET_POSTCODE, "de", DET_EXACT },
	{ "postleitzahl", DET_POSTCODE, "de", DET_SUB },
	{ "codepostal", DET_POSTCODE, "fr", DET_SUB },
	{ "codpostal", DET_POSTCODE, "*", DET_SUB },
	{ "cpostal", DET_POSTCODE, "*", DET_SUB },
	{ "npa", DET_POSTCODE, "fr", DET_EXACT },
	{ "cp", DET_POSTCODE, "*", DET_EXACT },
	{ "codigopostal", DET_POSTCODE, "es", DET_SUB },
	{ "city", DET_CITY, "en", DET_EXACT },
	{ "town", DET_CITY, "en", DET_EXACT },
	{ "stadt", DET_CITY, "de", DET_EXACT },
	{ "ort", DET_CITY, "de", DET_EXACT },
	{ "wohnort", DET_CITY, "de", DET_SUB },
	{ "ville", DET_CITY, "fr", DET_EXACT },
	{ "ciudad", DET_CITY, "es", DET_EXACT },
	{ "localidad", DET_CITY, "es", DET_EXACT },
	{ "localite", DET_CITY, "fr", DET_EXACT },
	{ "poblacion", DET_CITY, "es", DET_EXACT },
	{ "municipio", DET_CITY, "es", DET_EXACT },
	{ "gemeinde", DET_CITY, "de", DET_EXACT },
	{ "gender", DET_GENDER, "en", DET_EXACT },
	{ "sex", DET_GENDER, "en", DET_EXACT },
	{ "geschlecht", DET_GENDER, "de", DET_EXACT },
	{ "geschl", DET_GENDER, "de", DET_EXACT },
	{ "sexe", DET_GENDER, "fr", DET_EXACT },
	{ "genre", DET_GENDER, "fr", DET_EXACT },
	{ "sexo", DET_GENDER, "es", DET_EXACT },
	{ "genero", DET_GENDER, "es", DET_EXACT },
	{ "age", DET_AGE, "*", DET_EXACT },
	{ "alter", DET_AGE, "de", DET_EXACT },
	{ "edad", DET_AGE, "es", DET_EXACT },
};

/* A name word ("name", "nom", "nombre") and what else it names. */
static const char *const det_name_words[][2] = {
	{ "name", "en" },
	{ "nom", "fr" },
	{ "nombre", "es" },
	{ "nm", "en" },
};

/*
 * Words for a person (a customer, a patient, an account holder): the
 * column holds a name or an identifier of one, unless a thing or company
 * word says otherwise ("customer_type", "owner_company").
 */
static const char *const det_person_words[][2] = {
	{ "customer", "en" },	  { "client", "*" },
	{ "patient", "*" },	  { "holder", "en" },
	{ "owner", "en" },	  { "person", "*" },
	{ "member", "en" },	  { "employee", "en" },
	{ "recipient", "en" },	  { "sender", "en" },
	{ "applicant", "en" },	  { "beneficiary", "en" },
	{ "tenant", "en" },	  { "insured", "en" },
	{ "kunde", "de" },	  { "inhaber", "de" },
	{ "besitzer", "de" },	  { "eigentuemer", "de" },
	{ "mitarbeiter", "de" },  { "empfaenger", "de" },
	{ "absender", "de" },	  { "versicherter", "de" },
	{ "titulaire", "fr" },	  { "proprietaire", "fr" },
	{ "beneficiaire", "fr" }, { "employe", "fr" },
	{ "destinataire", "fr" }, { "expediteur", "fr" },
	{ "cliente", "es" },	  { "paciente", "es" },
	{ "titular", "es" },	  { "propietario", "es" },
	{ "dueno", "es" },	  { "beneficiario", "es" },
	{ "empleado", "es" },	  { "destinatario", "es" },
	{ "remitente", "es" },
};

/* With a name word: the name of a company, not of a person. */
static const char *const det_company_words[] = {
	"company", "firm",	   "firma",	   "empresa",  "entreprise",
	"societe", "organization", "organisation", "employer", "arbeitgeber",
};

/* With a name word: the name of a thing, not of a person. */
static const char *const det_thing_words[] = {
	"product", "produkt",  "produit",  "producto",	 "item",    "artikel",
	"file",	   "filename", "host",	   "hostname",	 "domain",  "table",
	"column",  "brand",    "category", "city",	 "country", "street",
	"bank",	   "shop",     "store",	   "app",	 "server",  "device",
	"project", "team",     "dept",	   "department", "event",   "display",
	"schema",  "field",    "key",	   "type",	 "stadt",   "ville",
	"ciudad",  "land",     "pays",	   "pais",
};

static bool det_any_word(const struct det_words *w, const char *const *list,
			 size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (det_has_word(w, list[i]))
			return true;
	return false;
}

/*
 * The names `spotfs check` calls personal (check_scan.c, chk_name_pii):
 * a word equal to one of these, or (entries longer than 3) holding one.
 * Kept in step with it by tests/integration/test_scan.py, which runs
 * check --strict on what scan writes.
 */
static bool det_check_personal(const char *name, size_t len)
{
	static const char *const words[] = {
		"email",    "mail",	 "ssn",	    "phone",	 "tel",
		"mobile",   "card",	 "iban",    "dob",	 "birth",
		"birthday", "birthdate", "name",    "firstname", "lastname",
		"surname",  "fullname",	 "address", "street",	 "passport",
		"ip",
	};
	struct det_words w;

	det_split(name, len, false, &w);
	for (size_t i = 0; i < w.n; i++)
		for (size_t j = 0; j < SPOT_ARRAY_SIZE(words); j++)
			if (!strcmp(w.w[i], words[j]) ||
			    (strlen(words[j]) > 3 && strstr(w.w[i], words[j])))
				return true;
	return false;
}

enum det_kind det_name(const char *name, size_t len, struct det_name_hit *hit)
{
	struct det_words w;

	hit->kind = DET_NONE;
	hit->word = NULL;
	hit->lang = NULL;
	det_split(name, len, true, &w);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(det_dict); i++) {
		const struct det_entry *e = &det_dict[i];

		if (e->match == DET_EXACT ? det_has_word(&w, e->word)
					  : !!strstr(w.joined, e->word)) {
			hit->kind = e->kind;
			hit->word = e->word;
			hit->lang = e->lang;
			return hit->kind;
		}
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(det_name_words); i++) {
		const char *nw = det_name_words[i][0];
		bool in = i ? det_has_word(&w, nw) : !!strstr(w.joined, nw);

		if (!in)
			continue;
		hit->word = nw;
		hit->lang = det_name_words[i][1];
		if (det_any_word(&w, det_company_words,
				 SPOT_ARRAY_SIZE(det_company_words)))
			hit->kind = DET_COMPANY;
		else if (det_any_word(&w, det_thing_words,
				      SPOT_ARRAY_SIZE(det_thing_words)))
			hit->kind = DET_NAMED;
		else
			hit->kind = DET_NAME;
		return hit->kind;
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(det_person_words); i++) {
		if (!det_has_word(&w, det_person_words[i][0]) ||
		    det_any_word(&w, det_company_words,
				 SPOT_ARRAY_SIZE(det_company_words)) ||
		    det_any_word(&w, det_thing_words,
				 SPOT_ARRAY_SIZE(det_thing_words)))
			continue;
		hit->kind = DET_PERSON;
		hit->word = det_person_words[i][0];
		hit->lang = det_person_words[i][1];
		return hit->kind;
	}
	if (det_check_personal(name, len)) {
		hit->kind = DET_PERSONAL;
		hit->word = "personal data";
		hit->lang = "*";
	}
	return hit->kind;
}

const char *det_kind_name(enum det_kind k)
{
	static const char *const names[DET_KIND_COUNT] = {
		[DET_NONE] = "nothing known",
		[DET_SECRET] = "secrets",
		[DET_EMAIL] = "e-mail addresses",
		[DET_BIRTH] = "dates of birth",
		[DET_SSN] = "social security numbers",
		[DET_NATIONAL_ID] = "identity document numbers",
		[DET_CARD] = "card numbers",
		[DET_IBAN] = "bank accounts",
		[DET_PHONE] = "phone numbers",
		[DET_IP] = "IP addresses",
		[DET_FIRST_NAME] = "first names",
		[DET_LAST_NAME] = "last names",
		[DET_USERNAME] = "user names",
		[DET_COMPANY] = "company names",
		[DET_NAMED] = "names of things",
		[DET_NAME] = "names of people",
		[DET_PERSON] = "people (names or identifiers)",
		[DET_ADDRESS] = "street addresses",
		[DET_POSTCODE] = "postcodes",
		[DET_CITY] = "places",
		[DET_GENDER] = "genders",
		[DET_AGE] = "ages",
		[DET_PERSONAL] = "personal data",
	};

	return k < DET_KIND_COUNT && names[k] ? names[k] : "unknown";
}
