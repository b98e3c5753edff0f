/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_detect.c - the column detectors of `spotfs scan`: names in four
 * languages, value detectors, and the rule proposed from counters (never
 * keep for what the PII detectors see, never a value in the reason).
 */
#include "detect.h"

#include <string.h>

#include "check.h"

static enum det_kind kind_of(const char *name)
{
	struct det_name_hit hit;

	return det_name(name, strlen(name), &hit);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		enum det_kind kind;
	} cases[] = {
		/* English */
		{ "email", DET_EMAIL },
		{ "billingEmail", DET_EMAIL },
		{ "E-Mail Address", DET_EMAIL },
		{ "first_name", DET_FIRST_NAME },
		{ "LastName", DET_LAST_NAME },
		{ "full name", DET_NAME },
		{ "date_of_birth", DET_BIRTH },
		{ "DOB", DET_BIRTH },
		{ "ssn", DET_SSN },
		{ "credit_card_number", DET_CARD },
		{ "phone", DET_PHONE },
		{ "client_ip", DET_IP },
		{ "zip", DET_POSTCODE },
		{ "postal_code", DET_POSTCODE },
		{ "password_hash", DET_SECRET },
		{ "username", DET_USERNAME },
		{ "company_name", DET_COMPANY },
		{ "product_name", DET_NAMED },
		{ "street_address", DET_ADDRESS },
		{ "passport_no", DET_NATIONAL_ID },
		{ "gender", DET_GENDER },
		{ "age", DET_AGE },
		/* German */
		{ "Vorname", DET_FIRST_NAME },
		{ "Nachname", DET_LAST_NAME },
		{ "Geburtsdatum", DET_BIRTH },
		{ "Telefonnummer", DET_PHONE },
		{ "Stra\xc3\x9f"
		  "e",
		  DET_ADDRESS },
		{ "PLZ", DET_POSTCODE },
		{ "Postleitzahl", DET_POSTCODE },
		{ "Kontonummer", DET_IBAN },
		{ "Geschlecht", DET_GENDER },
		/* French */
		{ "pr\xc3\xa9nom", DET_FIRST_NAME },
		{ "nom", DET_NAME },
		{ "nom_de_famille", DET_LAST_NAME },
		{ "date_de_naissance", DET_BIRTH },
		{ "t\xc3\xa9l\xc3\xa9phone", DET_PHONE },
		{ "courriel", DET_EMAIL },
		{ "code_postal", DET_POSTCODE },
		{ "num\xc3\xa9ro_s\xc3\xa9"
		  "curit\xc3\xa9_sociale",
		  DET_SSN },
		/* Spanish */
		{ "nombre", DET_NAME },
		{ "apellidos", DET_LAST_NAME },
		{ "fecha_nacimiento", DET_BIRTH },
		{ "correo_electronico", DET_EMAIL },
		{ "tel\xc3\xa9"
		  "fono_m\xc3\xb3vil",
		  DET_PHONE },
		{ "codigo_postal", DET_POSTCODE },
		{ "dni", DET_NATIONAL_ID },
		{ "contrase\xc3\xb1"
		  "a",
		  DET_SECRET },
		/* Abbreviations and people */
		{ "fecha_nac", DET_BIRTH },
		{ "FecNac", DET_BIRTH },
		{ "f_nac", DET_BIRTH },
		{ "GebDatum", DET_BIRTH },
		{ "geb_datum", DET_BIRTH },
		{ "geb_dat", DET_BIRTH },
		{ "bday", DET_BIRTH },
		{ "born", DET_BIRTH },
		{ "yob", DET_BIRTH },
		{ "date_naiss", DET_BIRTH },
		{ "DDN", DET_BIRTH },
		{ "customer", DET_PERSON },
		{ "customer_id", DET_PERSON },
		{ "patient", DET_PERSON },
		{ "account_holder", DET_PERSON },
		{ "owner", DET_PERSON },
		{ "Kunde", DET_PERSON },
		{ "titulaire", DET_PERSON },
		{ "paciente", DET_PERSON },
		{ "customer_name", DET_NAME },
		{ "full_nm", DET_NAME },
		{ "cust_nm", DET_NAME },
		{ "product_nm", DET_NAMED },
		{ "nombre_completo", DET_NAME },
		{ "fname", DET_FIRST_NAME },
		{ "lname", DET_LAST_NAME },
		{ "n\xc3\xbamero de cuenta", DET_IBAN },
		{ "cuenta", DET_IBAN },
		{ "num_compte_bancaire", DET_IBAN },
		{ "tfno_movil", DET_PHONE },
		{ "GSM", DET_PHONE },
		{ "cod_postal", DET_POSTCODE },
		{ "NPA", DET_POSTCODE },
		{ "adr", DET_ADDRESS },
		{ "domicile", DET_ADDRESS },
		{ "localit\xc3\xa9", DET_CITY },
		{ "Gemeinde", DET_CITY },
		{ "geschl", DET_GENDER },
		{ "AHV_Nr", DET_SSN },
		{ "customer_type", DET_NONE },
		{ "owner_company", DET_NONE },
		/* Not personal */
		{ "id", DET_NONE },
		{ "amount", DET_NONE },
		{ "created_at", DET_NONE },
		{ "status", DET_NONE },
		{ "telemetry", DET_NONE },
	};

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(cases); i++) {
		enum det_kind k = kind_of(cases[i].name);

		CHECK(k == cases[i].kind, "name '%s' is %s (got %s)",
		      cases[i].name, det_kind_name(cases[i].kind),
		      det_kind_name(k));
	}
}

