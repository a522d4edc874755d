#!/usr/bin/env bash
# bench/run.sh — what `make bench` runs, after `make all`, from the repository root (it cds there itself).
# Works as root and as a normal user; prints markdown.
#
#   bash bench/run.sh [SECTION...]     all sections, or only the ones named (see SECTIONS below)
#   BENCH_RUNS=N                       timed runs per contender (default 50; at least 20 to mean much)
#   BENCH_STRICT=1                     exit 1 when a target is missed (default: report it, exit 0)
#
# Adding a benchmark: write a function bench_NAME that prints a "## heading", its table, and calls
# `verdict NAME MET|MISSED|PASS|FAIL|SKIPPED "text"` for each target; then append NAME to SECTIONS
# (a '-' in NAME is a '_' in the function's name). Everything temporary lives under $work, which the
# EXIT trap removes. The network sections (net-*, and "net" for all of them) are in bench/net.sh.
set -euo pipefail

SECTIONS=(startup layers layer-startup layer-build mounts agents rss git import export clone net-startup net-rss net-download net-requests)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
AJAIL=$ROOT/ajail
TIMEIT=$ROOT/build/timeit
RUNS=${BENCH_RUNS:-50}

work=
cleanup()
{
	# The network sections' server and /etc/hosts line (bench/net.sh).
	! declare -F net_cleanup >/dev/null || net_cleanup
	if [ -n "$work" ]; then
		# Overlay work/work directories are left mode 000 by the kernel.
		find "$work" -type d ! -perm -u=rwx -exec chmod u+rwx {} + 2>/dev/null || true
		rm -rf "$work" || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "bench: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

verdicts=()
missed=0
verdict()
{
	local name=$1 word=$2 text=$3
	verdicts+=("$name: $word — $text")
	case $word in MISSED | FAIL) missed=1 ;; esac
	echo
	echo "**$word**: $text"
}

# median LABEL < timeit-table: the median column of the row labelled LABEL.
median()
{
	awk -F'|' -v l="$1" '{ x = $2; gsub(/^ +| +$/, "", x) } x == l { m = $3; gsub(/ /, "", m); print m }'
}

# check_runs LABEL CMD...: run CMD once; on failure say why (first lines of its stderr) and return 1.
check_runs()
{
	local label=$1 errf=$work/check.err
	shift
	if "$@" </dev/null >/dev/null 2>"$errf"; then
		return 0
	fi
	echo "- $label: skipped, \`$*\` fails here: $(head -c 300 "$errf" | tr '\n' ' ')"
	return 1
}

# ---------------------------------------------------------------------------------------------------
# startup: start-to-exit latency of `ajail --quiet --fs=NAME true` against bubblewrap (same rootfs bound
# read-only) and `unshare -Urmpf`. Target: ajail's median no slower than bwrap's.
bench_startup()
{
	local root=$AJAIL_HOME/fs/bench out
	local -a contenders=(-- ajail "$AJAIL" --quiet --fs=bench true)
	local -a notes=()

	echo "## Start-up: start to exit of \`true\`, $RUNS interleaved runs each"
	echo
	# bwrap --unshare-all also creates a network namespace, which ajail does only with --no-net: this
	# row shows what that costs ajail.
	local have_nonet=0
	if check_runs "ajail --no-net" "$AJAIL" --quiet --no-net --fs=bench true >"$work/note"; then
		contenders+=(-- "ajail --no-net" "$AJAIL" --quiet --no-net --fs=bench true)
		have_nonet=1
	else
		notes+=("$(cat "$work/note")")
	fi
	local bwrap_cmd=(bwrap --unshare-all --ro-bind "$root" / --proc /proc --dev /dev --tmpfs /tmp true)
	local have_bwrap=0
	if ! have bwrap; then
		notes+=("- bwrap: skipped, bubblewrap is not installed (\`make deps\` installs it)")
	elif check_runs bwrap "${bwrap_cmd[@]}" >"$work/note"; then
		contenders+=(-- bwrap "${bwrap_cmd[@]}")
		have_bwrap=1
	else
		notes+=("$(cat "$work/note")")
	fi
	local unshare_cmd=(unshare -Urmpf true) have_unshare=0
	if ! have unshare; then
		notes+=("- unshare: skipped, util-linux's unshare is not installed")
	elif check_runs "unshare -Urmpf" "${unshare_cmd[@]}" >"$work/note"; then
		contenders+=(-- "unshare -Urmpf" "${unshare_cmd[@]}")
		have_unshare=1
	else
		notes+=("$(cat "$work/note")")
	fi

	out=$("$TIMEIT" -n "$RUNS" "${contenders[@]}") || die "startup: a contender failed (see above)"
	echo "$out"
	echo
	echo "Ratios are to ajail's median. ROOT is the busybox rootfs \$AJAIL_HOME/fs/bench, owned by the user"
	echo "running this. Commands:"
	echo
	echo "- ajail: \`ajail --quiet --fs=bench true\` (overlay on ROOT, host network)"
	[ "$have_nonet" = 0 ] ||
		echo "- ajail --no-net: the same with \`--no-net\` (a network namespace, as bwrap --unshare-all makes one)"
	[ "$have_bwrap" = 0 ] ||
		echo "- bwrap: \`bwrap --unshare-all --ro-bind ROOT / --proc /proc --dev /dev --tmpfs /tmp true\`"
	[ "$have_unshare" = 0 ] ||
		echo "- unshare -Urmpf: \`unshare -Urmpf true\` (the host's root, no new /proc)"
	local n
	for n in "${notes[@]}"; do echo "$n"; done

	if [ "$have_bwrap" = 1 ]; then
		local a b
		a=$(median ajail <<<"$out")
		b=$(median bwrap <<<"$out")
		if awk -v a="$a" -v b="$b" 'BEGIN { exit !(a <= b) }'; then
			verdict startup MET "ajail's median ($a ms) is no slower than bwrap's ($b ms)"
		else
			verdict startup MISSED "ajail's median ($a ms) is slower than bwrap's ($b ms)"
		fi
	else
		verdict startup SKIPPED "no working bwrap to compare with"
	fi
}

