#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lua_probes.sh - run the sandbox probes (concat use-after-free, coroutine
# close, __gc with hooks off) against the linked Lua under valgrind, so a
# sandbox gap or a change in the Lua library is noticed.
#
#   lua_probes.sh RUNNER [PROBE_DIR]
#
# RUNNER is a built tests/unit/lua_probe_runner (without ASan: valgrind and
# ASan do not mix). PROBE_DIR defaults to the lua/ folder next to this
# script. Exit 0: every probe blocked and valgrind clean; 1: a failure;
# 77: skipped (no valgrind).
set -u

runner=${1:?usage: lua_probes.sh RUNNER [PROBE_DIR]}
dir=${2:-$(dirname "$0")/lua}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind not installed"
	exit 77
fi

n=0
fail=0
for probe in "$dir"/probe_*.lua; do
	n=$((n + 1))
	if timeout 600 valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		"$runner" "$probe"; then
		echo "ok $n - $(basename "$probe")"
	else
		echo "not ok $n - $(basename "$probe")"
		fail=1
	fi
done
echo "1..$n"
if [ "$n" -eq 0 ]; then
	echo "no probes found in $dir" >&2
	exit 1
fi
exit $fail
