# ajail fs build: -p, recipe files, the log and the progress line, and what happens when the builder
# fails, fills the disk, cannot reach its mirror, or when ajail is interrupted or killed; and the fs
# verbs' answers to an unknown rootfs or an empty directory.
# Most of it runs a fake builder (AJAIL_DATADIR): real Debian builds are slow, so there are two, one
# killed with SIGKILL half-way and (as root) one into a full disk.
. "$(dirname "$0")/libtest.sh"
cd "$T"
tag=fake$$$RANDOM
data=$T/data
mkdir -p "$data/mkrootfs" "$data/rootfs-recipes"
cat >"$data/mkrootfs/fake" <<'EOF'
#!/bin/bash
# A builder for the tests: does what the recipe's `mode` says.
set -u
recipe=$1 out=$2
mode=$(awk '$1 == "mode" { print $2 }' "$recipe")
tag=$(awk '$1 == "tag" { print $2 }' "$recipe")
echo "fake: building $out"
sed 's/^/fake: | /' "$recipe"
make_tar() {
	d=$(mktemp -d)
	mkdir -p "$d/etc"
	cp "$recipe" "$d/etc/recipe"
	echo fake >"$d/etc/hostname"
	tar -C "$d" -cf "$out.part" . && rm -rf "$d" && mv "$out.part" "$out"
}
# A process the test finds again by its name.
linger() { (exec -a "ajail-$tag-$1" sleep 1000); }
case $mode in
ok) for i in 1 2 3; do echo "fake: step $i"; done; make_tar ;;
slow)
	for i in $(seq 1 12); do
		echo "fake: step $i of a line that goes on and on, far beyond the width of a small terminal"
		printf 'fake: evil \033]0;title\007 \033[2J end\n'
		sleep 0.2
	done
	make_tar ;;
fail) for i in $(seq 1 30); do echo "fake: line $i"; done; exit 3 ;;
# mmdebstrap, when writing its tarball fails: SIGHUP to its whole process group, itself immune.
hup) trap '' HUP; echo "fake: giving up"; kill -HUP 0; exit 1 ;;
enospc) echo "tar: -: Cannot write: No space left on device"; exit 2 ;;
# As mkrootfs/debian: the tarball opened first, filled, and removed the moment a write fails.
fill) : >"$out.part"; sleep 0.3; head -c 200M /dev/zero >"$out.part" || { rm -f "$out.part"; exit 1; } ;;
# Says which recipe it got and what is in it (above), and fails: what ajail handed over, nothing else.
show) echo "fake: recipe $recipe"; exit 3 ;;
# As mkrootfs/debian runs mmdebstrap: its main child in the background, TERM, INT and HUP passed on to
# it and waited for. The child, as mmdebstrap, has a helper from the start (its newuidmap, its rm in
# its user namespace) that it cleans up with, which takes a while: a SIGTERM to the whole tree at once
# would kill the helper before it did. Each writes a mark in the recipe's `mark` directory when done.
careful)
	mark=$(awk '$1 == "mark" { print $2 }' "$recipe")
	helper() { trap 'sleep 2; echo done >"$mark/helper"; exit 0' USR1; while :; do sleep 0.1; done; }
	child() {
		helper &
		h=$!
		trap 'echo "fake: cleaning up"; kill -USR1 $h; wait $h; echo done >"$mark/child"; exit 1' TERM
		echo "fake: ready"
		while :; do sleep 0.1; done
	}
	child &
	c=$!
	trap 'kill -TERM $c; wait $c; echo done >"$mark/builder"; exit 143' TERM INT HUP
	wait $c ;;
# Announces a temporary directory, makes it and leaves it: when stopped, or (leakfail) failing.
leaky | leakfail)
	mark=$(awk '$1 == "mark" { print $2 }' "$recipe")
	mkdir -p "$mark/leak"
	echo "fake: using $mark/leak as tempdir"
	[ "$mode" = leaky ] || exit 3
	trap 'exit 1' TERM
	echo "fake: ready"
	while :; do sleep 0.1; done ;;
hang | stubborn)
	trap 'echo "fake: cleaning up"; exit 1' TERM
	head -c 1M /dev/zero >"$out.part"
	linger child &
	setsid bash -c "exec -a ajail-$tag-session sleep 1000" &
	(linger orphan &)
	if [ "$mode" = stubborn ]; then (trap '' TERM; exec -a "ajail-$tag-stubborn" sleep 1000) & fi
	echo "fake: ready"
	linger main ;;
