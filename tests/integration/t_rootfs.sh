# The root is ephemeral; --fs-edit and --home-edit keep what they say and nothing else.
. "$(dirname "$0")/libtest.sh"
cd "$T"
snapshot() { (cd "$ROOTFS" && find . | sort); }
before=$(snapshot)

jail --fs=bb -q sh -c 'echo x > /etc/new && mkdir -p /usr/y && rm /bin/ls && echo ok'
assert_rc 0
assert_eq "$out" "ok" "root is writable inside"
assert_eq "$(snapshot)" "$before" "root writes vanish, rootfs unchanged"
jail --fs=bb -q sh -c 'test -e /etc/new || echo gone; test -e /bin/ls && echo ls-back'
assert_eq "$out" "gone
ls-back" "next session starts clean"

jail --fs=bb -q --fs-edit sh -c 'echo kept > /etc/kept'
assert_rc 0 "--fs-edit"
assert_eq "$(cat "$ROOTFS/etc/kept")" "kept" "--fs-edit persists"
rm "$ROOTFS/etc/kept"
# The cwd's mount point had to be created inside the rootfs: it must not be left there.
assert_eq "$(snapshot)" "$before" "--fs-edit leaves no mount points behind"

# An --fs-edit jail has its rootfs to itself: a second one (or any jail) on the same rootfs is refused
# while it runs (after a 2 s wait, which a short first one outlasts), and the mount point it made for
# the cwd in the rootfs is gone once it ends.
echo here > "$T/marker"
"$AJAIL" --fs=bb -q --fs-edit sh -c 'sleep 4' >/dev/null 2>&1 </dev/null &
first=$!
sleep 0.4
jail --fs=bb -q --fs-edit sh -c 'cat "$PWD/marker"'
assert_rc 1 "a second --fs-edit jail on the same rootfs while the first runs"
assert_contains "$err" "in use by a running jail" "it says why"
wait "$first"
"$AJAIL" --fs=bb -q --fs-edit sh -c 'sleep 1' >/dev/null 2>&1 </dev/null &
first=$!
sleep 0.4
jail --fs=bb -q --fs-edit sh -c 'cat "$PWD/marker"'
assert_rc 0 "a second --fs-edit jail waits out a short first one"
assert_eq "$out" "here" "and has its working directory"
wait "$first"
jail --fs=bb -q true
assert_eq "$(snapshot)" "$before" "the last --fs-edit jail to end removes the mount point"

jail --fs=bb -q --fs-edit=/etc sh -c 'echo a > /etc/a; echo b > /root/b'
assert_rc 0 "--fs-edit=/etc"
assert_exists "$ROOTFS/etc/a" "--fs-edit=/etc keeps /etc"
assert_missing "$ROOTFS/root/b" "--fs-edit=/etc does not keep /root"
rm "$ROOTFS/etc/a"

jail --fs=bb -q --fs-edit=/nonexistent true
assert_rc 2 "--fs-edit of a missing directory"

jail --fs=bb -q --home-edit=.x sh -c 'echo in > /root/.x/f; echo out > /root/g'
assert_rc 0 "--home-edit=.x"
assert_eq "$(cat "$ROOTFS/root/.x/f")" "in" "--home-edit=.x persists .x"
assert_missing "$ROOTFS/root/g" "--home-edit=.x keeps only .x"
jail --fs=bb -q cat /root/.x/f
assert_eq "$out" "in" "the next session sees it"

jail --fs=bb -q --home-edit sh -c 'echo h > /root/h'
assert_eq "$(cat "$ROOTFS/root/h")" "h" "--home-edit keeps all of /root"

jail --fs=missing-fs true
assert_rc 2 "missing rootfs"
assert_contains "$err" "missing-fs" "names the missing rootfs"
assert_contains "$err" "bb" "lists what exists"

jail --fs='bad/../name' true
assert_rc 2 "a bad path"

jail --fs="$ROOTFS" -q cat /etc/os-release
assert_rc 0 "--fs=/absolute/path"
assert_contains "$out" "busybox"

# No default in the store: the host rootfs, with a note.
jail sh -c 'test -w /usr && echo usr-writable; touch /usr/x 2>/dev/null && echo wrote-usr; echo h > /root/h && cat /root/h'
assert_rc 0 "host rootfs"
assert_eq "$out" "h" "host rootfs: /usr read-only, /root writable"
assert_contains "$err" "default" "the host-rootfs note"
jail sh -c 'ls -A /root'
assert_eq "$out" "" "host rootfs: /root is empty and ephemeral"
touch "$HOME/.ajail-test-marker" 2>/dev/null && marker=1 || marker=
jail --fs=host -q sh -c "ls -A '$HOME' 2>/dev/null | wc -l; ls -A /run | wc -l; find / -xdev -type s 2>/dev/null | wc -l"
[ -n "$marker" ] && rm -f "$HOME/.ajail-test-marker"
assert_eq "$(echo $out)" "0 0 0" "host rootfs: no host home, nothing in /run, no sockets"

jail --fs=host --fs-edit true
assert_rc 2 "--fs-edit on the host rootfs"

# A default rootfs in the store replaces the host fallback.
ln -s bb "$AJAIL_HOME/fs/default"
jail cat /etc/os-release
assert_contains "$out" "busybox" "the store's default is used"
assert_not_contains "$err" "using the host" "no host note with a default"
rm "$AJAIL_HOME/fs/default"
