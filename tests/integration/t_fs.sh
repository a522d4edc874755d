# ajail fs import | list | rm | cp | export | build: atomic, safe, and every rootfs runs a jail.
. "$(dirname "$0")/libtest.sh"
cd "$T"
"$MKROOTFS/busybox" "$T/bb.tar" || fail "mkrootfs/busybox tarball"
tree() { (cd "$1" && find . -printf '%P %y %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# Every compression, detected by content: the file names say nothing.
gzip -c bb.tar > bb.gz.bin; xz -c bb.tar > bb.xz.bin; bzip2 -c bb.tar > bb.bz2.bin; zstd -q -c bb.tar > bb.zst.bin
cp bb.tar bb.tar.bin
for c in tar gz xz bz2 zst; do
	jail fs import "bb-$c" "bb.$c.bin"
	assert_rc 0 "import .$c"
	assert_contains "$err" "imported 'bb-$c'" "summary line for .$c"
	jail --fs="bb-$c" -q cat /etc/os-release
	assert_contains "$out" "busybox" "a jail runs on the .$c import"
done
"$AJAIL" fs import bb-stdin - < bb.gz.bin >/dev/null 2>"$T/err"
rc=$? out= err=$(cat "$T/err")
assert_rc 0 "import from stdin"
jail fs import bb-dir "$ROOTFS"
assert_rc 0 "import a directory"
assert_eq "$(tree "$AJAIL_HOME/fs/bb-dir")" "$(tree "$ROOTFS")" "a directory import copies it exactly"
assert_eq "$(tree "$AJAIL_HOME/fs/bb-gz")" "$(tree "$AJAIL_HOME/fs/bb-dir")" "tarball and directory imports agree"

jail fs list
assert_rc 0 "fs list"
for n in bb bb-tar bb-gz bb-xz bb-bz2 bb-zst bb-stdin bb-dir; do assert_contains "$out" "$n" "list shows $n"; done
assert_contains "$out" "$T/bb.gz.bin" "list shows the source"
jail fs list --json
assert_rc 0 "fs list --json"
n=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sorted(d[0].keys()))')
assert_eq "$n" "8 ['base', 'created', 'files', 'in_use', 'name', 'size', 'source']" "JSON rows and fields"

# Names.
jail fs import 'bad name' bb.tar.bin; assert_rc 2 "a bad name"
jail fs import host bb.tar.bin; assert_rc 2 "host is reserved"
jail fs import bb-gz bb.tar.bin; assert_rc 1 "an existing name"
assert_contains "$err" "exists"
jail fs import newone "$T/missing.tar"; assert_rc 2 "a missing source"
assert_missing "$AJAIL_HOME/fs/newone"
echo "not an archive" > junk.bin
jail fs import junk junk.bin; assert_rc 1 "not an archive"
assert_missing "$AJAIL_HOME/fs/junk" "a failed import leaves nothing"
jail fs frobnicate; assert_rc 2 "unknown fs command"

# cp and export round trips.
jail fs cp bb-gz bb-copy
assert_rc 0 "fs cp"
jail --fs=bb-copy -q --fs-edit sh -c 'echo changed > /etc/motd'
assert_missing "$AJAIL_HOME/fs/bb-gz/etc/motd" "a copy is independent"
for ext in tar tar.zst tar.gz tar.xz; do
	jail fs export bb-gz "$T/out.$ext"
	assert_rc 0 "export .$ext"
	jail fs import "rt-${ext%%.*}-${ext##*.}" "$T/out.$ext"
	assert_rc 0 "re-import .$ext"
	assert_eq "$(tree "$AJAIL_HOME/fs/rt-${ext%%.*}-${ext##*.}")" "$(tree "$AJAIL_HOME/fs/bb-gz")" "export .$ext round-trips"
done
"$AJAIL" fs export bb-gz - > "$T/stdout.tar" 2>/dev/null
tar -tf "$T/stdout.tar" >/dev/null || fail "export to stdout is a tar"
[ "$(tar --numeric-owner -tvf "$T/stdout.tar" | awk '{print $2}' | sort -u)" = "0/0" ] || fail "exported entries belong to root"

# rm: refused while a jail runs on it, says which; then works.
"$AJAIL" --fs=bb-xz -q sh -c 'echo up > up; sleep 30' </dev/null >/dev/null 2>&1 &
jpid=$!
for _ in $(seq 100); do [ -e up ] && break; sleep 0.05; done
jail fs rm bb-xz
assert_rc 1 "rm of a busy rootfs"
assert_contains "$err" "in use" "says it is in use"
assert_contains "$err" "pid $jpid" "says which jail"
jail fs list
assert_contains "$out" "in use"
kill "$jpid"; wait "$jpid" 2>/dev/null
jail fs rm bb-xz bb-bz2
assert_rc 0 "rm"
assert_missing "$AJAIL_HOME/fs/bb-xz"
assert_missing "$AJAIL_HOME/fs/.meta/bb-xz" "metadata goes too"
jail fs rm bb-xz; assert_rc 2 "rm of a missing rootfs (a usage error, as --fs=nope)"

# A rootfs put there by hand, without metadata, is listed and usable; its rm works.
cp -a "$ROOTFS" "$AJAIL_HOME/fs/byhand"
jail fs list
assert_contains "$out" "byhand"
jail fs rm byhand; assert_rc 0

# fs build: the busybox recipe, offline.
jail fs build --list
assert_rc 0 "fs build --list"
assert_contains "$out" "busybox"
jail fs build busybox bb-built
assert_rc 0 "fs build busybox"
jail --fs=bb-built -q cat /etc/os-release
assert_contains "$out" "busybox" "a jail runs on the built rootfs"
jail fs build no-such-recipe; assert_rc 2 "a missing recipe"
assert_eq "$(ls -A "$AJAIL_HOME/fs/.tmp")" "" "nothing left in .tmp"

# A source named with escape sequences and a newline: fs list shows it escaped, on its own line, and
# the newline writes no created= of its own into the metadata.
evil=$T/$'ev\033]0;title\007\033[2J\ncreated=0\nx'
mkdir -p "$evil"
cp -a "$ROOTFS/." "$evil/"
jail fs import evil "$evil"
assert_rc 0 "import a directory named with escapes and a newline"
assert_eq "$(wc -l <"$AJAIL_HOME/fs/.meta/evil")" 2 "the metadata has its two lines"
jail fs list
assert_rc 0
assert_not_contains "$out" $'\033' "no raw ESC in fs list"
assert_not_contains "$out" $'\007' "no raw BEL in fs list"
line=$(grep '^evil ' <<<"$out")
assert_contains "$line" 'ev\x1b]0;title\x07\x1b[2J\ncreated=0\nx' "the source, escaped"
assert_contains "$line" "  $(date +%Y-)" "CREATED is the import's, not the forged 0"
assert_not_contains "$out" "1970-" "no forged creation time"
assert_eq "$(grep -c . <<<"$out")" "$(($(ls "$AJAIL_HOME/fs" | wc -l) + 1))" "one line a rootfs, and the header"
jail fs list --json
assert_not_contains "$out" $'\033' "no raw ESC in fs list --json"
assert_contains "$out" '"created": "'"$(date -u +%Y-)" "--json: the real creation time"
ok "fs list: a source with control characters, escaped"
