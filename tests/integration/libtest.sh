# libtest.sh — sourced by every integration test. Each test is a bash script that exits 0 (pass),
# 77 (skip: only where the kernel truly lacks a feature) or anything else (fail).
# Gives: $AJAIL (the binary), $T (a private temp dir, removed at exit), $AJAIL_HOME (a store in $T
# with the busybox rootfs "bb" at $ROOTFS), and assertion helpers.
set -u
: "${AJAIL:?AJAIL must point at the ajail binary}"
: "${MKROOTFS:?MKROOTFS must point at the mkrootfs directory}"

T=$(mktemp -d "${TMPDIR:-/var/tmp}/ajail-test.XXXXXX")
cleanup_test() { find "$T" -type d ! -perm -u=rwx -exec chmod u+rwx {} + 2>/dev/null; rm -rf "$T"; }
trap cleanup_test EXIT
export AJAIL_HOME="$T/store"
ROOTFS="$AJAIL_HOME/fs/bb"
mkdir -p "$AJAIL_HOME/fs"
"$MKROOTFS/busybox" --dir "$ROOTFS" || { echo "FAIL: could not build the busybox rootfs"; exit 1; }
unset AJAIL_ARGS
export TERM=${TERM:-dumb}

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
ok() { echo "ok - $*"; }

# Run ajail quietly; stdout in $out, stderr in $err, status in $rc.
jail() {
	local o e
	o="$T/.out" e="$T/.err"
	"$AJAIL" "$@" >"$o" 2>"$e" </dev/null
	rc=$?
	out=$(cat "$o")
	err=$(cat "$e")
}

assert_rc() { [ "$rc" -eq "$1" ] || fail "${2:-}: expected exit $1, got $rc; stdout: $out; stderr: $err"; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-}: expected '$2', got '$1'"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "${3:-}: expected to contain '$2', got: $1" ;; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "${3:-}: expected not to contain '$2', got: $1" ;; *) ;; esac; }
assert_exists() { [ -e "$1" ] || [ -L "$1" ] || fail "${2:-}: $1 should exist"; }
assert_missing() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "${2:-}: $1 should not exist"; }
