/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods.h - built-in masking methods, one C implementation reachable from
 * YAML rules and from Lua policies (mask.*).
 *
 * Every method is deterministic: the same value, rule and sandbox secret give
 * the same output, in every dataset of the sandbox (consistent pseudonyms,
 * DESIGN promise 6). Randomness (noise, fake picks) comes from keyed BLAKE2b
 * of the sandbox secret, never from a global RNG.
 *
 * NULL input stays NULL and an empty value stays empty, for every method.
 *
 * Keys derived from the secret live in sodium_malloc'd, locked memory.
 * Nothing here logs or returns a row value in an error message.
 */
#ifndef SPOT_METHODS_H
#define SPOT_METHODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipe.h"
#include "spot.h"

enum msk_method {
	MSK_KEEP = 0, /* serve unchanged (an explicit "this column is fine") */
	MSK_HASH,     /* keyed SipHash-2-4, lowercase hex */
	MSK_TOKENIZE, /* prefix + keyed token, e.g. "tok_3f9a1c0d2b7e4a55" */
	MSK_MASK,     /* pattern: "***-**-####" */
	MSK_PARTIAL,  /* keep_first / keep_last, the rest mask_char */
	MSK_EMAIL,    /* mask the local part, keep or hash the domain */
	MSK_REDACT,   /* a fixed string */
	MSK_NULL,     /* NULL (CSV: empty field) */
	MSK_FAKE,     /* deterministic fake value of a kind */
	MSK_GENERALIZE, /* numbers to ranges, dates to month/year, prefixes */
	MSK_NOISE,	/* calibrated Laplace noise, deterministic per cell */
	MSK_PII,	/* replace PII found in free text: tags or pseudonyms */
	MSK_FPE,	/* FF1 format-preserving encryption (reversible) */
	MSK_SHIFT,	/* dates moved by a keyed offset, one per entity */
	MSK_TRUNCATE,	/* timestamps cut to the hour, day or month */
	MSK_ROUND,	/* numbers rounded to a step, clamped to min/max */
	MSK_SCRAMBLE,	/* letters and digits replaced, classes kept */
	MSK_METHOD_COUNT
};

enum msk_email_domain {
	MSK_EMAIL_KEEP = 0, /* j***@example.com */
	MSK_EMAIL_HASH = 1, /* j***@3f9a1c0d.invalid */
};

enum msk_fake_kind {
	MSK_FAKE_NAME = 0, /* "First Last" */
	MSK_FAKE_FIRST_NAME,
	MSK_FAKE_LAST_NAME,
	MSK_FAKE_EMAIL,
	MSK_FAKE_PHONE,
	MSK_FAKE_CITY,
	MSK_FAKE_COMPANY,
	MSK_FAKE_ADDRESS,
	MSK_FAKE_SSN, /* 9xx-xx-xxxx: never a valid issued SSN */
	/* the same in every locale but iban, the locale's country */
	MSK_FAKE_DATE, /* YYYY-MM-DD within the rule's min..max */
	MSK_FAKE_IBAN, /* the locale's country, valid check digits */
	MSK_FAKE_IPV4, /* 10.0.0.0/8 (RFC 1918): never a public host */
	MSK_FAKE_UUID, /* RFC 4122 version 4 layout */
	MSK_FAKE_KIND_COUNT
};

/* The words and formats of fake values; en is the default. */
enum msk_fake_locale {
	MSK_FAKE_EN = 0,
	MSK_FAKE_DE,
	MSK_FAKE_FR,
	MSK_FAKE_ES,
	MSK_FAKE_LOCALE_COUNT
};

enum msk_gen_to {
	MSK_GEN_YEAR = 0, /* date/timestamp -> "YYYY" */
	MSK_GEN_MONTH,	  /* date/timestamp -> "YYYY-MM" */
	MSK_GEN_RANGE,	  /* number -> "30-39" with step 10 */
	MSK_GEN_PREFIX,	  /* keep the first `keep` characters, mask the rest */
};

enum msk_trunc_to {
	MSK_TRUNC_HOUR = 0,
	MSK_TRUNC_DAY,
	MSK_TRUNC_MONTH,
	MSK_TRUNC_YEAR,
};

/*
 * Bits 5..11 are left free: detect.h's whole-value kinds (DET_V_IPV4...)
 * share a bit set with these.
 */
enum msk_pii_kind {
	MSK_PII_EMAIL = 1u << 0, /* also UTF-8 and "name(at)domain" forms */
	MSK_PII_PHONE = 1u << 1,
	MSK_PII_CARD = 1u << 2, /* 13-19 digits passing Luhn */
	MSK_PII_SSN = 1u << 3,	/* 9 digits in a row only after "SSN" */
	MSK_PII_IBAN = 1u << 4, /* with a valid mod-97 check */
	MSK_PII_IP = 1u << 12,	/* IPv4 (not after "version"), IPv6 */
	MSK_PII_URL = 1u << 13, /* a URL with user name or password */
	MSK_PII_ALL = 0x301f,
};

