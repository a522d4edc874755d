# Issue 9, class 4: `fs import DIR`, `fs cp` and `fs export` walk a tree that a jail writes (the
# working directory, a rootfs under --fs-edit) and that it may change while ajail reads it. A file
# exchanged with a symlink to a secret (renameat2 RENAME_EXCHANGE, as fast as it can) must never
# bring the secret's contents into a rootfs or a tarball; a fifo must never be opened (it would
# hang); a 100 000-deep directory chain must end in success or in one clear line, never a crash.
# And the walker keeps what libarchive's disk reader kept: hard links, holes, modes, times, names.
. "$(dirname "$0")/libtest.sh"
racer="$HELPERS/racer"
[ -x "$racer" ] || fail "the racer is not built: make build/racer (run.sh stages it in \$HELPERS)"
cd "$T"
racer_pid=
trap '[ -z "$racer_pid" ] || kill $racer_pid 2>/dev/null; wait; cleanup_test' EXIT

# Unique content that nothing but the secret file holds (its path, which a symlink names, does not).
marker="SECRET-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')-marker"
printf '%s\n' "$marker" > "$T/secret"
chmod 600 "$T/secret"

# A source tree: some files, and data/victim, the file that will be exchanged.
src="$T/src"
mkdir -p "$src/etc" "$src/data" "$src/usr/bin" "$src/lure"
for i in $(seq 40); do echo "file $i" > "$src/etc/f$i"; done
head -c 8192 /dev/zero | tr '\0' 'v' > "$src/data/victim"
cp "$ROOTFS/bin/busybox" "$src/usr/bin/" 2>/dev/null || echo binary > "$src/usr/bin/busybox"
mkdir -p "$T/lure"
# Put the victim and the lure back as they were: a racer killed half-way may leave them exchanged.
reset_src() { # DIR LINK
	rm -rf "$1/data/victim" "$2"
	head -c 8192 /dev/zero | tr '\0' 'v' > "$1/data/victim"
	ln -s "$T/secret" "$2"
}
reset_src "$src" "$T/lure/link"

# Run ajail with a time limit: a hang is a failure (124), like a crash (>= 128).
run() {
	timeout -k 5 60 "$AJAIL" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}
# It worked, or it failed with one line that says why.
clean_outcome() {
	case $rc in
	0 | 1) ;;
	124) fail "$1: hung (killed after 60 s); stderr: $err" ;;
	*) fail "$1: exit $rc (a crash?); stderr: $err" ;;
	esac
	[ "$(grep -c '' <<<"$err")" -le 1 ] || fail "$1: more than one line on stderr: $err"
	[ "$rc" = 0 ] || assert_contains "$err" "ajail: " "$1: the error line"
}

# race WHAT COUNT CMD...: run CMD (with %i replaced by the run's number) COUNT times, or until the
# racer started just before stops; after each, check_run %i says whether the secret got through.
race() {
	local what=$1 count=$2 i n=0 okruns=0
	shift 2
	for i in $(seq "$count"); do
		kill -0 "$racer_pid" 2>/dev/null || break
		local args=()
		for a in "$@"; do args+=("${a//%i/$i}"); done
		run "${args[@]}"
		clean_outcome "$what (run $i)"
		n=$((n + 1))
		[ "$rc" != 0 ] || okruns=$((okruns + 1))
		check_run "$i"
	done
	kill "$racer_pid" 2>/dev/null
	wait "$racer_pid"
	racer_pid=
	[ "$okruns" -gt 0 ] || fail "$what: not one of $n runs succeeded against the racer: $err"
	ok "$what: $n runs against a racer ($okruns succeeded), none let anything through"
}

# --- fs import DIR, raced from the host ---------------------------------------------------------
"$racer" exchange "$src/data/victim" "$T/lure/link" 20000 >/dev/null &
racer_pid=$!
check_run() {
	! grep -rqF "$marker" "$AJAIL_HOME/fs/imp$1" 2>/dev/null || fail "import $1 copied the secret's contents into the rootfs"
	[ ! -e "$AJAIL_HOME/fs/imp$1" ] || "$AJAIL" fs rm -q "imp$1" </dev/null || fail "fs rm imp$1"
}
race "fs import DIR" 40 fs import "imp%i" "$src"