*) echo "fake: unknown mode '$mode'"; exit 9 ;;
esac
EOF
chmod 755 "$data/mkrootfs/fake"
for m in ok slow fail hup enospc fill hang stubborn; do
	printf '# fake: %s\nbuilder fake\nmode %s\ntag %s\n' "$m" "$m" "$tag" >"$data/rootfs-recipes/$m"
done
printf '# fake with packages\nbuilder fake\nmode ok\npackages git  python3 # tools\n' >"$data/rootfs-recipes/withpkgs"

# Each part its own store; fake() runs ajail on the fake builder's data directory.
store() { export AJAIL_HOME=$T/store-$1; mkdir -p "$AJAIL_HOME"; }
fake() { AJAIL_DATADIR=$data jail "$@"; }
tmp_empty() { assert_eq "$(ls -A "$AJAIL_HOME/fs/.tmp")" "" "${1:-}: nothing left in fs/.tmp"; }
lingering() { pgrep -f "ajail-$tag-" || true; }
gone_within() { # SECONDS: wait until no fake process is left
	for _ in $(seq $(($1 * 10))); do [ -z "$(lingering)" ] && return 0; sleep 0.1; done
	fail "processes of the builder survived: $(pgrep -af "ajail-$tag-")"
}
wait_for() { # FILE TEXT SECONDS
	for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	fail "'$2' never showed up in $1: $(cat "$1" 2>&1 | tail -5)"
}

# ---- -p: packages added to the recipe's own line, recorded as the source ----
store p
cp "$data/rootfs-recipes/withpkgs" "$T/withpkgs.orig"
fake fs build ok okp -p jq,curl=7.88.1-10+deb12u5 --packages=g++ -p libc6:i386 --packages ssl_client
assert_rc 0 "-p on a recipe without packages"
assert_eq "$(grep -c '^packages' "$AJAIL_HOME/fs/okp/etc/recipe")" 1 "one packages line"
assert_contains "$(cat "$AJAIL_HOME/fs/okp/etc/recipe")" "packages jq curl=7.88.1-10+deb12u5 g++ libc6:i386 ssl_client"
fake fs build withpkgs wp -p jq,git
assert_rc 0 "-p on a recipe with packages"
assert_eq "$(grep '^packages' "$AJAIL_HOME/fs/wp/etc/recipe")" "packages git  python3 jq # tools" \
	"merged into the recipe's line, before its comment, without repeating git"
cmp -s "$data/rootfs-recipes/withpkgs" "$T/withpkgs.orig" || fail "the recipe file itself was changed"
jail fs list
assert_contains "$out" "recipe $data/rootfs-recipes/ok -p jq,curl=7.88.1-10+deb12u5,g++,libc6:i386,ssl_client" \
	"fs list shows the extra packages in the source"
for bad in 'jq;id' '-y' 'Jq' 'a b' 'jq,$(id)' '../x' 'a#b'; do
	fake fs build ok bad -p "$bad"
	assert_rc 2 "-p '$bad'"
	assert_contains "$err" "is not a package name" "-p '$bad'"
	assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "-p '$bad': one line"
done
fake fs build ok bad -p; assert_rc 2 "-p without a value"
assert_contains "$err" "-p needs a package list, e.g. -p jq,curl"
fake fs build ok bad --packages=,; assert_rc 2 "--packages=,"
assert_contains "$err" "names no package"
jail fs build busybox bad -p jq; assert_rc 2 "-p with the busybox builder"
assert_eq "$err" "ajail: fs build: the busybox builder installs no packages (it copies the host's busybox); -p works with recipes whose builder is debian or alpine"
jail fs import -p jq bad "$T"; assert_rc 2 "-p is for build only"
assert_missing "$AJAIL_HOME/fs/bad" "no rootfs from a refused -p"
tmp_empty "-p"
ok "fs build -p"

# ---- a recipe file of your own, as the README shows it ----
store own
cat >my-recipe <<'EOF'
# A tiny rootfs of my own
builder busybox
EOF
jail fs build ./my-recipe mine
assert_rc 0 "fs build ./my-recipe mine"
jail --fs=mine -q cat /etc/os-release
assert_contains "$out" "busybox" "a jail runs on it"
jail fs list
assert_contains "$out" "recipe $T/my-recipe"
ok "a recipe file of your own"