/*
 * One configured method and its parameters. Initialise with msk_rule_init(),
 * set parameters with msk_rule_set(), validate with msk_rule_check(), free
 * owned strings with msk_rule_fini().
 */
struct msk_rule {
	enum msk_method method;
	uint32_t hash_len; /* hash/tokenize: hex chars, 8..128, default 16 */
	char *pattern;	   /* mask: owned, NUL-terminated */
	size_t pattern_len;
	uint32_t keep_first; /* partial */
	uint32_t keep_last;  /* partial */
	char mask_char;	     /* mask/partial/email/generalize: default '*' */
	enum msk_email_domain email_domain; /* email */
	char *text; /* redact (default "[REDACTED]"), tokenize prefix */
	size_t text_len;
	enum msk_fake_kind fake_kind; /* fake */
	enum msk_gen_to gen_to;	      /* generalize */
	double gen_step;	      /* generalize range width, default 10 */
	uint32_t gen_keep;	      /* generalize prefix length, default 3 */
	double noise_epsilon;	      /* noise: default 1.0 */
	double noise_sensitivity;     /* noise: default 1.0; days for dates */
	unsigned pii_kinds; /* pii: which detectors, default MSK_PII_ALL */
	bool pii_hash; /* pii: replace: hash (keyed pseudonyms, hash_len) */
	/*
	 * hash, tokenize, fake, fpe: a consistency group (owned,
	 * NUL-terminated), NULL for the default. Columns of one group share
	 * a key whatever they are called; groups are unrelated.
	 */
	char *group;
	size_t group_len;
	/* fpe: the alphabet, default digits */
	unsigned fpe_radix;	/* characters in the alphabet, 2..95 */
	char fpe_chars[96];	/* the alphabet, NUL-terminated */
	uint8_t fpe_index[256]; /* byte -> numeral, MSK_FPE_NONE */
	bool fpe_luhn;		/* keep a Luhn check digit valid */
	bool fpe_iban;		/* keep IBAN check digits valid */
	uint32_t shift_days;	/* shift: max, in days (1..3650) */
	char *per;		/* shift: entity column (owned) or NULL */
	size_t per_len;
	enum msk_trunc_to trunc_to;  /* truncate */
	double round_step;	     /* round: default 1 */
	int round_decimals;	     /* round: places of a fractional step */
	double round_min, round_max; /* round: clamps, when has_ */
	bool round_has_min, round_has_max;

	/* fake: the locale (default en); kind date: the range, in days from
	 * 1970-01-01, and whether min or max was given (date only) */
	enum msk_fake_locale fake_locale;
	int32_t fake_date_min, fake_date_max;
	bool fake_range_set;
};

#define MSK_FPE_NONE 0xff /* fpe_index of a byte outside the alphabet */
#define MSK_GROUP_MAX 64  /* bytes of a group name */

/* Where a cell sits: seeds per-cell randomness (noise). */
struct msk_cell {
	const char *dataset; /* NUL-terminated dataset name */
	const char *column;  /* NUL-terminated column name */
	uint64_t row;	     /* source row index */
	/* shift with per: the row's value of the entity column (raw), or
	 * NULL: then the offset is per cell, like noise's draw. */
	const uint8_t *entity;
	size_t entity_len;
};

struct msk_keys; /* opaque; sodium_malloc'd */

/*
 * Derive the method keys from the sandbox secret (any length >= 16 bytes).
 * The secret itself is not kept. 0, -EINVAL, -ENOMEM. Free with
 * msk_keys_free (wipes). Thread-safe to use from many threads once built.
 */
int msk_keys_new(const uint8_t *secret, size_t len, struct msk_keys **out);
void msk_keys_free(struct msk_keys *k);

/* Method name ("hash", "mask", ...) to enum. 0 or -ENOENT. */
int msk_method_parse(const char *name, enum msk_method *out);
const char *msk_method_name(enum msk_method m);

/* Defaults for the method. */
void msk_rule_init(struct msk_rule *r, enum msk_method m);
void msk_rule_fini(struct msk_rule *r);
/* Deep copy. 0 or -ENOMEM. */
int msk_rule_copy(struct msk_rule *dst, const struct msk_rule *src);
/*
 * Set one parameter from text, as written in YAML or passed from Lua:
 * ("length", "12"), ("pattern", "***-**-####"), ("keep_last", "4"),
 * ("domain", "hash"), ("text", "[X]"), ("kind", "name"), ("to", "year"),
 * ("step", "10"), ("keep", "3"), ("epsilon", "0.5"), ("sensitivity", "1000"),
 * ("char", "#"), ("prefix", "tok_"), ("detect", "email,phone"),
 * ("replace", "hash") and ("length", "16") for pii,
 * ("alphabet", "digits"), ("luhn", "true"), ("iban", "true"),
 * ("group", "customer"), ("max", "30d") and ("per", "patient_id") for
 * shift, ("to", "hour") for truncate, ("step", "5"), ("min", "0") and
 * ("max", "90") for round.
 * -ENOENT for a key the method does not take, -EINVAL for a bad value; err
 * says which and why.
 */