# --- fs cp of a store rootfs that a jail (--fs-edit) races -------------------------------------
reset_src "$src" "$T/lure/link"
"$AJAIL" fs import -q hsrc "$src" </dev/null || fail "import the source rootfs"
cp -a "$ROOTFS/." "$AJAIL_HOME/fs/hsrc/" 2>/dev/null
cp "$racer" "$AJAIL_HOME/fs/hsrc/racer"
reset_src "$AJAIL_HOME/fs/hsrc" "$AJAIL_HOME/fs/hsrc/lure/link"
"$AJAIL" --fs=hsrc --fs-edit -q /racer exchange /data/victim /lure/link 20000 >"$T/racer.out" 2>&1 </dev/null &
racer_pid=$!
for _ in $(seq 100); do grep -q . "$T/racer.out" && break; [ -L "$AJAIL_HOME/fs/hsrc/data/victim" ] && break; sleep 0.05; done
check_run() {
	! grep -rqF "$marker" "$AJAIL_HOME/fs/cp$1" 2>/dev/null || fail "fs cp $1 copied the secret's contents into the rootfs"
	[ ! -e "$AJAIL_HOME/fs/cp$1" ] || "$AJAIL" fs rm -q "cp$1" </dev/null || fail "fs rm cp$1"
}
race "fs cp of a rootfs a jail races" 40 fs cp hsrc "cp%i"

# --- fs export of that rootfs while the jail races ------------------------------------------------
reset_src "$AJAIL_HOME/fs/hsrc" "$AJAIL_HOME/fs/hsrc/lure/link"
"$AJAIL" --fs=hsrc --fs-edit -q /racer exchange /data/victim /lure/link 20000 >"$T/racer.out" 2>&1 </dev/null &
racer_pid=$!
sleep 0.3
check_run() {
	! grep -qaF "$marker" "$T/exp.tar" 2>/dev/null || fail "export $1 wrote the secret's contents into the tarball"
	rm -f "$T/exp.tar"
}
race "fs export of a rootfs a jail races" 40 fs export hsrc "$T/exp.tar"

# --- a regular file exchanged with a fifo: never opened, so never a hang -----------------------
reset_src "$src" "$T/lure/link"
mkfifo "$T/lure/fifo"
"$racer" exchange "$src/data/victim" "$T/lure/fifo" 20000 >/dev/null &
racer_pid=$!
check_run() {
	[ -z "$(find "$AJAIL_HOME/fs/fifo$1" -type p 2>/dev/null)" ] || fail "import $1 made a fifo"
	[ ! -e "$AJAIL_HOME/fs/fifo$1" ] || "$AJAIL" fs rm -q "fifo$1" </dev/null || fail "fs rm fifo$1"
}
race "fs import DIR with a file exchanged for a fifo" 30 fs import "fifo%i" "$src"

# A fifo that is simply there: skipped and counted, like a device node.
mkdir -p "$T/withfifo/etc"
echo hello > "$T/withfifo/etc/hello"
mkfifo "$T/withfifo/etc/pipe"
run fs import withfifo "$T/withfifo"
assert_rc 0 "a tree with a fifo"
assert_contains "$err" "skipped 1 device" "the fifo is skipped and counted"
assert_missing "$AJAIL_HOME/fs/withfifo/etc/pipe" "no fifo in the rootfs"
assert_eq "$(cat "$AJAIL_HOME/fs/withfifo/etc/hello")" "hello" "the rest is copied"
run fs export withfifo "$T/withfifo.tar"
assert_rc 0 "export of a rootfs holding a fifo"
mkfifo "$AJAIL_HOME/fs/withfifo/etc/pipe2"
run fs export withfifo "$T/withfifo.tar"
assert_rc 0 "export skips a fifo a jail put in the rootfs"
assert_contains "$err" "skipped 1 device" "and counts it"
ok "fifos are skipped and counted, never opened"

