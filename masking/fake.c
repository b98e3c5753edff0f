/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake.c - the formats of the "fake" masking method; the words are in
 * masking/fake_data/ (compiled in).
 *
 * Every word is a common given name, a common surname, or an invented place
 * or company word; combinations are random, so no real person is described.
 * Nothing made here can reach a real person or machine where a reserved
 * range exists:
 *   - phone: en (NXX) 555-0100..0199, the range the US numbering plan
 *     keeps for fiction; de the "drama numbers" of the Bundesnetzagentur (Amtsblatt
 *     7/2021: 030 23125xxx, 069 90009xxx, 040 66969xxx, 0221 4710xxx,
 *     089 99998xxx); fr the ARCEP roots kept for fiction (plan national de
 *     numérotation, 01 99 00, 02 61 91, 03 53 01, 04 65 71, 05 36 49,
 *     06 39 98); es: we found no range Spain keeps for fiction, so es
 *     numbers borrow the 555 01 prefix of the US range in Spain's 3-3-3
 *     layout: not a reserved Spanish range (see the README);
 *   - email: the example.com/.net/.org domains reserved by RFC 2606;
 *   - ssn: area 9xx, never issued;
 *   - ipv4: 10.0.0.0/8 (RFC 1918), never routed on the Internet;
 *   - iban: valid ISO 13616 check digits (and the national keys of FR and
 *     ES) over random bank and account numbers: a valid shape, not a known
 *     account.
 */
#include "fake.h"

#include <errno.h>
#include <string.h>

#include "fake_data/fake_dict.h"

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
	[MSK_FAKE_DATE] = "date",
	[MSK_FAKE_IBAN] = "iban",
	[MSK_FAKE_IPV4] = "ipv4",
	[MSK_FAKE_UUID] = "uuid",
};

static const char *const fake_locale_names[MSK_FAKE_LOCALE_COUNT] = {
	[MSK_FAKE_EN] = "en",
	[MSK_FAKE_DE] = "de",
	[MSK_FAKE_FR] = "fr",
	[MSK_FAKE_ES] = "es",
};

static const struct fake_dict *const fake_dicts[MSK_FAKE_LOCALE_COUNT] = {
	[MSK_FAKE_EN] = &fake_dict_en,
	[MSK_FAKE_DE] = &fake_dict_de,
	[MSK_FAKE_FR] = &fake_dict_fr,
	[MSK_FAKE_ES] = &fake_dict_es,
};

/*
 * Fixed seed offsets, so that the parts of different kinds agree for the
 * same value (see fake.h). en's use of them must not change.
 */
enum fake_slot {
	FAKE_SLOT_FIRST = 0,
	FAKE_SLOT_LAST = 4,
	FAKE_SLOT_WORD = 8,
	FAKE_SLOT_TRADE = 12,
	FAKE_SLOT_SUFFIX = 16,
	FAKE_SLOT_NUMBER = 20,
	FAKE_SLOT_STREET = 24, /* also es's second surname */
	FAKE_SLOT_EXTRA = 28,
};

static uint32_t fake_u32(const uint8_t *seed, enum fake_slot slot)
{
	const uint8_t *s = seed + slot;

	return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
	       (uint32_t)s[3] << 24;
}

/* A word of a list; modulo bias is irrelevant for fake data. */
static const char *fake_pick(const struct fake_words *w, const uint8_t *seed,
			     enum fake_slot slot)
{
	return w->w[fake_u32(seed, slot) % w->n];
}

#define FAKE_PICK(dict, seed, slot)                                            \
	((dict)[fake_u32(seed, slot) % SPOT_ARRAY_SIZE(dict)])

/*
 * A value is built in a fixed buffer and appended once. Every value is far
 * shorter than FAKE_MAX; the writers stop at it anyway, and a value that
 * would reach it is refused (-EINVAL), never cut.
 */
#define FAKE_MAX 192

struct fake_w {
	char b[FAKE_MAX];
	size_t n;
};

static void fake_puts(struct fake_w *w, const char *s)
{
	size_t len = strlen(s);

	if (len > FAKE_MAX - w->n)
		len = FAKE_MAX - w->n;
	memcpy(w->b + w->n, s, len);
	w->n += len;
}

static void fake_putc(struct fake_w *w, char c)
{
	if (w->n < FAKE_MAX)
		w->b[w->n++] = c;
}

