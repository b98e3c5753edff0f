/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_codec.h - Parquet page compression codecs over Debian's libraries:
 * UNCOMPRESSED, SNAPPY (snappy-c), GZIP (zlib), ZSTD (libzstd), LZ4_RAW and
 * the deprecated LZ4 with Hadoop framing (liblz4). LZO and BROTLI are
 * refused with a clear message.
 *
 * Decompression is always into a buffer of the exact size the page header
 * claims: a page that decompresses to more or fewer bytes is an error, so a
 * decompression bomb cannot grow past the (capped) size its header states.
 * Stateless and thread-safe.
 */
#ifndef SPOT_PQ_CODEC_H
#define SPOT_PQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "spot.h"

/* CompressionCodec values of parquet.thrift. */
enum pq_codec_id {
	PQ_CODEC_UNCOMPRESSED = 0,
	PQ_CODEC_SNAPPY = 1,
	PQ_CODEC_GZIP = 2,
	PQ_CODEC_LZO = 3,
	PQ_CODEC_BROTLI = 4,
	PQ_CODEC_LZ4 = 5,
	PQ_CODEC_ZSTD = 6,
	PQ_CODEC_LZ4_RAW = 7,
};

/* Name of a codec for messages ("SNAPPY", "codec 42"). Static storage. */
const char *pq_codec_name(int64_t codec);

/* 0 if codec is supported, else -ENOTSUP with a message in err. */
int pq_codec_check(int64_t codec, struct spot_err *err);

/*
 * Decompress (src, slen) into exactly dlen bytes at dst. 0, -EINVAL (corrupt
 * data or a size other than dlen; err set) or -ENOTSUP.
 */
int pq_codec_decompress(int64_t codec, const uint8_t *src, size_t slen,
			uint8_t *dst, size_t dlen, struct spot_err *err);

/*
 * Compress (src, len) and append the result to out. 0, -ENOMEM, -EINVAL or
 * -ENOTSUP (err set).
 */
int pq_codec_compress(int64_t codec, const uint8_t *src, size_t len,
		      struct spot_buf *out, struct spot_err *err);

/* CRC-32 (the zlib/gzip polynomial) of (p, len), as used for page CRCs. */
uint32_t pq_crc32(const uint8_t *p, size_t len);

#endif /* SPOT_PQ_CODEC_H */
