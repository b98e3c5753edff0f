/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * detect.h - what a column holds, from its name and a sample of its values,
 * and the masking rule a starter config should give it (`spotfs scan`).
 *
 * By name: the name is folded to lower-case ASCII words (camelCase and
 * separators split words, common accented letters lose their accent, "ß"
 * becomes "ss") and looked up in a dictionary of words in English, German,
 * French and Spanish, most specific first ("first_name" before "name").
 * By values: the PII detectors of methods.h (e-mail, phone, card, SSN, IBAN,
 * anywhere in the value) plus whole-value detectors for IPv4, IPv6, URLs,
 * dates, postcodes, numbers and free text, counted per column as the share
 * of non-empty sampled values that matched.
 *
 * Nothing here keeps or returns a value: a det_col holds counters only, and
 * a det_rule's text and reason are made from the dictionary and numbers.
 * No locking: one det_col per thread.
 */
#ifndef SPOT_DETECT_H
#define SPOT_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "methods.h"
#include "pipe.h"

/* What a column's name says it holds. */
enum det_kind {
	DET_NONE = 0,
	DET_SECRET,	 /* passwords, tokens: never served */
	DET_EMAIL,	 /* e-mail addresses */
	DET_BIRTH,	 /* dates of birth */
	DET_SSN,	 /* social security numbers */
	DET_NATIONAL_ID, /* passports, identity cards, tax ids */
	DET_CARD,	 /* payment cards */
	DET_IBAN,	 /* bank accounts */
	DET_PHONE,	 /* phone and fax numbers */
	DET_IP,		 /* IP addresses */
	DET_FIRST_NAME,
	DET_LAST_NAME,
	DET_USERNAME,
	DET_COMPANY,  /* names of companies */
	DET_NAMED,    /* "product_name": a name, not of a person */
	DET_NAME,     /* names of people */
	DET_PERSON,   /* "customer", "patient": a name or an id of one */
	DET_ADDRESS,  /* street addresses */
	DET_POSTCODE, /* postal codes: a quasi-identifier */
	DET_CITY,     /* a quasi-identifier */
	DET_GENDER,   /* a quasi-identifier */
	DET_AGE,      /* a quasi-identifier */
	DET_PERSONAL, /* named like personal data, nothing more precise */
	DET_KIND_COUNT
};

/* What a value looks like: bits, several may be set. */
enum det_value_bit {
	DET_V_EMAIL = MSK_PII_EMAIL, /* the PII detectors: anywhere in it */
	DET_V_PHONE = MSK_PII_PHONE,
	DET_V_CARD = MSK_PII_CARD,
	DET_V_SSN = MSK_PII_SSN,
	DET_V_IBAN = MSK_PII_IBAN,
	DET_V_IPV4 = 1u << 5, /* the whole value (spaces around ignored) */
	DET_V_IPV6 = 1u << 6,
	DET_V_URL = 1u << 7,	  /* http(s)://, ftp://, www. */
	DET_V_DATE = 1u << 8,	  /* a date, any common form */
	DET_V_POSTCODE = 1u << 9, /* UK, Canadian, Dutch postcodes */
	DET_V_NUMBER = 1u << 10,  /* an integer or decimal number */
	DET_V_TEXT = 1u << 11,	  /* free text: several words */
	DET_V_COUNT = 12
};

/* The PII bits the pii method can redact. */
#define DET_V_PII ((unsigned)MSK_PII_ALL)

/* Share of sampled values a value kind needs to speak for the column. */
#define DET_MAJORITY_PCT 50

/* A dictionary word a name matched (static strings). */
struct det_name_hit {
	enum det_kind kind;
	const char *word; /* the dictionary word, e.g. "geburtsdatum" */
	const char *lang; /* "en", "de", "fr", "es", or "*" for several */
};

/*
 * What the name (name, len) says: kind DET_NONE when nothing. Every name
 * `spotfs check` calls personal (its warning for columns served raw) gets
 * some kind here, at worst DET_PERSONAL. Returns hit->kind.
 */
enum det_kind det_name(const char *name, size_t len, struct det_name_hit *hit);

/* The value bits of (p, len). */
unsigned det_value(const uint8_t *p, size_t len);

/*
 * Whether a CSV header cell (name, len) reads as a value, not a name: what
 * the PII detectors see, an IP address, URL, date or postcode, or a number
 * other than a short one ("2024", "3"). A header row with one such cell
 * (or only numbers) is a data row: the file has no header.
 */
bool det_name_is_value(const char *name, size_t len);

/* Human name of one value bit ("e-mail addresses"). */
const char *det_value_name(unsigned bit);
/* Human name of a kind ("dates of birth"). */
const char *det_kind_name(enum det_kind k);

/* Counters over a column's sampled values. Zero it to start. */
struct det_col {
	uint64_t seen;		    /* cells sampled, NULL and empty too */
	uint64_t values;	    /* non-empty, non-NULL */
	uint64_t bits[DET_V_COUNT]; /* per value bit: values with it */
	uint64_t pii_any;	    /* values with any DET_V_PII bit */
	uint64_t year_ok;	    /* values generalize to: year accepts */
	uint64_t range_ok;	    /* values generalize to: range accepts */
	uint64_t len_sum;	    /* bytes of the values */
	uint64_t blobs;		    /* values of type BLOB (raw bytes) */
	uint64_t opaque;	    /* BLOBs that are not UTF-8 text */
};

/*
 * Count one sampled cell. The generalize methods are tried on the value
 * (msk_apply), so a rule is proposed only where it works on every sampled
 * value. A BLOB cell must hold its raw bytes (not the hex text a CSV form
 * serves): bytes that are UTF-8 text are judged as text; others cannot be
 * inspected, and a column with one such value is never kept.
 */
void det_col_add(struct det_col *c, const struct pipe_cell *cell);

/* The rule proposed for a column, as YAML text, and why. */
#define DET_RULE_MAX 96
#define DET_WHY_MAX 512
struct det_rule {
	char yaml[DET_RULE_MAX]; /* "{ method: email }" or "keep" */
	char why[DET_WHY_MAX];	 /* one line, no '#' needed */
	bool keep;		 /* served raw */
	bool quasi;		 /* a quasi-identifier (spotfs report) */
	enum det_kind kind;	 /* what the name said */
	unsigned major;		 /* value bits held by most values */
	unsigned minor;		 /* value bits held by some */
};

/*
 * Decide the rule of a column named (name, len) from its counters. The
 * reason names the dictionary word and language that matched and, per
 * value kind seen, the share of sampled values, never a value.
 */
void det_col_decide(const struct det_col *c, const char *name, size_t len,
		    struct det_rule *out);

#endif /* SPOT_DETECT_H */