/* Every name `spotfs check` warns about gets some kind (never keep). */
static void test_check_superset(void)
{
	static const char *const flagged[] = {
		"gmail_id",   "iphone_model", "cardinality", "ibanx",
		"birthplace", "filename",     "hostname",    "addressee",
		"mainstreet", "passportx",    "tel",	     "ip",
		"mobile_os",  "x_name_y",     "surnames",    "dob",
	};

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(flagged); i++)
		CHECK(kind_of(flagged[i]) != DET_NONE,
		      "'%s' (check calls it personal) gets a kind", flagged[i]);
}

static bool is_value_name(const char *s)
{
	return det_name_is_value(s, strlen(s));
}

static unsigned val(const char *s)
{
	return det_value((const uint8_t *)s, strlen(s));
}

static void test_values(void)
{
	CHECK(val("alice@example.com") & DET_V_EMAIL, "email");
	CHECK(val("192.168.1.20") & DET_V_IPV4, "IPv4");
	CHECK(!(val("192.168.1.256") & DET_V_IPV4), "not IPv4: 256");
	CHECK(!(val("1.2.3") & DET_V_IPV4), "not IPv4: three parts");
	CHECK(val("2001:db8::1") & DET_V_IPV6, "IPv6");
	CHECK(val("fe80::1ff:fe23:4567:890a") & DET_V_IPV6, "IPv6 link-local");
	CHECK(!(val("12:30:45") & DET_V_IPV6), "a time is not IPv6");
	CHECK(val("https://example.org/a?b=c") & DET_V_URL, "URL");
	CHECK(val("www.example.org") & DET_V_URL, "www URL");
	CHECK(!(val("see https://x.org now") & DET_V_URL), "URL in text");
	CHECK(val("1984-07-23") & DET_V_DATE, "ISO date");
	CHECK(val("1984-07-23T10:30:00Z") & DET_V_DATE, "ISO timestamp");
	CHECK(val("23.07.1984") & DET_V_DATE, "German date");
	CHECK(val("07/23/1984") & DET_V_DATE, "US date");
	CHECK(val("23/07/1984") & DET_V_DATE, "European date");
	CHECK(!(val("1984-13-01") & DET_V_DATE), "month 13 is no date");
	CHECK(!(val("2024-01-01x") & DET_V_DATE), "trailing letters");
	CHECK(val("SW1A 1AA") & DET_V_POSTCODE, "UK postcode");
	CHECK(val("EC1A 1BB") & DET_V_POSTCODE, "UK postcode EC1A");
	CHECK(val("M1 1AE") & DET_V_POSTCODE, "UK postcode M1");
	CHECK(val("K1A 0B1") & DET_V_POSTCODE, "Canadian postcode");
	CHECK(val("1012 AB") & DET_V_POSTCODE, "Dutch postcode");
	CHECK(!(val("HELLO") & DET_V_POSTCODE), "a word is no postcode");
	CHECK(val("-12.5") & DET_V_NUMBER, "number");
	CHECK(val("1e5") & DET_V_NUMBER, "exponent");
	CHECK(!(val("12a") & DET_V_NUMBER), "not a number");
	CHECK(val("Called about the order, all fine") & DET_V_TEXT, "text");
	CHECK(!(val("Berlin") & DET_V_TEXT), "one word is not text");
	CHECK(val("4111 1111 1111 1111") & DET_V_CARD, "card");
	CHECK(val("123-45-6789") & DET_V_SSN, "SSN");
	CHECK(val("DE89370400440532013000") & DET_V_IBAN, "IBAN");
	/* round 10: what pii's detectors read, scan and check read too */
	CHECK(val("+1\u00a0415\u00a0555\u00a00142") & DET_V_PHONE,
	      "phone with no-break spaces");
	CHECK(val("bob\uff20example.com") & DET_V_EMAIL, "fullwidth @");
	CHECK(val("alice%40example.com") & DET_V_EMAIL, "percent-encoded @");
	CHECK(val("jos\xe9@example.com") & DET_V_EMAIL, "Latin-1 local part");
	CHECK(val("de89 3704 0044 0532 0130 00") & DET_V_IBAN,
	      "lower-case IBAN");
}

