# bash completion for tunswctl (install as
# /usr/share/bash-completion/completions/tunswctl)
_tunswctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} i words=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s|--socket|--timeout) ((i++)) ;;
		-*) ;;
		*) words+=("${COMP_WORDS[i]}") ;;
		esac
	done
	local opts="show network port remote neighbor route fdb flood arp l2pop counters trace call ops"
	case "${words[0]}" in
	"") opts="$opts -s --socket --json --timeout --help" ;;
	show) [ ${#words[@]} -eq 1 ] && opts="info ports networks tunnels fdb arp counters workers routes neighbors" \
		|| opts="--network --mac" ;;
	network|port|remote|neighbor|route|fdb|flood|arp) [ ${#words[@]} -eq 1 ] && opts="add del" || opts="" ;;
	l2pop) [ ${#words[@]} -eq 1 ] && opts="add remove update" || { compopt -o default; opts=""; } ;;
	counters) opts="reset" ;;
	*) opts="" ;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _tunswctl tunswctl
