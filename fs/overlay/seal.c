/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seal.c - the encrypted block store: the store folder, the master key, per
 * file keys in locked memory, backing files and crash clean-up. Block I/O is
 * in seal_io.c.
 */
#include "seal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal_i.h"
#include "spot.h"

static void seal_file_free(struct seal_file *f, bool rm);

/* Domain separation for per-file key derivation. */
static const char seal_kdf_label[] = "spotfs-seal-file-key-v1";

/* ---- names ---- */

static void seal_hex(const uint8_t *id, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < SEAL_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[SEAL_NAME_LEN] = 0;
}

static bool seal_is_store_name(const char *name)
{
	size_t i;

	for (i = 0; i < SEAL_NAME_LEN; i++) {
		char c = name[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return name[SEAL_NAME_LEN] == 0;
}

/*
 * Remove every regular file with a store name from the folder open as
 * dirfd (which is consumed). 0, -ENOTEMPTY if other entries remain.
 */
static int seal_dir_purge(int dirfd)
{
	struct dirent *de;
	int leftover = 0, rc = 0;
	DIR *d;

	d = fdopendir(dirfd);
	if (!d) {
		rc = -errno;
		close(dirfd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!seal_is_store_name(de->d_name) ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || unlinkat(dirfd, de->d_name, 0)) {
			leftover++;
			continue;
		}
	}
	closedir(d);
	if (leftover)
		rc = -ENOTEMPTY;
	return rc;
}

int seal_store_remove_dir(const char *dir)
{
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = seal_dir_purge(fd);
	if (rc)
		return rc;
	/* rmdir does not follow a symlink swapped in meanwhile. */
	if (rmdir(dir))
		return -errno;
	return 0;
}

/* ---- store ---- */

static int seal_dir_prepare(const char *dir, int *dirfd)
{
	bool made = true;
	struct stat st;
	DIR *d = NULL;
	int fd, rc;

	if (mkdir(dir, 0700)) {
		if (errno != EEXIST)
			return -errno;
		made = false;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* Not a folder we can use: a symlink, a file, ... */
		rc = made ? -errno : -EEXIST;
		if (made)
			rmdir(dir);
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		goto fail;
	}
	rc = -EEXIST;
	if (st.st_uid != geteuid() || (!made && (st.st_mode & 077)))
		goto fail;
	if (!made) {
		struct dirent *de;
		int dup_fd = dup(fd);

		if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
			if (dup_fd >= 0)
				close(dup_fd);
			rc = -errno;
			goto fail;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				goto fail;
		}
	}
	/* mkdir honours the umask; the store needs exactly 0700. */
	if (fchmod(fd, 0700)) {
		rc = -errno;
		goto fail;
	}
	if (d)
		closedir(d);
	*dirfd = fd;
	return 0;
fail:
	if (d)
		closedir(d);
	close(fd);
	if (made)
		rmdir(dir);
	return rc;
}

static int seal_pick_cipher(const struct seal_opts *o, struct seal_store *s)
{
	uint32_t bs =
		o && o->block_size ? o->block_size : SEAL_BLOCK_SIZE_DEFAULT;
	int c = o ? (int)o->cipher : SEAL_CIPHER_AUTO;

	if (bs < SEAL_BLOCK_SIZE_MIN || bs > SEAL_BLOCK_SIZE_MAX ||
	    (bs & (bs - 1)))
		return -EINVAL;
	if (c == SEAL_CIPHER_AUTO)
		c = crypto_aead_aes256gcm_is_available()
			    ? SEAL_CIPHER_AES256GCM
			    : SEAL_CIPHER_XCHACHA20POLY1305;
	if (c == SEAL_CIPHER_AES256GCM) {
		if (!crypto_aead_aes256gcm_is_available())
			return -EINVAL;
		/* The precomputed state needs 16-byte alignment. */
		s->slot_size = (sizeof(crypto_aead_aes256gcm_state) + 15) &
			       ~(size_t)15;
	} else if (c == SEAL_CIPHER_XCHACHA20POLY1305) {
		s->slot_size = SEAL_KEY_LEN;
	} else {
		return -EINVAL;
	}
	s->cipher = c;
	s->bs = bs;
	s->disk_only = o && o->disk_only;
	s->stride = bs + SEAL_OVERHEAD;
	s->batch = SEAL_BATCH_BYTES / bs;
	if (s->batch > SEAL_BATCH_MAX)
		s->batch = SEAL_BATCH_MAX;
	if (s->batch < 1)
		s->batch = 1;
	return 0;
}

int seal_store_open(const char *dir, const struct seal_opts *opts,
		    struct seal_store **out)
{
	struct seal_store *s;
	int rc;

	if (sodium_init() < 0)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dirfd = -1;
	rc = seal_pick_cipher(opts, s);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	s->dir = strdup(dir);
	s->master = sodium_malloc(SEAL_KEY_LEN);
	if (!s->dir || !s->master)
		goto fail;
	randombytes_buf(s->master, SEAL_KEY_LEN);
	sodium_mprotect_noaccess(s->master);
	rc = seal_dir_prepare(dir, &s->dirfd);
	if (rc)
		goto fail;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
fail:
	if (s->master)
		sodium_free(s->master);
	free(s->dir);
	free(s);
	return rc;
}

void seal_store_close(struct seal_store *s, bool remove)
{
	int rc;

	if (!s)
		return;
	while (s->files)
		seal_file_free(s->files, remove);
	while (s->npool) /* empty files: removed with the folder below */
		close(s->pool_fd[--s->npool]);
	while (s->slabs) {
		struct seal_slab *sl = s->slabs;

		s->slabs = sl->next;
		sodium_free(sl->mem); /* sodium_free wipes the memory */
		free(sl);
	}
	sodium_free(s->master);
	if (remove) {
		rc = seal_dir_purge(s->dirfd);
		if (!rc && rmdir(s->dir))
			rc = -errno;
		if (rc)
			spot_log(SPOT_LOG_WARN,
				 "seal: store %s not removed: %s", s->dir,
				 strerror(-rc));
	} else {
		close(s->dirfd);
	}
	pthread_mutex_destroy(&s->mu);
	free(s->dir);
	free(s);
}

int seal_store_statfs(struct seal_store *s, struct statvfs *st)
{
	return fstatvfs(s->dirfd, st) ? -errno : 0;
}

uint64_t seal_store_bytes(const struct seal_store *s)
{
	return __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
}

uint32_t seal_store_block_size(const struct seal_store *s)
{
	return s->bs;
}

const char *seal_store_cipher_name(const struct seal_store *s)
{
	return s->cipher == SEAL_CIPHER_AES256GCM ? "aes256gcm"
						  : "xchacha20poly1305";
}

void seal_account(struct seal_file *f, int64_t dblocks)
{
	__atomic_add_fetch(&f->nalloc, (uint64_t)dblocks, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->s->bytes, (uint64_t)(dblocks * f->s->stride),
			   __ATOMIC_RELAXED);
}

void seal_log_bad_block(const struct seal_file *f, uint64_t blk,
			const char *why)
{
	spot_log(SPOT_LOG_ERR, "seal: file %s block %llu: %s", f->name,
		 (unsigned long long)blk, why);
}

/* ---- key slots (s->mu held) ---- */

static uint8_t *seal_slot_get(struct seal_store *s, struct seal_slab **slab)
{
	struct seal_slab *sl;
	unsigned i;

	for (sl = s->slabs; sl; sl = sl->next) {
		if (sl->used != UINT64_MAX)
			break;
	}
	if (!sl) {
		sl = calloc(1, sizeof(*sl));
		if (!sl)
			return NULL;
		sl->mem = sodium_allocarray(SEAL_SLAB_SLOTS, s->slot_size);
		if (!sl->mem) {
			free(sl);
			return NULL;
		}
		sl->next = s->slabs;
		s->slabs = sl;
	}
	i = (unsigned)__builtin_ctzll(~sl->used);
	sl->used |= 1ull << i;
	*slab = sl;
	return sl->mem + i * s->slot_size;
}

static void seal_slot_put(struct seal_store *s, struct seal_slab *sl,
			  uint8_t *slot)
{
	size_t i = (size_t)(slot - sl->mem) / s->slot_size;

	sodium_memzero(slot, s->slot_size);
	sl->used &= ~(1ull << i);
}

/* Derive the file key into its slot (s->mu held). */
static void seal_key_derive(struct seal_file *f)
{
	struct seal_store *s = f->s;
	uint8_t in[sizeof(seal_kdf_label) + SEAL_ID_LEN];
	uint8_t *key = f->key, tmp[SEAL_KEY_LEN];

	memcpy(in, seal_kdf_label, sizeof(seal_kdf_label));
	memcpy(in + sizeof(seal_kdf_label), f->id, SEAL_ID_LEN);
	if (s->cipher == SEAL_CIPHER_AES256GCM)
		key = tmp;
	sodium_mprotect_readonly(s->master);
	crypto_generichash(key, SEAL_KEY_LEN, in, sizeof(in), s->master,
			   SEAL_KEY_LEN);
	sodium_mprotect_noaccess(s->master);
	if (s->cipher == SEAL_CIPHER_AES256GCM) {
		crypto_aead_aes256gcm_beforenm(
			(crypto_aead_aes256gcm_state *)(void *)f->key, tmp);
		sodium_memzero(tmp, sizeof(tmp));
	}
}

/* ---- files ---- */

/* ---- small files in memory ---- */

static int seal_pool_take(struct seal_store *s, char *name);

void seal_mem_account(struct seal_file *f)
{
	struct stat st;
	uint64_t now;

	if (!f->inmem || fstat(f->fd, &st))
		return;
	now = (uint64_t)st.st_size;
	if (now > f->mem_acct)
		__atomic_add_fetch(&f->s->mem_bytes, now - f->mem_acct,
				   __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&f->s->mem_bytes, f->mem_acct - now,
				   __ATOMIC_RELAXED);
	f->mem_acct = now;
}

/* Copy the memfd's ciphertext into a backing file and switch to it. */
static int seal_spill(struct seal_file *f)
{
	struct seal_store *s = f->s;
	uint8_t buf[64 * 1024];
	struct stat st;
	off_t off = 0;
	int fd, rc = 0;

	if (fstat(f->fd, &st))
		return -errno;
	fd = seal_pool_take(s, f->name);
	if (fd < 0) {
		seal_hex(f->id, f->name);
		fd = openat(s->dirfd, f->name,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
	}
	if (fd < 0)
		return -errno;
	while (!rc && off < st.st_size) {
		ssize_t n = pread(f->fd, buf, sizeof(buf), off);

		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else if (pwrite(fd, buf, (size_t)n, off) != n)
			rc = -EIO;
		off += n > 0 ? n : 0;
	}
	if (!rc && ftruncate(fd, st.st_size))
		rc = -errno;
	if (rc) {
		unlinkat(s->dirfd, f->name, 0);
		close(fd);
		return rc;
	}
	close(f->fd);
	f->fd = fd;
	__atomic_sub_fetch(&s->mem_bytes, f->mem_acct, __ATOMIC_RELAXED);
	f->mem_acct = 0;
	f->inmem = false;
	return 0;
}

int seal_mem_prepare(struct seal_file *f, uint64_t end)
{
	if (!f->inmem)
		return 0;
	if (end > SEAL_MEM_FILE_MAX ||
	    __atomic_load_n(&f->s->mem_bytes, __ATOMIC_RELAXED) >
		    SEAL_MEM_BUDGET)
		return seal_spill(f);
	return 0;
}

/* An emptied backing file to reuse (fd, name into name), or -1. */
static int seal_pool_take(struct seal_store *s, char *name)
{
	int fd = -1;

	pthread_mutex_lock(&s->mu);
	if (s->npool) {
		s->npool--;
		fd = s->pool_fd[s->npool];
		memcpy(name, s->pool_name[s->npool], SEAL_NAME_LEN + 1);
	}
	pthread_mutex_unlock(&s->mu);
	return fd;
}

/*
 * Keep f's backing file for reuse: emptied first, so it holds no
 * ciphertext (a new file gets a new id, salt and key anyway). False when
 * the pool is full or the truncate failed: the caller unlinks it.
 */
static bool seal_pool_put(struct seal_store *s, struct seal_file *f)
{
	bool kept = false;

	if (ftruncate(f->fd, 0))
		return false;
	pthread_mutex_lock(&s->mu);
	if (s->npool < SEAL_POOL_MAX) {
		s->pool_fd[s->npool] = f->fd;
		memcpy(s->pool_name[s->npool], f->name, SEAL_NAME_LEN + 1);
		s->npool++;
		kept = true;
	}
	pthread_mutex_unlock(&s->mu);
	return kept;
}

int seal_file_create(struct seal_store *s, struct seal_file **out)
{
	struct seal_file *f;
	int rc;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	randombytes_buf(f->id, sizeof(f->id));
	randombytes_buf(f->salt, sizeof(f->salt));
	seal_hex(f->id, f->name); /* the name it spills to, if it ever does */
	f->fd = -1;
	if (!s->disk_only && __atomic_load_n(&s->mem_bytes, __ATOMIC_RELAXED) <
				     SEAL_MEM_BUDGET) {
		f->fd = memfd_create("spotfs-seal", MFD_CLOEXEC);
		f->inmem = f->fd >= 0;
	}
	if (f->fd < 0)
		f->fd = seal_pool_take(s, f->name);
	if (f->fd < 0) {
		seal_hex(f->id, f->name);
		f->fd = openat(s->dirfd, f->name,
			       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
				       O_CLOEXEC,
			       0600);
	}
	if (f->fd < 0) {
		rc = -errno;
		free(f);
		return rc;
	}
	f->s = s;
	pthread_mutex_lock(&s->mu);
	f->key = seal_slot_get(s, &f->slab);
	if (!f->key) {
		pthread_mutex_unlock(&s->mu);
		unlinkat(s->dirfd, f->name, 0);
		close(f->fd);
		free(f);
		return -ENOMEM;
	}
	seal_key_derive(f);
	f->next = s->files;
	if (s->files)
		s->files->prev = f;
	s->files = f;
	pthread_mutex_unlock(&s->mu);
	pthread_rwlock_init(&f->lock, NULL);
	*out = f;
	return 0;
}

/* Free f; unlink its backing file unless the store is being kept. */
static void seal_file_free(struct seal_file *f, bool rm)
{
	struct seal_store *s = f->s;

	if (f->inmem) {
		__atomic_sub_fetch(&s->mem_bytes, f->mem_acct,
				   __ATOMIC_RELAXED);
		close(f->fd); /* a memfd: nothing on disk */
	} else if (!rm || !seal_pool_put(s, f)) {
		if (rm)
			unlinkat(s->dirfd, f->name, 0);
		close(f->fd);
	}
	seal_account(f, -(int64_t)f->nalloc);
	seal_map_free(f);
	pthread_mutex_lock(&s->mu);
	seal_slot_put(s, f->slab, f->key);
	if (f->prev)
		f->prev->next = f->next;
	else
		s->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&s->mu);
	pthread_rwlock_destroy(&f->lock);
	sodium_memzero(f, sizeof(*f));
	free(f);
}

void seal_file_destroy(struct seal_file *f)
{
	if (f)
		seal_file_free(f, true);
}

off_t seal_file_size(const struct seal_file *f)
{
	return __atomic_load_n(&f->size, __ATOMIC_RELAXED);
}

uint64_t seal_file_blocks(const struct seal_file *f)
{
	uint64_t n = __atomic_load_n(&f->nalloc, __ATOMIC_RELAXED);

	return n * (f->s->bs / 512);
}

int seal_file_fsync(struct seal_file *f, bool datasync)
{
	int rc = datasync ? fdatasync(f->fd) : fsync(f->fd);

	return rc ? -errno : 0;
}

const char *seal_file_name(const struct seal_file *f)
{
	return f->name;
}
