# bash completion for ajail                                         -*- shell-script -*-
#
# Installed by `make install` as $(DATADIR)/bash-completion/completions/ajail. Self-contained: it needs
# nothing from the bash-completion package, and uses its _command_offset (to complete the jailed
# command's own arguments) only when that is loaded.
#
# The option list mirrors optdefs[] in src/cli.c and the capability list mirrors cap_names[]; keep them in
# step. A verb (fs, clone, state, doctor, trust) is a verb only as the very first word, as cli_parse() decides.
#
# bash splits "--fs=al" into the words "--fs" "=" "al" (COMP_WORDBREAKS holds '=' and ':'). We glue the
# pieces that touch in COMP_LINE back together, decide on whole words, then hand bash back only the text
# after the last word-break character, which is the part readline replaces.

__ajail_long_opts=(--fs= --fs-edit --fs-edit= --commit= --home-edit --home-edit= --ro --ro= --rol --rol= --rw --rw=
	--hide --hide= --mount= --dev= --cap-add= --no-net --net= --allow-net= --publish= --net-log= --profile= --no-profile --no-host-ca --clone --clone= --clone-dirty --clone-push --new-session --quiet --verbose
	--lockdown --memory= --cpus= --pids= --no-cap-drop --no-seccomp --allow-ptrace --no-landlock --no-rlimits --no-mask
	--no-project --dry-run --help --version)
__ajail_short_opts=(-q -v -h -V)
# Options whose value may also be the next word (ARG_REQUIRED in src/cli.c): "--fs alpine".
__ajail_value_opts=" --fs --commit --mount --dev --cap-add --memory --cpus --pids --net --allow-net --publish --net-log --profile "
__ajail_caps=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
	NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
	SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
	AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
	PERFMON BPF CHECKPOINT_RESTORE)
__ajail_verbs=(fs clone state doctor trust)
__ajail_fs_cmds=(import list rm build cp export)
__ajail_clone_cmds=(list show rm gc sync)
__ajail_state_cmds=(list rm path)
__ajail_mount_modes=(ro rol rw hide dev)
# The presets shipped in share/net-presets (a user's own are not looked for).
__ajail_net_presets=(@claude @codex @gemini @opencode @aider @npm @pypi @github @debian @alpine @rust @go)
# The profiles shipped in share/profiles (built into ajail); a user's own are looked for below.
__ajail_profiles=(aider claude codex gemini opencode)