# ---------------------------------------------------------------------------------------------------
# layers: what the defense-in-depth layers (capabilities, seccomp, landlock, rlimits, /proc and /sys
# masks) cost at start-up: ajail with all of them against ajail with each off and with all off.
# Target: under 1 ms between all on and all off, in the median.
bench_layers()
{
	local off=(--no-cap-drop --no-seccomp --no-landlock --no-rlimits --no-mask) out a b d
	echo "## Defense-in-depth layers: start to exit of \`true\`, $RUNS interleaved runs each"
	echo
	out=$("$TIMEIT" -n "$RUNS" -- "all layers" "$AJAIL" --quiet --fs=bench true \
		-- "no seccomp" "$AJAIL" --quiet --fs=bench --no-seccomp true \
		-- "no landlock" "$AJAIL" --quiet --fs=bench --no-landlock true \
		-- "no masks" "$AJAIL" --quiet --fs=bench --no-mask true \
		-- "no cap drop, no rlimits" "$AJAIL" --quiet --fs=bench --no-cap-drop --no-rlimits true \
		-- "all layers off" "$AJAIL" --quiet --fs=bench "${off[@]}" true \
		-- "--lockdown" "$AJAIL" --quiet --fs=bench --lockdown true) || die "layers: a contender failed (see above)"
	echo "$out"
	echo
	echo "Ratios are to the median with all layers on. \"all layers off\" is \`${off[*]}\`; --lockdown adds a"
	echo "network namespace, a read-only cwd and an empty home to all layers."
	a=$(median "all layers" <<<"$out")
	b=$(median "all layers off" <<<"$out")
	d=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a - b }')
	if awk -v d="$d" 'BEGIN { exit !(d < 1.0) }'; then
		verdict layers MET "all layers cost $d ms at start-up ($a ms against $b ms); target under 1 ms"
	else
		verdict layers MISSED "all layers cost $d ms at start-up ($a ms against $b ms); target under 1 ms"
	fi
}

# ---------------------------------------------------------------------------------------------------
# layer-startup: start-up on a rootfs made of layers (issue 13) against a flat one with the same tree:
# the base is the bench rootfs, two --commit layers on it each change a few files (a file added, one
# deleted: a whiteout, a directory made); the flat rootfs is a copy of the base with the same changes
# made by --fs-edit. Target: the 3-layer stack (base and two layers) at most 1.1x the flat one.
bench_layer_startup()
{
	local out flat three ratio word one='echo one >/etc/l1 && rm /bin/vi && mkdir -p /usr/share/a && echo a >/usr/share/a/f'
	local two='echo two >/etc/l2 && rm /etc/hosts && echo "127.0.0.1 localhost" >/etc/hosts && mkdir /usr/share/b'
	local three_more='echo three >/etc/l3 && rm /bin/ed'
	echo "## Layer start-up: start to exit of \`true\` on layers and on a flat rootfs, $RUNS interleaved runs each"
	echo
	"$AJAIL" --quiet --fs=bench --commit=bench-l1 sh -c "$one" </dev/null >/dev/null 2>"$work/ls.err" &&
		"$AJAIL" --quiet --fs=bench-l1 --commit=bench-l2 sh -c "$two" </dev/null >/dev/null 2>>"$work/ls.err" &&
		"$AJAIL" --quiet --fs=bench-l2 --commit=bench-l3 sh -c "$three_more" </dev/null >/dev/null 2>>"$work/ls.err" &&
		"$AJAIL" fs cp bench bench-flat </dev/null >/dev/null 2>>"$work/ls.err" &&
		"$AJAIL" --quiet --fs=bench-flat --fs-edit sh -c "$one && $two" </dev/null >/dev/null 2>>"$work/ls.err" ||
		die "layer-startup: could not make the layers: $(cat "$work/ls.err")"
	out=$("$TIMEIT" -n "$RUNS" -- "flat" "$AJAIL" --quiet --fs=bench-flat true \
		-- "2 layers (base + 1)" "$AJAIL" --quiet --fs=bench-l1 true \
		-- "3 layers (base + 2)" "$AJAIL" --quiet --fs=bench-l2 true \
		-- "4 layers (base + 3)" "$AJAIL" --quiet --fs=bench-l3 true) || die "layer-startup: a contender failed (see above)"
	echo "$out"
	echo
	echo "Ratios are to the flat rootfs's median. The base is the busybox rootfs \$AJAIL_HOME/fs/bench; each layer"
	echo "was made by \`ajail --fs=BELOW --commit=NAME sh -c ...\`, changing a few files (a whiteout among them); \"flat\""
	echo "is \`ajail fs cp bench\` with the first two layers' changes made by --fs-edit, the tree \"3 layers\" shows."
	flat=$(median "flat" <<<"$out")
	three=$(median "3 layers (base + 2)" <<<"$out")
	ratio=$(awk -v a="$three" -v b="$flat" 'BEGIN { printf "%.2f", a / b }')
	word=MISSED
	awk -v r="$ratio" 'BEGIN { exit !(r <= 1.1) }' && word=MET
	verdict layer-startup "$word" "start-up on 3 layers is ${ratio}x the flat rootfs's ($three ms against $flat ms); target at most 1.1x"
}

# ---------------------------------------------------------------------------------------------------
# mounts: what --mount costs in each mode (issue 12 made its default an overlay again, as in the
# original ajail), and --fs-edit, which now takes its rootfs's lock exclusively. No target: figures.
bench_mounts()
{
	local out d=$work/mountsrc
	mkdir -p "$d" && printf 'x\n' >"$d/f"
	echo "## Mounts: start to exit of \`true\` with one --mount in each mode, $RUNS interleaved runs each"
	echo
	out=$("$TIMEIT" -n "$RUNS" -- "no --mount" "$AJAIL" --quiet --fs=bench true \
		-- "--mount=D,/data (overlay)" "$AJAIL" --quiet --fs=bench --mount="$d,/data" true \
		-- "--mount=D,/data,rw" "$AJAIL" --quiet --fs=bench --mount="$d,/data,rw" true \
		-- "--mount=D,/data,rol" "$AJAIL" --quiet --fs=bench --mount="$d,/data,rol" true \
		-- "--fs-edit=/etc" "$AJAIL" --quiet --fs=bench --fs-edit=/etc true) || die "mounts: a contender failed (see above)"
	echo "$out"
	echo
	echo "Ratios are to the median without --mount. The overlay is the default since issue 12; \`,rw\` is"
	echo "a bind that writes through, \`,rol\` a read-only bind."
}

# ---------------------------------------------------------------------------------------------------
# agents: what an agent's profile costs at start-up (issue 11): its state mounted from $AJAIL_HOME/state,
# its variables, the host's CA bundle; and with --net=allow the proxy, and the keygate that keeps the
# API key outside (an https upstream: the proxy loads libssl and the CA bundle). No target: figures.
bench_agents()
{
	local out a
	echo "## Agents: start to exit of \`true\` with an agent's profile, $RUNS interleaved runs each"
	echo
	out=$(ANTHROPIC_API_KEY=sk-bench "$TIMEIT" -n "$RUNS" -- "no profile" "$AJAIL" --quiet --fs=bench --no-profile true \
		-- "no profile, no host CA" "$AJAIL" --quiet --fs=bench --no-profile --no-host-ca true \
		-- "--profile=claude" "$AJAIL" --quiet --fs=bench --profile=claude true \
		-- "--net=allow, no key" env -u ANTHROPIC_API_KEY "$AJAIL" --quiet --fs=bench --net=allow --profile=claude true \
		-- "--net=allow, keygate" "$AJAIL" --quiet --fs=bench --net=allow --profile=claude true) ||
		die "agents: a contender failed (see above)"
	echo "$out"
	echo
	echo "Ratios are to the median without a profile (the host's CA bundle included). \"--profile=claude\" mounts"
	echo "~/.claude and ~/.claude.json from \$AJAIL_HOME/state/claude and passes its variables; \"--net=allow\" adds"
	echo "the network namespace and ajail's proxy; \"keygate\" the listener that puts ANTHROPIC_API_KEY into"
	echo "requests to https://api.anthropic.com (libssl and the CA bundle loaded by the proxy before the jail ends)."
	a=$(median "--profile=claude" <<<"$out")
	verdict agents PASS "a jail with Claude Code's profile starts and ends in $a ms (median)"
}

