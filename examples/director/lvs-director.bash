# bash completion for lvs-director(8). Generated from the program's flags and
# subcommands by go test ./examples/director -run 'TestManPage|TestCompletion' -update; do not edit.

_lvs_director_files() {
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$1"))
}

_lvs_director() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-check|-config|-control|-import|-state)
		_lvs_director_files "$cur"
		return
		;;
	-config-format)
		COMPREPLY=($(compgen -W "auto yaml keepalived" -- "$cur"))
		return
		;;
	-log-format)
		COMPREPLY=($(compgen -W "text json" -- "$cur"))
		return
		;;
	-log-level)
		COMPREPLY=($(compgen -W "debug info warn error" -- "$cur"))
		return
		;;
	-call-timeout|-config-id|-control-group|-cpuprofile|-drain|-for|-max-checks|-metrics|-reason|-resync|-status-group|-until)
		COMPREPLY=()
		return
		;;
	esac
	local i cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		status|disable|enable|weight|drain|restore|reload|withdraw|rejoin|version|undrain)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	local words
	case $cmd in
	"")
		if [[ $cur == -* ]]; then
			words="-call-timeout -check -config -config-format -config-id -control -control-group -cpuprofile -drain -dry-run -import -log-format -log-level -max-checks -metrics -pprof -report -resync -state -status-group -status-page -teardown -version"
		else
			words="status disable enable weight drain restore reload withdraw rejoin version undrain"
		fi
		;;
	status)
		words="-control -json"
		;;
	disable)
		words="-control -reason"
		;;
	enable)
		words="-control"
		;;
	weight)
		words="-control -reason"
		;;
	drain)
		words="-control -for -reason -until"
		;;
	restore)
		words="-control"
		;;
	reload)
		words="-control"
		;;
	withdraw)
		words="-control"
		;;
	rejoin)
		words="-control"
		;;
	version)
		words=""
		;;
	undrain)
		words="-control"
		;;
	esac
	if [[ -z $cmd || $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
	fi
}

complete -F _lvs_director lvs-director
