# Issue 9, class 7: ajail makes missing mount points in persistent directories (the working
# directory here) and removes them after the jail exits. The jail can move those directories and put
# a symlink in their place meanwhile; removal must go through the directory it made them in, never
# by path, so that nothing outside is ever deleted.
. "$(dirname "$0")/libtest.sh"
w="$T/work"
mkdir -p "$w" "$T/data" "$T/outside/b" "$T/outside2/d"
echo data > "$T/data/f"
: > "$T/outside/b/f"  # the victim: an empty file, like the mount point ajail made
: > "$T/outside2/d/f"
cd "$w"

# The mount point a/b/f is made on the host; the jail moves a away and points a at the victim's dir.
jail --fs=bb -q --mount="$T/data/f,$w/a/b/f,rol" sh -c "cat $w/a/b/f && mv a a.moved && ln -s $T/outside a && echo SWAPPED"
assert_rc 0 "the jail moves the mount point's parent and plants a symlink"
assert_contains "$out" "SWAPPED"
assert_exists "$T/outside/b/f" "the victim outside the working directory is not deleted"
assert_missing "$w/a.moved/b/f" "the mount point ajail made is removed, where the jail moved it"
assert_missing "$w/a.moved/b" "and the directories ajail made for it"
ok "mount points are removed through the directory they were made in, never by path"

# Something the jail put in a mount point's place stays: ajail removes only what it made, empty.
jail --fs=bb -q --mount="$T/data/f,$w/c/f,rol" sh -c "true"
assert_missing "$w/c" "mount points made for one run are gone after it"
mkdir -p "$w/k"
jail --fs=bb -q --mount="$T/data,$w/k/m" sh -c "mkdir $w/k/other && echo mine > $w/k/other/x"
assert_eq "$(cat "$w/k/other/x")" "mine" "the jail's own files beside a mount point stay"

# While another jail runs on the same rootfs, mount points go to a pending list that the last jail
# to end works through; the jail still running can plant a symlink before that happens.
rm -rf "$w/c"
"$AJAIL" --fs=bb -q sh -c "while [ ! -e $w/go ]; do sleep 0.05; done; mv c c.moved && ln -s $T/outside2 c; echo SWAPPED" \
	>"$T/a.out" 2>&1 </dev/null &
apid=$!
jail --fs=bb -q --mount="$T/data/f,$w/c/d/f,rol" cat "$w/c/d/f"
assert_rc 0 "a second jail on the same rootfs"
[ -e "$w/c/d/f" ] || fail "with another jail running, the mount point waits on the pending list"
[ -s "$AJAIL_HOME/fs/.meta/bb.pending" ] || fail "the pending list holds it"
touch "$w/go"
wait $apid || fail "the first jail: $(cat "$T/a.out")"
assert_contains "$(cat "$T/a.out")" "SWAPPED"
assert_exists "$T/outside2/d/f" "the pending list never deletes through a planted symlink"
ok "the pending list of a shared rootfs never follows a symlink"
