# A --clone jail is hostile (issue 9): what it leaves in its git directory and upper layer is read by
# ajail outside every jail, with the user's rights. Each attack is planted from inside a jail, as an
# agent would: symlinks out of .git/objects (another repository's history must not be delivered), a
# fifo and a "2 GiB" loose object (no hang, no GiB of memory), a huge sparse file in upper/, escape
# sequences in names (never reach the terminal); and, in the user's repository, a commit whose tree
# names ".." or ".git", and a work tree swapped under --clone-dirty.
. "$(dirname "$0")/libtest.sh"
command -v git >/dev/null || fail "git is not installed (make deps installs it)"
command -v python3 >/dev/null || fail "python3 is needed to craft objects and read clone list --json"
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is needed inside --fs=host jails"

export AJAIL_ENV_GIT_AUTHOR_NAME=agent AJAIL_ENV_GIT_AUTHOR_EMAIL=agent@example.com
export AJAIL_ENV_GIT_COMMITTER_NAME=agent AJAIL_ENV_GIT_COMMITTER_EMAIL=agent@example.com
export GIT_AUTHOR_NAME=user GIT_AUTHOR_EMAIL=user@example.com GIT_COMMITTER_NAME=user GIT_COMMITTER_EMAIL=user@example.com
TOP=$(cd "$T" && pwd -P)
# Overlay work directories are left mode 000 by the kernel, and the fifo test leaves a fifo.
trap 'chmod -R u+rwx "$T" 2>/dev/null; cleanup_test' EXIT
CLONES="$AJAIL_HOME/clone"

