/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pii.c - detectors of personal data in free text, for the "pii" masking
 * method and for `spotfs scan` / `spotfs check`: e-mail addresses (with
 * UTF-8 local parts and domains, and "name(at)domain" obfuscations), URLs
 * carrying credentials, IPv4 and IPv6 addresses, phone numbers, payment
 * cards, US SSNs and IBANs (the last five and the addresses in pii_num.c).
 *
 * The scanner tries the detectors where a match may start: after a byte
 * that is not an ASCII letter or digit (an e-mail: not a local-part
 * character either), and takes the first that matches, in the order
 * e-mail, URL, IBAN, IPv6, card, SSN, IPv4, phone. Inside a word it skips
 * to the word's end, and a first pass over the cell rules out the
 * detectors whose characters it lacks ('@', ':', digits...), so most text
 * costs a table lookup per byte. Every detector looks at a bounded window
 * (a run of e-mail local-part characters is read once, from its start): a
 * scan is linear in the text. Characters that are not ASCII separate
 * words, except inside an e-mail address, where UTF-8 letters belong to
 * it. The detectors err on the side of redacting: a 10..15 digit number
 * written like a phone number is redacted as one.
 *
 * Text that is not plain ASCII, or holds '%' or '\', is read through a
 * folded copy (pii_fold.c: escapes decoded, look-alikes as ASCII, Latin-1
 * bytes as letters); each match replaces the whole source characters it
 * came from. A value with control bytes is not text pii can read (a BLOB of
 * UTF-16 text, an image): it is replaced whole, by "[BINARY]".
 *
 * Each match becomes a tag ("[EMAIL]") or, with keys, a keyed pseudonym of
 * its normalised value ("[EMAIL:3f9a1c0d2b7e4a55]", msk_hash_hex), so the
 * same address gets the same token in every cell, column and dataset of a
 * sandbox, whatever its case or obfuscation.
 */
#include "methods.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "pii_i.h"

/* RFC 5321 limits the local part to 64 bytes; a longer run of local-part
 * characters before an '@' is redacted too, however long. A quoted local
 * part is read up to this many bytes. */
#define PII_QUOTED_MAX 1024
#define PII_DOMAIN_MAX 253
#define PII_SCHEME_MAX 32
#define PII_USERINFO_MAX 256
#define PII_URL_MAX 2048 /* a longer URL is cut: the rest scanned as text */
#define PII_NORM_MAX 1024
#define PII_TOKEN_MAX 8		  /* " [dot] " */
#define PII_UNREADABLE "[BINARY]" /* a value that is not text */

/* What a cell holds, from one pass: which detectors can match at all. */
enum pii_gate {
	PII_G_AT = 1u << 0,    /* '@' */
	PII_G_OBF = 1u << 1,   /* '(' '[' '{' '<': "(at)" */
	PII_G_COLON = 1u << 2, /* ':' */
	PII_G_DIGIT = 1u << 3,
	PII_G_UPPER = 1u << 4,
	PII_G_PLUS = 1u << 5, /* '+' '(' : a phone may start there */
	PII_G_FOLD = 1u << 6, /* non-ASCII, '%', '\\', '&': a folded copy */
	PII_G_CTRL = 1u << 7, /* control bytes: not text (pii_unreadable) */
};

static const uint8_t pii_gates[256] = {
	['@'] = PII_G_AT,
	['('] = PII_G_OBF | PII_G_PLUS,
	['['] = PII_G_OBF,
	['{'] = PII_G_OBF,
	['<'] = PII_G_OBF,
	[':'] = PII_G_COLON,
	['+'] = PII_G_PLUS,
	['0' ... '9'] = PII_G_DIGIT,
	['A' ... 'Z'] = PII_G_UPPER,
	['%'] = PII_G_FOLD,
	['\\'] = PII_G_FOLD,
	['&'] = PII_G_FOLD,
	[0x80 ... 0xff] = PII_G_FOLD,
	[0x00 ... 0x08] = PII_G_CTRL, /* tab, line ends and escape are text */
	[0x0e ... 0x1a] = PII_G_CTRL,
	[0x1c ... 0x1f] = PII_G_CTRL,
};

struct pii_scan {
	const uint8_t *p;
	size_t len;
	unsigned kinds;
	unsigned gate;
};

static bool pii_local_char(uint8_t c)
{
	return pii_cls[c] & (PII_C_ALNUM | PII_C_LOCAL);
}

/*
 * Whether an e-mail address may start at i: the byte before is not part of
 * a local part (an ASCII local character, or a valid UTF-8 sequence), so
 * each run of local-part characters is scanned from its first byte only.
 */