/* v in decimal, zero-padded to width digits (at most 10). */
static void fake_uint(struct fake_w *w, uint32_t v, unsigned width)
{
	char d[10];
	unsigned n = 0;

	do {
		d[sizeof(d) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(d));
	while (n < width && n < sizeof(d))
		d[sizeof(d) - ++n] = '0';
	for (unsigned i = sizeof(d) - n; i < sizeof(d); i++)
		fake_putc(w, d[i]);
}

/*
 * ASCII of the Latin-1 letters U+00C0..U+00FF in e-mail local parts:
 * German umlauts as ae/oe/ue and ss, other accents dropped.
 */
static const char *const fake_fold[64] = {
	"a", "a", "a",	"a", "ae", "a",	 "ae", "c", "e",  "e",	"e",  "e", "i",
	"i", "i", "i",	"d", "n",  "o",	 "o",  "o", "o",  "oe", "",   "o", "u",
	"u", "u", "ue", "y", "th", "ss", "a",  "a", "a",  "a",	"ae", "a", "ae",
	"c", "e", "e",	"e", "e",  "i",	 "i",  "i", "i",  "d",	"n",  "o", "o",
	"o", "o", "oe", "",  "o",  "u",	 "u",  "u", "ue", "y",	"th", "y",
};

/* s lowercased to ASCII letters and digits (an e-mail local part). */
static void fake_lower(struct fake_w *w, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	for (; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			fake_putc(w, (char)(*p - 'A' + 'a'));
		else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			fake_putc(w, (char)*p);
		else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf)
			fake_puts(w, fake_fold[*++p - 0x80]);
	}
}

static void fake_email(const struct fake_dict *d, const uint8_t *seed,
		       struct fake_w *w)
{
	fake_lower(w, fake_pick(&d->first, seed, FAKE_SLOT_FIRST));
	fake_putc(w, '.');
	fake_lower(w, fake_pick(&d->last, seed, FAKE_SLOT_LAST));
	fake_uint(w, fake_u32(seed, FAKE_SLOT_NUMBER) % 100, 2);
	fake_putc(w, '@');
	fake_puts(w, FAKE_PICK(fake_email_domains, seed, FAKE_SLOT_EXTRA));
}

/* "Last" or, in es, "Last1 Last2". */
static void fake_last(const struct fake_dict *d, enum msk_fake_locale loc,
		      const uint8_t *seed, struct fake_w *w)
{
	fake_puts(w, fake_pick(&d->last, seed, FAKE_SLOT_LAST));
	if (loc == MSK_FAKE_ES) {
		fake_putc(w, ' ');
		fake_puts(w, fake_pick(&d->last, seed, FAKE_SLOT_STREET));
	}
}

static void fake_phone(enum msk_fake_locale loc, uint32_t num, uint32_t extra,
		       struct fake_w *w)
{
	static const char *const de[] = { "030 23125", "069 90009", "040 66969",
					  "0221 4710", "089 99998" };
	static const char *const fr[] = { "01 99 00", "02 61 91", "03 53 01",
					  "04 65 71", "05 36 49", "06 39 98" };

	switch (loc) {
	case MSK_FAKE_DE: /* "030 23125" + 000..999 */
		fake_puts(w, de[num % SPOT_ARRAY_SIZE(de)]);
		fake_uint(w, extra % 1000, 3);
		break;
	case MSK_FAKE_FR: /* "01 99 00 dd dd" */
		fake_puts(w, fr[num % SPOT_ARRAY_SIZE(fr)]);
		fake_putc(w, ' ');
		fake_uint(w, extra % 100, 2);
		fake_putc(w, ' ');
		fake_uint(w, extra / 100 % 100, 2);
		break;
	case MSK_FAKE_ES: /* "555 01d ddd" */
		fake_puts(w, "555 01");
		fake_uint(w, num % 10, 1);
		fake_putc(w, ' ');
		fake_uint(w, extra % 1000, 3);
		break;
	default: /* "(ddd) 555-01dd": area code 200..999 */
		fake_putc(w, '(');
		fake_uint(w, 200 + num % 800, 3);
		fake_puts(w, ") 555-01");
		fake_uint(w, extra % 100, 2);
		break;
	}
}

