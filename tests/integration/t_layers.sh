# Layers: --commit keeps a session's root changes as a layer on its base, and nothing else; a jail on
# a layer sees its bases beneath it, with deletions (whiteouts) and replaced directories (opaque) across
# three layers; --fs-edit of a layer writes the layer alone; fs list, fs rm and broken chains.
. "$(dirname "$0")/libtest.sh"
cd "$T"
FS=$AJAIL_HOME/fs
FSR=$(realpath "$FS")
# A rootfs's tree (types, modes, sizes, link targets, contents) as one checksum.
listing() { (cd "$1" && find . -printf '%P %y %m %s %l\n' | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort) | sha256sum; }
# A layer's own entries, one per line.
own() { (cd "$FS/$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort); }
whiteout() { [ "$(stat -c '%F %t:%T' "$1" 2>/dev/null)" = "character special file 0:0" ]; }
opaque() { python3 -c 'import os, sys; sys.exit(os.getxattr(sys.argv[1], "user.overlay.opaque") != b"y")' "$1" 2>/dev/null; }
tmp_empty() { assert_eq "$(ls -A "$FS/.tmp" 2>/dev/null)" "" "${1:-} nothing left in fs/.tmp"; }
one_line() { [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$1: expected one line, got: $err"; }
base_sum=$(listing "$ROOTFS")

# ---- three layers by --commit: whiteouts and an opaque directory ----
jail --fs=bb -q --commit=l1 sh -c 'rm /bin/vi && mkdir /etc/d /etc/k && echo a >/etc/d/a && echo b >/etc/d/b && echo k1 >/etc/k/k1 && echo one >/etc/l1'
assert_rc 0 "commit l1"
assert_contains "$err" "committed the session's changes as 'l1', a layer on 'bb'" "--commit says what it kept, -q or not"
assert_eq "$(grep '^base=' "$FS/.meta/l1")" "base=bb" "l1's metadata names its base"
whiteout "$FS/l1/bin/vi" || fail "a deleted file is a whiteout in the layer"
assert_eq "$(own l1)" "bin
bin/vi
etc
etc/d
etc/d/a
etc/d/b
etc/k
etc/k/k1
etc/l1" "the layer holds only the session's changes"
assert_eq "$(listing "$ROOTFS")" "$base_sum" "a commit leaves the base as it was"
jail --fs=l1 -q sh -c 'test -e /bin/vi && echo vi; cat /etc/l1 /etc/d/b; grep -c root /etc/passwd; ls /bin/busybox'
assert_eq "$out" "one
b
1
/bin/busybox" "a layer shows its own files over the base's, and not what it deleted"

jail --fs=l1 -q --commit=l2 sh -c 'rm /etc/hosts && rm -r /etc/d && echo two >/etc/l2'
assert_rc 0 "commit l2 on l1"
whiteout "$FS/l2/etc/hosts" || fail "l2: a file of the base deleted is a whiteout"
whiteout "$FS/l2/etc/d" || fail "l2: a directory of l1 deleted is a whiteout"
jail --fs=l2 -q sh -c 'for f in /etc/hosts /etc/d /bin/vi /etc/l1 /etc/l2 /etc/passwd; do test -e $f && echo $f; done'
assert_eq "$out" "/etc/l1
/etc/l2
/etc/passwd" "l2 sees l1 and the base, less what l1 and l2 deleted"

jail --fs=l2 -q --commit=l3 sh -c 'echo new >/etc/hosts && mkdir /etc/d && echo c >/etc/d/c && rm -r /etc/k && mkdir /etc/k && echo k3 >/etc/k/k3'
assert_rc 0 "commit l3 on l2"
opaque "$FS/l3/etc/k" || fail "l3: a directory removed and made again in one session is opaque in the layer"
jail --fs=l3 -q sh -c 'cat /etc/hosts; ls /etc/d /etc/k; cat /etc/l1 /etc/l2; test -e /bin/vi || echo no-vi; head -1 /etc/passwd'
assert_eq "$out" "new
/etc/d:
c

/etc/k:
k3
one
two
no-vi
root:x:0:0:root:/root:/bin/sh" "l3: a file deleted in l2 is back, the directory has only its new contents, the rest shows through"
jail --fs=l2 -q sh -c 'test -e /etc/hosts || echo still-gone'
assert_eq "$out" "still-gone" "a layer on l2 does not change l2"
assert_eq "$(listing "$ROOTFS")" "$base_sum" "three commits leave the base as it was"
tmp_empty "after three commits:"
ok "three layers: whiteouts, an opaque directory, each layer its own view"

jail --fs=l3 --dry-run true
assert_rc 0 "--dry-run on a layer"
assert_contains "$out" "lowerdir=$FSR/l3\\:$FSR/l2\\:$FSR/l1\\:$FSR/bb," "--dry-run shows the lower stack, top first"

# ---- fs list ----
jail fs list
assert_rc 0 "fs list"
assert_eq "$(awk '$1 == "l3" || $1 == "l1" || $1 == "bb" { print $1 "=" $2 }' <<<"$out" | tr '\n' ' ')" "bb=- l1=bb l3=l2 " \
	"fs list's BASE column"
jail fs list --json
assert_rc 0 "fs list --json"
verdict=$(printf '%s' "$out" | python3 -c '
import json, sys
d = {e["name"]: e for e in json.load(sys.stdin)}
print(d["bb"]["base"], d["l1"]["base"], d["l3"]["base"], d["l1"]["size"] * 20 < d["bb"]["size"], d["l1"]["files"])')
assert_eq "$verdict" "None bb l2 True 9" "--json: base (null for a flat rootfs), and a layer's size is its own"
ok "fs list: the base, and a layer's own size"

# ---- --commit keeps nothing when the command fails ----
jail --fs=bb -q --commit=nope sh -c 'echo x >/etc/x; exit 3'
assert_rc 3 "the command's status"
assert_contains "$err" "exited with status 3: nothing was committed as 'nope'" "it says so"
assert_missing "$FS/nope" "a failed command: no layer"
assert_missing "$FS/.meta/nope" "a failed command: no metadata"
tmp_empty "a failed command:"
jail --fs=bb -q --commit=nope no-such-command
assert_rc 127 "a command that is not there"
assert_contains "$err" "nothing was committed as 'nope'"
assert_missing "$FS/nope"
tmp_empty "a command not found:"
ok "--commit: nothing kept when the command fails, and it says so"

# ---- --commit killed with SIGKILL at random moments: never a layer, and the next store operation sweeps ----
for i in $(seq 20); do
	"$AJAIL" --fs=bb -q --commit=killed sh -c 'echo x >/etc/x; sleep 5' </dev/null >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 2))$((RANDOM % 10))$((RANDOM % 10))" # 0 to 199 ms: start-up, set-up or the command
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	assert_missing "$FS/killed" "killed at a random moment (round $i)"
	assert_missing "$FS/.meta/killed" "killed at a random moment (round $i): no metadata"
done
for _ in $(seq 50); do pgrep -u "$(id -u)" -f -- "--commit=killed" >/dev/null || break; sleep 0.1; done
pgrep -u "$(id -u)" -f -- "--commit=killed" >/dev/null && fail "a killed --commit jail left processes behind"
jail fs list
assert_rc 0
tmp_empty "the next store operation after a killed --commit:"
assert_missing "$FS/killed"
ok "--commit killed 20 times at random moments: no layer, fs/.tmp swept"

# The window between installing the layer and writing its metadata: with the rename held up (strace),
# a kill there must not leave a rootfs that looks flat.
if command -v strace >/dev/null; then
	strace -o /dev/null -e trace=renameat2 -e inject=renameat2:delay_exit=3000000 \
		"$AJAIL" --fs=bb -q --commit=window sh -c 'echo w >/etc/w' </dev/null >/dev/null 2>&1 &
	spid=$!
	for _ in $(seq 400); do [ -e "$FS/window" ] && break; sleep 0.02; done
	if [ -e "$FS/window" ]; then
		kill -KILL $(pgrep -P "$spid") 2>/dev/null # ajail, strace's child
		wait "$spid" 2>/dev/null
		grep -qx 'base=bb' "$FS/.meta/window" 2>/dev/null || fail "a commit killed right after its rename: fs/window is there without base= in its metadata (a flat rootfs of the layer's few files)"
		jail --fs=window -q cat /etc/w /etc/os-release
		assert_rc 0 "the layer runs"
		"$AJAIL" fs rm window >/dev/null 2>&1
	else
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		ok "strace cannot hold up ajail's renameat2 here: the install window is not checked"
	fi
	ok "--commit killed between its rename and its metadata"
fi

# ---- the working directory and mounts are never part of a commit ----
mkdir -p "$T/w/sub" "$T/rw" "$T/mnt" "$T/ovl"
cd "$T/w"
jail --fs=bb -q --commit=cw --rw="$T/rw" --mount="$T/mnt,/data,rw" --mount="$T/ovl,/ovl" \
	sh -c 'echo c >cwdfile && echo s >sub/f && echo r >'"$T"'/rw/f && echo m >/data/f && echo o >/ovl/f && echo e >/etc/e'
assert_rc 0 "commit with the cwd, --rw and --mount written"
cd "$T"
assert_eq "$(cat "$T/w/cwdfile" "$T/w/sub/f" "$T/rw/f" "$T/mnt/f")" "c
s
r
m" "the cwd, --rw and --mount,rw reached the host"
assert_eq "$(own cw)" "etc
etc/e" "the layer holds the root's change alone: no cwd, no mount, no empty mount point"
ok "--commit: the working directory and mounts are not part of the layer"

# A mount point beneath a directory of the base (the cwd under /var/tmp) is made in the session's upper:
# the directory must keep the base's mode there, and in the layer when the command writes beside it.
case $T in
/var/tmp/*)
	jail --fs=bb -q --commit=vt sh -c 'stat -c %a /var/tmp; echo f >/var/tmp/f'
	assert_rc 0 "commit with a write in /var/tmp"
	assert_eq "$out" "1777" "/var/tmp keeps the base's mode 1777 in a --commit session whose cwd is beneath it"
	assert_eq "$(stat -c %a "$FS/vt/var/tmp")" "1777" "the layer's var/tmp keeps the base's mode"
	assert_eq "$(own vt)" "var
var/tmp
var/tmp/f" "the layer has the file, not the cwd's mount point"
	;;
esac

# ---- --commit refusals ----
jail --fs=bb -q --commit=l1 true
assert_rc 1 "--commit to an existing name"
one_line "--commit to an existing name"
assert_contains "$err" "'l1' exists"
jail --fs=bb -q --commit=../x true; assert_rc 2 "--commit=../x"
jail --fs=bb -q --commit=host true; assert_rc 2 "--commit=host"
jail --fs=host -q --commit=h true; assert_rc 2 "--commit with --fs=host"
jail --fs="$ROOTFS" -q --commit=h true; assert_rc 2 "--commit with --fs=/path"
jail --fs=bb -q --commit=h --fs-edit true; assert_rc 2 "--commit with --fs-edit"
assert_contains "$err" "--fs-edit"
jail --fs=bb -q --commit=h --fs-edit=/etc true; assert_rc 2 "--commit with --fs-edit=/etc"
assert_missing "$FS/h"
tmp_empty "refused commits:"
ok "--commit: refusals"

# ---- --fs-edit on a layer writes the layer alone ----
jail --fs=bb -q --commit=e1 sh -c 'echo e >/etc/e'
assert_rc 0
l1_sum=$(listing "$FS/l1")
jail --fs=e1 -q --fs-edit sh -c 'rm /etc/passwd && echo edited >/etc/edited && cat /etc/e'
assert_rc 0 "--fs-edit on a layer"
assert_eq "$out" "e"
whiteout "$FS/e1/etc/passwd" || fail "--fs-edit on a layer: a deletion is a whiteout in the layer"
assert_eq "$(cat "$FS/e1/etc/edited")" "edited" "--fs-edit on a layer: a new file lands in the layer"
assert_eq "$(listing "$ROOTFS")" "$base_sum" "--fs-edit on a layer leaves its base byte for byte"
assert_eq "$(listing "$FS/l1")" "$l1_sum" "and every other layer"
assert_eq "$(own e1)" "etc
etc/e
etc/edited
etc/passwd" "no mount point left in the layer"
assert_eq "$(ls -A "$FS/.work" 2>/dev/null)" "" "overlayfs's work directory is gone"
jail --fs=e1 -q sh -c 'test -e /etc/passwd || echo no-passwd; cat /etc/edited'
assert_eq "$out" "no-passwd
edited" "the next jail on the layer sees the edit"
jail --fs=e1 -q --fs-edit=/usr true
assert_rc 2 "--fs-edit=/DIR of a directory that comes from the base"
assert_contains "$err" "'bb'" "it names the base"
# The layer has an /etc of its own, but only its changes: a bind of it would hide the base's
# passwd and hosts. Refused, where the whole-layer --fs-edit above keeps the merged view.
jail --fs=e1 -q --fs-edit=/etc sh -c 'echo x >/etc/x2'
assert_rc 2 "--fs-edit=/etc where the layer and its base both have /etc"
assert_contains "$err" "'bb'" "it names the base"
assert_missing "$FS/e1/etc/x2"
jail --fs=e1 -q --commit=e2 sh -c 'mkdir -p /etc/own && echo o >/etc/own/f'
assert_rc 0
jail --fs=e2 -q --fs-edit=/etc/own sh -c 'echo x >/etc/own/x2'
assert_rc 0 "--fs-edit=/DIR of a directory that only the layer has"
assert_eq "$(cat "$FS/e2/etc/own/x2")" "x" "kept in the layer"
assert_eq "$(listing "$ROOTFS")" "$base_sum" "--fs-edit=/DIR on a layer leaves its base"
ok "--fs-edit on a layer: only the layer changes"

# --home-edit on a layer: the layer's own path; refused when the path comes from a base.
jail --fs=bb -q --commit=hb sh -c 'mkdir /root/.cfg && echo c >/root/.cfg/f'
assert_rc 0
jail --fs=hb -q --commit=hl true
assert_rc 0
jail --fs=hl -q --home-edit=.cfg true
assert_rc 2 "--home-edit=PATH that comes from a base"
assert_contains "$err" "'hb'" "it names the base that has it"
jail --fs=hl -q --home-edit=.new sh -c 'echo n >/root/.new/f'
assert_rc 0 "--home-edit=PATH that no layer has"
assert_eq "$(cat "$FS/hl/root/.new/f")" "n" "made and kept in the layer"
assert_missing "$FS/hb/root/.new" "not in the base"
jail --fs=hl -q sh -c 'stat -c %a /root; cat /root/.cfg/f /root/.new/f'
assert_eq "$out" "700
c
n" "/root keeps its mode and shows the base's and the layer's files"
ok "--home-edit on a layer"

# ---- fs rm of a base, and a jail on a layer holds its bases ----
jail fs rm l1
assert_rc 1 "fs rm of a base"
one_line "fs rm of a base"
assert_contains "$err" "l2" "names the layer on it"
assert_exists "$FS/l1"
jail fs rm bb
assert_rc 1 "fs rm of the bottom base"
assert_contains "$err" "l1"

"$AJAIL" --fs=l1 -q sh -c 'echo up >"$0"; sleep 5' "$T/up" </dev/null >/dev/null 2>&1 &
jpid=$!
for _ in $(seq 100); do [ -e "$T/up" ] && break; sleep 0.05; done
[ -e "$T/up" ] || fail "the jail on l1 did not start"
jail --fs=bb -q --fs-edit true
assert_rc 1 "--fs-edit of a base while a jail runs on a layer over it"
assert_contains "$err" "in use"
kill "$jpid"; wait "$jpid" 2>/dev/null
assert_eq "$(listing "$ROOTFS")" "$base_sum" "the refused --fs-edit changed nothing"

jail fs rm l3 l2
assert_rc 0 "fs rm of the layers, top first"
jail fs rm l1
assert_rc 0 "then the base"
assert_missing "$FS/l1"
assert_missing "$FS/.meta/l1"
ok "fs rm: a base only after its layers; a jail on a layer holds its bases"

# A layer whose name has a dot holds its base like any other.
jail --fs=bb -q --commit=dot.ted true
assert_rc 0
jail --fs=e1 -q --commit=on.e1 true
assert_rc 0
jail fs rm e1
assert_rc 1 "fs rm of the base of a layer named with a dot"
assert_contains "$err" "on.e1"
assert_exists "$FS/e1"

# ---- broken chains: one line, no hang ----
jail --fs=bb -q --commit=h1 true
jail --fs=h1 -q --commit=h2 true
rm -rf "$FS/h1"
timeout 10 "$AJAIL" --fs=h2 -q true >/dev/null 2>"$T/e"
rc=$? err=$(cat "$T/e")
assert_rc 1 "a layer whose base was removed by hand"
one_line "a missing base"
assert_contains "$err" "'h1'" "names the missing base"
jail fs list
assert_rc 0 "fs list with a dangling layer"

mkdir "$FS/la" "$FS/lb"
printf 'source=\ncreated=0\nbase=lb\n' >"$FS/.meta/la"
printf 'source=\ncreated=0\nbase=la\n' >"$FS/.meta/lb"
timeout 10 "$AJAIL" --fs=la -q true >/dev/null 2>"$T/e"
rc=$? err=$(cat "$T/e")
assert_rc 1 "a metadata loop"
one_line "a metadata loop"
assert_contains "$err" "loop"
timeout 10 "$AJAIL" fs list >/dev/null 2>&1 || fail "fs list with a loop"

prev=bb
for i in $(seq 16); do
	mkdir "$FS/c$i"
	printf 'source=\ncreated=0\nbase=%s\n' "$prev" >"$FS/.meta/c$i"
	prev=c$i
done
echo deep >"$FS/c15/deep"
jail --fs=c15 -q sh -c 'cat /deep /etc/os-release | head -1'
assert_rc 0 "16 rootfses in all (15 layers and the base) run"
assert_eq "$out" "deep"
jail --fs=c15 -q --commit=c16b true
assert_rc 2 "--commit on a chain already at the limit"
timeout 10 "$AJAIL" --fs=c16 -q true >/dev/null 2>"$T/e"
rc=$? err=$(cat "$T/e")
assert_rc 1 "a chain deeper than 16"
one_line "a chain deeper than 16"
assert_contains "$err" "16"
ok "broken chains: a missing base, a loop, too deep: one line each"
tmp_empty "at the end:"
