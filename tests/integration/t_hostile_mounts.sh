# Issue 9, class 3: a jail prepares the working directory for the next run. A symlink it planted
# there must never make a later mount option bind what it points at, and a jail running now that
# swaps a directory for a symlink (renameat2 RENAME_EXCHANGE, as fast as it can) must never win the
# race between ajail's look at the path and the mount.
. "$(dirname "$0")/libtest.sh"
racer="$HELPERS/racer"
[ -x "$racer" ] || fail "the racer is not built: make build/racer (run.sh stages it in \$HELPERS)"
cp "$racer" "$ROOTFS/racer"

secret="$T/secret"
mkdir -p "$secret/etc"
echo "SECRET-$$-marker" > "$secret/key"
w="$T/work"
mkdir -p "$w/build" "$w/sub"
echo "innocent" > "$w/build/file"
cd "$w"

# --- a symlink planted by one jail, used by the next run's options ------------------------------------
jail --fs=bb -q ln -s "$secret" evil
assert_rc 0 "a jail plants a symlink in the working directory"
[ -L "$w/evil" ] || fail "the planted symlink is there"
for opt in --rw=evil --ro=evil --rol=evil --hide=evil "--mount=evil,/mnt/x" "--mount=evil,/mnt/x,rol" "--rw=$w/evil" \
	--rol=evil/key --rw=./sub/../evil; do
	jail --fs=bb -q "$opt" sh -c "cat /mnt/x/key $secret/key $w/evil/key 2>/dev/null"
	assert_rc 2 "$opt through a planted symlink is refused"
	assert_contains "$err" "symlink to $secret, outside the working directory" "$opt: the message names where it leads"
	assert_not_contains "$out" "SECRET" "$opt: nothing of the secret is read"
	[ "$(grep -c . <<<"$err")" = 1 ] || fail "$opt: one line: $err"
done
ok "options through a symlink planted in the working directory are refused, naming its target"

# Symlinks that stay inside the working directory are followed; the user's own absolute path is
# taken as typed.
ln -s build inside
jail --fs=bb -q --rol=inside cat "$w/build/file"
assert_rc 0 "a symlink inside the working directory"
assert_eq "$out" "innocent"
jail --fs=bb -q --rol="$secret" cat "$secret/key"
assert_rc 0 "an absolute path outside the working directory, named by the user"
assert_contains "$out" "SECRET"

# A chain: a link to a link that leads out.
jail --fs=bb -q ln -s evil chain
jail --fs=bb -q --rw=chain true
assert_rc 2 "a chain of symlinks leading out"
assert_contains "$err" "outside the working directory"

# --fs=./DIR: the rootfs named by a path in the working directory.
jail --fs=bb -q ln -s "$ROOTFS" myroot
jail --fs=./myroot -q true
assert_rc 2 "--fs through a planted symlink"
assert_contains "$err" "outside the working directory"

# fs import and fs build read what a path in the working directory names: a planted symlink to a
# directory of yours would become a rootfs that every later jail on it reads.
jail --fs=bb -q sh -c "ln -s $secret importme && ln -s $secret/key recipe"
jail fs import stolen ./importme
assert_rc 2 "fs import of a directory through a planted symlink"
assert_contains "$err" "symlink to $secret, outside the working directory"
assert_missing "$AJAIL_HOME/fs/stolen"
jail fs build ./recipe stolen
assert_rc 2 "fs build of a recipe through a planted symlink"
assert_contains "$err" "outside the working directory"
jail fs import stolen "$secret"
assert_rc 0 "the same directory, named by the user"
jail fs rm -q stolen
ok "fs import and fs build never follow a symlink planted in the working directory"

# --- the rootfs: a jail with --fs-edit plants symlinks for --home-edit and --fs-edit=/DIR -------------
jail --fs=bb -q --fs-edit sh -c "ln -s $secret /root/.agent && ln -s $secret /etc/tool"
assert_rc 0 "a --fs-edit jail plants symlinks in the rootfs"
jail --fs=bb -q --home-edit=.agent sh -c 'cat /root/.agent/key'
[ "$rc" -ne 0 ] || fail "--home-edit through a symlink in the rootfs must fail: $out"
assert_not_contains "$out" "SECRET" "--home-edit through a symlink in the rootfs"
jail --fs=bb -q --fs-edit=/etc/tool sh -c 'cat /etc/tool/key'
assert_rc 2 "--fs-edit=/DIR through a symlink in the rootfs"
assert_not_contains "$out" "SECRET"
assert_contains "$err" "symlink"
rm -f "$ROOTFS/root/.agent" "$ROOTFS/etc/tool"
ok "--home-edit and --fs-edit=/DIR never follow a symlink a jail put in the rootfs"

