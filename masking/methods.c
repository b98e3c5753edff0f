/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods.c - the built-in masking methods: key derivation, method names,
 * rule parameters and their validation. msk_apply and the methods are in
 * methods_apply.c, fake values in fake.c, the PII detectors in pii.c.
 */
#include "methods.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fake.h"
#include "methods_i.h"
#include "spot.h"

#define MSK_SECRET_MIN 16
#define MSK_HASH_DEFAULT 16
#define MSK_PATTERN_MAX 1024
#define MSK_TEXT_MAX 4096
#define MSK_PREFIX_MAX 64
#define MSK_COUNT_MAX 1000000
#define MSK_STEP_MAX 1e15
/* "Not set" markers: fake and generalize have no sensible default. */
#define MSK_FAKE_UNSET MSK_FAKE_KIND_COUNT
#define MSK_GEN_UNSET ((enum msk_gen_to)(MSK_GEN_PREFIX + 1))

/* Label of the master key: domain separation from other uses of a secret. */
static const char msk_master_label[] = "spotfs masking master key v1";
static const char msk_kdf_ctx[crypto_kdf_CONTEXTBYTES] = "spotmask";

/*
 * Sub-key ids. 1 and 2 were the BLAKE2b hash and tokenize keys before
 * hash and tokenize moved to SipHash (pseudonyms changed then): never
 * reused, so no new key equals an old one.
 */
enum msk_subkey {
	MSK_SUBKEY_FAKE = 3,
	MSK_SUBKEY_NOISE = 4,
	MSK_SUBKEY_FPE = 5,	  /* AES-256 key of FF1 */
	MSK_SUBKEY_GROUP = 6,	  /* SipHash key that derives group keys */
	MSK_SUBKEY_SHIFT = 7,	  /* SipHash key of shift offsets */
	MSK_SUBKEY_SCRAMBLE = 8,  /* ChaCha20 key of scramble */
	MSK_SUBKEY_SAMPLE = 9,	  /* SipHash key of row samples */
	MSK_SUBKEY_DP = 10,	  /* BLAKE2b key of DP noise seeds */
	MSK_SUBKEY_HASH_SIP = 16, /* + block, 0..MSK_SIP_BLOCKS-1 */
	MSK_SUBKEY_TOKEN_SIP = 32,
};

/* ---- keys ---- */

/* The SipHash keys of hash (base MSK_SUBKEY_HASH_SIP) or tokenize. */
static int msk_keys_sip(uint8_t keys[MSK_SIP_BLOCKS][MSK_SIP_KEY_LEN],
			uint64_t base, const uint8_t *master)
{
	for (uint64_t i = 0; i < MSK_SIP_BLOCKS; i++)
		if (crypto_kdf_derive_from_key(keys[i], MSK_SIP_KEY_LEN,
					       base + i, msk_kdf_ctx, master))
			return -EIO;
	return 0;
}

