# Malicious and awkward archives: rejected (naming the entry) or handled, never written outside.
. "$(dirname "$0")/libtest.sh"
cd "$T"
evil="$HELPERS/mkevil.py"
[ -f "$evil" ] || fail "tests/helpers/mkevil.py is missing"
mkdir -p "$T/outside"
before=$(find "$T/outside" /tmp -maxdepth 2 -newer "$T" 2>/dev/null | sort)

for kind in dotdot symlink-then-write hardlink-outside symlink-dir-replace; do
	python3 "$evil" "$kind" "$T/$kind.tar" || fail "mkevil $kind"
	jail fs import "evil-$kind" "$T/$kind.tar"
	assert_rc 1 "$kind is rejected"
	assert_contains "$err" "entry" "$kind: the error names the entry"
	assert_missing "$AJAIL_HOME/fs/evil-$kind" "$kind: no rootfs"
done
assert_eq "$(ls -A "$AJAIL_HOME/fs/.tmp")" "" "rejected archives leave nothing behind"
after=$(find "$T/outside" /tmp -maxdepth 2 -newer "$T" 2>/dev/null | sort)
assert_eq "$after" "$before" "nothing written outside"

for kind in absolute trailing-slash device setuid; do
	python3 "$evil" "$kind" "$T/$kind.tar" || fail "mkevil $kind"
	jail fs import "ok-$kind" "$T/$kind.tar"
	assert_rc 0 "$kind is handled"
done
assert_contains "$(jail fs import ok-device2 "$T/device.tar"; echo "$err")" "device" "skipped devices are counted in the summary"
[ -z "$(find "$AJAIL_HOME/fs/ok-device" -type c -o -type b -o -type p)" ] || fail "no device nodes or fifos"
[ -z "$(find "$AJAIL_HOME/fs/ok-setuid" -perm /6000)" ] || fail "setuid/setgid bits are dropped"
assert_contains "$(jail fs import ok-setuid2 "$T/setuid.tar"; echo "$err")" "setuid" "dropped bits are counted"

python3 "$evil" sparse-1g "$T/sparse.tar" || fail "mkevil sparse-1g"
jail fs import sparse "$T/sparse.tar"
assert_rc 0 "a 1 GiB sparse file"
f=$(find "$AJAIL_HOME/fs/sparse" -type f | head -1)
[ "$(stat -c %s "$f")" = 1073741824 ] || fail "the sparse file keeps its size"
[ "$(du -k "$f" | cut -f1)" -lt 10240 ] || fail "the sparse file stays sparse: $(du -k "$f")"

python3 "$evil" many-files "$T/many.tar" || fail "mkevil many-files"
jail fs import many "$T/many.tar"
assert_rc 0 "100 000 tiny files"
[ "$(find "$AJAIL_HOME/fs/many" -type f | wc -l)" -ge 100000 ] || fail "all files written"

# SIGKILL at any moment: no rootfs under that name; the next store operation sweeps the rest.
"$AJAIL" fs import killed "$T/many.tar" </dev/null >/dev/null 2>&1 &
ipid=$!
for _ in $(seq 200); do [ -d "$AJAIL_HOME/fs/.tmp/killed" ] && break; sleep 0.01; done
kill -KILL "$ipid"; wait "$ipid" 2>/dev/null
assert_missing "$AJAIL_HOME/fs/killed" "a killed import leaves no rootfs"
jail fs list
assert_eq "$(ls -A "$AJAIL_HOME/fs/.tmp")" "" "the next store operation swept the leftovers"

# Two imports of one name at once: one wins, the other says why.
"$AJAIL" fs import twin "$T/many.tar" </dev/null >"$T/a.out" 2>&1 & a=$!
"$AJAIL" fs import twin "$T/many.tar" </dev/null >"$T/b.out" 2>&1 & b=$!
wait $a; ra=$?; wait $b; rb=$?
[ $((ra + rb)) -eq 1 ] || fail "exactly one concurrent import wins: $ra $rb; $(cat "$T/a.out" "$T/b.out")"
grep -qE "in progress|exists|meanwhile" "$T/a.out" "$T/b.out" || fail "the loser says why: $(cat "$T/a.out" "$T/b.out")"
[ -d "$AJAIL_HOME/fs/twin" ] || fail "the winner's rootfs is there"

# A full disk: a small tmpfs as the store, in a throw-away mount namespace.
if unshare -Urm true 2>/dev/null; then
	mkdir -p "$T/data" && head -c 4000000 /dev/urandom > "$T/data/blob" && tar -C "$T/data" -cf "$T/data.tar" .
	out=$(unshare -Urm sh -c "mount -t tmpfs -o size=2m tmpfs '$AJAIL_HOME' && '$AJAIL' fs import big '$T/data.tar'; echo rc=\$?; ls -A '$AJAIL_HOME/fs/.tmp' '$AJAIL_HOME/fs' | tr '\n' ' '" 2>&1)
	assert_contains "$out" "rc=1" "a full disk fails"
	assert_contains "$out" "No space left on device" "and says so"
	assert_not_contains "$out" " big " "and leaves nothing behind"
fi
