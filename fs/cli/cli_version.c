/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli_version.c - `spotfs --version`: the versions of the libraries this
 * binary runs with, asked of each library at run time (a shared library
 * upgraded under the binary shows its new version), not the headers it
 * was built against (shown beside it where the library has no call).
 */
#include "cli_version.h"

#include <stdio.h>

#include <fuse_lowlevel.h>
#include <lauxlib.h>
#include <lua.h>
#include <lz4.h>
#include <sodium.h>
#include <sqlite3.h>
#include <yaml.h>
#include <zlib.h>
#include <zstd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#ifndef SPOTFS_VERSION
#define SPOTFS_VERSION "0.0.0"
#endif

static void cli_version_lua(FILE *f)
{
	lua_State *L = luaL_newstate();
	int v = L ? (int)lua_version(L) : 0; /* the core linked: 504 */

	/* The core reports major and minor only; the release is the
	 * headers' own. */
	fprintf(f, "  Lua        %d.%d (built with %s)\n", v / 100, v % 100,
		LUA_RELEASE);
	if (L)
		lua_close(L);
}

void cli_version(FILE *f)
{
	char pcre[64] = "?";

	if (sodium_init() < 0)
		fprintf(stderr, "spotfs: libsodium failed to initialise\n");
	pcre2_config(PCRE2_CONFIG_VERSION, pcre);
	fprintf(f, "spotfs %s\n", SPOTFS_VERSION);
	fprintf(f, "  libfuse    %s\n", fuse_pkgversion());
	fprintf(f, "  SQLite     %s\n", sqlite3_libversion());
	fprintf(f, "  libsodium  %s\n", sodium_version_string());
	fprintf(f, "  libyaml    %s\n", yaml_get_version_string());
	cli_version_lua(f);
	/* The overlay's cipher: AES-256-GCM of libsodium, which needs the
	 * CPU's AES instructions (else the overlay uses XChaCha20). */
	fprintf(f, "  AES        libsodium AES-256-GCM (%s)\n",
		crypto_aead_aes256gcm_is_available()
			? "hardware AES: yes"
			: "no hardware AES: overlay uses XChaCha20-Poly1305");
	/* FPE (FF1, issue 13) links its AES library here: print its runtime
	 * version on one more line, e.g. "  FPE AES    Nettle 3.8". */
	fprintf(f, "  zstd       %s\n", ZSTD_versionString());
	fprintf(f, "  lz4        %s\n", LZ4_versionString());
	fprintf(f, "  zlib       %s\n", zlibVersion());
	fprintf(f, "  PCRE2      %s\n", pcre);
}
