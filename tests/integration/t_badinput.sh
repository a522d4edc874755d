# Bad input, one row each: what a new user trips over gets one line that says what was wrong and
# what to do, exit 2 for usage and 1 for failure, and leaves nothing behind. (Issue 12's table.)
. "$(dirname "$0")/libtest.sh"
cd "$T"
mkdir -p "$T/data" && echo d >"$T/data/f"
one_line() { [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "$1: expected one line on stderr, got: $err"; }

# An unreadable store, then --fs=NAME: the store's permissions are the cause, not a missing rootfs.
if [ "$(id -u)" != 0 ]; then
	mkdir -p "$T/locked/fs/bb"
	chmod 000 "$T/locked"
	AJAIL_HOME="$T/locked" jail --fs=bb true
	chmod 755 "$T/locked"
	assert_rc 1 "an unreadable store"
	assert_contains "$err" "cannot look in the store $T/locked/fs" "the store is named"
	assert_contains "$err" "Permission denied" "and the cause"
	assert_not_contains "$err" "no rootfs named" "not the wrong cause"
	one_line "an unreadable store"
fi
# Root reads any directory; a store under a file is one that cannot be looked in for anyone.
touch "$T/afile"
AJAIL_HOME="$T/afile/store" jail --fs=bb true
assert_rc 1 "a store beneath a file"
assert_contains "$err" "cannot look in the store" "a store beneath a file"
AJAIL_HOME="$T/afile/store" jail true
assert_rc 1 "no --fs, a store that cannot be read: not a silent fall-back to the host"
assert_contains "$err" "cannot look for a 'default' rootfs" "no --fs"
ok "an unreadable store is named as the cause"

# AJAIL_ARGS with a space where ';' belongs.
AJAIL_ARGS='--fs=bb --no-net' jail true
assert_rc 2 "AJAIL_ARGS with a space"
assert_contains "$err" "separate them with ';'" "the hint names ';'"
assert_not_contains "$err" "rootfs name" "not a rootfs-name error"
one_line "AJAIL_ARGS with a space"
AJAIL_ARGS='--fs=bb;--no-net' jail -q cat /proc/net/dev
assert_rc 0 "AJAIL_ARGS with ';'"
ok "AJAIL_ARGS='--fs=x --no-net' says to use ';'"

# --home-edit=/etc: relative to /root, so an absolute path elsewhere is refused, and nothing is made.
jail --fs=bb --home-edit=/etc true
assert_rc 2 "--home-edit=/etc"
assert_contains "$err" "--fs-edit=/etc" "the message names what was meant"
one_line "--home-edit=/etc"
assert_missing "$ROOTFS/root/etc" "no /root/etc made in the rootfs"
jail --fs=bb -q --home-edit=/root/.keep sh -c 'echo k > /root/.keep/x'
assert_rc 0 "--home-edit=/root/PATH is PATH"
assert_eq "$(cat "$ROOTFS/root/.keep/x")" "k" "--home-edit=/root/.keep kept /root/.keep"
ok "--home-edit=/etc is refused; /root/PATH works"

# --fs-edit=etc is /etc, as in the original.
jail --fs=bb -q --fs-edit=etc sh -c 'echo kept > /etc/kept; echo gone > /usr/gone'
assert_rc 0 "--fs-edit=etc"
assert_eq "$(cat "$ROOTFS/etc/kept")" "kept" "--fs-edit=etc kept /etc"
assert_missing "$ROOTFS/usr/gone" "the rest stayed an overlay"
ok "--fs-edit=etc is /etc"

# --mount over the jail's own /proc, /sys, /dev.
for d in /proc /proc/1 /sys /sys/fs /dev /dev/shm; do
	jail --fs=bb --mount="$T/data,$d" true
	assert_rc 2 "--mount=DIR,$d"
	assert_contains "$err" "the jail's own" "--mount=DIR,$d"
	one_line "--mount=DIR,$d"
done
ok "--mount over /proc, /sys or /dev is refused"

# --mount without a mode: the original's ephemeral overlay.
jail --fs=bb -q --mount="$T/data,/data" sh -c 'echo new > /data/new; rm /data/f; ls /data'
assert_rc 0 "--mount default"
assert_eq "$out" "new" "inside, the overlay takes the writes"
assert_missing "$T/data/new" "nothing written reaches the host"
assert_exists "$T/data/f" "nothing deleted reaches the host"
ok "--mount=SRC,DST is an overlay whose changes vanish"

# --fs-edit while another jail runs on that rootfs, and a jail while an --fs-edit one runs.
"$AJAIL" --fs=bb -q sh -c "touch $T/running; sleep 30" </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$T/running" ] && break; sleep 0.1; done
jail --fs=bb --fs-edit true
assert_rc 1 "--fs-edit while a jail runs"
assert_contains "$err" "in use by a running jail" "--fs-edit while a jail runs"
assert_contains "$err" "sleep 30" "names the jail"
one_line "--fs-edit while a jail runs"
jail --fs=bb --fs-edit=/etc true
assert_rc 1 "--fs-edit=/etc while a jail runs"
jail --fs=bb -q true
assert_rc 0 "another plain jail runs beside it"
kill "$pid"; wait "$pid" 2>/dev/null
rm -f "$T/running"
"$AJAIL" --fs=bb -q --fs-edit sh -c "touch $T/running; sleep 30" </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$T/running" ] && break; sleep 0.1; done
jail --fs=bb true
assert_rc 1 "a jail while an --fs-edit one runs"
assert_contains "$err" "being changed by a jail with --fs-edit" "a jail while --fs-edit runs"
one_line "a jail while --fs-edit runs"
kill "$pid"; wait "$pid" 2>/dev/null
jail --fs=bb -q --fs-edit true
assert_rc 0 "--fs-edit once the other is gone"
ok "--fs-edit and other jails on one rootfs exclude each other"

# --lockdown --clone: one line, and no clone workspace or base checkout made.
mkdir -p "$T/repo" && git -C "$T/repo" init -q && git -C "$T/repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m x
cd "$T/repo"
jail --fs=bb --lockdown --clone true
assert_rc 2 "--lockdown --clone"
one_line "--lockdown --clone"
assert_contains "$err" "--lockdown cannot be combined with --clone"
assert_missing "$AJAIL_HOME/clone" "nothing of a clone is made"
jail --fs=bb --clone --mount="$T/nope,/x" true
cd "$T"
assert_rc 2 "--clone with a bad option"
assert_missing "$AJAIL_HOME/clone" "a refused --clone run makes no workspace and no base"
ok "--lockdown --clone is one line and leaves nothing"

# AJAIL_ENV_ with a name no shell keeps: said, not silently lost.
env 'AJAIL_ENV_A-B=x' AJAIL_ENV_GOOD=1 "$AJAIL" --fs=bb env </dev/null >"$T/o" 2>"$T/e"
assert_contains "$(cat "$T/e")" "AJAIL_ENV_A-B: 'A-B' is not a variable name a shell keeps" "the warning"
assert_contains "$(cat "$T/o")" "A-B=x" "it is still set, for programs that read the environment"
assert_contains "$(cat "$T/o")" "GOOD=1" "a good one too"
ok "AJAIL_ENV_A-B is named in a warning"

# fs verbs on a rootfs that does not exist: a usage error (exit 2), as --fs=nope is.
for v in "rm nope" "cp nope other" "export nope $T/x.tar"; do
	jail fs $v
	assert_rc 2 "fs $v"
	assert_contains "$err" "no rootfs named 'nope'" "fs $v"
	assert_contains "$err" "ajail fs list" "fs $v points at the list"
	one_line "fs $v"
done
assert_missing "$AJAIL_HOME/fs/other" "fs cp nope made nothing"
assert_missing "$T/x.tar" "fs export nope wrote nothing"
ok "fs rm, cp and export of an unknown rootfs exit 2"

# fs import of an empty directory is refused like /dev/null and empty stdin are.
mkdir "$T/emptydir"
jail fs import e "$T/emptydir"
assert_rc 1 "fs import EMPTYDIR"
assert_contains "$err" "holds no files: not a rootfs" "fs import EMPTYDIR"
one_line "fs import EMPTYDIR"
jail fs import e /dev/null
assert_rc 1 "fs import /dev/null"
assert_missing "$AJAIL_HOME/fs/e" "no rootfs e"
ok "fs import of an empty directory is refused"

# clone show with no ID.
jail clone show
assert_rc 2 "clone show"
assert_contains "$err" "missing the workspace ID" "clone show"
assert_contains "$err" "ajail clone list" "clone show points at the list"
one_line "clone show"
ok "clone show without an ID says what is missing"

# fs build alpine where Alpine's mirror cannot be reached (here: nothing listens on port 9).
sed 's|^mirror .*|mirror http://127.0.0.1:9/alpine|' "$MKROOTFS/../rootfs-recipes/alpine" >"$T/alpine-here"
jail fs build "$T/alpine-here" alp
assert_rc 1 "fs build alpine, mirror unreachable"
assert_contains "$err" "the Alpine mirror http://127.0.0.1:9/alpine cannot be reached" "the mirror is named"
assert_contains "$err" "ajail fs import alpine alpine-minirootfs-" "and what to do instead"
assert_missing "$AJAIL_HOME/fs/alp" "no rootfs alp"
ok "fs build alpine says the mirror is unreachable and what to do"
# The rows that need a real Debian build (a full disk, SIGKILL of ajail during a build) are in
# t_build.sh, beside the builder's other failures.

# Whatever failed above left no rootfs, no temp files and no records in the store.
jail fs list
assert_rc 0 "fs list"
assert_eq "$(cd "$AJAIL_HOME/fs" && ls -A .tmp 2>/dev/null)" "" "nothing in fs/.tmp"