# ---- a recipe is read once, bounded, and the builder gets that text ----
store once
mkdir -p "$T/race/sub" "$T/outside"
cd "$T/race"
mkfifo fifo
t0=$(date +%s)
AJAIL_DATADIR=$data timeout 10 "$AJAIL" fs build ./fifo ff >"$T/ff.out" 2>"$T/ff.err" </dev/null
rc=$? err=$(cat "$T/ff.err")
assert_rc 2 "a fifo named as the recipe (124: it hung)"
[ $(($(date +%s) - t0)) -le 3 ] || fail "a fifo recipe took $(($(date +%s) - t0)) s to refuse"
assert_eq "$err" "ajail: fs build: recipe ./fifo is not a regular file"
{ printf 'builder fake\nmode show\n'; head -c 70000 /dev/zero | tr '\0' '#'; echo; } >big
fake fs build ./big big
assert_rc 2 "a recipe over 64 KiB"
assert_eq "$err" "ajail: fs build: recipe ./big is larger than 64 KiB: not a recipe"
printf 'builder fake\nmode show\n\0race nul\n' >nul
fake fs build ./nul nul
assert_rc 2 "a recipe with a NUL byte"
assert_contains "$err" "holds a NUL byte"
# A recipe given by name goes through the same copy: the builder never reads rootfs-recipes/ itself.
printf '# fake: show\nbuilder fake\nmode show\n' >"$data/rootfs-recipes/show"
fake fs build show sh1
assert_rc 1 "the show recipe fails on purpose"
assert_contains "$err" "fake: recipe $AJAIL_HOME/fs/.tmp/sh1@build/recipe" "the builder gets the build's private copy"
fake fs build ./nul2 x; assert_rc 2 "a missing recipe"
assert_eq "$err" "ajail: fs build: no recipe ./nul2 (No such file or directory); see 'ajail fs build --list'"
# The race: the recipe swapped with another (one ajail refuses: a key given twice), then with a
# symlink out of the working directory, as fast as can be while ajail builds, a hundred times. A
# build that reaches the builder must hand it the good text, whatever the file held by then.
printf 'builder fake\nmode show\nrace outside\n' >"$T/outside/recipe"
[ -x "${HELPERS:-}/racer" ] || fail "\$HELPERS/racer is not built (make build/racer)"
reached=0 refused=0
for kind in file symlink; do
	rm -f recipe other
	printf 'builder fake\nmode show\nrace good\n' >recipe
	if [ "$kind" = file ]; then
		printf 'builder fake\nmode show\nrace bad\nrace bad\n' >other
	else
		ln -s "$T/outside/recipe" other
	fi
	"$HELPERS/racer" exchange "$T/race/recipe" "$T/race/other" 600000 >"$T/racer.out" 2>&1 &
	racer=$!
	for i in $(seq 50); do
		fake fs build ./recipe race
		case $err in
		*"fake: | race good"*)
			assert_not_contains "$err" "race bad" "$kind swap $i"
			assert_not_contains "$err" "race outside" "$kind swap $i"
			reached=$((reached + 1)) ;;
		*"given twice"* | *"outside the working directory"* | *"became a symlink"*) refused=$((refused + 1)) ;;
		*) kill "$racer"; fail "$kind swap $i: $err" ;;
		esac
	done
	kill "$racer"
	wait "$racer" 2>/dev/null
done
[ "$reached" -gt 0 ] && [ "$refused" -gt 0 ] || fail "the race was not run: $reached builds reached the builder, $refused were refused"
echo "race: $reached builds reached the builder with what ajail read, $refused refused"
cd "$T"
tmp_empty "recipes refused and raced"
ok "a recipe read once: a fifo, an oversize one, one swapped meanwhile"