# Glue COMP_WORDS back into shell words. Sets __ajail_w (words up to the cursor's), __ajail_cw (index of
# the cursor's word) and __ajail_raw (index in COMP_WORDS where each word starts).
__ajail_words()
{
	local line=${COMP_LINE-} point=${COMP_POINT-} pos=0 i w rest trimmed skip joined
	[[ -n $line && -z $point ]] && point=${#line}
	__ajail_w=() __ajail_raw=() __ajail_cw=0
	for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		joined=0
		if [[ -n $line ]]; then
			rest=${line:pos}
			trimmed=${rest#"${rest%%[![:space:]]*}"}
			skip=$((${#rest} - ${#trimmed}))
			if [[ ${trimmed:0:${#w}} != "$w" ]]; then
				line= # COMP_LINE does not match COMP_WORDS (should not happen): fall back below
			else
				((i > 0 && skip == 0)) && joined=1
				((i == COMP_CWORD && point >= pos + skip && point < pos + skip + ${#w})) &&
					w=${w:0:point-pos-skip} # cursor inside the word: complete what is before it
				pos=$((pos + skip + ${#w}))
			fi
		fi
		if [[ -z $line ]] && ((i > 0)); then
			[[ $w == [=:]* || ${COMP_WORDS[i - 1]} == *[=:] ]] && joined=1
		fi
		if ((joined && ${#__ajail_w[@]})); then
			__ajail_w[${#__ajail_w[@]} - 1]+=$w
		else
			__ajail_raw+=("$i")
			__ajail_w+=("$w")
		fi
	done
	__ajail_cw=$((${#__ajail_w[@]} - 1))
}

# REPLY = the longest prefix of $1 that ends in a COMP_WORDBREAKS character: the part readline keeps.
__ajail_wbprefix()
{
	local s=$1 wb=${COMP_WORDBREAKS-$' \t\n"\'><=;|&(:'} i
	for ((i = ${#s} - 1; i >= 0; i--)); do
		if [[ $wb == *"${s:i:1}"* ]]; then
			REPLY=${s:0:i+1}
			return
		fi
	done
	REPLY=
}

# REPLY = $1 with simple shell quoting removed ('...', "...", backslashes), for compgen.
__ajail_dequote()
{
	local s=$1 out= i c
	case $s in
	\'*)
		s=${s#\'}
		REPLY=${s%\'}
		return
		;;
	\"*)
		s=${s#\"}
		s=${s%\"}
		;;
	esac
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [[ $c == \\ ]]; then
			((++i))
			c=${s:i:1}
		fi
		out+=$c
	done
	REPLY=$out
}

# Add candidates (whole words, "$@") that start with $__ajail_cur, minus the part readline keeps.
__ajail_add()
{
	local c
	for c in "$@"; do
		[[ $c == "$__ajail_cur"* ]] && COMPREPLY+=("${c#"$__ajail_pfx"}")
	done
}

# Complete paths: __ajail_paths -d|-f PREFIX VALUE [STRIP [SUFFIX]]. Candidates are PREFIX + each path
# that compgen finds for STRIP+VALUE, with STRIP removed (to complete inside /dev or a rootfs) and SUFFIX
# added to what is not a directory (--mount=SRC goes on with ",DST").
__ajail_paths()
{
	local kind=$1 prefix=$2 value=$3 strip=${4-} suffix=${5-} p q
	local -a found
	__ajail_dequote "$value"
	mapfile -t found < <(compgen "$kind" -- "$strip$REPLY")
	if [[ -z $strip && -z $suffix && $prefix == "$__ajail_pfx" ]]; then
		# readline replaces exactly the path: let bash quote it and mark directories.
		compopt -o filenames 2>/dev/null
		COMPREPLY+=("${found[@]}")
		return
	fi
	for p in "${found[@]}"; do
		if [[ -d $p ]]; then
			q=/
		else
			q=$suffix
		fi
		p=${p#"$strip"}
		[[ $p == *[!A-Za-z0-9_./+@%^,:=-]* ]] && printf -v p '%q' "$p"
		[[ $prefix$p$q == "$__ajail_pfx"* ]] && COMPREPLY+=("${prefix#"$__ajail_pfx"}$p$q")
	done
	[[ -n $suffix ]] && compopt -o nospace 2>/dev/null
}

__ajail_store() { REPLY=${AJAIL_HOME:-$HOME/.ajail}; }

# Entries of directory $1 that are directories and do not start with '.'.
__ajail_subdirs()
{
	local d
	for d in "$1"/*/; do
		[[ -d $d ]] || continue
		d=${d%/}
		d=${d##*/}
		[[ $d == .* ]] || printf '%s\n' "$d"
	done
}

__ajail_rootfs_names()
{
	__ajail_store
	__ajail_subdirs "$REPLY/fs"
}

# Profile names: the shipped ones, then the user's own (files in ${XDG_CONFIG_HOME:-~/.config}/ajail/profiles).
__ajail_profile_names()
{
	local d f
	printf '%s\n' "${__ajail_profiles[@]}"
	d=${XDG_CONFIG_HOME:-$HOME/.config}/ajail/profiles
	[[ $d == /* ]] || d=$HOME/.config/ajail/profiles
	for f in "$d"/*; do
		[[ -e $f && ! -d $f ]] || continue
		f=${f##*/}
		[[ $f == .* ]] || printf '%s\n' "$f"
	done
}

__ajail_recipes()
{
	local d f self
	self=$(type -P ajail 2>/dev/null)
	for d in ./rootfs-recipes ${self:+"${self%/*}/../share/ajail/rootfs-recipes"} \
		/usr/local/share/ajail/rootfs-recipes /usr/share/ajail/rootfs-recipes; do
		for f in "$d"/*; do
			[[ -e $f ]] || continue
			f=${f##*/}
			[[ $f == .* || $f == README* ]] || printf '%s\n' "$f"
		done
	done
}

# Value of OPT (without the leading "--" and "=") for the word being completed.
__ajail_value()
{
	local opt=$1 prefix=$2 value=$3 i name
	local -a list
	case $opt in
	fs)
		if [[ $value == [/.~]* ]]; then
			__ajail_paths -d "$prefix" "$value"
		else
			mapfile -t list < <(__ajail_rootfs_names)
			__ajail_add "${list[@]/#/$prefix}" "${prefix}host"
		fi
		;;
	fs-edit)
		# A directory inside the chosen rootfs (the last --fs on the line), when it is in the store.
		name=
		for ((i = 1; i < __ajail_cw; i++)); do
			case ${__ajail_w[i]} in
			--fs=*) name=${__ajail_w[i]#--fs=} ;;
			--fs) name=${__ajail_w[i + 1]-} ;;
			esac
		done
		__ajail_store
		if [[ -n $name && $name != */* && $name != host && -d $REPLY/fs/$name ]]; then
			[[ -z $value ]] && value=/
			__ajail_paths -d "$prefix" "$value" "$REPLY/fs/$name"
		fi
		;;
	ro | rol | rw | hide)
		__ajail_paths -d "$prefix" "$value"
		;;
	mount) # SRC,DST[,MODE]
		case $value in
		*,*,*) __ajail_add "${__ajail_mount_modes[@]/#/$prefix${value%,*},}" ;;
		*,*) __ajail_paths -f "$prefix${value%%,*}," "${value#*,}" ;;
		*) __ajail_paths -f "$prefix" "$value" "" , ;;
		esac
		;;
	dev)
		__ajail_paths -f "$prefix" "${value#/dev/}" /dev/
		;;
	cap-add)
		__ajail_add "${__ajail_caps[@]/#/$prefix}"
		;;
	net)
		__ajail_add "${prefix}host" "${prefix}none" "${prefix}allow"
		;;
	profile)
		mapfile -t list < <(__ajail_profile_names | sort -u)
		__ajail_add "${list[@]/#/$prefix}"
		;;
	allow-net) # PATTERN[,PATTERN...]: presets after the last comma
		case $value in
		*,*) __ajail_add "${__ajail_net_presets[@]/#/$prefix${value%,*},}" ;;
		*) __ajail_add "${__ajail_net_presets[@]/#/$prefix}" ;;
		esac
		;;
	net-log)
		__ajail_paths -f "$prefix" "$value"
		;;
	clone) # a branch of the repository in the working directory
		mapfile -t list < <(git for-each-ref --format='%(refname:short)' refs/heads 2>/dev/null)
		__ajail_add "${list[@]/#/$prefix}"
		;;
	esac
}

# Programs that the jail could run: names in PATH. This shell's functions, aliases and keywords are not
# programs, and neither are builtins without a file of the same name.
__ajail_commands()
{
	local b
	comm -23 <(compgen -c -- "$1" | sort -u) <({
		compgen -A function -- "$1"
		compgen -a -- "$1"
		compgen -k -- "$1"
		for b in $(compgen -b -- "$1"); do
			type -P "$b" >/dev/null || printf '%s\n' "$b"
		done
	} | sort -u)
}

__ajail_verb()
{
	local verb=${__ajail_w[1]} sub=${__ajail_w[2]-} n=$((__ajail_cw - 2))
	local -a list
	if ((__ajail_cw == 2)); then
		case $verb in
		fs) __ajail_add "${__ajail_fs_cmds[@]}" ;;
		clone) __ajail_add "${__ajail_clone_cmds[@]}" ;;
		state)
			__ajail_add "${__ajail_state_cmds[@]}"
			[[ $__ajail_cur == -* ]] && __ajail_add --help
			;;
		esac
		[[ $verb != trust ]] && return
	fi
	if [[ $verb == trust ]]; then # ajail trust [--yes|--revoke|--list [--json]] [DIR]
		if [[ $__ajail_cur == -* ]]; then
			__ajail_add --yes --revoke --list --json --help
		else
			__ajail_paths -d "" "$__ajail_cur"
		fi
		return
	fi
	# fs build --base=NAME / --base NAME: a rootfs of the store.
	if [[ $verb:$sub == fs:build && ( $__ajail_cur == --base=* || ${__ajail_w[__ajail_cw - 1]-} == --base ) ]]; then
		local pfx=
		[[ $__ajail_cur == --base=* ]] && pfx=--base=
		mapfile -t list < <(__ajail_rootfs_names)
		__ajail_add "${list[@]/#/$pfx}"
		return
	fi
	if [[ $__ajail_cur == -* ]]; then
		[[ $verb:$sub == state:list ]] && __ajail_add --json
		[[ $verb:$sub == fs:build ]] && __ajail_add -p --packages= --base= -v --verbose -q --quiet --list
		[[ $verb:$sub == fs:export ]] && __ajail_add --oci --tag= --k8s-job --image= -q --quiet
		return
	fi
	# fs export: NAME and FILE are the words that are neither options nor the values of --tag and
	# --image ("--tag=v1" comes as "--tag" "=" "v1"); a value itself has nothing to offer.
	if [[ $verb:$sub == fs:export ]]; then
		local j w2
		n=1
		for ((j = 3; j < __ajail_cw; j++)); do
			w2=${__ajail_w[j]}
			if [[ $w2 == --tag || $w2 == --image ]]; then
				[[ ${__ajail_w[j + 1]-} == = ]] && ((j++))
				((j++))
				((j >= __ajail_cw)) && return
			elif [[ $w2 != -* ]]; then
				((n++))
			fi
		done
	fi
	# fs build -p PKG: a package name, nothing to offer; --base=NAME: a rootfs of the store. The recipe
	# is the first word that is neither an option nor an option's value ("--packages=x" comes as
	# "--packages" "=" "x").
	if [[ $verb:$sub == fs:build ]]; then
		local i w1
		n=1
		for ((i = 3; i <= __ajail_cw; i++)); do
			w1=${__ajail_w[i]}
			if [[ $w1 == -p || $w1 == --packages || $w1 == --base ]]; then
				[[ ${__ajail_w[i + 1]-} == = ]] && ((i++))
				((i++))
				((i >= __ajail_cw)) && return
			elif ((i < __ajail_cw)) && [[ $w1 != -* ]]; then
				((n++))
			fi
		done
	fi
	case $verb:$sub:$n in
	fs:rm:* | fs:cp:1 | fs:export:1)
		mapfile -t list < <(__ajail_rootfs_names)
		__ajail_add "${list[@]}"
		;;
	fs:build:1)
		mapfile -t list < <(__ajail_recipes | sort -u)
		__ajail_add "${list[@]}"
		;;
	fs:import:2 | fs:export:2)
		__ajail_paths -f "" "$__ajail_cur"
		;;
	clone:show:* | clone:rm:* | clone:sync:*)
		__ajail_store
		mapfile -t list < <(__ajail_subdirs "$REPLY/clone")
		__ajail_add "${list[@]}"
		;;
	state:rm:* | state:path:1) # an agent's state in the store
		__ajail_store
		mapfile -t list < <(__ajail_subdirs "$REPLY/state")
		__ajail_add "${list[@]}"
		;;
	esac
}

_ajail()
{
	local i w cmd=-1 prev
	local -a list
	local __ajail_cur __ajail_pfx REPLY
	local -a __ajail_w __ajail_raw
	local __ajail_cw
	COMPREPLY=()
	__ajail_words
	__ajail_cur=${__ajail_w[__ajail_cw]}
	__ajail_wbprefix "$__ajail_cur"
	__ajail_pfx=$REPLY

	if ((__ajail_cw >= 2)) && [[ " ${__ajail_verbs[*]} " == *" ${__ajail_w[1]} "* ]]; then
		__ajail_verb
		return 0
	fi

	# Where does the command start? At the first word that is not an option, or after "--".
	for ((i = 1; i < __ajail_cw; i++)); do
		w=${__ajail_w[i]}
		if [[ $w == -- ]]; then
			cmd=$((i + 1))
			break
		elif [[ $w == -?* ]]; then
			[[ $__ajail_value_opts == *" $w "* ]] && ((i++))
		else
			cmd=$i
			break
		fi
	done

	if ((cmd >= 0 && __ajail_cw >= cmd)); then
		if ((__ajail_cw > cmd)) && declare -F _command_offset >/dev/null; then
			_command_offset "${__ajail_raw[cmd]}"
		elif ((__ajail_cw == cmd)) && [[ $__ajail_cur != */* ]]; then
			mapfile -t list < <(__ajail_commands "$__ajail_cur")
			__ajail_add "${list[@]}"
		else
			__ajail_paths -f "$__ajail_pfx" "${__ajail_cur#"$__ajail_pfx"}"
		fi
		return 0
	fi

	prev=${__ajail_w[__ajail_cw - 1]-}
	if ((__ajail_cw >= 2)) && [[ $__ajail_value_opts == *" $prev "* ]]; then
		__ajail_value "${prev#--}" "" "$__ajail_cur"
	elif [[ $__ajail_cur == --*=* ]]; then
		w=${__ajail_cur%%=*}
		__ajail_value "${w#--}" "$w=" "${__ajail_cur#*=}"
	elif [[ -z $__ajail_cur || $__ajail_cur == -* ]]; then
		((__ajail_cw == 1)) && __ajail_add "${__ajail_verbs[@]}"
		__ajail_add "${__ajail_long_opts[@]}" "${__ajail_short_opts[@]}"
	else
		((__ajail_cw == 1)) && __ajail_add "${__ajail_verbs[@]}"
		mapfile -t list < <(__ajail_commands "$__ajail_cur")
		__ajail_add "${list[@]}"
	fi

	# "--fs=" and "/dev/dri/" want more typing after them, not a space.
	if ((${#COMPREPLY[@]} == 1)) && [[ $COMPREPLY == *[=/,] ]]; then
		compopt -o nospace 2>/dev/null
	fi
	return 0
}

complete -F _ajail ajail