# tjail ARGS: jail under a generous bound: a hang fails the test instead of stalling it.
tjail() {
	timeout -k 5 30 "$AJAIL" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "ajail $*: still running after 30 s (a hang); stderr: $err"
}
ws_list() { ls -1 "$CLONES" 2>/dev/null | grep -v '^\.' | sort; }
# run_clone LABEL SCRIPT [OPTIONS...]: a --clone jail running sh -c SCRIPT; sets $id and $wsdir.
run_clone() {
	local label=$1 script=$2 before name
	shift 2
	before=$(ws_list)
	tjail --fs=host -q --clone "$@" sh -c "$script"
	name=$(comm -13 <(echo "$before") <(ws_list))
	[ -n "$name" ] && [ "$(grep -c . <<<"$name")" = 1 ] ||
		fail "$label: expected one new workspace, got '$name' (exit $rc, stderr: $err)"
	id=${name##*-}
	wsdir="$CLONES/$name"
}
one_line() { [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "$1: expected a one-line message, got: $err"; }
# no_ctl LABEL TEXT: no ESC, BEL or CSI byte (C1 0x9b, alone or UTF-8 encoded) reaches the terminal.
no_ctl() {
	if LC_ALL=C grep -q $'[\033\007\233]' <<<"$2"; then
		fail "$1: a terminal control byte was printed raw: $(printf '%s' "$2" | od -c | head -5)"
	fi
}
json_ok() { # FILE: clone list --json parses (valid JSON for any bytes)
	python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1" 2>"$T/.jerr" ||
		fail "clone list --json is not valid JSON: $(cat "$T/.jerr"); $(head -c 400 "$1")"
}
not_delivered() { # LABEL COMMIT: COMMIT of another repository did not arrive in the user's
	if git -C "$repo" cat-file -e "$2^{commit}" 2>/dev/null; then
		fail "$1: the private commit $2 of another repository arrived in the user's repository"
	fi
	if git -C "$repo" rev-parse -q --verify "refs/heads/ajail/$id" >/dev/null; then
		fail "$1: refs/heads/ajail/$id was written"
	fi
}

# --- the user's repository, and another one the user can read ------------------------------------
repo="$TOP/proj"
mkdir -p "$repo/sub" && cd "$repo"
git init -q -b main . && echo a >a.txt && echo m >sub/m.txt && git add -A && git commit -qm init
secret="$TOP/secret"
git init -q -b main "$secret" && echo "private plans" >"$secret/plans.txt"
git -C "$secret" add plans.txt && git -C "$secret" commit -qm "private history"
S=$(git -C "$secret" rev-parse HEAD)

# --- (a) symlinks out of .git/objects: another repository's history is not delivered ------------------
run_clone "objects symlink" "r=\$(git symbolic-ref HEAD) && mv .git/objects .git/objects.real &&
	ln -s '$secret/.git/objects' .git/objects && echo $S >.git/\$r"
not_delivered "a .git/objects symlink" "$S"
grep -q 'git/objects is a symlink' <<<"$err" || fail "objects symlink: the delivery should say git/objects is a symlink: $err"
ok "a .git/objects symlink to another repository: nothing of it delivered, one clear line"

links=
for d in "$secret"/.git/objects/??; do links="$links ln -s '$d' .git/objects/${d##*/} &&"; done
run_clone "objects/xx symlinks" "r=\$(git symbolic-ref HEAD) && $links echo $S >.git/\$r"
not_delivered "objects/xx symlinks" "$S"
grep -q 'symlink' <<<"$err" || fail "objects/xx symlinks: the delivery should name the symlink: $err"
ok "objects/xx symlinks to another repository: nothing of it delivered"

secret2="$TOP/secret2"
git init -q -b main "$secret2" && echo "more plans" >"$secret2/more.txt"
git -C "$secret2" add more.txt && git -C "$secret2" commit -qm "private 2"
S2=$(git -C "$secret2" rev-parse HEAD)
links=
for f in "$secret2"/.git/objects/??/*; do
	x=${f%/*} && x=${x##*/}
	links="$links mkdir -p .git/objects/$x && ln -s '$f' .git/objects/$x/${f##*/} &&"
done
run_clone "loose object symlinks" "r=\$(git symbolic-ref HEAD) && $links echo $S2 >.git/\$r"
not_delivered "loose object symlinks" "$S2"
grep -q 'symlink' <<<"$err" || fail "loose object symlinks: the delivery should name the symlink: $err"
ok "symlinked loose objects: nothing of them delivered"

git -C "$secret" repack -q -a -d
pack=$(ls "$secret"/.git/objects/pack/*.pack)
run_clone "pack symlinks" "r=\$(git symbolic-ref HEAD) && ln -s '$pack' .git/objects/pack/ &&
	ln -s '${pack%.pack}.idx' .git/objects/pack/ && echo $S >.git/\$r"
not_delivered "a symlinked pack" "$S"
grep -q 'symlink' <<<"$err" || fail "pack symlinks: the delivery should name the symlink: $err"
git -C "$repo" fsck --strict >"$T/fsck" 2>&1 || fail "git fsck --strict of the user's repository: $(cat "$T/fsck")"
ok "a symlinked pack of another repository: nothing of it delivered"

# --- (b) a fifo in place of a loose object of the branch: nothing hangs ------------------------------
run_clone "fifo object" 'echo f >f.txt && git add f.txt && git commit -qm f && c=$(git rev-parse HEAD) &&
	o=.git/objects/$(echo $c | cut -c1-2)/$(echo $c | cut -c3-) && rm -f $o && mkfifo $o'
assert_rc 0 "the jail's own exit status, whatever the delivery"
grep -q 'fifo' <<<"$err" || fail "fifo: the delivery at the jail's exit should name the fifo: $err"
[ "$(grep -c 'fifo' <<<"$err")" = 1 ] || fail "fifo: one line should name the fifo, got: $err"
tjail clone list
assert_rc 0 "clone list with a fifo in a workspace"
grep -q "$id: .*fifo" <<<"$err" || fail "clone list: the workspace's line should name the fifo: $err"
tjail clone list --json
assert_rc 0 "clone list --json with a fifo in a workspace"
echo "$out" >"$T/list.json" && json_ok "$T/list.json"
tjail clone show "$id"
assert_rc 0 "clone show with a fifo"
grep -q '^error .*fifo' <<<"$out" || fail "clone show: the error line should name the fifo: $out"
tjail clone sync "$id"
assert_rc 1 "clone sync of a workspace with a fifo"
grep -q 'fifo' <<<"$err" || fail "clone sync: should name the fifo: $err"
tjail clone gc
assert_rc 0 "clone gc with a fifo in a workspace"
[ -d "$wsdir" ] || fail "clone gc removed a workspace whose state cannot be read"
tjail clone rm "$id"
assert_rc 1 "clone rm (without --force) of a workspace that cannot be read"
tjail clone rm --force "$id"
assert_rc 0 "clone rm --force of a workspace with a fifo"
assert_missing "$wsdir" "clone rm --force removes the workspace with a fifo"
ok "a fifo object: the jail's exit, list, show, sync, gc, rm --force return at once"

# --- (b) a huge sparse file in upper/ is not read to tell whether it changed -------------------------
run_clone "sparse" 'truncate -s 64G a.txt'
tjail clone list --json
assert_rc 0 "clone list with a 64 GB sparse file in upper/"
echo "$out" >"$T/list.json" && json_ok "$T/list.json"
tjail clone show "$id"
grep -q '^state .*dirty (a.txt: modified)' <<<"$out" || fail "clone show: a.txt should be found modified: $out"
tjail clone rm --force "$id"
assert_rc 0 "clone rm --force of the sparse workspace"
ok "a 64 GB sparse file in upper/: dirty at once, never hashed"

# --- (c) a loose object that declares 2 GiB is refused before it is inflated --------------------------
bomb_py='import sys, zlib
z = zlib.compressobj(1)
out = open(sys.argv[1], "wb")
out.write(z.compress(b"blob 2147483648\x00"))
chunk = bytes(1 << 20)
for _ in range(2048):
    out.write(z.compress(chunk))
out.write(z.flush())'
run_clone "2 GiB object" "echo x >big.txt && git add big.txt && git commit -qm big && b=\$(git rev-parse HEAD:big.txt) &&
	o=.git/objects/\$(echo \$b | cut -c1-2)/\$(echo \$b | cut -c3-) && chmod u+w \$o && python3 -c '$bomb_py' \$o"
grep -q 'AJAIL_CLONE_MAX_OBJECT' <<<"$err" || fail "2 GiB object: the delivery should name the cap: $err"
grep -q '2147483648' <<<"$err" || fail "2 GiB object: the delivery should say what the object declares: $err"
git -C "$repo" rev-parse -q --verify "refs/heads/ajail/$id" >/dev/null && fail "2 GiB object: it was delivered"
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M %e' -o "$T/time" timeout -k 5 30 "$AJAIL" clone sync "$id" >"$T/.out" 2>"$T/.err" </dev/null
	rc=$? err=$(cat "$T/.err")
	[ "$rc" = 1 ] || fail "clone sync of the 2 GiB object: expected exit 1, got $rc: $err"
	read -r rss secs < <(tail -1 "$T/time") # "Command exited with non-zero status 1" comes first
	[ "$rss" -lt 300000 ] || fail "clone sync of the 2 GiB object: peak RSS $rss kB (over 300 MB)"
	awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "clone sync of the 2 GiB object took $secs s"
	grep -q 'AJAIL_CLONE_MAX_OBJECT' <<<"$err" || fail "clone sync: should name the cap: $err"
fi
tjail clone list
assert_rc 0 "clone list with a 2 GiB object"
grep -q "$id: .*2147483648" <<<"$err" || fail "clone list should say why the workspace cannot be read: $err"
tjail clone rm --force "$id"
ok "a loose object declaring 2 GiB: refused at once naming AJAIL_CLONE_MAX_OBJECT, peak RSS ${rss:-?} kB"

# --- (d) escape sequences in file names, the record and a branch name never reach the terminal --------
br="esc-$(printf '\302\233')2J"
run_clone "escapes" 'touch "$(printf "t\033]0;pwned\007")" "$(printf "u\033[2Jv")" && git add -A &&
	git commit -qm "$(printf "m\033]0;pwned\007")" && touch "$(printf "w\033]0;pwned\007")"' \
	"--clone=$br"
no_ctl "the jail's exit (delivery lines)" "$err"
tjail clone show "$id"
assert_rc 0 "clone show of a workspace with escape sequences"
no_ctl "clone show" "$out$err"
grep -q 'pwned' <<<"$out" || fail "clone show should still show the name, escaped: $out"
tjail clone list
assert_rc 0 "clone list"
no_ctl "clone list" "$out$err"
tjail clone list --json
no_ctl "clone list --json" "$out$err"
echo "$out" >"$T/list.json" && json_ok "$T/list.json"
tjail clone rm "$id"
no_ctl "clone rm" "$out$err"
tjail clone sync "$id"
no_ctl "clone sync" "$out$err"
# The record's argv holds what the command line held.
tjail --fs=host -q --clone sh -c 'exit 0' "$(printf 'arg\033]0;pwned\007')"
tjail clone list
no_ctl "clone list (argv)" "$out$err"
for w in $(ws_list); do
	tjail clone show "$w"
	no_ctl "clone show $w (argv)" "$out$err"
done
ok "escape sequences in names, messages, a branch and the argv: escaped everywhere, JSON valid"

# --- (e) a commit whose tree names "..", ".git" or a path: refused, nothing written outside ------------
repo2="$TOP/proj2"
mkdir -p "$repo2" && cd "$repo2"
git init -q -b main . && echo ok >ok.txt && git add ok.txt && git commit -qm ok
good=$(git rev-parse HEAD)
blob=$(echo pwned | git hash-object -w --stdin)
# mktree GITDIR MODE NAME SHA...: a tree object written as is (git mktree refuses these names).
mktree() {
	python3 - "$@" <<'EOF'
import hashlib, os, sys, zlib
gitdir, rest = sys.argv[1], sys.argv[2:]
body = b"".join(rest[i].encode() + b" " + os.fsencode(rest[i + 1]) + b"\0" + bytes.fromhex(rest[i + 2])
                for i in range(0, len(rest), 3))
obj = b"tree %d\0" % len(body) + body
h = hashlib.sha1(obj).hexdigest()
os.makedirs(os.path.join(gitdir, "objects", h[:2]), exist_ok=True)
p = os.path.join(gitdir, "objects", h[:2], h[2:])
if not os.path.exists(p):
    open(p, "wb").write(zlib.compress(obj))
print(h)
EOF
}
okblob=$(git rev-parse HEAD:ok.txt)
inner=$(mktree .git 100644 escaped "$blob")
for bad in "100644 ../../../../../escaped $blob" "40000 .. $inner" "40000 .git $inner" "40000 .GIT. $inner"; do
	set -- $bad
	tree=$(mktree .git 100644 ok.txt "$okblob" "$1" "$2" "$3")
	commit=$(git commit-tree "$tree" -p "$good" -m evil) || fail "git commit-tree"
	git update-ref refs/heads/main "$commit"
	before=$(ws_list)
	tjail --fs=host -q --clone true
	[ "$rc" = 1 ] || fail "a tree with an entry '$2': expected exit 1, got $rc: $err"
	one_line "a tree with an entry '$2'"
	grep -qF "'$2'" <<<"$err" || fail "a tree with an entry '$2': the message should name the entry: $err"
	assert_eq "$(ws_list)" "$before" "a tree with an entry '$2': no workspace is left"
	[ ! -e "$CLONES/.base/$commit" ] || fail "a tree with an entry '$2': its base checkout was installed"
	left=$(find "$TOP" -name 'escaped*' -not -path "$repo2/*" 2>/dev/null)
	[ -z "$left" ] || fail "a tree with an entry '$2': written outside the checkout: $left"
done
git update-ref refs/heads/main "$good"
ok "trees naming '..', '.git' (any case) or a path: refused with one line, nothing written outside"

# --- (f) --clone-dirty while the work tree's directories are swapped for a symlink to a secret ---------
[ -x "${HELPERS:-}/racer" ] || fail "\$HELPERS/racer is not built (make build/racer)"
repo3="$TOP/proj3"
mkdir -p "$repo3/sub" && cd "$repo3"
git init -q -b main . && echo base >sub/m.txt && echo base >sub/n.txt && git add -A && git commit -qm base
secretdir="$TOP/secretdir"
mkdir -p "$secretdir" && echo TOPSECRET-m >"$secretdir/m.txt" && echo TOPSECRET-n >"$secretdir/n.txt"
echo modified >sub/m.txt && echo modified >sub/n.txt && echo new >sub/u.txt
ln -s "$secretdir" link
"$HELPERS/racer" exchange "$repo3/sub" "$repo3/link" 6000 >"$T/racer.out" 2>&1 &
racer=$!
runs=0
end=$((SECONDS + 5))
while [ "$SECONDS" -lt "$end" ]; do
	timeout -k 5 30 "$AJAIL" --fs=host -q --clone --clone-dirty true </dev/null >/dev/null 2>>"$T/dirty.err"
	[ "$?" != 124 ] || fail "--clone-dirty under a racer hung"
	runs=$((runs + 1))
done
wait "$racer" || fail "the racer made no swap: $(cat "$T/racer.out")"
[ "$runs" -ge 3 ] || fail "--clone-dirty ran only $runs times while the racer ran"
leak=$(grep -rl TOPSECRET "$CLONES"/proj3-*/upper 2>/dev/null || true)
[ -z "$leak" ] || fail "--clone-dirty copied the secret through a swapped symlink into: $leak"
# ...and it still works while raced: some runs carried the modified files (not every run failed).
carried=$(grep -rlx modified "$CLONES"/proj3-*/upper 2>/dev/null | wc -l)
[ "$carried" -gt 0 ] || fail "--clone-dirty under a racer never carried a modified file: $(sort "$T/dirty.err" | uniq -c | head -5)"
ok "--clone-dirty under a racer swapping a directory for a symlink: $runs runs, $carried files carried, the secret never"

# --- a plain jail's fifo in the user's own repository: making a workspace is bounded too -------------
fr="$T/fiforepo"
mkdir -p "$fr"
git -C "$fr" init -q . && echo hi > "$fr/a" && git -C "$fr" add a && git -C "$fr" commit -qm init
cd "$fr"
obj=$(git rev-parse HEAD:a)
# What a plain jail in this working directory can do to its .git:
jail --fs=host -q sh -c "rm -f .git/objects/${obj:0:2}/${obj:2} && mkfifo .git/objects/${obj:0:2}/${obj:2}"
assert_rc 0 "a plain jail puts a fifo in place of an object of the user's repository"
start=$SECONDS
AJAIL_CLONE_TIMEOUT=1 timeout 60 "$AJAIL" --fs=host -q --clone true >"$T/o" 2>"$T/e" </dev/null
rc=$?
[ "$rc" = 1 ] || fail "--clone over a fifo object: expected exit 1, got $rc: $(cat "$T/e")"
[ $((SECONDS - start)) -lt 40 ] || fail "--clone over a fifo object took $((SECONDS - start)) s"
assert_contains "$(cat "$T/e")" "took longer than 10 s" "the message says what happened"
[ "$(grep -c . "$T/e")" = 1 ] || fail "one line: $(cat "$T/e")"
ok "making a workspace over a fifo in the user's repository fails in bounded time, in one line"