/* Names in fullwidth letters read as their ASCII words. */
static void test_fullwidth_names(void)
{
	CHECK(kind_of("\uff45\uff4d\uff41\uff49\uff4c") == DET_EMAIL &&
		      kind_of("\uff30\uff48\uff4f\uff4e\uff45") == DET_PHONE &&
		      kind_of("customer_\uff33\uff33\uff2e") == DET_SSN,
	      "fullwidth column names (email, Phone, SSN)");
	CHECK(is_value_name("\uff4a\uff4f\uff45\uff20example.com") &&
		      is_value_name("+1\u00a0415\u00a0555\u00a00142") &&
		      is_value_name("\uff14\uff11\uff15-\uff15\uff15\uff15-"
				    "\uff10\uff11\uff14\uff12"),
	      "header cells of look-alike addresses and phones are values");
}

static bool is_value(const char *s)
{
	return det_name_is_value(s, strlen(s));
}

/* A CSV header cell that is data: the file has no header row. */
static void test_header_values(void)
{
	static const char *const values[] = {
		"1984-07-23",
		"23.07.1984",
		"ann@example.org",
		"10.0.0.1",
		"https://x.org/a",
		"SW1A 1AA",
		"12.50",
		"-3",
		"00491500051234567892",
		"12345",
		"+1 415 555 0142",
		"DE89370400440532013000",
	};
	static const char *const names[] = {
		"id", "2024", "3", "q1", "fecha_nac", "amount (EUR)", "x-y",
	};

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(values); i++)
		CHECK(is_value(values[i]), "'%s' is a value, not a name",
		      values[i]);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(names); i++)
		CHECK(!is_value(names[i]), "'%s' is a name", names[i]);
}

/* Counters as if each of the n strings had been sampled. */
static void sample(struct det_col *c, const char *const *v, size_t n)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		struct pipe_cell cell = { (const uint8_t *)v[i], strlen(v[i]),
					  v[i][0] ? PIPE_TEXT : PIPE_NULL, 0 };

		det_col_add(c, &cell);
	}
}

static void decide(const char *name, const char *const *v, size_t n,
		   struct det_rule *r)
{
	struct det_col c;

	sample(&c, v, n);
	det_col_decide(&c, name, strlen(name), r);
}