# ---------------------------------------------------------------------------------------------------
# rss: peak resident set of the supervisor (the ajail process one starts) while a jail runs.
# Target: under 4 MiB.
bench_rss()
{
	local limit_kib=4096 pid status=0 hwm rss init init_hwm=
	echo "## Memory: peak RSS while \`ajail --quiet --fs=bench sleep 1\` runs"
	echo
	# A simple command put in the background is exec'd by the forked shell: $! is ajail itself.
	"$AJAIL" --quiet --fs=bench sleep 1 </dev/null >/dev/null 2>"$work/rss.err" &
	pid=$!
	sleep 0.5
	[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$AJAIL")" ] ||
		die "rss: pid $pid is not ajail any more (did the jail end early? $(cat "$work/rss.err"))"
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	# The supervisor's child is the jail's init (pid 1 inside); shown for information.
	init=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
	init=${init%% *}
	[ -n "$init" ] && init_hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$init/status" 2>/dev/null || true)
	wait "$pid" || status=$?
	[ "$status" = 0 ] || die "rss: ajail --quiet --fs=bench sleep 1 exited with $status: $(cat "$work/rss.err")"
	[ -n "$hwm" ] || die "rss: could not read VmHWM of ajail (pid $pid) while the jail ran"

	local word=PASS
	[ "$hwm" -lt "$limit_kib" ] || word=FAIL
	printf '| process | peak RSS (VmHWM) | RSS now (VmRSS) | target | result |\n'
	printf '|---|---:|---:|---:|---|\n'
	printf '| ajail supervisor (pid %s) | %s KiB (%.2f MiB) | %s KiB | < 4 MiB | %s |\n' \
		"$pid" "$hwm" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$rss" "$word"
	[ -n "$init_hwm" ] &&
		printf '| jail init, its child (for information) | %s KiB | | | |\n' "$init_hwm"
	if [ "$word" = PASS ]; then
		verdict rss PASS "the supervisor's peak RSS is $hwm KiB, under 4 MiB"
	else
		verdict rss FAIL "the supervisor's peak RSS is $hwm KiB, not under 4 MiB"
	fi
}

# ---------------------------------------------------------------------------------------------------
# git: `git status` on the user's repository inside a jail costs about what it costs outside, and the
# host's next `git status` pays nothing extra (ajail sets core.checkStat=minimal in git work trees;
# without it, git inside sees uid 0 where the index says the user's uid, rehashes every file and
# rewrites the index, and the host pays again). The effect needs a non-root user: as root uid 0 is
# uid 0 on both sides.
bench_git()
{
	local n=${BENCH_GIT_FILES:-20000} repo=$work/repo out
	have git || { verdict git SKIPPED "git is not installed"; return; }
	echo "## git status on a $n-file repository: outside, and inside a jail on the host rootfs"
	echo
	mkdir -p "$repo"
	(
		cd "$repo"
		git init -q .
		git config user.email bench@example.com
		git config user.name bench
		for d in $(seq 0 199); do mkdir -p "$(printf 'd%03d' "$d")"; done
		awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) { f = sprintf("d%03d/f%d", i % 200, i); print i > f; close(f) } }'
		git add -A && git commit -qm init && git status --porcelain >/dev/null
		sleep 1
		git status --porcelain >/dev/null
	) >/dev/null 2>&1 || die "git: could not build the repository"
	out=$(cd "$repo" && "$TIMEIT" -n "${BENCH_GIT_RUNS:-10}" -w 1 -- "git status (host)" git status --porcelain \
		-- "ajail git status" "$AJAIL" --quiet --fs=host git status --porcelain) || die "git: a contender failed"
	echo "$out"
	echo
	# One shot each, because the first run without the setting rewrites the index.
	local t0 t1 t2 t3
	t0=$(date +%s%N)
	(cd "$repo" && AJAIL_ENV_GIT_CONFIG_COUNT=0 "$AJAIL" --quiet --fs=host git status --porcelain >/dev/null)
	t1=$(date +%s%N)
	(cd "$repo" && git status --porcelain >/dev/null)
	t2=$(date +%s%N)
	(cd "$repo" && git status --porcelain >/dev/null)
	t3=$(date +%s%N)
	printf '| without core.checkStat=minimal (one shot) | ms |\n|---|---:|\n'
	printf '| first git status inside | %d |\n' $(((t1 - t0) / 1000000))
	printf "| the host's next git status | %d |\n" $(((t2 - t1) / 1000000))
	printf "| the host's git status after that | %d |\n" $(((t3 - t2) / 1000000))
	echo
	[ "$(id -u)" != 0 ] || echo "(run as root: uid 0 is uid 0 on both sides, so the last table shows no penalty)"
	local a b
	a=$(median "git status (host)" <<<"$out")
	b=$(median "ajail git status" <<<"$out")
	# "About what it costs outside": the jail's own start-up (a few ms) on top, no rehash.
	if awk -v a="$a" -v b="$b" 'BEGIN { exit !(b <= a * 1.5 + 10) }'; then
		verdict git MET "git status inside ($b ms) costs about what it costs outside ($a ms)"
	else
		verdict git MISSED "git status inside ($b ms) costs much more than outside ($a ms)"
	fi
}

# ---------------------------------------------------------------------------------------------------
# import / export: a Debian minbase rootfs (mkrootfs/debian, cached in ~/.cache/ajail-bench because it
# needs the Debian mirror and 20 s) against GNU tar on the same file. Targets: no slower than tar.

# The Debian minbase tarball; empty when it cannot be had.
debian_tarball()
{
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/ajail-bench
	if [ ! -s "$cache/debian.tar" ]; then
		mkdir -p "$cache"
		have mmdebstrap || return 0
		mkrootfs/debian rootfs-recipes/debian "$cache/debian.tar.part" >"$work/debian-build.log" 2>&1 || return 0
		mv "$cache/debian.tar.part" "$cache/debian.tar"
	fi
	echo "$cache/debian.tar"
}

