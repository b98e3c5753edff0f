/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seal_i.h - internals of the encrypted block store shared by seal.c (store,
 * keys, backing files) and seal_io.c (block map, block crypto, file I/O).
 * Private to fs/seal*.c.
 */
#ifndef SPOT_SEAL_I_H
#define SPOT_SEAL_I_H

#include "seal.h"

#include <pthread.h>

/* On-disk block: nonce field | ciphertext (block_size) | tag. */
#define SEAL_NONCE_FIELD 24u
#define SEAL_TAG_LEN 16u
#define SEAL_OVERHEAD (SEAL_NONCE_FIELD + SEAL_TAG_LEN)
#define SEAL_ID_LEN 16u
#define SEAL_KEY_LEN 32u
/*
 * Backing files kept for reuse after their file was destroyed (truncated to
 * zero, so they hold no ciphertext). Reuse skips the file system's inode
 * allocation, which dominates create/unlink-heavy work on ext4.
 */
#define SEAL_POOL_MAX 256u
/*
 * Small files start in an anonymous memfd (RAM, ciphertext only) and move
 * to a backing file in the store folder when they grow past
 * SEAL_MEM_FILE_MAX plaintext bytes or when the store's small files hold
 * SEAL_MEM_BUDGET bytes in all: a burst of small files then costs no file
 * system metadata at all.
 */
#define SEAL_MEM_FILE_MAX (64u * 1024u)
#define SEAL_MEM_BUDGET (64u * 1024u * 1024u)
/* Key slots per sodium_malloc'd slab. */
#define SEAL_SLAB_SLOTS 64u
/* Plaintext bytes encrypted per backing pwrite/pread. */
#define SEAL_BATCH_BYTES (256u * 1024u)
#define SEAL_BATCH_MAX 64u
/* Block-version map: a three-level radix of 512-entry tables. */
#define SEAL_MAP_SHIFT 9u
#define SEAL_MAP_FAN (1u << SEAL_MAP_SHIFT)

struct seal_slab {
	struct seal_slab *next;
	uint8_t *mem;  /* SEAL_SLAB_SLOTS * slot_size, sodium_malloc'd */
	uint64_t used; /* bit i set: slot i taken */
};

struct seal_store {
	int dirfd;	    /* immutable */
	char *dir;	    /* immutable: path given at open */
	int cipher;	    /* immutable: enum seal_cipher, never AUTO */
	uint32_t bs;	    /* immutable: plaintext block size */
	uint32_t stride;    /* immutable: bs + SEAL_OVERHEAD */
	uint32_t batch;	    /* immutable: blocks per backing I/O */
	size_t slot_size;   /* immutable: bytes of a file key slot */
	bool disk_only;	    /* immutable: seal_opts.disk_only */
	pthread_mutex_t mu; /* protects the fields below */
	uint8_t *master;    /* sodium_malloc'd; PROT_NONE except under mu */
	struct seal_slab *slabs;    /* under mu */
	struct seal_file *files;    /* open files, under mu */
	int pool_fd[SEAL_POOL_MAX]; /* empty backing files, under mu */
	char pool_name[SEAL_POOL_MAX][SEAL_NAME_LEN + 1]; /* under mu */
	unsigned npool;					  /* under mu */
	uint64_t mem_bytes; /* ciphertext held in memfds; atomic */
	uint64_t bytes;	    /* ciphertext bytes; atomic */
};

struct seal_file {
	struct seal_store *s;	       /* immutable */
	struct seal_file *prev, *next; /* in s->files, under s->mu */
	int fd;			       /* immutable */
	uint8_t id[SEAL_ID_LEN];       /* immutable: random file id */
	/* The backing file's name: the hex of an id, this file's or that of
	 * an earlier file whose backing file is reused (names mean nothing). */
	uint8_t salt[16];	      /* immutable: random nonce prefix */
	char name[SEAL_NAME_LEN + 1]; /* immutable: hex of id */
	uint8_t *key; /* immutable: key or AES-GCM state in a slab slot */
	struct seal_slab *slab; /* immutable: the slab holding key */
	pthread_rwlock_t lock;	/* protects the fields below */
	uint64_t ***map;	/* under lock: block -> version, 0 = hole */
	size_t nmap;		/* under lock: entries of map */
	uint64_t wctr;		/* under lock: last version handed out */
	uint64_t nalloc;	/* written under lock, read atomically */
	off_t size;		/* written under lock, read atomically */
	bool inmem;		/* under lock: fd is a memfd, not yet spilled */
	uint64_t mem_acct;	/* under lock: bytes counted in s->mem_bytes */
};

/* Store helpers in seal.c for seal_io.c. */
void seal_account(struct seal_file *f, int64_t dblocks);
void seal_log_bad_block(const struct seal_file *f, uint64_t blk,
			const char *why);
/*
 * Before a write or growth to end (plaintext bytes), move an in-memory file
 * to a backing file if it outgrows memory; after any size change, account
 * what it holds. Caller holds f->lock for writing. 0 or -errno.
 */
int seal_mem_prepare(struct seal_file *f, uint64_t end);
void seal_mem_account(struct seal_file *f);
/* Free the block map (caller holds f->lock or owns f). */
void seal_map_free(struct seal_file *f);

#endif /* SPOT_SEAL_I_H */