static void test_rules(void)
{
	static const char *const emails[] = { "zq@example.org",
					      "ob@example.com", "" };
	static const char *const dobs[] = { "1980-04-03", "1975-12-30" };
	static const char *const dobs_de[] = { "03.04.1980", "30.12.1975" };
	static const char *const notes[] = {
		"Called about order, reach her at zq@example.net",
		"Nothing to report here today",
		"Nothing to report here either",
	};
	static const char *const plain[] = { "red", "green", "blue" };
	static const char *const one_phone[] = { "red", "green",
						 "+1 415 555 0142" };
	static const char *const ips[] = { "10.0.0.1", "10.0.0.2" };
	static const char *const cards[] = { "4111111111111111",
					     "5500000000000004" };
	static const char *const empty[] = { "", "" };
	static const char *const ages[] = { "34", "71" };
	static const char *const people[] = { "Zed Quill", "Ob Rask" };
	struct det_rule r;

	decide("email", emails, 3, &r);
	CHECK(!strcmp(r.yaml, "{ method: email }"), "email -> email: %s",
	      r.yaml);
	CHECK(strstr(r.why, "name: 'mail'") && strstr(r.why, "100%"),
	      "email: why says name and share: %s", r.why);
	CHECK(!strstr(r.why, "example"), "email: no value in the reason");
	decide("contact", emails, 3, &r);
	CHECK(!strcmp(r.yaml, "{ method: email }"),
	      "e-mail by values alone -> email: %s", r.yaml);
	decide("dob", dobs, 2, &r);
	CHECK(strstr(r.yaml, "generalize, to: year") && r.quasi,
	      "dob -> generalize year: %s", r.yaml);
	decide("geburtsdatum", dobs_de, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: null }"),
	      "dob generalize cannot read -> null (never a failing rule): %s",
	      r.yaml);
	decide("notes", notes, 3, &r);
	CHECK(!strcmp(r.yaml, "{ method: pii }"), "free text -> pii: %s",
	      r.yaml);
	CHECK(strstr(r.why, "33% e-mail"), "notes: share of e-mails: %s",
	      r.why);
	decide("colour", plain, 3, &r);
	CHECK(r.keep && !strcmp(r.yaml, "keep"), "plain -> keep: %s", r.yaml);
	decide("colour", one_phone, 3, &r);
	CHECK(!r.keep && !strcmp(r.yaml, "{ method: pii }"),
	      "one phone in three -> pii, never keep: %s", r.yaml);
	decide("city", one_phone, 3, &r);
	CHECK(!r.keep, "a kept kind with a phone in its values is masked");
	decide("host", ips, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: hash }"), "IPs -> hash: %s", r.yaml);
	decide("cc", cards, 2, &r);
	CHECK(strstr(r.yaml, "partial, keep_last: 4") && strstr(r.why, "fpe"),
	      "card -> partial, fpe named: %s / %s", r.yaml, r.why);
	decide("whatever", empty, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: null }"), "all empty -> null: %s",
	      r.yaml);
	decide("age", ages, 2, &r);
	CHECK(strstr(r.yaml, "range") && r.quasi, "age -> range: %s", r.yaml);
	decide("product_name", plain, 3, &r);
	CHECK(!r.keep, "product_name (check calls it personal) not kept");
	decide("customer", people, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: fake, kind: name }"),
	      "customer holding names -> fake name: %s", r.yaml);
	decide("customer_id", ages, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: hash }"),
	      "customer holding numbers -> hash: %s", r.yaml);
	decide("fecha_nac", dobs, 2, &r);
	CHECK(strstr(r.yaml, "generalize, to: year"), "fecha_nac -> year: %s",
	      r.yaml);
}

static void blob_decide(const char *name, const uint8_t *const *v,
			const size_t *len, size_t n, struct det_rule *r)
{
	struct det_col c;

	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < n; i++) {
		struct pipe_cell cell = { v[i], len[i], PIPE_BLOB, 0 };

		det_col_add(&c, &cell);
	}
	det_col_decide(&c, name, strlen(name), r);
}

/* BLOBs are judged by their bytes; bytes no detector reads are not kept. */
static void test_blobs(void)
{
	static const uint8_t bin[] = { 0xff, 0x00, 0x17, 0x80 };
	static const uint8_t red[] = "red";
	static const uint8_t mail[] = "zq.blob@example.org";
	static const uint8_t text[] = "call zq.blob@example.org or +1 415 555 "
				      "0142 today";
	const uint8_t *v[2];
	size_t len[2];
	struct det_rule r;

	v[0] = red, len[0] = 3, v[1] = bin, len[1] = sizeof(bin);
	blob_decide("payload", v, len, 2, &r);
	CHECK(!r.keep && !strcmp(r.yaml, "{ method: null }") &&
		      strstr(r.why, "binary"),
	      "binary BLOB -> null with why: %s / %s", r.yaml, r.why);
	v[1] = red, len[1] = 3;
	blob_decide("payload", v, len, 2, &r);
	CHECK(r.keep, "a BLOB of plain text is judged as text: %s", r.yaml);
	v[0] = v[1] = mail, len[0] = len[1] = sizeof(mail) - 1;
	blob_decide("contact", v, len, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: email }"),
	      "e-mails in BLOBs -> email: %s", r.yaml);
	v[0] = v[1] = text, len[0] = len[1] = sizeof(text) - 1;
	blob_decide("notes", v, len, 2, &r);
	CHECK(!strcmp(r.yaml, "{ method: null }"),
	      "free text in BLOBs -> null (pii would read hex): %s", r.yaml);
	CHECK(!strstr(r.why, "example"), "no value in the reason");
}

int main(void)
{
	test_names();
	test_check_superset();
	test_values();
	test_header_values();
	test_fullwidth_names();
	test_rules();
	test_blobs();
	return check_done();
}