# ---- the log, the progress line, -v, the whole build's time ----
store log
fake fs build slow s1
assert_rc 0 "a build with output"
log=$AJAIL_HOME/fs/.log/s1.log
assert_contains "$err" "its output goes to $log" "the log is named"
assert_not_contains "$err" "fake: step" "without a terminal and -v, no builder line on stderr"
assert_contains "$(tail -1 <<<"$err")" "ajail: built 's1' in " "the summary"
[[ $(tail -1 <<<"$err") =~ \(builder\ [0-9.]+\ s,\ import\ [0-9.]+\ s\) ]] || fail "the summary splits builder and import time: $err"
builder_secs=$(sed -n 's/.*(builder \([0-9.]*\) s.*/\1/p' <<<"$err")
awk -v s="$builder_secs" 'BEGIN { exit !(s >= 2) }' || fail "the builder's 2.4 s are counted: $err"
assert_eq "$(stat -c %a "$log")" 600 "the log is private"
assert_contains "$(cat "$log")" "fake: step 12 of" "the log holds the builder's output"
fake fs build slow s2 -v
assert_rc 0 "-v"
assert_contains "$err" "fake: step 12 of" "-v streams the builder's lines"
assert_contains "$err" 'fake: evil \x1b]0;title\x07 \x1b[2J end' "escaped"
assert_not_contains "$err" $'\033' "no raw escape from the builder"
# At a terminal: one line, redrawn, no wider than the terminal, the builder's text escaped.
script -qec "stty cols 60 rows 20; AJAIL_DATADIR='$data' '$AJAIL' fs build slow s3" /dev/null >"$T/tty.out" 2>&1 </dev/null
rc=$?
assert_eq "$rc" 0 "the build at a terminal"
tty=$(cat "$T/tty.out")
assert_contains "$tty" $'\r'"ajail: building 's3' " "a progress line redrawn with \\r"
assert_contains "$tty" 'fake: evil \x1b]0;ti' "the builder's line, escaped"
assert_not_contains "$tty" $'\033]0;' "no raw OSC from the builder"
assert_not_contains "$tty" $'\033[2J' "no raw screen clearing from the builder"
assert_not_contains "$tty" "fake: step 1 " "no line of the builder scrolls by"
widest=$(sed 's/\x1b\[K//g' "$T/tty.out" | tr '\r' '\n' | grep "building 's3' [0-9]* s: " | awk '{ print length }' | sort -n | tail -1)
[ "$widest" -le 59 ] || fail "the progress line is wider ($widest) than the terminal (60) allows"
assert_contains "$tty" "built 's3' in" "the summary at a terminal"
# The log is a new file each time: a symlink or a hard link planted under its name is replaced.
echo precious >"$T/victim"
echo precious >"$T/victim2"
ln -sf "$T/victim" "$AJAIL_HOME/fs/.log/s4.log"
ln "$T/victim2" "$AJAIL_HOME/fs/.log/s5.log"
fake fs build ok s4; assert_rc 0 "build over a planted symlink"
fake fs build ok s5; assert_rc 0 "build over a planted hard link"
assert_eq "$(cat "$T/victim") $(cat "$T/victim2")" "precious precious" "the log wrote through nothing"
[ -f "$AJAIL_HOME/fs/.log/s4.log" ] && [ ! -L "$AJAIL_HOME/fs/.log/s4.log" ] || fail "the log is a plain file"
assert_contains "$(cat "$AJAIL_HOME/fs/.log/s5.log")" "fake: step 3"
# A failure shows the last 20 lines and where the rest is.
fake fs build fail f1
assert_rc 1 "a failing builder"
assert_contains "$err" "    fake: line 30" "the last line"
assert_contains "$err" "    fake: line 11" "twenty lines"
assert_not_contains "$err" "fake: line 10"$'\n' "not more"
assert_contains "$err" "all of its output is in $AJAIL_HOME/fs/.log/f1.log"
assert_contains "$(tail -1 <<<"$err")" "ajail: fs build: the builder $data/mkrootfs/fake failed (exit 3) after" "one line says what failed"
assert_contains "$(cat "$AJAIL_HOME/fs/.log/f1.log")" "fake: line 1"$'\n' "the failed build's log is kept"
assert_missing "$AJAIL_HOME/fs/f1"
tmp_empty "a failed build"
ok "build log, progress line, -v, timing"