static bool pii_email_start(const uint8_t *p, size_t len, size_t i)
{
	size_t j;

	if (!i)
		return true;
	if (p[i - 1] < 0x80)
		return !pii_local_char(p[i - 1]);
	for (j = i - 1; j > 0 && i - j < 4 && (p[j] & 0xc0) == 0x80; j--)
		;
	return pii_u8len(p, len, j) != i - j;
}

/* ---- e-mail ---- */

/*
 * An obfuscated '@' or '.' at k: an optional blank, "(at)" / "[at]" /
 * "{at}" / "<at>" (or "dot"; any case), an optional blank. Where it ends,
 * or 0.
 */
static size_t pii_token(const uint8_t *p, size_t len, size_t k,
			const char *word)
{
	static const char open[] = "([{<", close[] = ")]}>";
	size_t wl = strlen(word), j;
	const char *o;

	if (k < len && (p[k] == ' ' || p[k] == '\t'))
		k++;
	if (k >= len || !(o = memchr(open, p[k], 4)) || len - k < wl + 2)
		return 0;
	for (j = 0; j < wl; j++)
		if (pii_lower(p[k + 1 + j]) != (uint8_t)word[j])
			return 0;
	if (p[k + 1 + wl] != (uint8_t)close[o - open])
		return 0;
	k += wl + 2;
	if (k < len && (p[k] == ' ' || p[k] == '\t'))
		k++;
	return k;
}

/* After a label at k: a '.' or an obfuscated one; where the next label
 * starts, or 0. */
static size_t pii_dot(const uint8_t *p, size_t len, size_t k, bool obf)
{
	if (k + 1 < len && p[k] == '.')
		return k + 1;
	return obf ? pii_token(p, len, k, "dot") : 0;
}

/* "xn--" and letters or digits: a punycode (IDN) top-level domain. */
static bool pii_xn(const uint8_t *p, size_t n)
{
	return n > 4 && pii_lower(p[0]) == 'x' && pii_lower(p[1]) == 'n' &&
	       p[2] == '-' && p[3] == '-';
}

/*
 * Labels of letters, digits, '-' and UTF-8 letters; at least two, the last
 * of two or more letters (UTF-8 included) or a punycode label. Where the
 * domain ends, or 0.
 */
static size_t pii_domain(const uint8_t *p, size_t len, size_t i, bool obf)
{
	size_t k = i, end = 0, labels = 0;

	for (;;) {
		size_t s = k, m;
		bool tld = true;

		while (k < len && k - i < PII_DOMAIN_MAX) {
			if (pii_alnum(p[k]) || p[k] == '-') {
				tld = tld && pii_alpha(p[k]);
				k++;
			} else if (p[k] >= 0x80 && (m = pii_u8len(p, len, k))) {
				k += m;
			} else {
				break;
			}
		}
		if (k == s || p[s] == '-' || p[k - 1] == '-')
			break;
		labels++;
		if (labels >= 2 &&
		    ((tld && k - s >= 2) || pii_xn(p + s, k - s)))
			end = k;
		if (!(k = pii_dot(p, len, k, obf)))
			break;
	}
	return end;
}

/* A quoted local part at i ("john doe"): where its closing quote is, or 0. */
static size_t pii_quoted(const uint8_t *p, size_t len, size_t i)
{
	size_t k = i + 1;

	while (k < len && k - i <= PII_QUOTED_MAX && p[k] != '"') {
		if (p[k] < ' ' && p[k] != '\t')
			return 0;
		k += p[k] == '\\' && k + 1 < len ? 2 : 1;
	}
	return k < len && p[k] == '"' && k > i + 1 ? k : 0;
}

/*
 * The local part at i: RFC 5322 atext (the scanner tries each run of it
 * from its first byte only, so a scan of a run is linear), UTF-8 letters
 * (RFC 6531), or a quoted string. Where it ends, or i.
 */
static size_t pii_local(const struct pii_scan *s, size_t i)
{
	const uint8_t *p = s->p;
	size_t len = s->len, k = i, m;

	if (p[i] == '"') {
		/* not after a backslash: an escaped quote opens nothing, so
		 * each byte is read by one quoted string at most */
		if (i && p[i - 1] == '\\')
			return i;
		k = pii_quoted(p, len, i);
		return k ? k + 1 : i;
	}
	while (k < len) {
		if (p[k] == '{' && (s->gate & PII_G_OBF) &&
		    pii_token(p, len, k, "at"))
			break; /* "bob{at}example.com" */
		if (pii_local_char(p[k]))
			k++;
		else if (p[k] >= 0x80 && (m = pii_u8len(p, len, k)))
			k += m;
		else
			break;
	}
	return k;
}