# --- the race: a jail exchanges build/ with a symlink to the secret while ajail starts ---------------
rm -f evil
ln -s "$secret" "$w/evil"
racer_pid=
trap '[ -z "$racer_pid" ] || kill $racer_pid 2>/dev/null; wait; cleanup_test' EXIT
race() { # race SECONDS OPTION...: one jail races, others start with OPTION, as many as fit
	local secs=$1
	shift
	"$AJAIL" --fs=bb -q /racer exchange "$w/build" "$w/evil" $((secs * 1000)) >"$T/racer.out" 2>&1 </dev/null &
	racer_pid=$!
	local runs=0 won=0 refused=0 end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		"$AJAIL" --fs=bb -q "$@" sh -c "cat $w/build/key $w/build/file 2>/dev/null" >"$T/o" 2>"$T/e" </dev/null
		local r=$?
		runs=$((runs + 1))
		if grep -q SECRET "$T/o"; then
			won=$((won + 1))
		elif grep -q '^ajail: ' "$T/e"; then
			# ajail refused: the plan saw the symlink, or the jail's mount found it changed
			refused=$((refused + 1))
			[ "$r" -ne 0 ] && [ "$(grep -c . "$T/e")" = 1 ] || fail "$*: a refused run says why in one line: $(cat "$T/e")"
		fi
	done
	wait $racer_pid || fail "the racer failed: $(cat "$T/racer.out")"
	[ "$won" = 0 ] || fail "$*: the racing jail won $won of $runs runs: the secret was mounted"
	[ "$runs" -gt 10 ] || fail "$*: only $runs runs"
	ok "$*: $runs starts against a racing jail ($(cat "$T/racer.out")), none mounted the secret ($refused refused)"
}
race 8 --rw=build
race 8 --ro=build
race 8 --rol=build
race 8 --mount="$w/build,/mnt/b"
race 8 --mount="$w/build,/mnt/b,rw"
# The root itself: a rootfs directory in the working directory, exchanged with a symlink.
mkdir -p "$w/rootdir"
cp -a "$ROOTFS/." "$w/rootdir/"
ln -sfn "$secret" "$w/evilroot"
"$AJAIL" --fs=bb -q /racer exchange "$w/rootdir" "$w/evilroot" 8000 >"$T/racer.out" 2>&1 </dev/null &
racer_pid=$!
n=0
while kill -0 $racer_pid 2>/dev/null; do
	"$AJAIL" --fs="$w/rootdir" -q cat /key >"$T/o" 2>"$T/e" </dev/null
	! grep -q SECRET "$T/o" || fail "--fs=DIR raced: the secret became the jail's root"
	n=$((n + 1))
done
wait $racer_pid
racer_pid=
ok "--fs=DIR: $n starts against a racing jail, none rooted in the secret"

# --- the store: a jail run where the store will be made must not make it first --------------------
fakehome="$T/home"
mkdir -p "$fakehome"
cd "$fakehome"
env -u AJAIL_HOME HOME="$fakehome" "$AJAIL" --fs=host -q sh -c "mkdir -p $fakehome/.ajail/fs; ln -s $secret $fakehome/.ajail/x; mkdir $fakehome/.ajail 2>/dev/null || ln -s $secret $fakehome/.ajail" \
	>"$T/o" 2>&1 </dev/null
assert_missing "$fakehome/.ajail" "a jail cannot make the store (~/.ajail) that later runs would use"
ok "the store's place is covered while it does not exist"

# --- a mount point a jail redirected into /proc, /sys or /dev --------------------------------------
# A jail with --fs-edit plants relative symlinks in the rootfs (they stay beneath the root, so the
# mount's RESOLVE_BENEATH follows them); a later jail's --mount there must not cover its own /proc
# (its processes), /sys or /dev. The plan checks the path as written; the mount, where it leads.
cd "$T"
mkdir -p "$T/mdata" && echo m >"$T/mdata/m"
jail --fs=bb -q --fs-edit sh -c 'mkdir -p /home; ln -sfn ../proc /home/pp; ln -sfn ../sys /home/ss; ln -sfn ../dev /home/dd; ln -sfn ../dev/pts /home/pt'
assert_rc 0 "the jail plants its symlinks"
for l in pp ss dd pt; do
	for mode in "" ",rw" ",rol"; do
		jail --fs=bb -q --mount="$T/mdata,/home/$l$mode" sh -c 'ls /proc/1 >/dev/null && echo jail-proc-intact'
		assert_rc 1 "--mount=DIR,/home/$l$mode through ../${l}"
		assert_contains "$err" "leads into the jail's own /proc, /sys or /dev" "--mount=DIR,/home/$l$mode"
	done
done
jail --fs=bb -q --mount="$T/mdata,/home/real" cat /home/real/m
assert_eq "$out" "m" "a mount point beside them still works"
jail --fs=bb -q --fs-edit sh -c 'rm -f /home/pp /home/ss /home/dd /home/pt; rm -rf /home/real'
# The host's own are not mounted in either: its /proc would show the host's processes, unmasked.
for src in /proc /proc/self /sys /dev; do
	jail --fs=bb -q --mount="$src,/mnt/h" true
	assert_rc 2 "--mount=$src,/mnt/h"
	assert_contains "$err" "a jail has its own" "--mount=$src,..."
done
ok "no --mount lands on or takes the jail's or the host's /proc, /sys or /dev, through a symlink either"