static void fake_city(const struct fake_dict *d, const uint8_t *seed,
		      struct fake_w *w)
{
	fake_puts(w, fake_pick(&d->city_a, seed, FAKE_SLOT_WORD));
	if (d->city_b.n)
		fake_puts(w, fake_pick(&d->city_b, seed, FAKE_SLOT_TRADE));
}

static void fake_address(const struct fake_dict *d, enum msk_fake_locale loc,
			 const uint8_t *seed, uint32_t num, struct fake_w *w)
{
	const char *a = fake_pick(&d->street_a, seed, FAKE_SLOT_STREET);
	const char *b = fake_pick(&d->street_b, seed, FAKE_SLOT_SUFFIX);

	switch (loc) {
	case MSK_FAKE_DE: /* "Lindenweg 12" */
		fake_puts(w, a);
		fake_puts(w, b);
		fake_putc(w, ' ');
		fake_uint(w, 1 + num % 199, 1);
		break;
	case MSK_FAKE_ES: /* "Calle del Olmo, 12" */
		fake_puts(w, a);
		fake_putc(w, ' ');
		fake_puts(w, b);
		fake_puts(w, ", ");
		fake_uint(w, 1 + num % 199, 1);
		break;
	default: /* en "1159 Harbor Way", fr "12 rue des Lilas" */
		fake_uint(w, 1 + num % (loc == MSK_FAKE_FR ? 199 : 9999), 1);
		fake_putc(w, ' ');
		fake_puts(w, a);
		fake_putc(w, ' ');
		fake_puts(w, b);
		break;
	}
}

static void fake_company(const struct fake_dict *d, const uint8_t *seed,
			 struct fake_w *w)
{
	fake_puts(w, fake_pick(&fake_company_words, seed, FAKE_SLOT_WORD));
	fake_putc(w, ' ');
	fake_puts(w, fake_pick(&d->trade, seed, FAKE_SLOT_TRADE));
	fake_putc(w, ' ');
	fake_puts(w, fake_pick(&d->suffix, seed, FAKE_SLOT_SUFFIX));
}

/* ---- date ---- */

static bool fake_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int msk_fake_date_parse(const char *s, int32_t *days)
{
	static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31 };
	unsigned v[3] = { 0 }, i, m, d;
	int64_t y;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -EINVAL;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v[i < 4	  ? 0
		  : i < 7 ? 1
			  : 2] = v[i < 4   ? 0
				   : i < 7 ? 1
					   : 2] *
					 10 +
				 (unsigned)(s[i] - '0');
	}
	y = v[0];
	m = v[1];
	d = v[2];
	if (y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (unsigned)(m == 2 && fake_leap(y)))
		return -EINVAL;
	*days = (int32_t)spot_days_from_civil(y, m, d);
	return 0;
}

static int fake_date(int32_t min, int32_t max, const uint8_t *seed,
		     struct fake_w *w)
{
	uint64_t span = (uint64_t)((int64_t)max - min) + 1;
	unsigned m, d;
	int64_t y;

	if (max < min)
		return -EINVAL;
	spot_civil_from_days(
		min + (int64_t)(fake_u32(seed, FAKE_SLOT_NUMBER) % span), &y,
		&m, &d);
	fake_uint(w, (uint32_t)y, 4);
	fake_putc(w, '-');
	fake_uint(w, m, 2);
	fake_putc(w, '-');
	fake_uint(w, d, 2);
	return 0;
}

/* ---- iban, ipv4, uuid ---- */

/* A splitmix64 stream from the seed: the digits of an IBAN. */
static uint64_t fake_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* n random digits, 18 from each draw (10^18 < 2^64: a negligible bias). */
static void fake_digits(uint64_t *s, char *p, size_t n)
{
	uint64_t z = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 18 == 0)
			z = fake_next(s);
		p[i] = (char)('0' + z % 10);
		z /= 10;
	}
}

static uint64_t fake_dec(const char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	return v;
}

/* Spain's control digit of 10 digits (the first of "00" + bank + branch). */
static char fake_es_dc(const char *p)
{
	static const unsigned w[10] = { 1, 2, 4, 8, 5, 10, 9, 7, 3, 6 };
	unsigned sum = 0, v;

	for (unsigned i = 0; i < 10; i++)
		sum += (unsigned)(p[i] - '0') * w[i];
	v = 11 - sum % 11;
	return (char)('0' + (v == 11 ? 0 : v == 10 ? 1 : v));
}