/* Whether a local part holds a letter or digit (ASCII or not): "//" of
 * "http://@host" or "=" is no one's address. */
static bool pii_has_letter(const uint8_t *p, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (pii_alnum(p[j]) || p[j] >= 0x80)
			return true;
	return false;
}

static size_t pii_email(const struct pii_scan *s, size_t i)
{
	const uint8_t *p = s->p;
	size_t len = s->len, k, at, end;
	bool obf = s->gate & PII_G_OBF; /* "(at)", "(dot)" may occur */

	k = pii_local(s, i);
	if (k == i || k >= len || !pii_has_letter(p + i, k - i))
		return 0;
	if (p[k] == '@')
		at = k + 1;
	else if (!obf || !(at = pii_token(p, len, k, "at")))
		return 0;
	end = pii_domain(p, len, at, obf);
	if (!end || !pii_end_ok(p, len, end))
		return 0;
	return end;
}

/* ---- URL with credentials ---- */

static bool pii_url_end(uint8_t c)
{
	return c <= ' ' || c == '"' || c == '<' || c == '>' || c == 0x7f;
}

/*
 * scheme://userinfo@host...: a URL with a user name (and maybe a password)
 * before its host. The whole URL is the match (its path and query often
 * name the same account), up to a blank or quote, trailing punctuation
 * left out.
 */
static size_t pii_url(const struct pii_scan *s, size_t i)
{
	const uint8_t *p = s->p;
	size_t len = s->len, k = i, u, end;

	while (k < len && k - i < PII_SCHEME_MAX &&
	       (pii_alnum(p[k]) || p[k] == '+' || p[k] == '-' || p[k] == '.'))
		k++;
	if (k == i || len - k < 4 || memcmp(p + k, "://", 3))
		return 0;
	u = k += 3;
	while (k < len && k - u < PII_USERINFO_MAX && !pii_url_end(p[k]) &&
	       p[k] != '@' && p[k] != '/' && p[k] != '?' && p[k] != '#')
		k++;
	if (k == u || k + 1 >= len || p[k] != '@' || pii_url_end(p[k + 1]))
		return 0;
	end = k + 1;
	while (end < len && end - i < PII_URL_MAX && !pii_url_end(p[end]))
		end++;
	while (end > k + 2 && strchr(".,;:!?)]}'", p[end - 1]))
		end--;
	return end;
}

/* ---- scanner ---- */

static unsigned pii_gate_of(const uint8_t *p, size_t len)
{
	unsigned g = 0;

	for (size_t i = 0; i < len; i++)
		g |= pii_gates[p[i]];
	return g;
}

/* The kind found at i (0 if none) and where its match ends. */
static unsigned pii_match(const struct pii_scan *s, size_t i, size_t *end)
{
	const uint8_t *p = s->p;
	size_t len = s->len;
	unsigned kinds = s->kinds, g = s->gate;
	uint8_t c = p[i], cl = pii_cls[c];
	uint8_t prev = i ? p[i - 1] : ' ';

	if (pii_alnum(prev))
		return 0;
	if ((kinds & MSK_PII_EMAIL) && (g & (PII_G_AT | PII_G_OBF)) &&
	    pii_email_start(p, len, i) && (*end = pii_email(s, i)))
		return MSK_PII_EMAIL;
	if ((kinds & MSK_PII_URL) && (cl & PII_C_ALPHA) &&
	    (g & (PII_G_AT | PII_G_COLON)) == (PII_G_AT | PII_G_COLON) &&
	    (*end = pii_url(s, i)))
		return MSK_PII_URL;
	/* an IBAN: two letters, two digits (checked here: most words that
	 * start with a letter stop at the third byte) */
	if ((kinds & MSK_PII_IBAN) && (cl & PII_C_ALPHA) && (g & PII_G_DIGIT) &&
	    len - i > 3 &&
	    (pii_cls[p[i + 2]] & pii_cls[p[i + 3]] & PII_C_DIGIT) &&
	    (*end = pii_iban(p, len, i)))
		return MSK_PII_IBAN;
	/*
	 * A number the detectors below read (card, SSN, IPv4, phone) ends
	 * its first digits with a separator or the text's end, never with a
	 * letter ("5ab", "2024th"): most words that start with a digit stop
	 * here. (An IPv6 group may go on in hex letters: tried first.)
	 */
	if ((kinds & MSK_PII_IP) && (g & PII_G_COLON) &&
	    ((cl & PII_C_HEX) || c == ':') && (*end = pii_ipv6(p, len, i)))
		return MSK_PII_IP;
	if (cl & PII_C_DIGIT) {
		size_t k = i + 1;

		while (k < len && pii_digit(p[k]))
			k++;
		if (k < len && pii_alpha(p[k]))
			return 0;
		if ((kinds & MSK_PII_CARD) && (*end = pii_card(p, len, i)))
			return MSK_PII_CARD;
		if ((kinds & MSK_PII_SSN) && (*end = pii_ssn(p, len, i)))
			return MSK_PII_SSN;
		if ((kinds & MSK_PII_IP) && (*end = pii_ipv4(p, len, i)))
			return MSK_PII_IP;
	}
	if ((kinds & MSK_PII_PHONE) &&
	    ((cl & PII_C_DIGIT) || c == '+' || c == '(') &&
	    (*end = pii_phone(p, len, i)))
		return MSK_PII_PHONE;
	return 0;
}

