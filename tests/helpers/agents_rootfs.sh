#!/bin/bash
# tests/helpers/agents_rootfs.sh — the `agents` rootfs (rootfs-recipes/agents: Claude Code and Codex, a
# layer on debian-dev) as a flat tarball in a cache outside the checkout, for the integration tests that
# run agents. Building it takes minutes (Debian mirror, npm registry); importing the tarball takes
# seconds.
#
#   agents_rootfs.sh ensure     print the tarball's path; build it first if it is missing or stale
#   agents_rootfs.sh path       print where it is (or would be); build nothing
#
# A test does:   tarball=$("$HELPERS/agents_rootfs.sh" ensure) || fail "no agents rootfs"
#                "$AJAIL" fs import agents "$tarball"      (into its own AJAIL_HOME)
#
# The cache: ${AJAIL_TEST_CACHE:-/var/cache/ajail-test}, world-readable. The file is
# agents-HASH.tar.zst, HASH over rootfs-recipes/agents and debian-dev, mkrootfs/debian, mkrootfs/layer
# and mkrootfs/lib/fakechown.c: a changed recipe or builder means another file. One older than 14 days
# is rebuilt, so that new agent versions arrive. Built by the ajail under test (AJAIL, or the one beside
# the checkout) into a temporary AJAIL_HOME, debian-dev first, then the agents layer on it (the
# recipe's `base debian-dev`), whose merged tree `fs export` writes to a .part file (a layer exports
# as the whole rootfs) that is renamed into place, under a lock on the cache:
# parallel callers build it once. Whoever cannot write the cache (the unprivileged test user, when root
# has not built it yet) gets a stale tarball with a warning, or an error when there is none.
# Progress goes to stderr; stdout has only the path.
set -euo pipefail

me=${0##*/}
say() { echo "$me: $*" >&2; }
die() { say "$*"; exit 1; }
[ $# -eq 1 ] && { [ "$1" = ensure ] || [ "$1" = path ]; } || { echo "usage: $0 ensure|path" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
# Where mkrootfs/ and rootfs-recipes/ are: beside $MKROOTFS (run.sh's stage), or the checkout.
if [ -n "${MKROOTFS:-}" ] && [ -d "$MKROOTFS" ]; then
	datadir=$(cd "$MKROOTFS/.." && pwd)
elif [ -d "$here/../mkrootfs" ]; then
	datadir=$(cd "$here/.." && pwd)
else
	datadir=$(cd "$here/../.." && pwd)
fi
inputs=("$datadir/rootfs-recipes/agents" "$datadir/rootfs-recipes/debian-dev" "$datadir/mkrootfs/debian"
	"$datadir/mkrootfs/layer" "$datadir/mkrootfs/lib/fakechown.c")
for f in "${inputs[@]}"; do [ -r "$f" ] || die "no $f"; done
ajail=${AJAIL:-}
if [ -z "$ajail" ]; then
	for c in "$datadir/ajail" "$datadir/../ajail"; do [ -x "$c" ] && { ajail=$c; break; }; done
fi
[ -n "$ajail" ] && [ -x "$ajail" ] || die "no ajail binary (set AJAIL=, or run make)"

cache=${AJAIL_TEST_CACHE:-/var/cache/ajail-test}
hash=$(cat "${inputs[@]}" | sha256sum | cut -c1-16)
tarball=$cache/agents-$hash.tar.zst
max_age_min=$((14 * 24 * 60))

if [ "$1" = path ]; then
	echo "$tarball"
	exit 0
fi

fresh() { [ -s "$tarball" ] && [ -z "$(find "$tarball" -mmin +"$max_age_min" 2>/dev/null)" ]; }
if fresh; then
	echo "$tarball"
	exit 0
fi

mkdir -p "$cache" 2>/dev/null || true
if ! [ -d "$cache" ] || ! [ -w "$cache" ]; then
	if [ -s "$tarball" ]; then
		say "warning: $tarball is older than 14 days and $cache is not writable here: using it anyway"
		echo "$tarball"
		exit 0
	fi
	die "no agents rootfs in $cache, and it is not writable by $(id -un): run '$0 ensure' once as a user that can write it (root), or set AJAIL_TEST_CACHE to a directory of yours"
fi
chmod 755 "$cache" 2>/dev/null || true

exec 9>>"$cache/agents.lock"
if ! flock -n 9; then
	say "another process is building the agents rootfs; waiting for it"
	flock 9
fi
if fresh; then # built while we waited
	echo "$tarball"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/ajail-agents.XXXXXX")
part=$cache/agents-$hash.part.tar.zst # ajail fs export picks the compression by the suffix
cleanup() {
	# ajail removes its rootfses (directories a plain rm could not enter), the layer before its base;
	# rm the rest.
	local n
	for n in agents debian-dev; do
		[ ! -d "$tmp/home/fs/$n" ] || AJAIL_HOME=$tmp/home "$ajail" fs rm -q "$n" || true
	done
	rm -rf "$tmp"
	rm -f "$part"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$tmp"
cd "$tmp"

if [ -s "$tarball" ]; then say "$tarball is older than 14 days: rebuilding it"; fi
say "building the agents rootfs with $ajail, debian-dev then the agents layer on it (a few minutes; log: $tmp/build.log, kept only on failure)"
t0=$(date +%s)
if ! { AJAIL_HOME=$tmp/home AJAIL_DATADIR=$datadir "$ajail" fs build debian-dev debian-dev &&
	AJAIL_HOME=$tmp/home AJAIL_DATADIR=$datadir "$ajail" fs build agents agents; } >"$tmp/build.log" 2>&1; then
	grep -v '^I: ' "$tmp/build.log" | tail -40 >&2
	cp "$tmp/build.log" "${TMPDIR:-/var/tmp}/ajail-agents-build.log" 2>/dev/null &&
		say "the whole log: ${TMPDIR:-/var/tmp}/ajail-agents-build.log"
	die "building the agents rootfs failed"
fi
t1=$(date +%s)
grep -E '^ajail: built|npm warn EBADENGINE   package' "$tmp/build.log" | sed "s/^/$me: /" >&2 || true
AJAIL_HOME=$tmp/home "$ajail" fs export agents "$part" 2>"$tmp/export.log" || { cat "$tmp/export.log" >&2; die "exporting the agents rootfs failed"; }
chmod 644 "$part"
mv -f "$part" "$tarball"
t2=$(date +%s)
say "$tarball: $(du -h "$tarball" | cut -f1), built in $((t1 - t0)) s, exported in $((t2 - t1)) s"
# Tarballs of other recipes' hashes, not written for a day: a checkout with another recipe would
# have rebuilt its own by now.
find "$cache" -maxdepth 1 -name 'agents-????????????????.tar.zst' ! -name "${tarball##*/}" -mmin +1440 -delete 2>/dev/null || true
echo "$tarball"
