/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_main.c - the replay driver every fuzz target is linked with when it
 * is built without libFuzzer (tests/meson.build): main() feeds each file
 * named on the command line to LLVMFuzzerTestOneInput, whole, so the unit
 * suite runs the committed corpus under the sanitizers. A target's oracle
 * aborts on a violation; an unreadable file fails the run.
 *
 * A target that keeps state across inputs frees it in fuzz_replay_done()
 * (optional), so LeakSanitizer sees only real leaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_replay_done(void) __attribute__((weak));

/* The whole of path in *p (malloc'd, one spare byte), its size in *n. */
static int fuzz_read(const char *path, uint8_t **p, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, got;

	if (!f)
		return -1;
	do {
		if (len == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*p = buf;
	*n = len;
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		uint8_t *p;
		size_t n;

		if (fuzz_read(argv[i], &p, &n)) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		LLVMFuzzerTestOneInput(p, n);
		free(p);
	}
	if (fuzz_replay_done)
		fuzz_replay_done();
	printf("%s: replayed %d input(s)%s\n", argv[0], argc - 1,
	       rc ? ", some unreadable" : "");
	return rc;
}