/*
 * ISO 13616 check digits: 98 - (BBAN, country, "00") mod 97. The remainder
 * is taken every 15 decimal digits (97 * 10^15 fits 64 bits).
 */
static unsigned fake_iban_check(const char *cc, const char *bban, size_t n)
{
	uint64_t r = 0;
	unsigned pending = 0;
	size_t i;

	for (i = 0; i < n + 4; i++) {
		char c = i < n ? bban[i] : i < n + 2 ? cc[i - n] : '0';

		if (c >= 'A' && c <= 'Z') {
			r = r * 100 + (unsigned)(c - 'A' + 10);
			pending += 2;
		} else {
			r = r * 10 + (unsigned)(c - '0');
			pending++;
		}
		if (pending >= 14) {
			r %= 97;
			pending = 0;
		}
	}
	return 98 - (unsigned)(r % 97);
}

static void fake_iban(enum msk_fake_locale loc, const uint8_t *seed,
		      struct fake_w *w)
{
	uint64_t s = (uint64_t)fake_u32(seed, FAKE_SLOT_NUMBER) << 32 |
		     fake_u32(seed, FAKE_SLOT_EXTRA);
	char b[32], es[10];
	const char *cc;
	size_t n;

	switch (loc) {
	case MSK_FAKE_DE: /* bank code 8, account 10 */
		cc = "DE";
		n = 18;
		fake_digits(&s, b, n);
		break;
	case MSK_FAKE_FR: { /* bank 5, branch 5, account 11, RIB key 2 */
		uint64_t key;

		cc = "FR";
		n = 23;
		fake_digits(&s, b, 21);
		key = 97 - (89 * fake_dec(b, 5) + 15 * fake_dec(b + 5, 5) +
			    3 * fake_dec(b + 10, 11)) %
				   97;
		b[21] = (char)('0' + key / 10);
		b[22] = (char)('0' + key % 10);
		break;
	}
	case MSK_FAKE_ES: /* bank 4, branch 4, control 2, account 10 */
		cc = "ES";
		n = 20;
		fake_digits(&s, b, 8);
		fake_digits(&s, b + 10, 10);
		memcpy(es, "00", 2);
		memcpy(es + 2, b, 8);
		b[8] = fake_es_dc(es);
		b[9] = fake_es_dc(b + 10);
		break;
	default: /* GB: bank letters 4, sort code 6, account 8 */
		cc = "GB";
		n = 18;
		for (unsigned i = 0; i < 4; i++)
			b[i] = (char)('A' + fake_next(&s) % 26);
		fake_digits(&s, b + 4, 14);
		break;
	}
	fake_puts(w, cc);
	fake_uint(w, fake_iban_check(cc, b, n), 2);
	for (size_t i = 0; i < n; i++)
		fake_putc(w, b[i]);
}

/* 10.a.b.c, c in 1..254 (no network or broadcast look-alikes). */
static void fake_ipv4(const uint8_t *seed, struct fake_w *w)
{
	uint32_t v = fake_u32(seed, FAKE_SLOT_NUMBER);

	fake_puts(w, "10.");
	fake_uint(w, v & 0xff, 1);
	fake_putc(w, '.');
	fake_uint(w, v >> 8 & 0xff, 1);
	fake_putc(w, '.');
	fake_uint(w, 1 + (v >> 16) % 254, 1);
}

/* RFC 4122 section 4.4: version 4, variant 10x. */
static void fake_uuid(const uint8_t *seed, struct fake_w *w)
{
	static const char hex[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < 16; i++) {
		uint8_t b = seed[i];

		if (i == 6)
			b = (uint8_t)((b & 0x0f) | 0x40);
		else if (i == 8)
			b = (uint8_t)((b & 0x3f) | 0x80);
		if (i == 4 || i == 6 || i == 8 || i == 10)
			fake_putc(w, '-');
		fake_putc(w, hex[b >> 4]);
		fake_putc(w, hex[b & 15]);
	}
}

/* ---- the kinds ---- */

static int fake_write(enum msk_fake_kind kind, enum msk_fake_locale loc,
		      int32_t dmin, int32_t dmax, const uint8_t *seed,
		      struct fake_w *w)
{
	const struct fake_dict *d;
	uint32_t num = fake_u32(seed, FAKE_SLOT_NUMBER);
	uint32_t extra = fake_u32(seed, FAKE_SLOT_EXTRA);

