# bash completion for coordctl (coordctl(1)): commands, their subcommands
# and flags, and file names where a flag takes a file.
# Installed as /usr/share/bash-completion/completions/coordctl.

_coordctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local global="--endpoints --cacert --cert --key --token --token-file --help"
	local commands="status lock elect leader locks lock-info session acquire release
		kv register member snapshot auth token help"

	# A flag's value: files for the ones that name a file, nothing to offer
	# for the others.
	case $prev in
	--cacert | --cert | --key | --token-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--endpoints | --token | --wait | --ttl | --value | --timeout | --prefix | \
		--name | --session | --rule | --cas | --fence | --index)
		return
		;;
	esac

	# The command: the first word after the global flags and their values.
	local i cmd="" sub="" cmd_at=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--endpoints | --cacert | --cert | --key | --token | --token-file)
			((i++))
			;;
		--*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}
				cmd_at=$i
			elif [[ -z $sub ]]; then
				sub=${words[i]}
			fi
			;;
		esac
	done
	# After "--" of lock, elect and register: the command to run.
	for ((i = cmd_at + 1; cmd_at > 0 && i < cword; i++)); do
		if [[ ${words[i]} == -- ]]; then
			COMPREPLY=($(compgen -c -- "$cur"))
			return
		fi
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local words_for=""
	case $cmd in
	status) words_for="--help" ;;
	lock) words_for="--shared --wait --ttl --value --help --" ;;
	elect) words_for="--value --wait --ttl --help --" ;;
	leader) [[ -z $sub ]] && words_for="transfer --watch --help" || words_for="--watch" ;;
	locks) words_for="--prefix --help" ;;
	lock-info) words_for="--help" ;;
	acquire) words_for="--session --shared --wait --help" ;;
	release) words_for="--session --help" ;;
	register) words_for="--ttl --help --" ;;
	kv)
		case $sub in
		"") words_for="get put del ls watch --help" ;;
		get) words_for="--stale --json" ;;
		put) words_for="--cas --session --fence" ;;
		del) words_for="--cas --fence" ;;
		ls) words_for="--prefix" ;;
		watch) words_for="--index" ;;
		esac
		;;
	help) [[ -z $sub ]] && words_for=$commands ;;
	session)
		case $sub in
		"") words_for="create keepalive close list events --help" ;;
		create) words_for="--ttl --name" ;;
		events) words_for="--watch" ;;
		esac
		;;
	member)
		case $sub in
		"") words_for="list add promote remove replace --help" ;;
		list) words_for="--json" ;;
		add) words_for="--wait --timeout" ;;
		esac
		;;
	snapshot)
		case $sub in
		"") words_for="save info --help" ;;
		save)
			words_for="--force"
			[[ $cur != -* ]] && {
				COMPREPLY=($(compgen -f -- "$cur"))
				return
			}
			;;
		info)
			COMPREPLY=($(compgen -f -- "$cur"))
			return
			;;
		esac
		;;
	auth) [[ -z $sub ]] && words_for="bootstrap --help" ;;
	token)
		case $sub in
		"") words_for="create list revoke --help" ;;
		create) words_for="--rule --admin" ;;
		esac
		;;
	esac
	COMPREPLY=($(compgen -W "$words_for" -- "$cur"))
}

complete -F _coordctl coordctl