/* The FF1 key: derived, expanded into k->fpe, the raw bytes wiped. */
static int msk_keys_fpe(struct msk_keys *k)
{
	uint8_t raw[32];

	if (crypto_kdf_derive_from_key(raw, sizeof(raw), MSK_SUBKEY_FPE,
				       msk_kdf_ctx, k->master) != 0)
		return -EIO;
	fpe_key_init(&k->fpe, raw);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void msk_group_key(const struct msk_keys *k, enum msk_method m, unsigned idx,
		   const char *g, size_t glen, uint8_t out[MSK_SIP_KEY_LEN])
{
	uint8_t in[4 + MSK_GROUP_MAX];

	if (glen > MSK_GROUP_MAX)
		glen = MSK_GROUP_MAX; /* msk_rule_set refuses longer names */
	in[0] = (uint8_t)m;
	in[1] = (uint8_t)idx;
	in[3] = (uint8_t)glen;
	memcpy(in + 4, g, glen);
	for (uint8_t half = 0; half < 2; half++) {
		in[2] = half;
		crypto_shorthash_siphash24(out + 8 * half, in, 4 + glen,
					   k->group);
	}
}

int msk_keys_new(const uint8_t *secret, size_t len, struct msk_keys **out)
{
	struct msk_keys *k;
	int rc = 0;

	if (!secret || len < MSK_SECRET_MIN)
		return -EINVAL;
	if (sodium_init() < 0) {
		spot_log(SPOT_LOG_ERR, "masking: libsodium failed to start");
		return -EIO;
	}
	k = sodium_malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	if (crypto_generichash(k->master, sizeof(k->master), secret, len,
			       (const uint8_t *)msk_master_label,
			       sizeof(msk_master_label) - 1) != 0 ||
	    msk_keys_sip(k->hash, MSK_SUBKEY_HASH_SIP, k->master) ||
	    msk_keys_sip(k->token, MSK_SUBKEY_TOKEN_SIP, k->master) ||
	    crypto_kdf_derive_from_key(k->fake, sizeof(k->fake),
				       MSK_SUBKEY_FAKE, msk_kdf_ctx,
				       k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->noise, sizeof(k->noise),
				       MSK_SUBKEY_NOISE, msk_kdf_ctx,
				       k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->group, sizeof(k->group),
				       MSK_SUBKEY_GROUP, msk_kdf_ctx,
				       k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->shift, sizeof(k->shift),
				       MSK_SUBKEY_SHIFT, msk_kdf_ctx,
				       k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->scramble, sizeof(k->scramble),
				       MSK_SUBKEY_SCRAMBLE, msk_kdf_ctx,
				       k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->sample, sizeof(k->sample),
				       MSK_SUBKEY_SAMPLE, msk_kdf_ctx,
				       k->master) != 0 ||
	    crypto_kdf_derive_from_key(k->dp, sizeof(k->dp), MSK_SUBKEY_DP,
				       msk_kdf_ctx, k->master) != 0 ||
	    msk_keys_fpe(k)) {
		spot_log(SPOT_LOG_ERR, "masking: key derivation failed");
		rc = -EIO;
		goto fail;
	}
	msk_fake_prf_init(&k->fake_prf, k->fake, sizeof(k->fake));
	sodium_memzero(k->master, sizeof(k->master));
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
fail:
	sodium_free(k); /* wipes */
	return rc;
}

void msk_keys_free(struct msk_keys *k)
{
	if (k)
		sodium_free(k); /* makes it writable again and wipes it */
}

/* ---- method names ---- */

static const char *const msk_method_names[MSK_METHOD_COUNT] = {
	[MSK_KEEP] = "keep",	     [MSK_HASH] = "hash",
	[MSK_TOKENIZE] = "tokenize", [MSK_MASK] = "mask",
	[MSK_PARTIAL] = "partial",   [MSK_EMAIL] = "email",
	[MSK_REDACT] = "redact",     [MSK_NULL] = "null",
	[MSK_FAKE] = "fake",	     [MSK_GENERALIZE] = "generalize",
	[MSK_NOISE] = "noise",	     [MSK_PII] = "pii",
	[MSK_FPE] = "fpe",	     [MSK_SHIFT] = "shift",
	[MSK_TRUNCATE] = "truncate", [MSK_ROUND] = "round",
	[MSK_SCRAMBLE] = "scramble",
};

int msk_method_parse(const char *name, enum msk_method *out)
{
	size_t i;

	for (i = 0; i < MSK_METHOD_COUNT; i++) {
		if (strcmp(name, msk_method_names[i]) == 0) {
			*out = (enum msk_method)i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *msk_method_name(enum msk_method m)
{
	return (unsigned)m < MSK_METHOD_COUNT ? msk_method_names[m] : "unknown";
}

/* ---- rules ---- */

void msk_rule_init(struct msk_rule *r, enum msk_method m)
{
	memset(r, 0, sizeof(*r));
	r->method = m;
	r->hash_len = MSK_HASH_DEFAULT;
	r->mask_char = '*';
	r->email_domain = MSK_EMAIL_KEEP;
	r->fake_kind = MSK_FAKE_UNSET;
	r->fake_locale = MSK_FAKE_EN;
	r->fake_date_min = MSK_FAKE_DATE_MIN;
	r->fake_date_max = MSK_FAKE_DATE_MAX;
	r->gen_to = MSK_GEN_UNSET;
	r->gen_step = 10;
	r->gen_keep = 3;
	r->noise_epsilon = 1.0;
	r->noise_sensitivity = 1.0;
	r->pii_kinds = MSK_PII_ALL;
	r->round_step = 1;
	r->trunc_to = (enum msk_trunc_to)(MSK_TRUNC_YEAR + 1); /* unset */
	if (m == MSK_FPE)
		msk_fpe_alphabet(r, "digits", NULL);
}

void msk_rule_fini(struct msk_rule *r)
{
	free(r->pattern);
	free(r->text);
	free(r->group);
	free(r->per);
	r->pattern = r->text = r->group = r->per = NULL;
	r->pattern_len = r->text_len = r->group_len = r->per_len = 0;
}

static int msk_dup(const char *s, size_t len, char **out)
{
	char *d = malloc(len + 1);

	if (!d)
		return -ENOMEM;
	memcpy(d, s, len);
	d[len] = 0;
	*out = d;
	return 0;
}

int msk_rule_copy(struct msk_rule *dst, const struct msk_rule *src)
{
	char *pattern = NULL, *text = NULL, *group = NULL, *per = NULL;

	if ((src->pattern &&
	     msk_dup(src->pattern, src->pattern_len, &pattern)) ||
	    (src->text && msk_dup(src->text, src->text_len, &text)) ||
	    (src->group && msk_dup(src->group, src->group_len, &group)) ||
	    (src->per && msk_dup(src->per, src->per_len, &per))) {
		free(pattern);
		free(text);
		free(group);
		return -ENOMEM;
	}
	*dst = *src;
	dst->pattern = pattern;
	dst->text = text;
	dst->group = group;
	dst->per = per;
	return 0;
}

/* ---- parameters ---- */

#define MSK_BIT(m) (1u << (m))

struct msk_param {
	const char *key;
	unsigned methods; /* MSK_BIT of the methods that take it */
};

static const struct msk_param msk_params[] = {
	{ "length",
	  MSK_BIT(MSK_HASH) | MSK_BIT(MSK_TOKENIZE) | MSK_BIT(MSK_PII) },
	{ "prefix", MSK_BIT(MSK_TOKENIZE) },
	{ "pattern", MSK_BIT(MSK_MASK) },
	{ "keep_first", MSK_BIT(MSK_PARTIAL) },
	{ "keep_last", MSK_BIT(MSK_PARTIAL) },
	{ "char", MSK_BIT(MSK_MASK) | MSK_BIT(MSK_PARTIAL) |
			  MSK_BIT(MSK_EMAIL) | MSK_BIT(MSK_GENERALIZE) |
			  MSK_BIT(MSK_FPE) },
	{ "domain", MSK_BIT(MSK_EMAIL) },
	{ "text", MSK_BIT(MSK_REDACT) },
	{ "kind", MSK_BIT(MSK_FAKE) },
	{ "locale", MSK_BIT(MSK_FAKE) },
	{ "to", MSK_BIT(MSK_GENERALIZE) | MSK_BIT(MSK_TRUNCATE) },
	{ "step", MSK_BIT(MSK_GENERALIZE) | MSK_BIT(MSK_ROUND) },
	{ "max", MSK_BIT(MSK_SHIFT) | MSK_BIT(MSK_ROUND) | MSK_BIT(MSK_FAKE) },
	{ "min", MSK_BIT(MSK_ROUND) | MSK_BIT(MSK_FAKE) },
	{ "per", MSK_BIT(MSK_SHIFT) },
	{ "keep", MSK_BIT(MSK_GENERALIZE) },
	{ "epsilon", MSK_BIT(MSK_NOISE) },
	{ "sensitivity", MSK_BIT(MSK_NOISE) },
	{ "detect", MSK_BIT(MSK_PII) },
	{ "replace", MSK_BIT(MSK_PII) },
	{ "alphabet", MSK_BIT(MSK_FPE) },
	{ "luhn", MSK_BIT(MSK_FPE) },
	{ "iban", MSK_BIT(MSK_FPE) },
	{ "group", MSK_BIT(MSK_HASH) | MSK_BIT(MSK_TOKENIZE) |
			   MSK_BIT(MSK_FAKE) | MSK_BIT(MSK_FPE) },
};

static void msk_err_unknown(const struct msk_rule *r, const char *key,
			    struct spot_err *err)
{
	char list[256] = "";
	size_t i, n = 0;

	for (i = 0; i < SPOT_ARRAY_SIZE(msk_params); i++) {
		if (!(msk_params[i].methods & MSK_BIT(r->method)))
			continue;
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
				      n ? ", " : "", msk_params[i].key);
	}
	if (n)
		spot_err_set(err,
			     "%s: unknown parameter '%.64s' (accepted: %s)",
			     msk_method_name(r->method), key, list);
	else
		spot_err_set(err,
			     "%s: unknown parameter '%.64s' (the method takes "
			     "no parameters)",
			     msk_method_name(r->method), key);
}

static int msk_parse_uint(const char *key, const char *v, uint32_t min,
			  uint32_t max, uint32_t *out, struct spot_err *err)
{
	uint64_t n = 0;
	const char *s = v;

	for (; *s >= '0' && *s <= '9' && n <= max; s++)
		n = n * 10 + (uint64_t)(*s - '0');
	if (s == v || *s || n < min || n > max) {
		spot_err_set(err, "%s: expected a whole number %u..%u", key,
			     min, max);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

static int msk_parse_pos(const char *key, const char *v, double max,
			 double *out, struct spot_err *err)
{
	char *end;
	double d;

	d = strtod(v, &end);
	if (end == v || *end || !isfinite(d) || d <= 0 || d > max) {
		spot_err_set(err,
			     "%s: expected a number above 0 and at most %g",
			     key, max);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

static int msk_set_string(const char *key, const char *v, size_t max,
			  char **dst, size_t *dst_len, struct spot_err *err)
{
	size_t len = strlen(v);
	char *d;

	if (len > max || !u8_valid(v, len)) {
		spot_err_set(err,
			     "%s: expected UTF-8 text of at most %zu bytes",
			     key, max);
		return -EINVAL;
	}
	if (msk_dup(v, len, &d))
		return -ENOMEM;
	free(*dst);
	*dst = d;
	*dst_len = len;
	return 0;
}

static int msk_parse_detect(const char *v, unsigned *out, struct spot_err *err)
{
	static const unsigned kinds[] = { MSK_PII_EMAIL, MSK_PII_PHONE,
					  MSK_PII_CARD,	 MSK_PII_SSN,
					  MSK_PII_IBAN,	 MSK_PII_IP,
					  MSK_PII_URL };
	unsigned mask = 0;
	const char *s = v;

	while (*s) {
		size_t n, i;
		bool ok = false;

		while (*s == ' ' || *s == ',')
			s++;
		n = strcspn(s, ", ");
		if (!n)
			break;
		if (n == 3 && strncmp(s, "all", 3) == 0) {
			mask |= MSK_PII_ALL;
			ok = true;
		}
		for (i = 0; i < SPOT_ARRAY_SIZE(kinds) && !ok; i++) {
			const char *name = msk_pii_name(kinds[i]);

			if (strlen(name) == n && strncmp(s, name, n) == 0) {
				mask |= kinds[i];
				ok = true;
			}
		}
		if (!ok)
			goto bad;
		s += n;
	}
	if (!mask)
		goto bad;
	*out = mask;
	return 0;
bad:
	spot_err_set(err, "detect: expected a comma-separated list of email, "
			  "phone, card, ssn, iban, ip, url or all");
	return -EINVAL;
}

static int msk_parse_enum(const char *key, const char *v,
			  const char *const *names, size_t n, unsigned *out,
			  struct spot_err *err)
{
	char list[160] = "";
	size_t i, used = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = (unsigned)i;
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? ", " : "", names[i]);
	}
	spot_err_set(err, "%s: expected one of %s", key, list);
	return -EINVAL;
}

static int msk_set_char(const char *v, char *out, struct spot_err *err)
{
	if (v[0] < 0x20 || v[0] > 0x7e || v[1]) {
		spot_err_set(err,
			     "char: expected one printable ASCII character");
		return -EINVAL;
	}
	*out = v[0];
	return 0;
}

static int msk_parse_bool(const char *key, const char *v, bool *out,
			  struct spot_err *err)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	spot_err_set(err, "%s: expected true or false", key);
	return -EINVAL;
}

/* A group name: 1..64 bytes of letters, digits, '_', '-' and '.'. */
static int msk_set_group(struct msk_rule *r, const char *v,
			 struct spot_err *err)
{
	size_t len = strlen(v);

	if (!len || len > MSK_GROUP_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-.") != len) {
		spot_err_set(err,
			     "group: expected a name of 1 to %d letters, "
			     "digits, '_', '-' or '.'",
			     MSK_GROUP_MAX);
		return -EINVAL;
	}
	return msk_set_string("group", v, MSK_GROUP_MAX, &r->group,
			      &r->group_len, err);
}

static int msk_set_choice(struct msk_rule *r, const char *key, const char *v,
			  struct spot_err *err)
{
	static const char *const domains[] = { "keep", "hash" };
	static const char *const tos[] = { "year", "month", "range", "prefix" };
	const char *kinds[MSK_FAKE_KIND_COUNT];
	const char *locales[MSK_FAKE_LOCALE_COUNT];
	unsigned u;
	size_t i;
	int rc;

	if (strcmp(key, "locale") == 0) {
		for (i = 0; i < MSK_FAKE_LOCALE_COUNT; i++)
			locales[i] =
				msk_fake_locale_name((enum msk_fake_locale)i);
		rc = msk_parse_enum(key, v, locales, MSK_FAKE_LOCALE_COUNT, &u,
				    err);
		if (!rc)
			r->fake_locale = (enum msk_fake_locale)u;
	} else if (strcmp(key, "domain") == 0) {
		rc = msk_parse_enum(key, v, domains, 2, &u, err);
		if (!rc)
			r->email_domain = (enum msk_email_domain)u;
	} else if (strcmp(key, "to") == 0) {
		rc = msk_parse_enum(key, v, tos, 4, &u, err);
		if (!rc)
			r->gen_to = (enum msk_gen_to)u;
	} else {
		for (i = 0; i < MSK_FAKE_KIND_COUNT; i++)
			kinds[i] = msk_fake_kind_name((enum msk_fake_kind)i);
		rc = msk_parse_enum(key, v, kinds, MSK_FAKE_KIND_COUNT, &u,
				    err);
		if (!rc)
			r->fake_kind = (enum msk_fake_kind)u;
	}
	return rc;
}

int msk_rule_set(struct msk_rule *r, const char *key, const char *value,
		 struct spot_err *err)
{
	size_t i;

	if (!key || !value) {
		spot_err_set(err, "%s: a parameter needs a name and a value",
			     msk_method_name(r->method));
		return -EINVAL;
	}

	for (i = 0; i < SPOT_ARRAY_SIZE(msk_params); i++)
		if (strcmp(key, msk_params[i].key) == 0 &&
		    (msk_params[i].methods & MSK_BIT(r->method)))
			break;
	if (i == SPOT_ARRAY_SIZE(msk_params)) {
		msk_err_unknown(r, key, err);
		return -ENOENT;
	}
	if (r->method == MSK_SHIFT || r->method == MSK_TRUNCATE ||
	    r->method == MSK_ROUND)
		return msk_extra_set(r, key, value, err);
	if (r->method == MSK_FAKE &&
	    (!strcmp(key, "min") || !strcmp(key, "max"))) {
		if (msk_fake_date_parse(value, key[1] == 'i'
						       ? &r->fake_date_min
						       : &r->fake_date_max)) {
			spot_err_set(err,
				     "fake: %s: expected a date YYYY-MM-DD",
				     key);
			return -EINVAL;
		}
		r->fake_range_set = true;
		return 0;
	}
	if (strcmp(key, "length") == 0)
		return msk_parse_uint(key, value, MSK_HASH_MIN, MSK_HASH_MAX,
				      &r->hash_len, err);
	if (strcmp(key, "keep_first") == 0)
		return msk_parse_uint(key, value, 0, MSK_COUNT_MAX,
				      &r->keep_first, err);
	if (strcmp(key, "keep_last") == 0)
		return msk_parse_uint(key, value, 0, MSK_COUNT_MAX,
				      &r->keep_last, err);
	if (strcmp(key, "keep") == 0)
		return msk_parse_uint(key, value, 0, MSK_COUNT_MAX,
				      &r->gen_keep, err);
	if (strcmp(key, "step") == 0)
		return msk_parse_pos(key, value, MSK_STEP_MAX, &r->gen_step,
				     err);
	if (strcmp(key, "epsilon") == 0)
		return msk_parse_pos(key, value, 1e6, &r->noise_epsilon, err);
	if (strcmp(key, "sensitivity") == 0)
		return msk_parse_pos(key, value, 1e12, &r->noise_sensitivity,
				     err);
	if (strcmp(key, "char") == 0)
		return msk_set_char(value, &r->mask_char, err);
	if (strcmp(key, "detect") == 0)
		return msk_parse_detect(value, &r->pii_kinds, err);
	if (strcmp(key, "replace") == 0) {
		static const char *const how[] = { "tag", "hash" };
		unsigned u;
		int rc = msk_parse_enum(key, value, how, 2, &u, err);

		if (!rc)
			r->pii_hash = u == 1;
		return rc;
	}
	if (strcmp(key, "pattern") == 0) {
		if (!*value) {
			spot_err_set(err, "pattern: must not be empty");
			return -EINVAL;
		}
		return msk_set_string(key, value, MSK_PATTERN_MAX, &r->pattern,
				      &r->pattern_len, err);
	}
	if (strcmp(key, "text") == 0)
		return msk_set_string(key, value, MSK_TEXT_MAX, &r->text,
				      &r->text_len, err);
	if (strcmp(key, "prefix") == 0)
		return msk_set_string(key, value, MSK_PREFIX_MAX, &r->text,
				      &r->text_len, err);
	if (strcmp(key, "group") == 0)
		return msk_set_group(r, value, err);
	if (strcmp(key, "alphabet") == 0)
		return msk_fpe_alphabet(r, value, err);
	if (strcmp(key, "luhn") == 0)
		return msk_parse_bool(key, value, &r->fpe_luhn, err);
	if (strcmp(key, "iban") == 0)
		return msk_parse_bool(key, value, &r->fpe_iban, err);
	return msk_set_choice(r, key, value, err);
}

static int msk_fake_check(const struct msk_rule *r, struct spot_err *err)
{
	char list[160] = "";
	size_t i, n = 0;

	if ((unsigned)r->fake_kind >= MSK_FAKE_KIND_COUNT) {
		for (i = 0; i < MSK_FAKE_KIND_COUNT; i++)
			n += (size_t)snprintf(
				list + n, sizeof(list) - n, "%s%s",
				i ? ", " : "",
				msk_fake_kind_name((enum msk_fake_kind)i));
		spot_err_set(err, "fake: 'kind' is required (%s)", list);
		return -EINVAL;
	}
	if ((unsigned)r->fake_locale >= MSK_FAKE_LOCALE_COUNT) {
		spot_err_set(err, "fake: a parameter is out of range");
		return -EINVAL;
	}
	if (r->fake_range_set && r->fake_kind != MSK_FAKE_DATE) {
		spot_err_set(err, "fake: 'min' and 'max' are for kind date");
		return -EINVAL;
	}
	if (r->fake_date_min > r->fake_date_max) {
		spot_err_set(err, "fake: 'min' is after 'max' (by default "
				  "1940-01-01 and 2005-12-31)");
		return -EINVAL;
	}
	return 0;
}

int msk_rule_check(const struct msk_rule *r, struct spot_err *err)
{
	const char *m = msk_method_name(r->method);

	if ((unsigned)r->method >= MSK_METHOD_COUNT) {
		spot_err_set(err, "unknown masking method %d", (int)r->method);
		return -EINVAL;
	}
	if (r->mask_char < 0x20 || r->mask_char > 0x7e) {
		spot_err_set(err, "%s: char must be printable ASCII", m);
		return -EINVAL;
	}
	switch (r->method) {
	case MSK_HASH:
	case MSK_TOKENIZE:
		if (r->hash_len < MSK_HASH_MIN || r->hash_len > MSK_HASH_MAX)
			goto bad;
		return 0;
	case MSK_MASK:
		if (!r->pattern || !r->pattern_len) {
			spot_err_set(err, "mask: 'pattern' is required "
					  "(for example \"***-**-####\")");
			return -EINVAL;
		}
		return 0;
	case MSK_PARTIAL:
		if (!r->keep_first && !r->keep_last) {
			spot_err_set(err,
				     "partial: 'keep_first' or 'keep_last' "
				     "is required (above 0)");
			return -EINVAL;
		}
		return 0;
	case MSK_EMAIL:
		if ((unsigned)r->email_domain > MSK_EMAIL_HASH)
			goto bad;
		return 0;
	case MSK_FAKE:
		return msk_fake_check(r, err);
	case MSK_GENERALIZE:
		if ((unsigned)r->gen_to > MSK_GEN_PREFIX) {
			spot_err_set(err, "generalize: 'to' is required (year, "
					  "month, range or prefix)");
			return -EINVAL;
		}
		if (!isfinite(r->gen_step) || r->gen_step <= 0 ||
		    r->gen_step > MSK_STEP_MAX)
			goto bad;
		return 0;
	case MSK_NOISE:
		if (!isfinite(r->noise_epsilon) || r->noise_epsilon <= 0 ||
		    !isfinite(r->noise_sensitivity) ||
		    r->noise_sensitivity <= 0 ||
		    !isfinite(r->noise_sensitivity / r->noise_epsilon)) {
			spot_err_set(err, "noise: 'epsilon' and 'sensitivity' "
					  "must be numbers above 0");
			return -EINVAL;
		}
		return 0;
	case MSK_PII:
		if (!r->pii_kinds || (r->pii_kinds & ~(unsigned)MSK_PII_ALL) ||
		    r->hash_len < MSK_HASH_MIN || r->hash_len > MSK_HASH_MAX)
			goto bad;
		return 0;
	case MSK_FPE:
		return msk_fpe_check(r, err);
	case MSK_SHIFT:
	case MSK_TRUNCATE:
	case MSK_ROUND:
		return msk_extra_check(r, err);
	default:
		return 0;
	}
bad:
	spot_err_set(err, "%s: a parameter is out of range", m);
	return -EINVAL;
}