static const char *pii_tag(unsigned kind)
{
	switch (kind) {
	case MSK_PII_EMAIL:
		return "EMAIL";
	case MSK_PII_PHONE:
		return "PHONE";
	case MSK_PII_CARD:
		return "CARD";
	case MSK_PII_SSN:
		return "SSN";
	case MSK_PII_IP:
		return "IP";
	case MSK_PII_URL:
		return "URL";
	default:
		return "IBAN";
	}
}

/* An e-mail address as one string: lower-case ASCII, '@' and '.' for the
 * obfuscated forms, no blanks. */
static size_t pii_norm_email(const uint8_t *p, size_t n, uint8_t *o)
{
	size_t k = 0, w = 0, t;

	while (k < n && w < PII_NORM_MAX) {
		if (p[k] == ' ' || p[k] == '\t') {
			k++;
		} else if (strchr("([{<", p[k]) &&
			   ((t = pii_token(p, n, k, "at")) ||
			    (t = pii_token(p, n, k, "dot")))) {
			o[w++] = pii_lower(p[k + 1]) == 'a' ? '@' : '.';
			k = t;
		} else {
			o[w++] = pii_lower(p[k++]);
		}
	}
	return w;
}

/*
 * The value a pseudonym is made of: an e-mail address normalised, the
 * digits of a card, SSN or phone number, an IBAN without blanks in capitals,
 * an IP address in its canonical form, a URL as written.
 */
static size_t pii_norm(unsigned kind, const uint8_t *p, size_t n, uint8_t *o)
{
	size_t w = 0;

	switch (kind) {
	case MSK_PII_EMAIL:
		return pii_norm_email(p, n, o);
	case MSK_PII_CARD:
	case MSK_PII_SSN:
	case MSK_PII_PHONE:
		for (size_t k = 0; k < n && w < PII_NORM_MAX; k++)
			if (pii_digit(p[k]))
				o[w++] = p[k];
		return w;
	case MSK_PII_IBAN:
		for (size_t k = 0; k < n && w < PII_NORM_MAX; k++)
			if (pii_alnum(p[k]))
				o[w++] = (uint8_t)(pii_cls[p[k]] & PII_C_LOWER
							   ? p[k] - 32
							   : p[k]);
		return w;
	case MSK_PII_IP:
		w = pii_ip_canon(p, n, (char *)o, PII_NORM_MAX);
		if (w)
			return w;
		break;
	default:
		break;
	}
	w = n < PII_NORM_MAX ? n : PII_NORM_MAX;
	memcpy(o, p, w);
	return w;
}

/* "[KIND]", or "[KIND:hex]" under keys. */
static int pii_put(unsigned kind, const uint8_t *p, size_t n,
		   const struct msk_keys *k, unsigned hex_len,
		   struct spot_buf *out)
{
	uint8_t norm[PII_NORM_MAX];
	const char *tag = pii_tag(kind);
	size_t w;
	int rc;

	rc = spot_buf_append(out, "[", 1);
	if (!rc)
		rc = spot_buf_append(out, tag, strlen(tag));
	if (!rc && k) {
		w = pii_norm(kind, p, n, norm);
		rc = spot_buf_append(out, ":", 1);
		if (!rc)
			rc = msk_hash_hex(k, norm, w, hex_len, out);
		sodium_memzero(norm, w);
	}
	return rc ? rc : spot_buf_append(out, "]", 1);
}

/*
 * Where an e-mail match [i, end) of t starts once the atext punctuation it
 * starts with ("/", "?", "=") is left out: "?email=bob@example.com" keeps
 * "?email=", and nothing of the address.
 */