# timed_ms CMD...: run CMD, print its wall time in ms (its output to /dev/null); fail loudly.
timed_ms()
{
	local t0 t1
	t0=$(date +%s%N)
	"$@" </dev/null >/dev/null 2>"$work/timed.err" || die "\`$*\` failed: $(head -c 300 "$work/timed.err")"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

median_of() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The import section: the Debian minbase rootfs, then many small files (import-small, below).
bench_import()
{
	import_debian
	echo
	bench_import_small
}

import_debian()
{
	local tarball runs=${BENCH_IMPORT_RUNS:-7} fmt i
	echo "## Import of a Debian minbase rootfs, against GNU tar extracting the same file"
	echo
	tarball=$(debian_tarball)
	if [ -z "$tarball" ]; then
		echo "No Debian tarball: building one needs mmdebstrap and the Debian mirror."
		verdict import SKIPPED "no Debian minbase tarball could be built here"
		return
	fi
	zstd -q -T0 -3 -f -o "$work/debian.tar.zst" "$tarball"
	gzip -6 -c "$tarball" >"$work/debian.tar.gz"
	echo "| input | size | GNU tar median ms | ajail fs import median ms | ratio |"
	echo "|---|---:|---:|---:|---:|"
	local all_met=1
	for fmt in tar tar.zst tar.gz; do
		local in=$work/debian.$fmt
		[ "$fmt" = tar ] && in=$tarball
		: >"$work/t.tar" && : >"$work/t.ajail"
		for i in $(seq "$runs"); do
			# Interleaved, each run after a delete of the same size by its contender: on this
			# disk, creating files right after a large delete is slower.
			local order=(tar ajail)
			[ $((i % 2)) = 0 ] && order=(ajail tar)
			local c
			for c in "${order[@]}"; do
				rm -rf "$work/x"
				"$AJAIL" fs rm -q bench-import >/dev/null 2>&1 || true
				sync
				if [ "$c" = tar ]; then
					mkdir "$work/x"
					timed_ms tar -C "$work/x" -xf "$in" >>"$work/t.tar"
				else
					timed_ms "$AJAIL" fs import -q bench-import "$in" >>"$work/t.ajail"
				fi
			done
		done
		rm -rf "$work/x"
		"$AJAIL" fs rm -q bench-import >/dev/null 2>&1 || true
		local mt ma
		mt=$(median_of <"$work/t.tar")
		ma=$(median_of <"$work/t.ajail")
		printf '| .%s | %s | %s | %s | %.2f |\n' "$fmt" "$(du -h "$in" | cut -f1)" "$mt" "$ma" \
			"$(awk -v a="$ma" -v b="$mt" 'BEGIN { print a / b }')"
		awk -v a="$ma" -v b="$mt" 'BEGIN { exit !(a <= b) }' || all_met=0
	done
	echo
	echo "$runs runs each, interleaved; GNU tar $(tar --version | head -1 | awk '{print $NF}') extracts with -xf into an empty directory"
	echo "(it runs zstd/gzip as a separate process); ajail imports into its store (temp dir, rename into place)."
	if [ "$all_met" = 1 ]; then
		verdict import MET "ajail fs import is no slower than GNU tar for .tar, .tar.zst and .tar.gz"
	else
		verdict import MISSED "ajail fs import is slower than GNU tar for at least one format (see the table)"
	fi
}

# import-small (issue 13): many small files. /usr/include and /usr/share/perl of this host (about
# 10 000 entries, 140 MB; built once, cached beside the Debian tarball) as .tar.zst, imported by an
# ordinary user (ajail-test when this runs as root, made if missing, as the integration tests do;
# else the user running this) against GNU tar extracting the same file as the same user: `tar
# --zstd -xf` (tar runs zstd -d as a separate process, as `zstd -dc | tar -x` would) into a fresh
# directory on the same filesystem as the store. Interleaved, the order alternating, each run in a
# tree of its own and every tree kept until the end: on ext4 without a journal (this machine's
# disk), creating inodes for minutes after a big delete is several times slower (ialloc skips the
# inodes freed recently, one by one), which would measure the delete before, not the import.
# Target: ajail's median at most 1.0x tar's. BENCH_IMPORT_RUNS (default 15) runs each, fewer if the
# disk cannot hold them all.

# The small-files tarball; empty when it cannot be had.
small_tarball()
{
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/ajail-bench
	if [ ! -s "$cache/small.tar.zst" ]; then
		[ -d /usr/include ] && [ -d /usr/share/perl ] && have zstd || return 0
		mkdir -p "$cache"
		if ! tar -C / -cf - usr/include usr/share/perl 2>/dev/null | zstd -q -T0 -3 -f -o "$cache/small.part.tar.zst"; then
			rm -f "$cache/small.part.tar.zst"
			return 0
		fi
		mv "$cache/small.part.tar.zst" "$cache/small.tar.zst"
	fi
	echo "$cache/small.tar.zst"
}

bench_import_small()
{
	local tarball runs=${BENCH_IMPORT_RUNS:-15} dir=$work/small user fstype size avail maxruns
	local -a as=()
	echo "## Import of many small files (/usr/include and /usr/share/perl), as an ordinary user, against GNU tar"
	echo
	tarball=$(small_tarball)
	if [ -z "$tarball" ]; then
		verdict import-small SKIPPED "no /usr/include and /usr/share/perl to make the tarball from (or no zstd)"
		return
	fi
	user=$(id -un)
	if [ "$(id -u)" = 0 ]; then
		user=ajail-test
		if ! id "$user" >/dev/null 2>&1 && ! useradd --create-home --shell /bin/bash "$user" >/dev/null 2>&1; then
			verdict import-small SKIPPED "no unprivileged user $user (useradd failed)"
			return
		fi
		as=(runuser -u "$user" --)
		chmod 711 "$work" # the user's own directory below it, and nothing else of ours, is theirs to see
	fi
	mkdir -p "$dir"
	cp "$tarball" "$dir/small.tar.zst"
	cp "$AJAIL" "$dir/ajail" # the checkout may live where the user cannot read
	[ ${#as[@]} = 0 ] || chown -R "$user:" "$dir"
	size=$(zstd -dc "$dir/small.tar.zst" | wc -c)
	avail=$(($(df -Pk "$dir" | awk 'NR == 2 { print $4 }') * 1024))
	maxruns=$((avail / (size * 12 / 10) / 2))
	[ "$runs" -le "$maxruns" ] || runs=$maxruns
	if [ "$runs" -lt 3 ]; then
		verdict import-small SKIPPED "not enough free space beside $work for 3 runs of each"
		return
	fi
	fstype=$(df -PT "$dir" | awk 'NR == 2 { print $2 }')
	# One script, run as the user: what is timed is the command alone (not runuser's session).
	cat >"$dir/runs.sh" <<'SH'
set -eu
dir=$1 runs=$2
export AJAIL_HOME=$dir/home
mkdir -p "$AJAIL_HOME/fs"
for i in $(seq "$runs"); do
	order="tar ajail"
	[ $((i % 2)) = 1 ] || order="ajail tar"
	for c in $order; do
		sync # not timed: the other's writeback must not land in this run
		t0=$(date +%s%N)
		if [ "$c" = tar ]; then
			mkdir "$dir/t$i"
			tar --zstd -xf "$dir/small.tar.zst" -C "$dir/t$i" 2>"$dir/err" || { cat "$dir/err"; exit 1; }
		else
			"$dir/ajail" fs import -q "s$i" "$dir/small.tar.zst" </dev/null 2>"$dir/err" || { cat "$dir/err"; exit 1; }
		fi
		t1=$(date +%s%N)
		echo "$c $(((t1 - t0) / 1000000))"
	done
done
rm -rf "$dir"/t[0-9]*
for i in $(seq "$runs"); do "$dir/ajail" fs rm -q "s$i"; done
SH
	"${as[@]}" bash "$dir/runs.sh" "$dir" "$runs" >"$work/small.times" 2>&1 ||
		die "import-small: $(tail -3 "$work/small.times")"
	rm -rf "$dir"
	[ ${#as[@]} = 0 ] || chmod 700 "$work"
	# stats CONTENDER: "median p10 p90" (nearest rank).
	stats() { awk -v c="$1" '$1 == c { print $2 }' "$work/small.times" | sort -n |
		awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			p = int(NR * 0.1 + 0.999); q = int(NR * 0.9 + 0.999); print m, a[p < 1 ? 1 : p], a[q] }'; }
	local mt pt qt ma pa qa ratio entries
	read -r mt pt qt < <(stats tar)
	read -r ma pa qa < <(stats ajail)
	ratio=$(awk -v a="$ma" -v b="$mt" 'BEGIN { printf "%.2f", a / b }')
	entries=$(zstd -dc "$tarball" | tar -tf - | wc -l)
	echo "| contender | median ms | p10 ms | p90 ms | ratio |"
	echo "|---|---:|---:|---:|---:|"
	printf '| `tar --zstd -xf` (GNU tar %s) | %s | %s | %s | 1.00 |\n' "$(tar --version | head -1 | awk '{print $NF}')" "$mt" "$pt" "$qt"
	printf '| `ajail fs import` | %s | %s | %s | %s |\n' "$ma" "$pa" "$qa" "$ratio"
	echo
	echo "$entries entries, $((size / 1000000)) MB, $(du -h "$tarball" | cut -f1) as .tar.zst; as $user, $runs interleaved runs each,"
	echo "on $fstype (the filesystem of $work), every run into a fresh tree, none removed until the end."
	echo "Ratios are to tar's median. ajail writes small files with a worker thread per CPU (at most 4; none on one CPU)."
	if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.0) }'; then
		verdict import-small MET "ajail fs import of many small files is ${ratio}x GNU tar ($ma ms against $mt ms); target at most 1.0x"
	else
		verdict import-small MISSED "ajail fs import of many small files is ${ratio}x GNU tar ($ma ms against $mt ms); target at most 1.0x"
	fi
}

bench_export()
{
	local tarball runs=${BENCH_IMPORT_RUNS:-7} i
	echo "## Export of a Debian minbase rootfs to .tar.zst, against \`tar --zstd -c\`"
	echo
	tarball=$(debian_tarball)
	if [ -z "$tarball" ]; then
		verdict export SKIPPED "no Debian minbase tarball could be built here"
		return
	fi
	"$AJAIL" fs rm -q bench-export >/dev/null 2>&1 || true
	"$AJAIL" fs import -q bench-export "$tarball" || die "export: import failed"
	local dir=$AJAIL_HOME/fs/bench-export
	: >"$work/e.tar" && : >"$work/e.ajail"
	for i in $(seq "$runs"); do
		rm -f "$work/out.tar.zst" "$work/out2.tar.zst"
		timed_ms tar --zstd -C "$dir" -cf "$work/out.tar.zst" . >>"$work/e.tar"
		timed_ms "$AJAIL" fs export -q bench-export "$work/out2.tar.zst" >>"$work/e.ajail"
	done
	local mt ma
	mt=$(median_of <"$work/e.tar")
	ma=$(median_of <"$work/e.ajail")
	echo "| contender | median ms | output size | ratio |"
	echo "|---|---:|---:|---:|"
	printf '| tar --zstd -c | %s | %s | 1.00 |\n' "$mt" "$(du -h "$work/out.tar.zst" | cut -f1)"
	printf '| ajail fs export .tar.zst | %s | %s | %.2f |\n' "$ma" "$(du -h "$work/out2.tar.zst" | cut -f1)" \
		"$(awk -v a="$ma" -v b="$mt" 'BEGIN { print a / b }')"
	"$AJAIL" fs rm -q bench-export >/dev/null 2>&1 || true
	echo
	if awk -v a="$ma" -v b="$mt" 'BEGIN { exit !(a <= b) }'; then
		verdict export MET "ajail fs export ($ma ms) is no slower than tar --zstd -c ($mt ms)"
	else
		verdict export MISSED "ajail fs export ($ma ms) is slower than tar --zstd -c ($mt ms)"
	fi
}

# ---------------------------------------------------------------------------------------------------
# clone: `ajail --clone` against the tools a fleet would otherwise use to give each agent its own
# checkout, on a kernel source tree (Debian's linux-source committed into a fresh repository, about
# 80 000 files; built once and cached). Targets (issue 4): a new workspace, ready for the agent (first
# `git status` inside included), at least 5 times faster than `git worktree add`; 16 workspaces at once
# at least 5 times faster than 16 worktrees at once.

# The cached kernel repository; empty when there is no linux-source tarball to build it from.
linux_repo()
{
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/ajail-bench tarball part t0 t1
	local repo=$cache/linux-repo
	if [ -f "$repo.ready" ] && [ -d "$repo/.git" ]; then
		echo "$repo"
		return 0
	fi
	tarball=${BENCH_LINUX_TARBALL:-$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1 || true)}
	[ -n "$tarball" ] && [ -s "$tarball" ] || return 0
	mkdir -p "$cache"
	part=$cache/linux-repo.part
	rm -rf "$part" "$repo" "$repo.ready"
	mkdir -p "$part"
	echo "(building $repo from $tarball once: extraction, git add and commit take minutes)" >&2
	t0=$(date +%s)
	tar -C "$part" --strip-components=1 -xf "$tarball" || die "clone: could not extract $tarball"
	(
		cd "$part"
		git init -q .
		git config user.email bench@example.com
		git config user.name bench
		# -f: Debian's .gitignore ignores everything at the top level (its own packaging rule).
		git add -A -f .
		git commit -qm "$(basename "$tarball")"
	) >"$work/linux-build.log" 2>&1 || die "clone: could not commit the kernel tree: $(tail -3 "$work/linux-build.log")"
	mv "$part" "$repo"
	# Refresh the index once the mtimes are in the past, so that no entry is racily clean.
	sleep 1
	git -C "$repo" status --porcelain >/dev/null
	t1=$(date +%s)
	echo "$(basename "$tarball"), $(git -C "$repo" ls-files | wc -l) files, built in $((t1 - t0)) s" >"$repo.ready"
	echo "$repo"
}

# clone_ids [HOME]: the ids of the workspaces in the store, one a line.
clone_ids()
{
	AJAIL_HOME=${1:-$AJAIL_HOME} "$AJAIL" clone list --json </dev/null 2>/dev/null |
		grep -o '"id" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

# clone_rm_all [HOME]: remove every workspace of the store but $clone_keep (untimed cleanup).
clone_keep=
clone_rm_all()
{
	local id
	for id in $(clone_ids "${1:-}"); do
		[ "$id" != "$clone_keep" ] || continue
		AJAIL_HOME=${1:-$AJAIL_HOME} "$AJAIL" clone rm --force "$id" </dev/null >/dev/null 2>"$work/rm.err" ||
			die "clone: ajail clone rm --force $id failed: $(head -c 300 "$work/rm.err")"
	done
}

# rm_tree DIR...: delete, including read-only parts (a workspace's base checkout may be read-only).
rm_tree()
{
	chmod -R u+w "$@" 2>/dev/null || true
	rm -rf "$@"
}

# fleet_ms N CMD-PREFIX...: run "CMD-PREFIX... i" for i in 1..N at once, print the wall time in ms.
fleet_ms()
{
	local n=$1 i t0 t1 bad=0
	shift
	local -a pids=()
	t0=$(date +%s%N)
	for i in $(seq "$n"); do
		"$@" "$i" </dev/null >/dev/null 2>"$work/fleet.$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || bad=$((i + 1))
	done
	t1=$(date +%s%N)
	[ "$bad" = 0 ] || die "clone: \`$* $bad\` failed: $(head -c 300 "$work/fleet.$bad.err")"
	echo $(((t1 - t0) / 1000000))
}

bench_clone()
{
	local runs=${BENCH_CLONE_RUNS:-3} fleet_runs=${BENCH_CLONE_FLEET_RUNS:-${BENCH_CLONE_RUNS:-3}}
	local n=16 repo i c cold=$work/cold
	echo "## A workspace per agent on a kernel source tree: \`ajail --clone\` against git worktree add and git clone"
	echo
	have git || { verdict clone SKIPPED "git is not installed"; return; }
	repo=$(linux_repo) || die "clone: could not build the kernel repository"
	if [ -z "$repo" ]; then
		echo "No kernel source: the benchmark commits Debian's linux-source tarball into a repository"
		echo "(cached in ${XDG_CACHE_HOME:-$HOME/.cache}/ajail-bench/linux-repo). As root:"
		echo "\`apt-get install linux-source-6.1\` (it puts /usr/src/linux-source-6.1.tar.xz), or set"
		echo "BENCH_LINUX_TARBALL to any kernel .tar.xz."
		verdict clone SKIPPED "no /usr/src/linux-source-*.tar.xz to build the kernel repository from"
		return
	fi
	# Leftovers of an interrupted run (worktrees registered in the cached repository).
	git -C "$repo" worktree prune
	[ -z "$(git -C "$repo" status --porcelain)" ] || die "clone: $repo is not clean; remove it and its .ready file to rebuild"
	local head host_status
	head=$(git -C "$repo" rev-parse --short HEAD)
	host_status=$(timed_ms git -C "$repo" status --porcelain)

	cd "$repo"
	# Does --clone work here at all, and does git inside see a clean tree?
	if ! "$AJAIL" --quiet --fs=host --clone git status --porcelain </dev/null >"$work/clone.out" 2>"$work/clone.err"; then
		cd "$ROOT"
		echo "\`ajail --quiet --fs=host --clone git status --porcelain\` fails here: $(head -c 300 "$work/clone.err")"
		verdict clone FAIL "ajail --clone does not work on the kernel repository"
		return
	fi
	local inside_dirty
	inside_dirty=$(wc -l <"$work/clone.out")
	# That first run made the shared base checkout of HEAD in $AJAIL_HOME, and its workspace is kept
	# until the end so that the base stays (removing a base's last workspace removes the base):
	# "warm" runs use it; "cold" runs each start from an empty store ($cold), so they pay for it.
	clone_keep=$(clone_ids)
	[ "$(wc -w <<<"$clone_keep")" = 1 ] || die "clone: expected one workspace after the first run, got: $clone_keep"

	: >"$work/c.wt" && : >"$work/c.local" && : >"$work/c.shared" && : >"$work/c.cold" && : >"$work/c.warm"
	local -a names=(wt local shared cold warm)
	for i in $(seq "$runs"); do
		# Every contender's previous output is deleted together, then each is timed once, in an order
		# that rotates: each runs after the same large delete (on this disk, creating files is slower
		# for minutes after a big rm -rf) and at every position in turn.
		rm_tree "$work/wt" "$work/local" "$work/shared" "$cold"
		git -C "$repo" worktree prune
		clone_rm_all
		sync
		local k
		for k in $(seq 0 4); do
			c=${names[$(((k + i) % 5))]}
			case $c in
			wt) timed_ms sh -c 'git -C "$1" worktree add -q --detach "$2" && git -C "$2" status --porcelain' \
				sh "$repo" "$work/wt" >>"$work/c.wt" ;;
			local) timed_ms sh -c 'git clone -q --local "$1" "$2" && git -C "$2" status --porcelain' \
				sh "$repo" "$work/local" >>"$work/c.local" ;;
			shared) timed_ms sh -c 'git clone -q --shared "$1" "$2" && git -C "$2" status --porcelain' \
				sh "$repo" "$work/shared" >>"$work/c.shared" ;;
			cold) mkdir -p "$cold"
				timed_ms env AJAIL_HOME="$cold" "$AJAIL" --quiet --fs=host --clone git status --porcelain >>"$work/c.cold" ;;
			warm) timed_ms "$AJAIL" --quiet --fs=host --clone git status --porcelain >>"$work/c.warm" ;;
			esac
		done
	done
	rm_tree "$work/wt" "$work/local" "$work/shared" "$cold"
	git -C "$repo" worktree prune
	clone_rm_all

	# Fleets: 16 at once, wall time; ajail warm (the base exists) and cold (the first of the 16 makes it).
	: >"$work/f.wt" && : >"$work/f.warm" && : >"$work/f.cold"
	local -a fnames=(wt warm cold)
	for i in $(seq "$fleet_runs"); do
		rm_tree "$work"/fwt.* "$cold"
		git -C "$repo" worktree prune
		clone_rm_all
		sync
		for k in 0 1 2; do
			c=${fnames[$(((k + i) % 3))]}
			case $c in
			wt) fleet_ms "$n" sh -c 'git -C "$1" worktree add -q --detach "$2.$3" && git -C "$2.$3" status --porcelain' \
				sh "$repo" "$work/fwt" >>"$work/f.wt" ;;
			warm) fleet_ms "$n" sh -c 'exec "$1" --quiet --fs=host --clone git status --porcelain' sh "$AJAIL" >>"$work/f.warm" ;;
			cold) mkdir -p "$cold"
				fleet_ms "$n" sh -c 'AJAIL_HOME=$2 exec "$1" --quiet --fs=host --clone git status --porcelain' \
					sh "$AJAIL" "$cold" >>"$work/f.cold" ;;
			esac
		done
		[ "$(clone_ids | wc -l)" = $((n + 1)) ] || die "clone: $n ajail --clone runs at once did not make $n workspaces"
	done
	rm_tree "$work"/fwt.* "$cold"
	git -C "$repo" worktree prune
	clone_keep=
	clone_rm_all
	cd "$ROOT"

	local m_wt m_local m_shared m_cold m_warm f_wt f_warm f_cold
	m_wt=$(median_of <"$work/c.wt")
	m_local=$(median_of <"$work/c.local")
	m_shared=$(median_of <"$work/c.shared")
	m_cold=$(median_of <"$work/c.cold")
	m_warm=$(median_of <"$work/c.warm")
	f_wt=$(median_of <"$work/f.wt")
	f_warm=$(median_of <"$work/f.warm")
	f_cold=$(median_of <"$work/f.cold")
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
	echo "Repository: $(cat "$repo.ready"); HEAD $head; \`git status\` on it takes $host_status ms on the host."
	echo
	echo "| one new workspace, first \`git status\` included | median ms | runs | speed-up over git worktree add |"
	echo "|---|---:|---:|---:|"
	printf '| git worktree add --detach | %s | %s | %s |\n' "$m_wt" "$runs" "$(ratio "$m_wt" "$m_wt")"
	printf '| git clone --local | %s | %s | %s |\n' "$m_local" "$runs" "$(ratio "$m_wt" "$m_local")"
	printf '| git clone --shared | %s | %s | %s |\n' "$m_shared" "$runs" "$(ratio "$m_wt" "$m_shared")"
	printf '| ajail --clone, first on this commit (makes the shared base) | %s | %s | %s |\n' "$m_cold" "$runs" "$(ratio "$m_wt" "$m_cold")"
	printf '| ajail --clone, base already made | %s | %s | %s |\n' "$m_warm" "$runs" "$(ratio "$m_wt" "$m_warm")"
	echo
	echo "| $n new workspaces at once | median wall ms | runs | speed-up over $n worktrees |"
	echo "|---|---:|---:|---:|"
	printf '| %s × git worktree add --detach | %s | %s | %s |\n' "$n" "$f_wt" "$fleet_runs" "$(ratio "$f_wt" "$f_wt")"
	printf '| %s × ajail --clone, base already made | %s | %s | %s |\n' "$n" "$f_warm" "$fleet_runs" "$(ratio "$f_wt" "$f_warm")"
	printf '| %s × ajail --clone on a new commit (one makes the base, the others wait) | %s | %s | %s |\n' "$n" "$f_cold" "$fleet_runs" "$(ratio "$f_wt" "$f_cold")"
	echo
	echo "Each timed command includes the first \`git status\` in the new workspace: \`git worktree add -q --detach DIR &&"
	echo "git -C DIR status --porcelain\`, \`git clone -q --local|--shared REPO DIR && git -C DIR status --porcelain\`,"
	echo "\`ajail --quiet --fs=host --clone git status --porcelain\` run in REPO. Cleanup (rm -rf, \`git worktree prune\`,"
	echo "\`ajail clone rm --force\`) is untimed, done for all contenders together before each round, and the order"
	echo "rotates each round. \"First on this commit\" starts from an empty \$AJAIL_HOME each time."
	if [ "$inside_dirty" != 0 ]; then
		echo
		echo "Note: the first \`git status --porcelain\` inside a new workspace printed $inside_dirty lines: git inside"
		echo "did not see the clean tree it should."
	fi
	if [ "$inside_dirty" = 0 ] && awk -v a="$m_wt" -v b="$m_warm" 'BEGIN { exit !(a >= 5 * b) }'; then
		verdict clone MET "a new workspace ($m_warm ms) is $(ratio "$m_wt" "$m_warm") faster than git worktree add ($m_wt ms); target 5x"
	else
		verdict clone MISSED "a new workspace ($m_warm ms, $inside_dirty lines of git status) is $(ratio "$m_wt" "$m_warm") faster than git worktree add ($m_wt ms); target 5x, clean status"
	fi
	if awk -v a="$f_wt" -v b="$f_warm" 'BEGIN { exit !(a >= 5 * b) }'; then
		verdict clone-fleet MET "$n workspaces at once ($f_warm ms) are $(ratio "$f_wt" "$f_warm") faster than $n worktrees ($f_wt ms); target 5x"
	else
		verdict clone-fleet MISSED "$n workspaces at once ($f_warm ms) are $(ratio "$f_wt" "$f_warm") faster than $n worktrees ($f_wt ms); target 5x"
	fi
}

