#!/usr/bin/env bash
# completions/test-completions.sh — check completions/ajail.bash without a terminal.
#
# Each case starts a fresh `bash --norc -c`, sources ajail.bash, fills COMP_WORDS / COMP_CWORD /
# COMP_LINE / COMP_POINT the way readline does (words split at whitespace and at COMP_WORDBREAKS
# characters, so "--fs=al" is "--fs" "=" "al"), calls _ajail and prints COMPREPLY, one per line.
# The store is a temporary AJAIL_HOME holding fs/alpine, fs/debian and a hidden fs/.partial, a clone
# workspace agent1, and agents' state state/claude, state/mybot and a hidden state/.tmp; a temporary
# XDG_CONFIG_HOME holds the user's own profile mybot (and a hidden .draft).
#
# usage: bash completions/test-completions.sh        exit 0 when every assertion holds
set -u

here=$(cd "$(dirname "$0")" && pwd)
script=$here/ajail.bash
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ajail-compl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

export AJAIL_HOME=$tmp/store
mkdir -p "$AJAIL_HOME/fs/alpine/etc/apk" "$AJAIL_HOME/fs/alpine/usr" "$AJAIL_HOME/fs/debian" \
	"$AJAIL_HOME/fs/.partial" "$AJAIL_HOME/clone/agent1" "$AJAIL_HOME/state/claude" "$AJAIL_HOME/state/mybot" \
	"$AJAIL_HOME/state/.tmp" "$tmp/cwd/subdir" "$tmp/cwd/other dir"
export XDG_CONFIG_HOME=$tmp/config
mkdir -p "$XDG_CONFIG_HOME/ajail/profiles"
: >"$XDG_CONFIG_HOME/ajail/profiles/mybot"
: >"$XDG_CONFIG_HOME/ajail/profiles/.draft"
: >"$AJAIL_HOME/fs/alpine.meta" # metadata beside a rootfs is not a rootfs
: >"$tmp/cwd/file.txt"
cd "$tmp/cwd" || exit 1

pass=0 fail=0