	if ((unsigned)loc >= MSK_FAKE_LOCALE_COUNT)
		return -EINVAL;
	d = fake_dicts[loc];
	switch (kind) {
	case MSK_FAKE_NAME:
		fake_puts(w, fake_pick(&d->first, seed, FAKE_SLOT_FIRST));
		fake_putc(w, ' ');
		fake_last(d, loc, seed, w);
		return 0;
	case MSK_FAKE_FIRST_NAME:
		fake_puts(w, fake_pick(&d->first, seed, FAKE_SLOT_FIRST));
		return 0;
	case MSK_FAKE_LAST_NAME:
		fake_last(d, loc, seed, w);
		return 0;
	case MSK_FAKE_EMAIL:
		fake_email(d, seed, w);
		return 0;
	case MSK_FAKE_PHONE:
		fake_phone(loc, num, extra, w);
		return 0;
	case MSK_FAKE_CITY:
		fake_city(d, seed, w);
		return 0;
	case MSK_FAKE_COMPANY:
		fake_company(d, seed, w);
		return 0;
	case MSK_FAKE_ADDRESS:
		fake_address(d, loc, seed, num, w);
		return 0;
	case MSK_FAKE_SSN:
		/* Area 900..999 is never issued; group and serial non-zero. */
		fake_putc(w, '9');
		fake_uint(w, num % 100, 2);
		fake_putc(w, '-');
		fake_uint(w, 1 + extra % 99, 2);
		fake_putc(w, '-');
		fake_uint(w, 1 + fake_u32(seed, FAKE_SLOT_STREET) % 9999, 4);
		return 0;
	case MSK_FAKE_DATE:
		return fake_date(dmin, dmax, seed, w);
	case MSK_FAKE_IBAN:
		fake_iban(loc, seed, w);
		return 0;
	case MSK_FAKE_IPV4:
		fake_ipv4(seed, w);
		return 0;
	case MSK_FAKE_UUID:
		fake_uuid(seed, w);
		return 0;
	case MSK_FAKE_KIND_COUNT:
		break;
	}
	return -EINVAL;
}

/* The value, appended whole or not at all. */
static int fake_write_whole(enum msk_fake_kind kind, enum msk_fake_locale loc,
			    int32_t dmin, int32_t dmax, const uint8_t *seed,
			    struct spot_buf *out)
{
	struct fake_w w;
	int rc;

	w.n = 0;
	rc = fake_write(kind, loc, dmin, dmax, seed, &w);
	if (rc)
		return rc;
	if (w.n >= FAKE_MAX) /* cannot happen with the shipped words */
		return -EINVAL;
	return spot_buf_append(out, w.b, w.n);
}

int msk_fake_write(enum msk_fake_kind kind,
		   const uint8_t seed[MSK_FAKE_SEED_LEN], struct spot_buf *out)
{
	return fake_write_whole(kind, MSK_FAKE_EN, MSK_FAKE_DATE_MIN,
				MSK_FAKE_DATE_MAX, seed, out);
}

int msk_fake_write_locale(enum msk_fake_kind kind, enum msk_fake_locale loc,
			  const uint8_t seed[MSK_FAKE_SEED_LEN],
			  struct spot_buf *out)
{
	return fake_write_whole(kind, loc, MSK_FAKE_DATE_MIN, MSK_FAKE_DATE_MAX,
				seed, out);
}

int msk_fake_write_rule(const struct msk_rule *r,
			const uint8_t seed[MSK_FAKE_SEED_LEN],
			struct spot_buf *out)
{
	return fake_write_whole(r->fake_kind, r->fake_locale, r->fake_date_min,
				r->fake_date_max, seed, out);
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

int msk_fake_locale_parse(const char *name, enum msk_fake_locale *out)
{
	size_t i;

	for (i = 0; i < SPOT_ARRAY_SIZE(fake_locale_names); i++) {
		if (strcmp(name, fake_locale_names[i]) == 0) {
			*out = (enum msk_fake_locale)i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *msk_fake_locale_name(enum msk_fake_locale loc)
{
	if ((unsigned)loc >= SPOT_ARRAY_SIZE(fake_locale_names))
		return "unknown";
	return fake_locale_names[loc];
}