# ---- row: the builder's signals to its group; a full disk; leftovers swept ----
store hup
fake fs build hup h1
assert_rc 1 "a builder that HUPs its process group (ajail is not in it)"
assert_not_contains "$err" "Hangup"
assert_contains "$(tail -1 <<<"$err")" "failed (exit 1)"
tmp_empty "after SIGHUP"
fake fs build enospc e1
assert_rc 1 "'No space left on device' but the store has room"
assert_contains "$err" "the builder ran out of disk space ('No space left on device', exit 2), but not on the disk holding $AJAIL_HOME"
assert_contains "$err" "set TMPDIR"
# A full store: a small tmpfs, in a mount namespace of our own (as a user: in a user namespace).
if [ "$(id -u)" = 0 ]; then ns=(unshare -m); else ns=(unshare -Urm); fi
if "${ns[@]}" true 2>/dev/null; then
	store full
	out=$(AJAIL_DATADIR=$data "${ns[@]}" sh -c "mount -t tmpfs -o size=8m tmpfs '$AJAIL_HOME' && '$AJAIL' fs build fill f; echo rc=\$?; echo \"left:[\$(ls -A '$AJAIL_HOME/fs/.tmp')]\"" 2>&1)
	assert_contains "$out" "ajail: fs build: the disk holding $AJAIL_HOME is full (0 MB free; the builder failed with exit 1); free some space, then build again; nothing was imported" "a full disk"
	assert_contains "$out" "rc=1" "a full disk: exit 1"
	assert_contains "$out" "left:[]" "a full disk: nothing left in fs/.tmp"
	ok "a full disk, named"
else
	echo "skip: a full disk: no mount namespace here (unshare -m) to mount a small tmpfs in"
fi
# What a killed build leaves is swept by the next store operation: the import's directory, the
# build's directory with its tarball, the older NAME.tar and NAME.tar.part, the lock.
store sweep
jail fs list
mkdir -p "$AJAIL_HOME/fs/.tmp/old" "$AJAIL_HOME/fs/.tmp/old@build/sub"
: >"$AJAIL_HOME/fs/.tmp/old.lock"
head -c 100000 /dev/zero >"$AJAIL_HOME/fs/.tmp/old@build/old.tar.part"
: >"$AJAIL_HOME/fs/.tmp/old@build/sub/x"
: >"$AJAIL_HOME/fs/.tmp/old.tar.part"
: >"$AJAIL_HOME/fs/.tmp/old.tar"
jail fs list
tmp_empty "the next store operation"
ok "leftovers swept"

# ---- SIGKILL, SIGINT, SIGTERM of ajail: the builder's whole tree goes, and its files ----
store kill
AJAIL_DATADIR=$data "$AJAIL" fs build hang k1 >"$T/k1.out" 2>&1 </dev/null &
apid=$!
wait_for "$AJAIL_HOME/fs/.log/k1.log" "fake: ready" 10
[ "$(lingering | wc -l)" -ge 4 ] || fail "the fake builder's processes did not start: $(pgrep -af "ajail-$tag-")"
kill -KILL "$apid"
wait "$apid" 2>/dev/null
gone_within 10
for _ in $(seq 50); do [ -z "$(ls -A "$AJAIL_HOME/fs/.tmp")" ] && break; sleep 0.1; done
tmp_empty "after SIGKILL, before any other store operation"
assert_contains "$(cat "$AJAIL_HOME/fs/.log/k1.log")" "fake: cleaning up" "the builder's last words, after ajail died, are in the log"
jail fs list
assert_not_contains "$out" "k1"
ok "SIGKILL of ajail: nothing of the build survives"

for sig in INT TERM; do
	# Job control: a background job would start with SIGINT ignored.
	set -m
	AJAIL_DATADIR=$data "$AJAIL" fs build stubborn "s$sig" >"$T/s$sig.out" 2>&1 </dev/null &
	apid=$!
	set +m
	wait_for "$AJAIL_HOME/fs/.log/s$sig.log" "fake: ready" 10
	kill -"$sig" "$apid"
	wait "$apid"
	rc=$?
	want=130
	[ "$sig" = TERM ] && want=143
	assert_eq "$rc" "$want" "SIG$sig: the exit status"
	assert_eq "$(tail -1 "$T/s$sig.out")" "ajail: fs build: interrupted by SIG$sig: the builder was stopped and its files removed; nothing was imported"
	assert_eq "$(grep -c . "$T/s$sig.out")" 2 "SIG$sig: the line before the build and one line"
	# Even the child that ignores SIGTERM is gone by then (SIGKILL after the grace period).
	assert_eq "$(lingering)" "" "SIG$sig: no process left"
	tmp_empty "SIG$sig"
done
ok "SIGINT and SIGTERM stop the build"