# ---------------------------------------------------------------------------------------------------
# layer-build: what a layer costs (issue 13). rootfs-recipes/agents is a layer on debian-dev (procps,
# npm 10, Claude Code and Codex); the flat rootfs it used to be is the layer's merged tree, exported
# and imported as one rootfs. Needs the Debian mirror (debian-dev, built once and kept as a tarball
# in the bench's cache) and the npm registry. Target: the layer holds only what it adds (the npm
# packages), not the base again: its own size at most (flat - base) + 5% of the base; and it is
# built without copying the base (its build time is set beside the time a flat copy of the tree takes).
bench_layer_build()
{
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/ajail-bench home=$work/layer-home hash tarball t0 t1 t2 t3
	echo "## Layer build: the agents recipe as a layer on debian-dev, against the flat rootfs it used to be"
	echo
	hash=$(cat rootfs-recipes/debian-dev mkrootfs/debian mkrootfs/lib/fakechown.c | sha256sum | cut -c1-16)
	tarball=$cache/debian-dev-$hash.tar.zst
	mkdir -p "$home" "$cache"
	lb() { AJAIL_HOME=$home "$AJAIL" "$@" </dev/null; }
	if [ ! -s "$tarball" ]; then
		if ! lb fs build -q debian-dev >"$work/lb.log" 2>&1 ||
			! lb fs export -q debian-dev "$cache/debian-dev-$hash.part.tar.zst" >>"$work/lb.log" 2>&1; then
			echo "debian-dev could not be built here (it needs mmdebstrap and the Debian mirror):"
			echo
			tail -3 "$work/lb.log" | sed 's/^/    /'
			rm -f "$cache/debian-dev-$hash.part.tar.zst"
			verdict layer-build SKIPPED "no debian-dev to build the agents layer on"
			return
		fi
		mv "$cache/debian-dev-$hash.part.tar.zst" "$tarball"
	else
		lb fs import -q debian-dev "$tarball" >"$work/lb.log" 2>&1 || die "layer-build: import $tarball: $(cat "$work/lb.log")"
	fi
	sync
	t0=$(date +%s%N)
	if ! lb fs build agents agents-layer >"$work/lb.log" 2>&1; then
		echo "The agents layer could not be built here (it needs the Debian mirror and the npm registry):"
		echo
		tail -3 "$work/lb.log" | sed 's/^/    /'
		verdict layer-build SKIPPED "the agents layer could not be built"
		return
	fi
	t1=$(date +%s%N)
	lb fs export -q agents-layer "$work/agents-flat.tar" >"$work/lb.log" 2>&1 || die "layer-build: export: $(cat "$work/lb.log")"
	sync
	t2=$(date +%s%N)
	lb fs import -q agents-flat "$work/agents-flat.tar" >"$work/lb.log" 2>&1 || die "layer-build: import: $(cat "$work/lb.log")"
	t3=$(date +%s%N)
	rm -f "$work/agents-flat.tar"
	# name -> "size files" from fs list --json (sizes on disk: st_blocks, as fs list shows them).
	local json base_s base_f layer_s layer_f flat_s flat_f
	json=$(lb fs list --json)
	field() { tr '}' '\n' <<<"$json" | sed -n "s/.*\"name\": \"$1\", \"size\": \([0-9]*\), \"files\": \([0-9]*\),.*/\\$2/p"; }
	base_s=$(field debian-dev 1) base_f=$(field debian-dev 2)
	layer_s=$(field agents-layer 1) layer_f=$(field agents-layer 2)
	flat_s=$(field agents-flat 1) flat_f=$(field agents-flat 2)
	[ -n "$base_s" ] && [ -n "$layer_s" ] && [ -n "$flat_s" ] || die "layer-build: no sizes in fs list --json: $json"
	mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }
	secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
	du_mb() { mb "$(du -s --block-size=1 "$home/fs/$1" | cut -f1)"; }
	echo "| rootfs | size (fs list) MB | du MB | files | made by | seconds |"
	echo "|---|---:|---:|---:|---|---:|"
	printf '| debian-dev (the base) | %s | %s | %s | `fs build debian-dev`, kept as a tarball in %s | - |\n' \
		"$(mb "$base_s")" "$(du_mb debian-dev)" "$base_f" "${cache/#$HOME/\~}"
	printf '| agents, a layer on debian-dev: its own files | %s | %s | %s | `fs build agents` (a jail on debian-dev, committed) | %s |\n' \
		"$(mb "$layer_s")" "$(du_mb agents-layer)" "$layer_f" "$(secs "$t0" "$t1")"
	printf '| agents flat: the same tree as one rootfs | %s | %s | %s | `fs export` of the layer, `fs import` of that tar | %s (import) |\n' \
		"$(mb "$flat_s")" "$(du_mb agents-flat)" "$flat_f" "$(secs "$t2" "$t3")"
	echo
	echo "Sizes are what \`ajail fs list --json\` says (blocks on disk; a file with two names, as Claude Code's"
	echo "binary has, counts twice in every row alike) and what du says (each inode once). The flat row is what"
	echo "\`fs build agents\` made before the recipe became a layer: debian-dev and the npm packages in one tree."
	echo "The layer's build time is mostly npm's download; the import beside it is what copying the merged tree"
	echo "into the store costs."
	lb fs rm -q agents-flat agents-layer >/dev/null 2>&1 && lb fs rm -q debian-dev >/dev/null 2>&1 || true
	local added pct word=MISSED
	added=$((flat_s - base_s))
	pct=$(awk -v l="$layer_s" -v f="$flat_s" 'BEGIN { printf "%.0f", 100 * l / f }')
	awk -v l="$layer_s" -v a="$added" -v b="$base_s" 'BEGIN { exit !(l <= a + 0.05 * b) }' && word=MET
	verdict layer-build "$word" "the agents layer takes $(mb "$layer_s") MB ($pct% of the flat rootfs's $(mb "$flat_s") MB; what it adds to debian-dev: $(mb "$added") MB), not debian-dev's $(mb "$base_s") MB again; built in $(secs "$t0" "$t1") s"
}