# complete LINE [WORDBREAKS]: print COMPREPLY for the cursor at the end of LINE.
complete_line()
{
	bash --norc --noprofile -c '
		source "$1" || exit 99
		line=$2
		[[ -n ${3-} ]] && COMP_WORDBREAKS=$3
		wb=${COMP_WORDBREAKS//[[:space:]]/}
		words=() w= inbreak=0
		for ((i = 0; i < ${#line}; i++)); do
			c=${line:i:1}
			if [[ $c == [[:space:]] ]]; then
				[[ -n $w ]] && words+=("$w")
				w= inbreak=0
			elif [[ $wb == *"$c"* ]]; then
				((inbreak)) || { [[ -n $w ]] && words+=("$w"); w=; }
				w+=$c inbreak=1
			else
				((inbreak)) && { words+=("$w"); w=; }
				w+=$c inbreak=0
			fi
		done
		words+=("$w")
		[[ -z $w && ${#words[@]} -gt 1 && $line != *[[:space:]] ]] && unset "words[${#words[@]}-1]"
		COMP_WORDS=("${words[@]}")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		_ajail ajail "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]-}" 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$script" "$@"
}

ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
not_ok()
{
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$1"
	printf '       got: %s\n' "$(printf '%s ' "${got[@]}")"
}

# has "LINE" WORD...: COMPREPLY holds every WORD.
has()
{
	local line=$1 want
	shift
	mapfile -t got < <(complete_line "$line")
	for want in "$@"; do
		printf '%s\n' "${got[@]}" | grep -qxF -- "$want" || { not_ok "'$line' offers $want"; return; }
	done
	ok "'$line' offers $*"
}

# lacks "LINE" WORD...: COMPREPLY holds none of the WORDs.
lacks()
{
	local line=$1 bad
	shift
	mapfile -t got < <(complete_line "$line")
	for bad in "$@"; do
		printf '%s\n' "${got[@]}" | grep -qxF -- "$bad" && { not_ok "'$line' does not offer $bad"; return; }
	done
	ok "'$line' does not offer $*"
}

# exactly "LINE" WORD...: COMPREPLY is exactly these WORDs, in any order.
exactly()
{
	local line=$1
	shift
	mapfile -t got < <(complete_line "$line")
	if [[ "$(printf '%s\n' "${got[@]}" | sort)" == "$(printf '%s\n' "$@" | sort)" ]]; then
		ok "'$line' offers exactly $*"
	else
		not_ok "'$line' offers exactly $*"
	fi
}

# The asked-for cases.
exactly 'ajail --fs=' alpine debian host
exactly 'ajail --fs ' alpine debian host
has 'ajail --no' --no-net --no-seccomp --no-landlock --no-rlimits --no-mask --no-cap-drop
has 'ajail --new' --new-session
exactly 'ajail --lo' --lockdown
exactly 'ajail fs ' import list rm build cp export

# Options, verbs, where options end.
has 'ajail ' fs clone state doctor trust --fs= --no-net --cap-add= -q
has 'ajail -' --fs= --fs-edit --fs-edit= --home-edit --home-edit= --ro --ro= --rol --rol= --rw --rw= \
	--hide --hide= --mount= --dev= --cap-add= --no-net --clone --clone= --clone-dirty --clone-push --new-session -q --quiet -v \
	--verbose --dry-run -h --help -V --version --lockdown --memory= --cpus= --pids= --allow-ptrace \
	--net= --allow-net= --publish= --net-log= --profile= --no-profile --no-host-ca --no-project
exactly 'ajail --ro' --ro --ro= --rol --rol=
has 'ajail do' doctor
has 'ajail tr' trust
exactly 'ajail trust --' --yes --revoke --list --json --help
has 'ajail --no-p' --no-project
lacks 'ajail -q do' doctor do done
lacks 'ajail -- _aj' _ajail __ajail_add
lacks 'ajail -q ' fs clone state doctor
exactly 'ajail clone ' list show rm gc sync
has 'ajail st' state
exactly 'ajail state ' list rm path
exactly 'ajail state -' --help
exactly 'ajail state list -' --json
exactly 'ajail state rm ' claude mybot
exactly 'ajail state rm claude ' claude mybot
lacks 'ajail state rm ' .tmp
lacks 'ajail state rm .' .tmp
exactly 'ajail state path m' mybot
lacks 'ajail state path mybot ' claude mybot
lacks 'ajail -q st' state
exactly 'ajail clone rm ' agent1
exactly 'ajail fs rm ' alpine debian
exactly 'ajail fs export al' alpine
exactly 'ajail fs export -' --oci --tag= --k8s-job --image= -q --quiet
exactly 'ajail fs export --oci al' alpine
exactly 'ajail fs export --tag=v1 --oci al' alpine
exactly 'ajail fs export --tag '
exactly 'ajail fs export --k8s-job --image='
exactly 'ajail fs build -' -p --packages= --base= -v --verbose -q --quiet --list
exactly 'ajail fs build -p '
exactly 'ajail fs build --base=al' alpine
exactly 'ajail fs build --base al' alpine
exactly 'ajail fs build --packages='
exactly 'ajail fs build debian -p jq,'

# Values.
exactly 'ajail --fs=al' alpine
exactly 'ajail --net=' host none allow
exactly 'ajail --net ' host none allow
exactly 'ajail --net=al' allow
exactly 'ajail --prof' --profile=
exactly 'ajail --profile=cl' claude
exactly 'ajail --profile=' aider claude codex gemini opencode mybot
exactly 'ajail --profile my' mybot
lacks 'ajail --profile=' .draft
exactly 'ajail --no-h' --no-host-ca
# '@' breaks words in bash: readline replaces only what follows it.
exactly 'ajail --allow-net=@n' npm
exactly 'ajail --allow-net=@claude,@c' claude codex
exactly 'ajail --allow-net=@g' gemini github go
exactly 'ajail --allow-net=@a' aider alpine
exactly 'ajail -q --fs=d' debian
has 'ajail --fs=/us' /usr
has 'ajail --fs=./' ./subdir
exactly 'ajail --cap-add=NET_' NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW
exactly 'ajail --cap-add SYS_PT' SYS_PTRACE
has 'ajail --dev=nu' null
exactly 'ajail --ro=' 'other dir' subdir
exactly 'ajail --hide=s' subdir
has 'ajail --rw=/e' /etc
exactly 'ajail --mount=fi' file.txt,
# An absolute DST inside the fixture, so a stray file at the host's root cannot change the answer.
exactly "ajail --mount=file.txt,$tmp/cwd/su" "file.txt,$tmp/cwd/subdir/"
exactly 'ajail --mount=ot' 'other\ dir/'
exactly 'ajail --mount=file.txt,/x,r' file.txt,/x,ro file.txt,/x,rol file.txt,/x,rw
exactly 'ajail --fs=alpine --fs-edit=/e' /etc/
exactly 'ajail --fs alpine --fs-edit=/etc/' /etc/apk/

# After the options: a command, then files.
has 'ajail --fs=alpine ech' echo
has 'ajail --fs alpine ech' echo
has 'ajail --profile claude ech' echo
has 'ajail -- ech' echo
has 'ajail -q echo fi' file.txt
lacks 'ajail true --n' --no-net
lacks 'ajail -- f' fs

# A COMP_WORDBREAKS without '=' leaves "--fs=al" one word; bash then replaces all of it.
mapfile -t got < <(complete_line 'ajail --fs=al' $'"\'><;|&(:')
if [[ "${got[*]}" == --fs=alpine ]]; then ok "'ajail --fs=al' without '=' in COMP_WORDBREAKS"; else
	not_ok "'ajail --fs=al' without '=' in COMP_WORDBREAKS"; fi

# The function is registered for the command.
if bash --norc -c 'source "$1" && complete -p ajail' bash "$script" | grep -q -- '-F _ajail ajail'; then
	ok 'complete -F _ajail ajail is registered'
else
	not_ok 'complete -F _ajail ajail is registered'
fi

# zsh and fish, when installed: syntax, and for fish real completions through `complete -C`.
if command -v zsh >/dev/null 2>&1; then
	if zsh -n "$here/_ajail"; then ok 'zsh -n _ajail'; else got=(); not_ok 'zsh -n _ajail'; fi
else
	echo 'skip zsh checks: zsh is not installed'
fi
if command -v fish >/dev/null 2>&1; then
	if fish -n "$here/ajail.fish"; then ok 'fish -n ajail.fish'; else got=(); not_ok 'fish -n ajail.fish'; fi
	# fish_has "LINE" WORD...: `complete -C LINE` offers every WORD (descriptions cut off).
	fish_has()
	{
		local line=$1 want
		shift
		mapfile -t got < <(fish --no-config -c 'source $argv[1]; complete -C"$argv[2]"' "$here/ajail.fish" "$line" |
			cut -f1)
		for want in "$@"; do
			printf '%s\n' "${got[@]}" | grep -qxF -- "$want" || { not_ok "fish: '$line' offers $want"; return; }
		done
		ok "fish: '$line' offers $*"
	}
	fish_has 'ajail --fs=' --fs=alpine --fs=debian --fs=host
	fish_has 'ajail --fs ' alpine debian host
	fish_has 'ajail --no' --no-net --no-seccomp --no-landlock --no-mask
	fish_has 'ajail fs ' import list rm build cp export
	fish_has 'ajail fs export --' --oci --tag --k8s-job --image --quiet
	fish_has 'ajail fs build -' -p --packages --base -v --verbose -q --quiet --list
	fish_has 'ajail clone ' list show rm gc sync
	fish_has 'ajail ' fs clone state doctor trust
	fish_has 'ajail state ' list rm path
	fish_has 'ajail state rm ' claude mybot
	fish_has 'ajail --profile=cl' --profile=claude
	fish_has 'ajail --profile ' aider mybot
	fish_has 'ajail --net=al' --net=allow
	fish_has 'ajail --profile claude ech' echo
	fish_has 'ajail --cap-add=SYS_PT' --cap-add=SYS_PTRACE
	fish_has 'ajail --ro=s' --ro=subdir/
	fish_has 'ajail --fs alpine --fs-edit=/e' --fs-edit=/etc/
	fish_has 'ajail -q ech' echo
else
	echo 'skip fish checks: fish is not installed'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
