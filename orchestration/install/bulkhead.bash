# bash completion for bulkhead (installed as
# share/bash-completion/completions/bulkhead): options and subcommands;
# VM names (of running topologies, from `bulkhead status --json`) after
# start, stop, console, logs, exec, view and usb; topology files (*.yaml, *.yml,
# directories) after up, down, check, enable and disable (disable: also
# the names in /etc/bulkhead).

# The VM names status --json lists, one a line. python3 reads the JSON (a
# dependency of the image builder already); nothing when status fails.
_bulkhead_vms()
{
	"$1" status --json 2>/dev/null | python3 -c '
import json, sys
try:
    for t in json.load(sys.stdin):
        for vm in t.get("vms", []):
            print(vm["name"])
except (ValueError, KeyError, TypeError, AttributeError):
    pass' 2>/dev/null
}

_bulkhead()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local commands="up down start stop status check console logs exec view usb demo enable disable"
	local options="--connect --accel --images --boot-timeout --help --version"
	local i cmd= cmd_at=0
	COMPREPLY=()
	case $prev in
	--accel) COMPREPLY=($(compgen -W "kvm tcg auto" -- "$cur")); return ;;
	--images|--root) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--connect|--boot-timeout) return ;;
	esac
	# The subcommand: the first word that is not an option or its value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--connect|--accel|--images|--boot-timeout) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; cmd_at=$i; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		case $cur in
		-*) COMPREPLY=($(compgen -W "$options" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
		esac
		return
	fi
	local nth=$((COMP_CWORD - cmd_at))
	case $cmd in
	up|down|check|enable|disable)
		if [[ $cur == -* ]]; then
			case $cmd in
			check) [ "$nth" = 1 ] && COMPREPLY=($(compgen -W "--show" -- "$cur")) ;;
			enable|disable) COMPREPLY=($(compgen -W "--now --root" -- "$cur")) ;;
			esac
			return
		fi
		local IFS=$'\n' names=
		if [ "$cmd" = disable ] && [ -d /etc/bulkhead ]; then
			names=$(cd /etc/bulkhead && for f in *.yaml; do
				[ -f "$f" ] && echo "${f%.yaml}"; done)
		fi
		COMPREPLY=($(compgen -d -S / -- "$cur")
			   $(compgen -f -X '!*.yaml' -- "$cur")
			   $(compgen -f -X '!*.yml' -- "$cur")
			   $(compgen -W "$names" -- "$cur"))
		compopt -o nospace -o filenames 2>/dev/null
		;;
	usb)
		case $nth in
		1) COMPREPLY=($(compgen -W "list attach detach" -- "$cur")) ;;
		2|3) [ "${COMP_WORDS[cmd_at+1]}" = list ] || [ "$nth" = 3 ] &&
			COMPREPLY=($(compgen -W "$(_bulkhead_vms "${COMP_WORDS[0]}")" -- "$cur")) ;;
		esac
		;;
	start|stop|console|logs|exec|view)
		[ "$nth" = 1 ] || return
		COMPREPLY=($(compgen -W "$(_bulkhead_vms "${COMP_WORDS[0]}")" -- "$cur"))
		;;
	status) [ "$nth" = 1 ] && COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	demo) [ "$nth" = 1 ] && COMPREPLY=($(compgen -W "--keep" -- "$cur")) ;;
	esac
}
complete -F _bulkhead bulkhead
