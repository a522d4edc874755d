#!/usr/bin/env bash
# tests/helpers/demo.sh — what `make demo` runs once ./ajail is built: a few real commands in jails,
# each printed before it runs. Works as root and as a normal user; exits non-zero when a step fails.
# It uses a temporary store (AJAIL_HOME), so the user's own ~/.ajail is never read or changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x ./ajail ] || { echo "demo: ./ajail is not built; run make" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ajail-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export AJAIL_HOME="$tmp"
unset AJAIL_ARGS

say() { printf '\n# %s\n' "$*"; }
# Print a command as a user would type it, then run it; any failure ends the demo.
run() {
	printf '+ %s\n' "$1"
	eval "$1" || { rc=$?; echo "demo: FAILED (exit $rc): $1" >&2; exit 1; }
}
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

say "An empty store (AJAIL_HOME=$AJAIL_HOME), so the rootfs is the built-in 'host' one:
# the host's system directories, read-only; the working directory, read-write; uid 0 inside."
run "./ajail sh -c 'id; hostname; echo \$HOME; ls /'"

say "Writes outside the working directory land on an overlay that vanishes with the jail:"
run "./ajail sh -c 'echo hi > /root/note && cat /root/note'"
run "./ajail -q sh -c 'test ! -e /root/note && echo \"/root/note: gone\"'"

say "--ro: the working directory is writable inside, but nothing reaches the host:"
[ ! -e demo-file ] || fail "$PWD/demo-file already exists; remove it first"
run "./ajail -q --ro sh -c 'touch demo-file && ls demo-file'"
if [ -e demo-file ]; then
	rm -f demo-file
	fail "demo-file reached the host through --ro"
fi
run "test ! -e demo-file && echo 'demo-file: not on the host'"

say "--no-net: a network namespace of its own, with only lo:"
cmd="./ajail -q --no-net ip -brief link 2>/dev/null || ./ajail -q --no-net cat /proc/net/dev"
printf '+ %s\n' "$cmd"
out=$(eval "$cmd") || fail "$cmd"
printf '%s\n' "$out"
ifaces=$(printf '%s\n' "$out" | sed -n 's/^ *\([^ :|]*\)[ :|].*/\1/p' | grep -Evx 'Inter-|face' | sort -u)
[ "$ifaces" = lo ] || fail "--no-net shows interfaces other than lo: $ifaces"

say "A tiny rootfs in the (temporary) store: a rootfs is a directory under \$AJAIL_HOME/fs."
run "mkrootfs/busybox --dir \"\$AJAIL_HOME/fs/busybox\""
run "./ajail --fs=busybox sh -c 'cat /etc/os-release; busybox | head -1'"

say "demo: every step worked."