# ---- stopped: the builder alone first, so that its main process cleans up with its own helpers ----
store careful
for sig in TERM KILL; do
	mark=$T/mark-$sig
	mkdir -p "$mark"
	printf 'builder fake\nmode careful\nmark %s\n' "$mark" >"$T/careful-$sig"
	AJAIL_DATADIR=$data "$AJAIL" fs build "$T/careful-$sig" "c$sig" >"$T/c$sig.out" 2>&1 </dev/null &
	apid=$!
	wait_for "$AJAIL_HOME/fs/.log/c$sig.log" "fake: ready" 10
	t0=$(date +%s)
	kill -"$sig" "$apid"
	wait "$apid"
	rc=$?
	for _ in $(seq 100); do [ -e "$mark/builder" ] && break; sleep 0.1; done
	assert_eq "$(ls "$mark" | tr '\n' ' ')" "builder child helper " "SIG$sig: the helper cleaned up, then the child, then the builder"
	[ $(($(date +%s) - t0)) -lt 8 ] || fail "SIG$sig: the build took $(($(date +%s) - t0)) s to stop: not before the grace period"
	if [ "$sig" = TERM ]; then
		assert_eq "$rc" 143 "SIGTERM: the exit status"
		assert_eq "$(tail -1 "$T/cTERM.out")" "ajail: fs build: interrupted by SIGTERM: the builder was stopped and its files removed; nothing was imported"
	fi
	for _ in $(seq 50); do [ -z "$(ls -A "$AJAIL_HOME/fs/.tmp")" ] && break; sleep 0.1; done
	tmp_empty "careful SIG$sig"
done
ok "a stopped builder's child cleans up with its helper"

# A temporary directory the builder announced and left behind is named, not said to be removed.
store leaky
printf 'builder fake\nmode leaky\nmark %s\n' "$T" >"$T/leaky"
set -m
AJAIL_DATADIR=$data "$AJAIL" fs build "$T/leaky" lk >"$T/lk.out" 2>&1 </dev/null &
apid=$!
set +m
wait_for "$AJAIL_HOME/fs/.log/lk.log" "fake: ready" 10
kill -INT "$apid"
wait "$apid"
assert_eq "$?" 130 "SIGINT of a leaky build"
assert_contains "$(tail -1 "$T/lk.out")" "ajail: fs build: interrupted by SIGINT: the builder was stopped, but it left $T/leak behind (remove them by hand"
assert_not_contains "$(cat "$T/lk.out")" "its files removed"
tmp_empty "a leaky build"
rm -rf "$T/leak"
printf 'builder fake\nmode leakfail\nmark %s\n' "$T" >"$T/leakfail"
fake fs build "$T/leakfail" lf
assert_rc 1 "a failing build that leaves its temporary directory"
assert_contains "$err" "ajail: warning: the builder left its temporary directory $T/leak behind"
rm -rf "$T/leak"
ok "what a stopped or failed build left behind is named"

# ---- an unreachable Alpine mirror ----
store alpine
sed 's|^mirror .*|mirror http://127.0.0.1:9/alpine|' "$MKROOTFS/../rootfs-recipes/alpine" >"$T/alpine-here"
env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
	"$AJAIL" fs build -q "$T/alpine-here" alp -p jq >"$T/alp.out" 2>"$T/alp.err" </dev/null
rc=$? out=$(cat "$T/alp.out") err=$(cat "$T/alp.err")
assert_rc 1 "an unreachable mirror"
assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "one line"
assert_contains "$err" "ajail: fs build: the Alpine mirror http://127.0.0.1:9/alpine cannot be reached (curl: "
assert_contains "$err" "; import a minirootfs tarball instead (ajail fs import alpine alpine-minirootfs-*.tar.gz) or build the debian recipe (ajail fs build debian)"
tmp_empty "an unreachable mirror"
ok "an unreachable Alpine mirror"

# ---- an unknown rootfs, an existing destination, an empty directory ----
store verbs
jail fs import bb "$ROOTFS"; assert_rc 0
jail fs import bb2 "$ROOTFS"; assert_rc 0
for v in "rm nope" "cp nope x" "export nope $T/nope.tar"; do
	read -r -a words <<<"$v"
	jail fs "${words[@]}"
	assert_rc 2 "fs $v"
	assert_eq "$err" "ajail: no rootfs named 'nope' in $AJAIL_HOME/fs; see 'ajail fs list'" "fs $v"
