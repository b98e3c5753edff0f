/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_codec.c - page (de)compression for Parquet over snappy, zlib, zstd and
 * lz4. Every decoder writes into a caller buffer of the exact expected size.
 */
#include "pq_codec.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

/* Compression levels: favour speed, views are built at read time. */
#define PQ_ZSTD_LEVEL 1
#define PQ_GZIP_LEVEL 6
/* Hadoop LZ4 framing: big-endian decompressed and compressed sizes. */
#define PQ_LZ4_HADOOP_HDR 8

const char *pq_codec_name(int64_t codec)
{
	static const char *const names[] = { "UNCOMPRESSED", "SNAPPY", "GZIP",
					     "LZO",	     "BROTLI", "LZ4",
					     "ZSTD",	     "LZ4_RAW" };

	if (codec >= 0 && codec < (int64_t)SPOT_ARRAY_SIZE(names))
		return names[codec];
	return "unknown codec";
}

int pq_codec_check(int64_t codec, struct spot_err *err)
{
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
	case PQ_CODEC_SNAPPY:
	case PQ_CODEC_GZIP:
	case PQ_CODEC_LZ4:
	case PQ_CODEC_ZSTD:
	case PQ_CODEC_LZ4_RAW:
		return 0;
	case PQ_CODEC_BROTLI:
	case PQ_CODEC_LZO:
		spot_err_set(err,
			     "parquet: compression codec %s is not supported "
			     "(rewrite the file with snappy, zstd, gzip or "
			     "lz4_raw)",
			     pq_codec_name(codec));
		return -ENOTSUP;
	default:
		spot_err_set(err, "parquet: unknown compression codec %lld",
			     (long long)codec);
		return -ENOTSUP;
	}
}

static int pq_codec_bad(struct spot_err *err, int64_t codec, const char *what)
{
	spot_err_set(err, "parquet: %s page data: %s", pq_codec_name(codec),
		     what);
	return -EINVAL;
}

static int pq_gunzip(const uint8_t *src, size_t slen, uint8_t *dst, size_t dlen,
		     struct spot_err *err)
{
	z_stream zs;
	int zrc, rc = 0;

	if (slen > UINT_MAX || dlen > UINT_MAX)
		return pq_codec_bad(err, PQ_CODEC_GZIP, "page too large");
	memset(&zs, 0, sizeof(zs));
	/* 15 + 32: accept both gzip and zlib headers. */
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)src;
	zs.avail_in = (uInt)slen;
	zs.next_out = dst;
	zs.avail_out = (uInt)dlen;
	for (;;) {
		zrc = inflate(&zs, Z_FINISH);
		/* Concatenated gzip members: continue with the next one. */
		if (zrc == Z_STREAM_END && zs.avail_in && zs.avail_out) {
			if (inflateReset(&zs) != Z_OK)
				break;
			continue;
		}
		break;
	}
	if (zrc != Z_STREAM_END || zs.avail_out)
		rc = pq_codec_bad(err, PQ_CODEC_GZIP,
				  "corrupt or size differs from the header");
	inflateEnd(&zs);
	return rc;
}

static int pq_gzip(const uint8_t *src, size_t len, struct spot_buf *out,
		   struct spot_err *err)
{
	z_stream zs;
	uLong bound;
	int rc = 0;

	if (len > UINT_MAX / 2)
		return pq_codec_bad(err, PQ_CODEC_GZIP, "page too large");
	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: gzip header, as Parquet's GZIP codec expects. */
	if (deflateInit2(&zs, PQ_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)len) + 32;
	rc = spot_buf_reserve(out, bound);
	if (rc)
		goto out;
	zs.next_in = (Bytef *)src;
	zs.avail_in = (uInt)len;
	zs.next_out = out->p + out->len;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		rc = pq_codec_bad(err, PQ_CODEC_GZIP, "deflate failed");
		goto out;
	}
	out->len += zs.total_out;
out:
	deflateEnd(&zs);
	return rc;
}

static uint32_t pq_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop framing: blocks of [BE32 raw size][BE32 compressed size][lz4]. */
static int pq_lz4_hadoop(const uint8_t *src, size_t slen, uint8_t *dst,
			 size_t dlen)
{
	size_t in = 0, outp = 0;

	while (in < slen) {
		uint32_t raw, comp;
		int n;

		if (slen - in < PQ_LZ4_HADOOP_HDR)
			return -EINVAL;
		raw = pq_be32(src + in);
		comp = pq_be32(src + in + 4);
		in += PQ_LZ4_HADOOP_HDR;
		if (comp > slen - in || raw > dlen - outp || comp > INT_MAX ||
		    raw > INT_MAX)
			return -EINVAL;
		n = LZ4_decompress_safe((const char *)src + in,
					(char *)dst + outp, (int)comp,
					(int)raw);
		if (n < 0 || (uint32_t)n != raw)
			return -EINVAL;
		in += comp;
		outp += raw;
	}
	return outp == dlen ? 0 : -EINVAL;
}

