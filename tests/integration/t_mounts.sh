# The working directory and --ro/--rol/--rw/--hide/--mount, layered in order.
. "$(dirname "$0")/libtest.sh"
w="$T/work"
mkdir -p "$w/build" "$w/secret" "$w/sub"
echo data > "$w/file"
echo s > "$w/secret/key"
echo tok > "$w/.env"
cd "$w"

jail --fs=bb -q sh -c 'echo rw > written; pwd'
assert_eq "$out" "$w" "cwd at its own path"
assert_eq "$(cat "$w/written")" "rw" "cwd is read-write by default"

jail --fs=bb -q --ro sh -c 'echo x > ro-new && echo y >> file && cat ro-new file'
assert_rc 0 "--ro is writable inside"
assert_eq "$out" "x
data
y" "--ro sees its own changes"
assert_missing "$w/ro-new" "--ro changes never reach the host"
assert_eq "$(cat "$w/file")" "data" "--ro leaves host files alone"

jail --fs=bb -q --rol sh -c 'echo x > rol-new'
[ "$rc" -ne 0 ] || fail "--rol must be read-only"
assert_missing "$w/rol-new"

jail --fs=bb -q --ro --rw=build sh -c 'echo b > build/out; echo e > eph'
assert_rc 0 "--ro --rw=build"
assert_eq "$(cat "$w/build/out")" "b" "--rw=build punches a persistent hole"
assert_missing "$w/eph" "the rest stays ephemeral"

jail --fs=bb -q --hide=secret sh -c 'ls -A secret; echo new > secret/n'
assert_rc 0 "--hide=secret"
assert_eq "$out" "" "--hide gives an empty directory"
assert_missing "$w/secret/n" "--hide is not the host's directory"

jail --fs=bb -q --hide=.env sh -c 'wc -c < .env'
assert_eq "$(echo $out)" "0" "--hide on a file empties it"

jail --fs=bb -q --hide=nope true
assert_rc 2 "--hide of something missing"
assert_contains "$err" "nope"

other="$T/other"
mkdir -p "$other"
echo o > "$other/o"
jail --fs=bb -q --mount="$other,/mnt/o,rol" sh -c 'cat /mnt/o/o; echo x > /mnt/o/x'
assert_contains "$out" "o" "--mount=SRC,DST,rol"
[ "$rc" -ne 0 ] || fail "--mount rol must be read-only"
# The original ajail's meaning: without a mode, an ephemeral overlay; ,rw writes through.
jail --fs=bb -q --mount="$other,/mnt/o" sh -c 'echo x > /mnt/o/x; cat /mnt/o/o /mnt/o/x'
assert_eq "$out" "o
x" "--mount default: the source's files, and writes, seen inside"
assert_missing "$other/x" "--mount default is an ephemeral overlay: the write never reaches the host"
jail --fs=bb -q --mount="$other,/mnt/o,rw" sh -c 'echo x > /mnt/o/x'
assert_eq "$(cat "$other/x")" "x" "--mount=SRC,DST,rw writes through to the host"
rm -f "$other/x"
jail --fs=bb -q --mount="$other,/mnt/o,ro" sh -c 'echo y > /mnt/o/y; cat /mnt/o/y'
assert_eq "$out" "y"
assert_missing "$other/y" "--mount ro is an ephemeral overlay"

jail --fs=bb -q --mount="$T/does-not-exist,/x" true
assert_rc 2 "a mount source that does not exist"
assert_contains "$err" "does-not-exist"

jail --fs=bb -q --mount="$other,/mnt/../etc" true
assert_rc 2 "'..' in a destination"

# A rootfs whose symlinks point out of it cannot redirect a mount.
ln -s /etc "$ROOTFS/evil-abs"
ln -s ../../../../../../../../../../etc "$ROOTFS/evil-rel"
for d in /evil-abs/x /evil-rel/x; do
	jail --fs=bb -q --mount="$other,$d" true
	assert_rc 1 "mount through symlink $d"
	assert_contains "$err" "escapes" "$d: the error says it escapes"
done
assert_missing /etc/x "nothing created on the host"

# Paths with characters that mount options treat specially.
odd="$T/we ird,dir:x\\y"
mkdir -p "$odd"
echo odd > "$odd/f"
(cd "$odd" && "$AJAIL" --fs=bb -q --ro sh -c 'cat f; echo n > n; cat n') >"$T/o" 2>&1
assert_eq "$(cat "$T/o")" "odd
n" "--ro on an odd path"
assert_missing "$odd/n"

# A cwd under /tmp (the set-up mounts its scratch there, inside the jail only).
tw=$(mktemp -d /tmp/ajail-tmpcwd.XXXXXX)
echo t > "$tw/t"
(cd "$tw" && "$AJAIL" --fs=bb -q cat t) >"$T/o" 2>&1
rc=$?
rm -rf "$tw"
assert_eq "$(cat "$T/o")" "t" "cwd under /tmp"

# /dev is minimal; /tmp and /run are fresh tmpfs.
jail --fs=bb -q sh -c 'ls /dev | tr "\n" " "; echo; ls -A /tmp /run | wc -l; echo > /dev/null && echo null-ok; head -c 4 /dev/urandom | wc -c'
assert_contains "$out" "null"
assert_contains "$out" "pts"
assert_contains "$out" "null-ok"
assert_not_contains "$out" "sda"
assert_not_contains "$out" "vda"

jail --fs=bb -q --dev=full sh -c 'echo x > /dev/full'
[ "$rc" -ne 0 ] || fail "/dev/full must refuse writes"
jail --fs=bb -q --dev=nonexistent-device true
assert_rc 2 "--dev of a missing device"

# A mount point that is missing in a persistent directory is made for the run and removed after.
cd "$w"
jail --fs=bb -q --mount="$other,$w/new/deeper" sh -c 'cat new/deeper/o'
assert_eq "$out" "o" "mount into a new directory under the cwd"
assert_missing "$w/new" "the mount point was removed from the host afterwards"
jail --fs=bb -q --fs-edit --mount="$other,/opt/mp" cat /opt/mp/o
assert_eq "$out" "o"
assert_missing "$ROOTFS/opt/mp" "the mount point was removed from the rootfs afterwards"