static size_t pii_email_trim(const uint8_t *p, size_t i, size_t end)
{
	while (i + 1 < end && p[i] < 0x80 && p[i] != '"' && !pii_alnum(p[i]) &&
	       p[i + 1] != '@')
		i++;
	return i;
}

/*
 * Scan the text t read from (src, slen), gate g its characters; with out,
 * copy the source there with the source span of each match replaced (tags,
 * or pseudonyms of the folded match under keys).
 */
static int pii_scan_text(const struct pii_text *t, unsigned g,
			 const uint8_t *src, size_t slen, unsigned kinds,
			 const struct msk_keys *keys, unsigned hex_len,
			 struct spot_buf *out, unsigned *found)
{
	const uint8_t *p = t->p;
	size_t len = t->len;
	struct pii_scan s = { p, len, kinds, g };
	size_t i = 0, copied = 0, end = 0, a, ss, se;
	unsigned k;
	int rc;

	if (!(s.gate & (PII_G_AT | PII_G_OBF | PII_G_DIGIT | PII_G_COLON)))
		goto tail; /* nothing any detector needs */
	while (i < len) {
		if (!(pii_cls[p[i]] & PII_C_START) ||
		    !(k = pii_match(&s, i, &end))) {
			/* The rest of a word cannot start a match. */
			if (pii_alnum(p[i++]))
				while (i < len && pii_alnum(p[i]))
					i++;
			continue;
		}
		*found |= k;
		if (out) {
			a = k == MSK_PII_EMAIL ? pii_email_trim(p, i, end) : i;
			pii_text_span(t, a, end, &ss, &se);
			if (ss < copied)
				ss = copied;
			rc = spot_buf_append(out, src + copied, ss - copied);
			if (!rc)
				rc = pii_put(k, p + a, end - a, keys, hex_len,
					     out);
			if (rc)
				return rc;
			copied = se;
		} else if (*found == (kinds & MSK_PII_ALL)) {
			break; /* every kind asked for is found */
		}
		i = end;
	}
tail:
	return out ? spot_buf_append(out, src + copied, slen - copied) : 0;
}

/*
 * Scan (p, len): ASCII text as it is, anything else through its folded
 * copy (pii_fold). With out, a value pii cannot read as text (control
 * bytes: a BLOB of UTF-16 text, an image) is replaced whole.
 */
static int pii_run(const uint8_t *p, size_t len, unsigned kinds,
		   const struct msk_keys *keys, unsigned hex_len,
		   struct spot_buf *out, unsigned *found)
{
	struct pii_text t = { p, len, NULL, NULL };
	unsigned g = pii_gate_of(p, len);
	int rc;

	if (out && (g & PII_G_CTRL))
		return spot_buf_append(out, PII_UNREADABLE,
				       strlen(PII_UNREADABLE));
	if (!(g & PII_G_FOLD))
		return pii_scan_text(&t, g, p, len, kinds, keys, hex_len, out,
				     found);
	rc = pii_fold(p, len, &t);
	if (rc)
		return rc;
	if (t.buf)
		g = pii_gate_of(t.p, t.len);
	rc = pii_scan_text(&t, g, p, len, kinds, keys, hex_len, out, found);
	pii_text_fini(&t);
	return rc;
}

unsigned msk_pii_detect(const uint8_t *p, size_t len)
{
	unsigned found = 0;

	if (pii_run(p, len, MSK_PII_ALL, NULL, 0, NULL, &found))
		return MSK_PII_ALL; /* unread: fail closed */
	return found;
}

int msk_pii_replace(const uint8_t *p, size_t len, unsigned kinds,
		    const struct msk_keys *k, unsigned hex_len,
		    struct spot_buf *out)
{
	unsigned found = 0;
	size_t mark = out->len;
	int rc;

	rc = pii_run(p, len, kinds, k, hex_len, out, &found);
	if (rc) {
		out->len = mark;
		if (out->p)
			out->p[mark] = 0;
	}
	return rc;
}

int msk_pii_redact(const uint8_t *p, size_t len, unsigned kinds,
		   struct spot_buf *out)
{
	return msk_pii_replace(p, len, kinds, NULL, 0, out);
}

const char *msk_pii_name(unsigned kind)
{
	switch (kind) {
	case MSK_PII_EMAIL:
		return "email";
	case MSK_PII_PHONE:
		return "phone";
	case MSK_PII_CARD:
		return "card";
	case MSK_PII_SSN:
		return "ssn";
	case MSK_PII_IBAN:
		return "iban";
	case MSK_PII_IP:
		return "ip";
	case MSK_PII_URL:
		return "url";
	default:
		return "unknown";
	}
}