# --- what the walker keeps ----------------------------------------------------------------------
k="$T/keep"
mkdir -p "$k/a/b" "$k/ro" "$k/utf8-é"
echo one > "$k/a/one"
ln "$k/a/one" "$k/a/b/one-again"
ln "$k/a/one" "$k/third"
truncate -s 64M "$k/sparse"
printf 'middle' | dd of="$k/sparse" bs=1 seek=$((32 * 1024 * 1024)) conv=notrunc status=none
ln -s ../a/one "$k/a/b/rel-link"
ln -s /etc/passwd "$k/abs-link"
echo 'été' > "$k/utf8-é/fichier-ü"
echo s > "$k/suid"
chmod 750 "$k/a"
chmod 4755 "$k/suid"
touch -d '2001-02-03 04:05:06.123456789' "$k/a/one" "$k/a/b"
chmod 555 "$k/ro"
# Everything but the root itself (its mode keeps u+rwx) and the setuid file (its bit is dropped).
tree() { (cd "$1" && find . -printf '%P %y %m %s %l %T@\n' | grep -v -e '^ d' -e '^suid ' | sort); }
tree_s() { tree "$1" | sed 's/\.[0-9]*$//'; } # what a plain ustar header keeps: whole seconds
run fs import keep "$k"
assert_rc 0 "import a tree with hard links, holes, odd modes"
r="$AJAIL_HOME/fs/keep"
assert_eq "$(stat -c %i "$r/a/one")" "$(stat -c %i "$r/a/b/one-again")" "hard links stay hard links"
assert_eq "$(stat -c %i "$r/a/one")" "$(stat -c %i "$r/third")" "all three names"
assert_eq "$(stat -c %h "$r/a/one")" 3 "one inode, three names"
assert_eq "$(stat -c %s "$r/sparse")" $((64 * 1024 * 1024)) "the sparse file keeps its size"
[ "$(du -k "$r/sparse" | cut -f1)" -lt 1024 ] || fail "the sparse file stays sparse: $(du -k "$r/sparse")"
assert_eq "$(dd if="$r/sparse" bs=1 skip=$((32 * 1024 * 1024)) count=6 status=none)" "middle" "its data is where it was"
assert_eq "$(readlink "$r/a/b/rel-link")" "../a/one" "symlink targets are kept as they are"
assert_eq "$(readlink "$r/abs-link")" "/etc/passwd" "absolute ones too"
assert_eq "$(stat -c %a "$r/a")" 750 "modes are kept"
assert_eq "$(stat -c %a "$r/ro")" 555 "a read-only directory stays read-only"
assert_eq "$(stat -c %y "$r/a/one")" "$(stat -c %y "$k/a/one")" "mtimes are kept to the nanosecond"
assert_eq "$(stat -c %y "$r/a/b")" "$(stat -c %y "$k/a/b")" "directory mtimes too"
assert_eq "$(cat "$r/utf8-é/fichier-ü")" "été" "UTF-8 names"
[ -z "$(find "$r" -perm /6000)" ] || fail "setuid bits are dropped"
assert_contains "$err" "dropped setuid/setgid from 1 " "and counted"
assert_eq "$(tree "$r")" "$(tree "$k")" "the copy is the tree"

run fs export keep "$T/keep.tar"
assert_rc 0 "export"
names=$(LC_ALL=C.UTF-8 tar -tf "$T/keep.tar" | sort)
assert_contains "$names" "./a/b/one-again" "names are ./-relative"
assert_contains "$names" "./utf8-é/fichier-ü" "UTF-8 names are written as UTF-8"
tar --numeric-owner -tvf "$T/keep.tar" >"$T/keep.lst" 2>"$T/tar.err" || fail "GNU tar reads the export: $(cat "$T/tar.err")"
[ ! -s "$T/tar.err" ] || fail "GNU tar has nothing to say about it: $(cat "$T/tar.err")"
assert_eq "$(grep -c ' link to ' "$T/keep.lst")" 2 "two hard link entries"
[ "$(stat -c %s "$T/keep.tar")" -lt $((4 * 1024 * 1024)) ] || fail "holes are not written out: $(stat -c %s "$T/keep.tar")"
run fs import keep2 "$T/keep.tar"
assert_rc 0 "re-import the export"
assert_eq "$(tree_s "$AJAIL_HOME/fs/keep2")" "$(tree_s "$r")" "export and import round-trip"
assert_eq "$(stat -c %h "$AJAIL_HOME/fs/keep2/a/one")" 3 "hard links round-trip"
[ "$(du -k "$AJAIL_HOME/fs/keep2/sparse" | cut -f1)" -lt 1024 ] || fail "holes round-trip"

# The target itself is never copied into itself: an import of the store's own parent directory.
mkdir -p "$T/self"
echo x > "$T/self/x"
AJAIL_HOME="$T/self/store" run fs import me "$T/self"
assert_rc 0 "import a directory that holds the store"
assert_missing "$T/self/store/fs/me/store/fs/.tmp/me" "the new rootfs is not copied into itself"
ok "hard links, holes, modes, times, symlinks and UTF-8 names are kept, in the copy and in the export"