done
assert_missing "$T/nope.tar"
assert_missing "$AJAIL_HOME/fs/x"
jail fs cp bb bb2
assert_rc 1 "fs cp onto an existing rootfs"
assert_eq "$err" "ajail: rootfs 'bb2' exists already; remove it first with 'ajail fs rm bb2'"
mkdir "$T/emptydir"
jail fs import e1 /dev/null
assert_rc 1 "/dev/null"
devnull_err=$err
jail fs import e2 "$T/emptydir"
assert_rc 1 "an empty directory, as /dev/null"
assert_eq "$err" "ajail: import 'e2': '$T/emptydir' holds no files: not a rootfs"
assert_eq "${err#ajail: import \'e2\': \'$T/emptydir\'}" "${devnull_err#ajail: import \'e1\': \'/dev/null\'}" "the same words as for /dev/null"
assert_missing "$AJAIL_HOME/fs/e2"
tmp_empty "an empty directory"
ok "unknown rootfs, existing destination, empty directory"

# ---- real Debian builds (mmdebstrap): killed half-way; into a full disk ----
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing: make deps"
cat >deb-recipe <<'EOF'
# Debian 12 with jq
builder debian
suite bookworm
packages jq
EOF
store deb
"$AJAIL" fs build ./deb-recipe deb -p less >"$T/deb.out" 2>&1 </dev/null &
apid=$!
wait_for "$AJAIL_HOME/fs/.log/deb.log" "^I: " 120
sleep 3
# The builder's session: every process of the build is in it (ajail's reaper is not).
tree() { ps -e -o pid=,ppid= | awk -v root="$1" '{ p[$1] = $2 } END { s[root] = 1; do { n = 0; for (k in p) if (!(k in s) && (p[k] in s)) { s[k] = 1; n++ } } while (n); for (k in s) if (k != root) print k }'; }
pids=$(tree "$apid")
bsid=$(for p in $pids; do ps -o sid= -p "$p"; done | awk -v a="$(ps -o sid= -p "$apid")" '$1 != a { print $1; exit }')
[ -n "$bsid" ] || fail "no builder session under ajail: $(ps -o pid,sid,args -p "$(echo $pids | tr ' ' ,)")"
grep -q mmdebstrap <(ps -o args= -s "$bsid") || fail "mmdebstrap is not running: $(cat "$T/deb.out")"
kill -KILL "$apid"
wait "$apid" 2>/dev/null
for _ in $(seq 300); do
	left=$(ps -o pid=,args= -s "$bsid"; for p in $pids; do ps -o pid=,args= -p "$p"; done)
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] || fail "the Debian build survived ajail's SIGKILL: $left"
# Stopped with SIGTERM first, and its output still read, mmdebstrap removed its chroot in /tmp (in
# unshare mode, files of ids the user could not remove afterwards).
chroot_dir=$(sed -n 's/^I: using \(.*\) as tempdir$/\1/p' "$AJAIL_HOME/fs/.log/deb.log")
[ -n "$chroot_dir" ] || fail "mmdebstrap's tempdir is not in the log: $(tail -5 "$AJAIL_HOME/fs/.log/deb.log")"
assert_missing "$chroot_dir" "mmdebstrap's tempdir after the SIGKILL"
jail fs list
tmp_empty "the killed Debian build"
assert_missing "$AJAIL_HOME/fs/deb"
ok "SIGKILL during a Debian build: nothing survives"

if [ "$(id -u)" = 0 ]; then
	store debfull
	out=$(unshare -m sh -c "mount -t tmpfs -o size=30m tmpfs '$AJAIL_HOME' && '$AJAIL' fs build ./deb-recipe debfull -p less; echo rc=\$?; echo \"left:[\$(ls -A '$AJAIL_HOME/fs/.tmp')]\"" 2>&1 </dev/null)
	assert_contains "$out" "ajail: fs build: the disk holding $AJAIL_HOME is full (" "a Debian build into a full disk"
	assert_not_contains "$out" "Hangup"
	assert_contains "$out" "rc=1"
	assert_contains "$out" "left:[]" "nothing left in fs/.tmp"
	ok "a Debian build into a full disk"
else
	# Mounting the small store needs root; in a user namespace, mmdebstrap would run in its root mode
	# without the privileges that needs. The fake builder's full disk above runs for this user.
	echo "skip: a Debian build into a full disk: needs root to mount a small tmpfs for the store"
fi
