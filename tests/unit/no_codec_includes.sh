#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The layers above masking/ reach formats only through the table of formats
# (masking/format.h): no file of fs/ or policy/ may include a codec's header
# (masking/formats/*.h). The build enforces it too (masking_dep does not
# export masking/formats/); this names the offending line.
# Usage: no_codec_includes.sh SOURCE_ROOT
root=${1:?usage: $0 SOURCE_ROOT}
status=0
for h in "$root"/masking/formats/*.h; do
	name=$(basename "$h")
	hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]([^\">]*/)?$name[\">]" \
		"$root/fs" "$root/policy" 2>/dev/null)
	if [ -n "$hits" ]; then
		echo "codec header $name included above masking/:"
		echo "$hits"
		status=1
	fi
done
[ $status -eq 0 ] && echo "ok: fs/ and policy/ include no codec header"
exit $status