# --- fs rm of directories a jail locked: chmod'ed through the fd that was opened, never by name ----
mkdir -p "$T/outside-ro" "$AJAIL_HOME/fs/locked/a/b" "$AJAIL_HOME/fs/locked/w/x"
echo f > "$AJAIL_HOME/fs/locked/a/b/f"
echo g > "$AJAIL_HOME/fs/locked/w/x/g"
ln -s "$T/outside-ro" "$AJAIL_HOME/fs/locked/to-outside"
chmod 000 "$AJAIL_HOME/fs/locked/a/b"
chmod 300 "$AJAIL_HOME/fs/locked/w"
chmod 500 "$AJAIL_HOME/fs/locked/a" "$T/outside-ro"
run fs rm locked
assert_rc 0 "fs rm of a rootfs with 0000, 0300 and 0500 directories"
assert_missing "$AJAIL_HOME/fs/locked" "it is gone"
assert_eq "$(ls -A "$AJAIL_HOME/fs/.trash")" "" "nothing left in the trash"
assert_eq "$(stat -c %a "$T/outside-ro")" 500 "a directory a symlink in it points at keeps its mode"
chmod 700 "$T/outside-ro"
ok "fs rm opens locked directories without following anything"

# --- a directory chain 100 000 deep ----------------------------------------------------------------
# On a tmpfs of its own when a user namespace allows one: deleting 100 000 directories from this
# disk (ext4, discard) takes minutes.
cat >"$T/deep.sh" <<'EOF'
set -u
D=$1 AJAIL=$2
AJAIL_HOME=$D/store
export AJAIL_HOME
if [ "${3:-}" = tmpfs ]; then mount -t tmpfs -o size=1g,nr_inodes=1000000 tmpfs "$D" || exit 3; fi
mkdir -p "$D/src/etc" "$D/store/fs"
echo hi > "$D/src/etc/hi"
python3 - "$D/src" <<'PY' || exit 3
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(100000):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
PY
step() { # NAME ARGS...: one line per step: NAME rc=N lines=N first-line
	local name=$1
	shift
	timeout -k 5 120 "$AJAIL" "$@" >"$D/out" 2>"$D/err" </dev/null
	echo "$name rc=$? lines=$(grep -c '' "$D/err") $(head -1 "$D/err")"
}
step import fs import deep "$D/src"
# A rootfs a jail filled with the chain: export, list and rm it.
mv "$D/src" "$D/store/fs/deeprf"
step export fs export deeprf "$D/deep.tar"
step list fs list
step rm fs rm deeprf
ls -A "$D/store/fs/.trash" 2>/dev/null | sed 's/^/trash: /'
EOF
mkdir -p "$T/deepfs"
if unshare -Urm true 2>/dev/null; then
	unshare -Urm bash "$T/deep.sh" "$T/deepfs" "$AJAIL" tmpfs >"$T/deep.out" 2>&1
else
	bash "$T/deep.sh" "$T/deepfs" "$AJAIL" >"$T/deep.out" 2>&1
fi
rc=$?
[ "$rc" = 0 ] || fail "the deep-chain script failed ($rc): $(cat "$T/deep.out")"
cat "$T/deep.out"
while read -r what status lines first; do
	case $what in
	import | export | list | rm) ;;
	*) fail "deep chain: unexpected output: $what $status $lines $first" ;;
	esac
	case $status in rc=0 | rc=1) ;; *) fail "deep chain: fs $what: $status (a crash or a hang): $first" ;; esac
	[ "$status" = rc=0 ] || [ "$lines" = lines=1 ] || fail "deep chain: fs $what fails with one line: $lines $first"
	[ "$status" = rc=0 ] || assert_contains "$first" "deep" "deep chain: fs $what says the tree is too deep"
done <"$T/deep.out"
grep -q '^import rc=1 .*512' "$T/deep.out" || fail "deep chain: the import refuses it, naming the limit: $(cat "$T/deep.out")"
grep -q '^export rc=1 .*512' "$T/deep.out" || fail "deep chain: the export refuses it, naming the limit: $(cat "$T/deep.out")"
grep -q '^rm rc=0' "$T/deep.out" || fail "deep chain: fs rm removes it: $(cat "$T/deep.out")"
! grep -q '^trash: ' "$T/deep.out" || fail "deep chain: fs rm leaves nothing in the trash: $(cat "$T/deep.out")"
ok "a 100 000-deep chain: import and export refuse it in one line, fs list and fs rm cope"

