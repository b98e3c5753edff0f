# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for spotfs(1). Options are kept in step with
# `spotfs COMMAND --help` by tests/integration/test_install.py.

# Mount points of live spotfs sandboxes (from the kernel's mount table).
_spotfs_mounts()
{
	local _ mp fstype _rest
	while IFS=" " read -r _ mp fstype _rest; do
		[ "$fstype" = fuse.spotfs ] && printf '%b\n' "$mp"
	done </proc/self/mounts 2>/dev/null
}

_spotfs()
{
	local cur prev cmd opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[1]}
	local cmds="mount unmount check preview scan report list status extend audit gc reveal export version"
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$cmds --version --help" -- "$cur"))
		return
	fi
	case $prev in
	-c|--config|--log|--output|--gen-key|--key)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-o)	# scan's --output; export's -o is --override (no argument)
		if [ "$cmd" = scan ]; then
			COMPREPLY=($(compgen -f -- "$cur")); return
		fi ;;
	-S|--state-dir)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-t|--ttl|-T|--timeout)
		COMPREPLY=($(compgen -W "30m 1h 2h 8h 1d" -- "$cur")); return ;;
	esac
	case $cmd in
	mount) opts="--config --ttl --foreground --log --private --wait --debug --help" ;;
	unmount) opts="--lazy --state-dir --timeout --help" ;;
	check) opts="--config --strict --json --help" ;;
	preview) opts="--config --rows --role --as-uid --json --help" ;;
	scan) opts="--output --force --json --rows --help" ;;
	report) opts="--config --quasi --k --role --json --budget --help" ;;
	list) opts="--json --all --state-dir --help" ;;
	status) opts="--json --state-dir --help" ;;
	extend) opts="--ttl --shorten --state-dir --help" ;;
	audit) opts="--sandbox --since --json --verify --key --gen-key --state-dir --help" ;;
	gc) opts="--dry-run --state-dir --help" ;;
	reveal) opts="--config --role --help" ;;
	export) opts="--reason --override --json --state-dir --help" ;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	case $cmd in
	unmount|status|extend)
		local IFS=$'\n'
		COMPREPLY=($(compgen -W "$(_spotfs_mounts)" -- "$cur")) ;;
	mount|scan)
		COMPREPLY=($(compgen -d -- "$cur")) ;;
	export)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}
complete -F _spotfs spotfs
