/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seal.h - the encrypted block store behind the overlay: file contents as
 * authenticated, encrypted fixed-size blocks in opaque backing files.
 *
 * A store is one folder per sandbox (mode 0700) holding only files named by
 * random hex ids and filled with ciphertext. The master key is 32 random
 * bytes in sodium_malloc'd (locked, guarded) memory, never written anywhere
 * and wiped on close. Each file gets a key derived from the master key and
 * its random id. Every block carries a nonce and an AEAD tag; the associated
 * data binds the file id, the block number and a per-block write version
 * held in memory, so blocks cannot be swapped, truncated or replayed
 * unnoticed: such a block reads as -EIO (and a log line naming the file id
 * and block number, never content). Logical sizes, holes and versions live
 * in memory only; see docs/STORE-FORMAT.md for the layout.
 *
 * No FUSE here: the daemon maps these calls onto its handlers.
 *
 * Threads: all seal_file calls on one file may run concurrently from many
 * threads (a per-file rwlock: reads shared, writes/truncates exclusive),
 * except seal_file_destroy(), which the caller must serialise after every
 * other call on that file. Store calls are thread-safe, except
 * seal_store_close(), which must come last.
 */
#ifndef SPOT_SEAL_H
#define SPOT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>

/* Default plaintext block size (see docs/STORE-FORMAT.md for why). */
#define SEAL_BLOCK_SIZE_DEFAULT 4096u
#define SEAL_BLOCK_SIZE_MIN 512u
#define SEAL_BLOCK_SIZE_MAX (1u << 20)
/* Largest logical file size (16 TiB, as ext4); beyond it -EFBIG. */
#define SEAL_FILE_SIZE_MAX ((off_t)1 << 44)
/* Bytes of a backing file name: hex of the 128-bit random file id. */
#define SEAL_NAME_LEN 32

enum seal_cipher {
	SEAL_CIPHER_AUTO = 0, /* AES-256-GCM if the CPU has it, else XChaCha */
	SEAL_CIPHER_XCHACHA20POLY1305 = 1,
	SEAL_CIPHER_AES256GCM = 2,
};

struct seal_opts {
	uint32_t block_size; /* power of two in [MIN, MAX]; 0 = default */
	enum seal_cipher cipher;
	/*
	 * Every file on disk from its creation: no small files in memory
	 * (tests that tamper with backing files use this).
	 */
	bool disk_only;
};

struct seal_store;
struct seal_file;

/* ---- store ---- */

/*
 * Create the store folder dir (mode 0700; its parent must exist) and a fresh
 * random master key. An existing dir is accepted only if it is a real
 * directory (not a symlink) owned by the caller, without group/other access,
 * and empty. opts may be NULL for defaults.
 * 0, -EEXIST (dir exists and is not an empty private dir), -EINVAL (bad
 * opts, AES-GCM asked for but unavailable), -ENOMEM, or the errno of
 * mkdir/open. *out is written only on success; free with seal_store_close().
 */
int seal_store_open(const char *dir, const struct seal_opts *opts,
		    struct seal_store **out);
/*
 * Free every file still open (their pointers become invalid), wipe the
 * master key and free the store. With remove, delete every backing file and
 * the folder itself (a folder holding foreign files is kept and logged);
 * without, leave the ciphertext as a crash would (for tests of gc).
 * NULL is a no-op.
 */
void seal_store_close(struct seal_store *s, bool remove);
/*
 * Crash clean-up (`spotfs gc`): delete a stale store folder. Only regular
 * files with store names are removed; the folder must not be a symlink.
 * 0, -ELOOP/-ENOTDIR (dir is a symlink or no folder), -ENOTEMPTY (foreign
 * entries were left in place), or another -errno.
 */
int seal_store_remove_dir(const char *dir);
/* fstatvfs() of the store folder. 0 or -errno. */
int seal_store_statfs(struct seal_store *s, struct statvfs *st);
/* Ciphertext bytes currently stored by all files (lock-free). */
uint64_t seal_store_bytes(const struct seal_store *s);
/* The plaintext block size and the cipher's name ("xchacha20poly1305"...). */
uint32_t seal_store_block_size(const struct seal_store *s);
const char *seal_store_cipher_name(const struct seal_store *s);

/* ---- files ---- */

/*
 * Create an empty file with a fresh random id and backing file.
 * 0, -ENOMEM or the errno of openat. Free with seal_file_destroy().
 */
int seal_file_create(struct seal_store *s, struct seal_file **out);
/*
 * Unlink the backing file, wipe the file key and free f. No other call on f
 * may be running or follow. NULL is a no-op.
 */
void seal_file_destroy(struct seal_file *f);
/*
 * Read up to len bytes at off; bytes past the logical size are not read,
 * holes read as zeros. Returns the bytes read (0 at or past the end), or
 * -EINVAL (off < 0), -EIO (a block failed authentication or is missing:
 * logged), or the errno of pread. A failure after some bytes were read
 * returns the count so far.
 */
ssize_t seal_file_pread(struct seal_file *f, void *buf, size_t len, off_t off);
/*
 * Write len bytes at off, extending the size if needed. Returns len, or
 * -EINVAL (off < 0), -EFBIG (past SEAL_FILE_SIZE_MAX), -ENOMEM, -EIO (a
 * block to be partly rewritten failed authentication), or the errno of
 * pwrite (-ENOSPC...). A failure after some bytes were written returns the
 * count so far. If the backing write itself fails, the block it interrupted
 * may afterwards read as -EIO (fail closed).
 */
ssize_t seal_file_pwrite(struct seal_file *f, const void *buf, size_t len,
			 off_t off);
/* Set the logical size; growing leaves a hole. 0, -EINVAL, -EFBIG, -EIO. */
int seal_file_truncate(struct seal_file *f, off_t size);
/*
 * fallocate(2) subset: mode 0 and FALLOC_FL_KEEP_SIZE reserve backing space
 * (and mode 0 extends the size); FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE and
 * FALLOC_FL_ZERO_RANGE (with or without KEEP_SIZE) zero the range.
 * 0, -EINVAL, -EFBIG, -EOPNOTSUPP (other modes), -ENOSPC, -EIO.
 */
int seal_file_fallocate(struct seal_file *f, int mode, off_t off, off_t len);
/* Logical size (lock-free). */
off_t seal_file_size(const struct seal_file *f);
/* Allocated plaintext blocks in 512-byte units, for st_blocks (lock-free). */
uint64_t seal_file_blocks(const struct seal_file *f);
/* fsync/fdatasync the backing file. 0 or -errno. */
int seal_file_fsync(struct seal_file *f, bool datasync);
/* The backing file name (SEAL_NAME_LEN hex chars, NUL-terminated). */
const char *seal_file_name(const struct seal_file *f);

#endif /* SPOT_SEAL_H */