# ---------------------------------------------------------------------------------------------------
# Issue 13: an archive's small files are created by worker threads (extract.c), and yet every entry
# must behave as if the archive were written in order. Each archive below starts with 300 small
# files, so that jobs are still waiting when the tricky entries come. It is imported twice: on one
# CPU (taskset: no workers, everything in place, in order) and as it comes; both must end alike (exit
# status, error line, and the tree: types, modes, sizes, times, link targets, contents, link counts),
# and as the rules say.
mkdir -p "$T/ord"
python3 - "$T/ord" <<'PY' || fail "could not write the ordering archives"
import io, os, sys, tarfile
out = sys.argv[1]
def reg(name, data=b"", mode=0o644):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode; ti.mtime = 1700000000
    return ti, io.BytesIO(data)
def dirent(name, mode=0o755):
    ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = mode; ti.mtime = 1600000000
    return ti, None
def sym(name, target):
    ti = tarfile.TarInfo(name); ti.type = tarfile.SYMTYPE; ti.linkname = target; ti.mtime = 1500000000
    return ti, None
def hard(name, target):
    ti = tarfile.TarInfo(name); ti.type = tarfile.LNKTYPE; ti.linkname = target; ti.mtime = 1700000000
    return ti, None
def fill():
    e = [dirent("fill")]
    for d in range(10):
        e.append(dirent("fill/d%d" % d))
        e += [reg("fill/d%d/f%d" % (d, i), (b"%d/%d " % (d, i)) * (1 + i * 7 % 300)) for i in range(30)]
    return e
big = b"B" * (300 << 10)  # written in place (beyond what a job holds)
cases = {
    "file-sym-sub": [reg("f", b"a\n"), sym("f", "/tmp/ajail-ord-target"), reg("f/x", b"evil\n")],
    "file-sub": [reg("fill/d3/zz", b"file\n"), reg("fill/d3/zz/x", b"x\n")],
    "dup": [reg("fill/d1/f5", b"v2\n"), reg("g", b"g\n"), reg("fill/d1/f5", b"v3\n", 0o600)],
    "dup-adjacent": [reg("f", b"v1\n"), reg("f", b"v2\n")],
    "hardlink-next": [reg("t", b"shared\n"), hard("h", "t"), reg("fill/d2/t2", b"two\n"), hard("fill/h2", "fill/d2/t2")],
    "file-dir-file": [reg("fd", b"1\n"), dirent("fd"), reg("fd/x", b"x\n")],
    "dir-file": [dirent("e"), reg("e/y", b"y\n"), reg("e", b"z\n")],
    "emptydir-file": [dirent("e"), reg("e", b"z\n")],
    "dir-symlink": [dirent("fill/d4/sd"), reg("fill/d4/sd/x", b"x\n"), sym("fill/d4/sd", "/tmp")],
    "sym-file": [sym("s", "/etc/passwd"), reg("s", b"plain\n")],
    "big-small": [reg("b", big), reg("b", b"small\n")],
    "small-big": [reg("b", b"small\n"), reg("b", big)],
    "readonly": [dirent("ro", 0o555), reg("ro/f", b"f\n", 0o400), reg("ro/g", b"g\n", 0o4755)],
}
many = [dirent("m")] + [dirent("m/%d" % d) for d in range(30)]
many += [reg("m/%d/f%d" % (i % 30, i), (b"file %d\n" % i) * (1 + i % 50)) for i in range(3000)]
cases["many"] = many
for name, entries in cases.items():
    with tarfile.open(os.path.join(out, name + ".tar"), "w", format=tarfile.GNU_FORMAT) as t:
        for ti, data in (entries if name == "many" else fill() + entries):
            t.addfile(ti, data)