static int pq_unlz4(int64_t codec, const uint8_t *src, size_t slen,
		    uint8_t *dst, size_t dlen, struct spot_err *err)
{
	int n;

	if (slen > INT_MAX || dlen > INT_MAX)
		return pq_codec_bad(err, codec, "page too large");
	/* The deprecated LZ4 codec is Hadoop-framed; some writers used raw. */
	if (codec == PQ_CODEC_LZ4 && !pq_lz4_hadoop(src, slen, dst, dlen))
		return 0;
	n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)slen,
				(int)dlen);
	if (n < 0 || (size_t)n != dlen)
		return pq_codec_bad(err, codec,
				    "corrupt or size differs from the header");
	return 0;
}

int pq_codec_decompress(int64_t codec, const uint8_t *src, size_t slen,
			uint8_t *dst, size_t dlen, struct spot_err *err)
{
	size_t n;
	int rc = pq_codec_check(codec, err);

	if (rc)
		return rc;
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
		if (slen != dlen)
			return pq_codec_bad(err, codec, "sizes differ");
		memcpy(dst, src, dlen);
		return 0;
	case PQ_CODEC_SNAPPY:
		if (snappy_uncompressed_length((const char *)src, slen, &n) !=
			    SNAPPY_OK ||
		    n != dlen)
			return pq_codec_bad(err, codec,
					    "size differs from the header");
		if (snappy_uncompress((const char *)src, slen, (char *)dst,
				      &n) != SNAPPY_OK ||
		    n != dlen)
			return pq_codec_bad(err, codec, "corrupt data");
		return 0;
	case PQ_CODEC_GZIP:
		return pq_gunzip(src, slen, dst, dlen, err);
	case PQ_CODEC_ZSTD:
		n = ZSTD_decompress(dst, dlen, src, slen);
		if (ZSTD_isError(n) || n != dlen)
			return pq_codec_bad(err, codec,
					    "corrupt or size differs from the "
					    "header");
		return 0;
	default:
		return pq_unlz4(codec, src, slen, dst, dlen, err);
	}
}

static int pq_lz4(int64_t codec, const uint8_t *src, size_t len,
		  struct spot_buf *out, struct spot_err *err)
{
	size_t hdr = codec == PQ_CODEC_LZ4 ? PQ_LZ4_HADOOP_HDR : 0;
	int bound, n, rc;
	uint8_t *p;

	if (len > LZ4_MAX_INPUT_SIZE)
		return pq_codec_bad(err, codec, "page too large");
	bound = LZ4_compressBound((int)len);
	rc = spot_buf_reserve(out, (size_t)bound + hdr);
	if (rc)
		return rc;
	p = out->p + out->len;
	n = LZ4_compress_default((const char *)src, (char *)p + hdr, (int)len,
				 bound);
	if (n <= 0)
		return pq_codec_bad(err, codec, "compression failed");
	if (hdr) {
		uint32_t sizes[2] = { (uint32_t)len, (uint32_t)n };
		int i;

		for (i = 0; i < 2; i++) {
			p[i * 4] = (uint8_t)(sizes[i] >> 24);
			p[i * 4 + 1] = (uint8_t)(sizes[i] >> 16);
			p[i * 4 + 2] = (uint8_t)(sizes[i] >> 8);
			p[i * 4 + 3] = (uint8_t)sizes[i];
		}
	}
	out->len += (size_t)n + hdr;
	return 0;
}

int pq_codec_compress(int64_t codec, const uint8_t *src, size_t len,
		      struct spot_buf *out, struct spot_err *err)
{
	size_t n;
	int rc = pq_codec_check(codec, err);

	if (rc)
		return rc;
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
		return spot_buf_append(out, src, len);
	case PQ_CODEC_SNAPPY:
		n = snappy_max_compressed_length(len);
		rc = spot_buf_reserve(out, n);
		if (rc)
			return rc;
		if (snappy_compress((const char *)src, len,
				    (char *)out->p + out->len, &n) != SNAPPY_OK)
			return pq_codec_bad(err, codec, "compression failed");
		out->len += n;
		return 0;
	case PQ_CODEC_GZIP:
		return pq_gzip(src, len, out, err);
	case PQ_CODEC_ZSTD:
		n = ZSTD_compressBound(len);
		rc = spot_buf_reserve(out, n);
		if (rc)
			return rc;
		n = ZSTD_compress(out->p + out->len, n, src, len,
				  PQ_ZSTD_LEVEL);
		if (ZSTD_isError(n))
			return pq_codec_bad(err, codec, "compression failed");
		out->len += n;
		return 0;
	default:
		return pq_lz4(codec, src, len, out, err);
	}
}

uint32_t pq_crc32(const uint8_t *p, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	while (len) {
		uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;

		c = crc32(c, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)c;
}