int msk_rule_set(struct msk_rule *r, const char *key, const char *value,
		 struct spot_err *err);
/* Validate the whole rule (for example partial needs keep_first/last). */
int msk_rule_check(const struct msk_rule *r, struct spot_err *err);

/*
 * Apply the rule to one value (in, len, in_type). Appends the output to out
 * (the caller resets it) and sets *out_type (TEXT, INT, REAL, BLOB or NULL).
 * cell may be NULL for methods that do not use it (everything but noise
 * and shift).
 * 0 or -errno (-ENOMEM; -EINVAL for input the method cannot handle, such as
 * a non-number under noise: the caller fails the read closed).
 */
int msk_apply(const struct msk_rule *r, const struct msk_keys *k,
	      const struct msk_cell *cell, const uint8_t *in, size_t len,
	      enum pipe_type in_type, struct spot_buf *out,
	      enum pipe_type *out_type);

/*
 * Reverse an fpe rule (spotfs reveal): append to out the value the token
 * (in, len) was made from, under the same rule and keys. 0, -EINVAL when
 * the rule is not fpe, -ERANGE for a token fpe did not encrypt (a value
 * too short or too long, served with its alphabet characters masked),
 * -ENOMEM.
 */
int msk_reveal(const struct msk_rule *r, const struct msk_keys *k,
	       const uint8_t *in, size_t len, struct spot_buf *out);

/*
 * A deterministic row sample (dataset sample: RATE). msk_sample_seed hashes
 * the view's name once; msk_sample_keep says whether source row (0-based)
 * is in the sample of share rate (0 < rate <= 1): a keyed hash of (view,
 * row) under the sandbox secret, so every role and every read of one
 * sandbox sees the same rows, and another secret picks others.
 */
uint64_t msk_sample_seed(const struct msk_keys *k, const char *view);
bool msk_sample_keep(const struct msk_keys *k, uint64_t seed, uint64_t row,
		     double rate);

/*
 * The 32-byte seed of one differentially private release (dp.h): a keyed
 * BLAKE2b, under a key of the sandbox secret's own, of label (the
 * release's name and the identity of the source it reads), so every read
 * of it within a sandbox draws the same noise and another secret or
 * another source draws other noise.
 */
void msk_dp_seed(const struct msk_keys *k, const char *label, uint8_t seed[32]);

/*
 * Keyed hash of (p, len) as hex_len lowercase hex characters (8..128)
 * appended to out: SipHash-2-4 under an independent key per 16 characters
 * (a shorter hash is a prefix of a longer one). The keys depend only on the
 * secret, so the same value hashes the same in every dataset (joins keep
 * working).
 */
int msk_hash_hex(const struct msk_keys *k, const uint8_t *p, size_t len,
		 unsigned hex_len, struct spot_buf *out);

/*
 * PII detectors: a bitmask of enum msk_pii_kind found in (p, len), read
 * through its folded copy (escapes decoded, look-alike characters as
 * ASCII; pii_i.h). MSK_PII_ALL when the copy cannot be made (fail closed).
 */
unsigned msk_pii_detect(const uint8_t *p, size_t len);
/*
 * Copy (p, len) to out with every PII match of the given kinds replaced by a
 * tag: "[EMAIL]", "[PHONE]", "[CARD]", "[SSN]", "[IBAN]", "[IP]", "[URL]";
 * each replaces the whole source characters and escapes of its match. A
 * value with control bytes (not text: UTF-16, binary) becomes "[BINARY]".
 * 0 or -ENOMEM.
 */
int msk_pii_redact(const uint8_t *p, size_t len, unsigned kinds,
		   struct spot_buf *out);
/*
 * The same; with keys k (not NULL), each match becomes "[KIND:hex]", hex
 * being msk_hash_hex (hex_len characters) of the match normalised: an
 * e-mail in lower case with "(at)"/"(dot)" undone, the digits of a card,
 * SSN or phone number, an IBAN without blanks, an IP address in canonical
 * form, a URL as written. So one address gets one token in every cell,
 * column and dataset of a sandbox, and another secret gives other tokens.
 * 0 or -ENOMEM.
 */
int msk_pii_replace(const uint8_t *p, size_t len, unsigned kinds,
		    const struct msk_keys *k, unsigned hex_len,
		    struct spot_buf *out);
/* Human name of a single kind ("email"). */
const char *msk_pii_name(unsigned kind);

#endif /* SPOT_METHODS_H */