PY
sig() { # NAME: the rootfs NAME as lines (all but the root, whose time is the import's)
	(cd "$AJAIL_HOME/fs/$1" && find . -mindepth 1 -printf '%p %y %m %s %T@ %n %l\n' | sort &&
		find . -type f -exec sha256sum {} + | sort -k2)
}
imp() { # NAME TAR [taskset...]: import; "rc first-error-line" in $res, the tree in $tree
	local name=$1 tar=$2
	shift 2
	"$@" "$AJAIL" fs import -q "$name" "$tar" >"$T/.out" 2>"$T/.err" </dev/null
	res="$? $(head -1 "$T/.err")"
	tree=
	[ ! -d "$AJAIL_HOME/fs/$name" ] || tree=$(sig "$name")
	"$AJAIL" fs rm -q "$name" >/dev/null 2>&1
}
for tar in "$T"/ord/*.tar; do
	c=$(basename "$tar" .tar)
	imp "o-$c" "$tar" taskset -c 0
	seq_res=$res seq_tree=$tree
	for n in 1 2 3; do
		imp "o-$c" "$tar"
		assert_eq "$res" "$seq_res" "$c (run $n): exit status and error as in order"
		[ "$tree" = "$seq_tree" ] || fail "$c (run $n): the tree differs from the one written in order: $(diff <(echo "$seq_tree") <(echo "$tree") | head -5)"
	done
	case $c in
	file-sym-sub) assert_contains "$res" "1 " "$c fails" && assert_contains "$res" "'f' is a symbolic link" "$c" ;;
	file-sub) assert_contains "$res" "'fill/d3/zz' is not a directory" "$c" ;;
	dir-file) assert_contains "$res" "entry 'e' would replace a non-empty directory" "$c" ;;
	dir-symlink) assert_contains "$res" "entry 'fill/d4/sd' would replace a non-empty directory" "$c" ;;
	dup) assert_contains "$tree" "./fill/d1/f5 f 600 3 1700000000.0000000000 1 " "$c: the last one wins" ;;
	dup-adjacent) assert_contains "$tree" "./f f 644 3 1700000000.0000000000 1 " "$c: the last one wins" ;;
	hardlink-next) assert_contains "$tree" "./h f 644 7 1700000000.0000000000 2 " "$c: one inode" &&
		assert_contains "$tree" "./fill/h2 f 644 4 1700000000.0000000000 2 " "$c: one inode" ;;
	file-dir-file) assert_contains "$tree" "./fd/x f " "$c" ;;
	emptydir-file) assert_contains "$tree" "./e f " "$c" ;;
	sym-file) assert_contains "$tree" "./s f 644 6 " "$c" ;;
	big-small) assert_contains "$tree" "./b f 644 6 " "$c" ;;
	small-big) assert_contains "$tree" "./b f 644 307200 " "$c" ;;
	readonly) assert_contains "$tree" "./ro d 555 " "$c" && assert_contains "$tree" "./ro/f f 400 " "$c" &&
		assert_contains "$tree" "./ro/g f 755 " "$c" ;;
	many) mkdir "$T/ord/ref" && tar -C "$T/ord/ref" -xf "$tar" &&
		[ "$(cd "$T/ord/ref" && find . -type f -exec sha256sum {} + | sort -k2)" = "$(grep -E '^[0-9a-f]{64} ' <<<"$tree")" ] ||
		fail "$c: every file's contents as GNU tar writes them"
		[ "$(grep -c '^\./m/[0-9]*/f[0-9]* f 644 ' <<<"$tree")" = 3000 ] || fail "$c: 3000 files, mode 0644" ;;
	*) [ "${res%% *}" = 0 ] || fail "$c: $res" ;;
	esac
done
[ ! -e /tmp/ajail-ord-target ] || fail "nothing was written through a symlink"
ok "entries behave as in archive order with the workers: same names, files then names beneath, hard links, directories replaced"

# A full disk while workers write small files: one line that says so, naming an entry, nothing left.
if unshare -Urm true 2>/dev/null; then
	python3 - "$T/small.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for i in range(1500):
        ti = tarfile.TarInfo("d%d/f%d" % (i % 7, i)); ti.size = 8192
        t.addfile(ti, io.BytesIO(bytes([i % 251]) * 8192))
PY
	out=$(unshare -Urm sh -c "mount -t tmpfs -o size=2m tmpfs '$AJAIL_HOME' && '$AJAIL' fs import small '$T/small.tar'; echo rc=\$?; ls -A '$AJAIL_HOME/fs/.tmp' '$AJAIL_HOME/fs' | tr '\n' ' '" 2>&1)
	assert_contains "$out" "rc=1" "a full disk fails"
	assert_contains "$out" "disk full while writing entry 'd" "and says so, naming the entry"
	assert_eq "$(grep -c 'ajail:' <<<"$out")" 1 "in one line"
	assert_not_contains "$out" " small " "and leaves nothing behind"
	ok "a full disk with small files: one line naming the entry, nothing left"
fi