# ---------------------------------------------------------------------------------------------------
# shellcheck source=bench/net.sh
. bench/net.sh

# ---------------------------------------------------------------------------------------------------
main()
{
	local s
	local -a want=("$@")
	[ ${#want[@]} -gt 0 ] || want=("${SECTIONS[@]}")
	for s in "${want[@]}"; do
		declare -F "bench_${s//-/_}" >/dev/null || die "unknown section '$s' (sections: ${SECTIONS[*]}, net)"
	done

	[ -x "$AJAIL" ] || die "$AJAIL is missing; run 'make all' first"
	have cc || die "cc is missing (make deps)"
	mkdir -p "$ROOT/build"
	cc -O2 -o "$TIMEIT" bench/timeit.c || die "could not compile bench/timeit.c"

	work=$(mktemp -d "${TMPDIR:-/tmp}/ajail-bench.XXXXXX")
	export AJAIL_HOME=$work/home
	mkdir -p "$AJAIL_HOME/fs"
	mkrootfs/busybox --dir "$AJAIL_HOME/fs/bench" >/dev/null || die "mkrootfs/busybox failed"
	check_runs ajail "$AJAIL" --quiet --fs=bench true >"$work/note" ||
		die "ajail cannot run a jail here: $(cat "$work/note")"

	echo "# ajail benchmarks"
	echo
	echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r)"
	echo "- user: $(id -un) (uid $(id -u))"
	echo "- ajail: $("$AJAIL" --version 2>&1 | head -1)"
	echo "- bwrap: $(bwrap --version 2>/dev/null || echo 'not installed')"
	echo "- unshare: $(unshare --version 2>/dev/null | head -1 || echo 'not installed')"
	echo "- rootfs: busybox (mkrootfs/busybox --dir), $(find "$AJAIL_HOME/fs/bench" | wc -l) entries"

	for s in "${want[@]}"; do
		echo
		"bench_${s//-/_}"
	done

	echo
	echo "## Summary"
	echo
	for s in "${verdicts[@]}"; do echo "- $s"; done
	if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$missed" = 1 ]; then
		exit 1
	fi
}

main "$@"
