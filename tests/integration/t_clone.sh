# --clone: each run gets its own clone of the repository, on its own branch, mounted at the
# repository's own path; its commits arrive in the user's repository as ajail/<id>; nothing inside can
# write the user's .git; `ajail clone list/show/rm/gc/sync` manage the workspaces (issue 4).
. "$(dirname "$0")/libtest.sh"
command -v git >/dev/null || fail "git is not installed (make deps installs it)"
command -v python3 >/dev/null || fail "python3 is needed to read clone list --json"

# Identity for commits made inside (the jail's $HOME is not the user's).
export AJAIL_ENV_GIT_AUTHOR_NAME=agent AJAIL_ENV_GIT_AUTHOR_EMAIL=agent@example.com
export AJAIL_ENV_GIT_COMMITTER_NAME=agent AJAIL_ENV_GIT_COMMITTER_EMAIL=agent@example.com
TOP=$(cd "$T" && pwd -P)
# Overlay work directories (work/work) are left mode 000 by the kernel: make all readable to clean up.
trap 'chmod -R u+rwx "$T" 2>/dev/null; cleanup_test' EXIT
CLONES="$AJAIL_HOME/clone"

# --- helpers ---------------------------------------------------------------------------------------
# clone list --json, checked: an array of objects with exactly the documented keys.
ws_json() {
	"$AJAIL" clone list --json </dev/null 2>"$T/.lerr" >"$T/.list" ||
		{ echo "LIST-FAILED: $(cat "$T/.lerr")"; return; }
	python3 - "$T/.list" <<'EOF'
import json, sys
keys = {"id", "dir", "repo", "branch", "base", "ahead", "dirty", "size", "created", "in_use", "delivered", "merged"}
try:
    ws = json.load(open(sys.argv[1]))
except Exception as e:
    print("BAD-JSON: %s: %s" % (e, open(sys.argv[1]).read()[:300])); sys.exit(0)
if not isinstance(ws, list):
    print("BAD-JSON: not an array"); sys.exit(0)
for w in ws:
    if set(w) != keys:
        print("BAD-KEYS: %s: missing %s, extra %s" % (w.get("id"), sorted(keys - set(w)), sorted(set(w) - keys)))
json.dump(ws, open(sys.argv[1] + ".ok", "w"))
EOF
}
# ws_ids: the ids in clone list, one a line (fails the test when the list is broken).
ws_ids() {
	local chk
	chk=$(ws_json)
	[ -z "$chk" ] || fail "ajail clone list --json: $chk"
	python3 -c 'import json,sys; [print(w["id"]) for w in json.load(open(sys.argv[1]))]' "$T/.list.ok"
}
# ws ID KEY: one field of one workspace ("MISSING" when the id is not listed); bools as true/false.
ws() {
	python3 -c '
import json, sys
ws = [w for w in json.load(open(sys.argv[1])) if w["id"] == sys.argv[2]]
v = ws[0][sys.argv[3]] if ws else "MISSING"
print(json.dumps(v) if isinstance(v, bool) else v)' "$T/.list.ok" "$1" "$2"
}
# state ID: "ahead=N dirty=B delivered=B [merged=B] in_use=B" from a fresh clone list.
state() {
	local chk
	chk=$(ws_json)
	[ -z "$chk" ] || { echo "$chk"; return; }
	# merged is left out for a workspace without commits: its tip, the base, is trivially merged.
	local m=" merged=$(ws "$1" merged)"
	[ "$(ws "$1" ahead)" != 0 ] || m=
	echo "ahead=$(ws "$1" ahead) dirty=$(ws "$1" dirty) delivered=$(ws "$1" delivered)$m in_use=$(ws "$1" in_use)"
}
listed() { ws_json >/dev/null; [ "$(ws "$1" id)" = "$1" ]; }
# take_id LABEL BEFORE: sets $id to the one workspace listed now that was not in BEFORE.
take_id() {
	local now ids
	now=$(ws_ids) || exit 1
	ids=$(comm -13 <(sort <<<"$2") <(sort <<<"$now"))
	[ -n "$ids" ] && [ "$(grep -c . <<<"$ids")" = 1 ] ||
		fail "$1: expected exactly one new workspace in clone list, got '$ids' (stderr of the run: $err)"
	id=$ids
	wsdir=$(ws "$id" dir)
}
# snap DIR: everything of a repository that nothing inside a --clone jail may change.
snap() {
	(
		cd "$1" || exit 1
		git for-each-ref --format='%(refname) %(objectname)'
		git symbolic-ref -q HEAD || git rev-parse HEAD
		cat .git/packed-refs 2>/dev/null
		find .git/refs .git/hooks .git/info .git/config .git/HEAD -printf '%p %m %s\n' 2>/dev/null | sort
		find .git/hooks .git/info .git/config -type f -exec sha256sum {} + | sort
		find .git/objects -type f | sort | sha256sum
		git status --porcelain
		git stash list
	)
}
store_empty() {
	local left
	left=$(find "$CLONES" -mindepth 1 2>/dev/null | head -5)
	[ -z "$left" ] || fail "$1: left behind in \$AJAIL_HOME/clone: $left"
}
one_line() { [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "$1: expected a one-line message, got: $err"; }

# --- the user's repository ---------------------------------------------------------------------
repo="$TOP/proj"
mkdir -p "$repo/sub" && cd "$repo"
git init -q -b main . && git config user.email user@example.com && git config user.name user
echo a >a.txt && echo b >sub/b.txt && echo d >d.txt && echo '*.log' >.gitignore
printf '#!/bin/sh\nexit 0\n' >.git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
git add -A && git commit -qm init
git branch other
base=$(git rev-parse HEAD)

# --- a change inside stays inside; cwd inside = cwd outside ----------------------------------------
cd "$repo/sub"
before=$(ws_ids)
jail --fs=host -q --clone sh -c 'pwd; git rev-parse --show-toplevel; git symbolic-ref --short HEAD;
	git remote get-url origin; git status --porcelain | wc -l; git rev-parse HEAD;
	echo changed >../a.txt && echo new >../new.txt && rm ../d.txt && echo sub >b.txt'
assert_rc 0 "--clone run"
take_id "--clone run" "$before"
Wd=$id
assert_eq "$(sed -n 1p <<<"$out")" "$repo/sub" "cwd inside is cwd outside"
assert_eq "$(sed -n 2p <<<"$out")" "$repo" "the clone is mounted at the repository's own path"
assert_eq "$(sed -n 3p <<<"$out")" "ajail/$id" "the clone is on its own branch ajail/<id>"
assert_eq "$(sed -n 4p <<<"$out")" "/ajail/origin" "origin is the user's repository at /ajail/origin"
assert_eq "$(sed -n 5p <<<"$out")" "0" "git status is clean in a new clone"
assert_eq "$(sed -n 6p <<<"$out")" "$base" "the clone starts at the user's HEAD"
cd "$repo"
assert_eq "$(cat a.txt)" "a" "a change inside does not appear in the user's checkout"
assert_missing "$repo/new.txt" "a file created inside does not appear in the user's checkout"
assert_exists "$repo/d.txt" "a file deleted inside is not deleted in the user's checkout"
assert_eq "$(cat sub/b.txt)" "b" "a change inside a subdirectory does not appear in the user's checkout"
assert_eq "$(git status --porcelain)" "" "the user's checkout is clean after a --clone run"
case "$(basename "$wsdir")" in
"proj-$(date -u +%Y%m%d)-$id" | "proj-$(date +%Y%m%d)-$id") ;;
*) fail "workspace directory: expected \$AJAIL_HOME/clone/proj-<YYYYMMDD>-$id, got $wsdir" ;;
esac
[ -d "$wsdir" ] || fail "workspace directory $wsdir does not exist"
assert_eq "$(state "$Wd")" "ahead=0 dirty=true delivered=false in_use=false" "clone list of a workspace with uncommitted changes"
assert_eq "$(ws "$Wd" repo)" "$repo" "clone list: repo"
assert_eq "$(ws "$Wd" branch)" "ajail/$Wd" "clone list: branch"
assert_eq "$(ws "$Wd" base)" "$base" "clone list: base"
ok "a change inside a clone stays there; cwd and paths are the same inside"

# --- errors: outside a repository, bare, unborn HEAD ---------------------------------------------
# (after a run that worked, so that they cannot pass just because --clone is refused altogether; in a
# store of their own, which must stay empty)
main_home=$AJAIL_HOME
export AJAIL_HOME="$T/store-err"
mkdir -p "$AJAIL_HOME"
CLONES="$AJAIL_HOME/clone"
mkdir -p "$TOP/norepo" && cd "$TOP/norepo"
jail --fs=host -q --clone true
assert_rc 2 "--clone outside a git repository"
one_line "--clone outside a git repository"
grep -qi 'git' <<<"$err" || fail "--clone outside a git repository: the message should say so: $err"
store_empty "--clone outside a git repository"

git init -q --bare "$TOP/bare.git" && cd "$TOP/bare.git"
jail --fs=host -q --clone true
assert_rc 2 "--clone in a bare repository"
one_line "--clone in a bare repository"
grep -qi 'bare' <<<"$err" || fail "--clone in a bare repository: the message should say bare: $err"
store_empty "--clone in a bare repository"

git init -q "$TOP/unborn" && cd "$TOP/unborn" && echo x >file && git add file
jail --fs=host -q --clone true
assert_rc 2 "--clone with an unborn HEAD"
one_line "--clone with an unborn HEAD"
grep -qiE 'commit|unborn|HEAD' <<<"$err" || fail "--clone with an unborn HEAD: the message should say there is no commit: $err"
store_empty "--clone with an unborn HEAD"
export AJAIL_HOME=$main_home
CLONES="$AJAIL_HOME/clone"
cd "$repo"
ok "errors: exit 2, one line, nothing left in \$AJAIL_HOME/clone"

# --- a commit inside arrives as ajail/<id> ----------------------------------------------------------
before=$(ws_ids)
jail --fs=host --clone sh -c 'echo c >c.txt && git add c.txt && git commit -qm "agent commit" && git rev-parse HEAD'
assert_rc 0 "--clone run that commits"
take_id "--clone run that commits" "$before"
Wc=$id
tip=$(tail -1 <<<"$out")
assert_contains "$err" "delivered" "the end of the session says the branch was delivered"
assert_contains "$err" "ajail/$Wc" "the delivered line names the ref"
assert_eq "$(git rev-parse -q --verify "refs/heads/ajail/$Wc")" "$tip" "the commit arrived as refs/heads/ajail/<id>"
assert_eq "$(git show "ajail/$Wc:c.txt")" "c" "the delivered branch has the file"
assert_eq "$(git rev-parse "ajail/$Wc^")" "$base" "the delivered branch starts at the base"
assert_missing "$repo/c.txt" "the commit does not touch the user's checkout"
assert_eq "$(git rev-parse HEAD)" "$base" "the user's HEAD did not move"
assert_eq "$(git symbolic-ref HEAD)" "refs/heads/main" "the user is still on main"
assert_eq "$(state "$Wc")" "ahead=1 dirty=false delivered=true merged=false in_use=false" "clone list of a delivered workspace"
jail clone show "$Wc"
assert_rc 0 "clone show"
assert_contains "$out" "$Wc" "clone show names the workspace"
assert_contains "$out" "${base:0:7}" "clone show gives the base commit"
git fsck --strict >"$T/fsck" 2>&1 || fail "git fsck --strict after delivery: $(cat "$T/fsck")"
ok "a commit inside arrives as ajail/<id>"

# --- the exit status passes through ------------------------------------------------------------------
jail --fs=host -q --clone sh -c 'exit 7'
assert_rc 7 "the exit status passes through --clone"
ok "exit status passes through --clone"

# --- the origin is readable: fetch, log -----------------------------------------------------------
other=$(git rev-parse other)
jail --fs=host -q --clone sh -c 'git fetch -q origin && git log --format=%H -1 origin/main && git rev-parse origin/other && git log --oneline origin/main | wc -l && git -C /ajail/origin rev-parse HEAD'
assert_rc 0 "git fetch origin / git log origin/main inside"
assert_eq "$out" "$base
$other
1
$base" "origin inside is the user's repository"
ok "the origin is readable inside"

# --- nothing inside can write the user's .git ------------------------------------------------------
before_snap=$(snap "$repo")
jail --fs=host -q --clone sh -c '
	t() { if sh -c "$1" >/dev/null 2>&1; then echo "ALLOWED: $1"; else echo "BLOCKED: $1"; fi; }
	b=$(git rev-parse HEAD)
	t "echo evil >>/ajail/origin/hooks/pre-commit"
	t "echo evil >/ajail/origin/hooks/post-checkout && chmod +x /ajail/origin/hooks/post-checkout"
	t "chmod 755 /ajail/origin/hooks/pre-commit.sample"
	t "git config --file /ajail/origin/config core.hooksPath /tmp"
	t "git -C /ajail/origin config core.fsmonitor evil"
	t "echo evil >>/ajail/origin/config"
	t "echo \"* diff=evil\" >/ajail/origin/info/attributes"
	t "echo $(git rev-parse HEAD) >/ajail/origin/refs/heads/evil"
	t "git -C /ajail/origin update-ref refs/heads/evil HEAD"
	t "git -C /ajail/origin update-ref -d refs/heads/other"
	t "mkdir /ajail/origin/objects/zz"
	t "rm -f /ajail/origin/HEAD"
	t "mv /ajail/origin/hooks /ajail/origin/hooks.old"
	t "git commit -q --allow-empty -m x && git push -q origin HEAD:refs/heads/x"
	t "git push -q -f origin HEAD:refs/heads/main"
	t "git push -q origin :refs/heads/other"
	# The user'"'"'s .git path inside is the clone'"'"'s own git directory: writing it is allowed, and
	# must not reach the user'"'"'s repository (checked outside).
	echo evil >>"$(git rev-parse --show-toplevel)/.git/hooks/pre-commit" 2>/dev/null
	git config core.hooksPath /tmp 2>/dev/null
	# Drop the commit made for the push attempts, so that nothing is delivered at the end.
	git reset -q --hard "$b"'
assert_rc 0 "the .git write attempts ran"
[ "$(grep -c -e '^BLOCKED' -e '^ALLOWED' <<<"$out")" = 16 ] || fail "the 16 .git write attempts did not all run: $out; $err"
allowed=$(grep '^ALLOWED' <<<"$out" || true)
[ -z "$allowed" ] || fail "writes to the user's repository from inside a --clone jail succeeded: $allowed"
assert_eq "$(snap "$repo")" "$before_snap" "the user's refs, config, hooks and objects are unchanged after the attempts"
assert_eq "$(cat .git/hooks/pre-commit)" "#!/bin/sh
exit 0" "the user's pre-commit hook is unchanged"
ok "the user's .git (hooks, config, info, refs, objects) cannot be written from inside"

# --- --clone-dirty carries uncommitted changes; without it they stay out ------------------------------
echo modified >a.txt && echo untracked >u.txt && rm d.txt && echo ignored >x.log
dirty_before=$(git status --porcelain --ignored)
jail --fs=host -q --clone --clone-dirty sh -c 'cat a.txt; cat u.txt; test -e d.txt && echo d-present || echo d-absent;
	test -e x.log && echo log-present || echo log-absent; git rev-parse HEAD'
assert_rc 0 "--clone-dirty"
assert_eq "$out" "modified
untracked
d-absent
log-absent
$base" "--clone-dirty carries the modified, untracked and deleted files, not the ignored one"
jail --fs=host -q --clone sh -c 'cat a.txt; test -e u.txt && echo u-present || echo u-absent; cat d.txt'
assert_rc 0 "--clone in a dirty checkout"
assert_eq "$out" "a
u-absent
d" "without --clone-dirty the clone has the committed files only"
assert_eq "$(git status --porcelain --ignored)" "$dirty_before" "the user's uncommitted changes are untouched"
git checkout -q -- a.txt d.txt && rm -f u.txt x.log
assert_eq "$(git status --porcelain)" "" "checkout cleaned"
ok "--clone-dirty"

# --- --clone=BRANCH ----------------------------------------------------------------------------------
before=$(ws_ids)
jail --fs=host -q --clone=feature-x sh -c 'git symbolic-ref --short HEAD && echo f >f.txt && git add f.txt && git commit -qm f && git rev-parse HEAD'
assert_rc 0 "--clone=BRANCH"
take_id "--clone=BRANCH" "$before"
assert_eq "$(head -1 <<<"$out")" "feature-x" "--clone=BRANCH: the clone is on that branch"
assert_eq "$(ws "$id" branch)" "feature-x" "--clone=BRANCH: clone list shows the branch"
ftip=$(tail -1 <<<"$out")
[ -n "$(git for-each-ref --points-at "$ftip" refs/heads/)" ] || fail "--clone=BRANCH: the commit was not delivered to any branch"
ok "--clone=BRANCH"

# --- --clone-push: push works, hooks/config/info stay read-only ---------------------------------------
before_hooks=$(find .git/hooks .git/info .git/config -printf '%p %m %s\n' | sort; find .git/hooks .git/info .git/config -type f -exec sha256sum {} + | sort)
jail --fs=host -q --clone --clone-push sh -c '
	t() { if sh -c "$1" >/dev/null 2>&1; then echo "ALLOWED: $1"; else echo "BLOCKED: $1"; fi; }
	git commit -q --allow-empty -m pushed && git push -q origin HEAD:refs/heads/pushed && git rev-parse HEAD
	t "echo evil >>/ajail/origin/hooks/pre-commit"
	t "echo evil >/ajail/origin/hooks/post-checkout"
	t "git config --file /ajail/origin/config core.hooksPath /tmp"
	t "echo evil >/ajail/origin/info/attributes"'
assert_rc 0 "--clone-push"
ptip=$(head -1 <<<"$out")
assert_eq "$(git rev-parse -q --verify refs/heads/pushed)" "$ptip" "--clone-push: git push into origin works"
allowed=$(grep '^ALLOWED' <<<"$out" || true)
[ -z "$allowed" ] || fail "--clone-push: hooks/, config or info/ were writable: $allowed"
[ "$(grep -c '^BLOCKED' <<<"$out")" = 4 ] || fail "--clone-push: the write attempts did not all run: $out"
assert_eq "$(find .git/hooks .git/info .git/config -printf '%p %m %s\n' | sort; find .git/hooks .git/info .git/config -type f -exec sha256sum {} + | sort)" "$before_hooks" "--clone-push: hooks, info and config unchanged"
git fsck --strict >"$T/fsck" 2>&1 || fail "git fsck --strict after --clone-push: $(cat "$T/fsck")"
git branch -q -D pushed
ok "--clone-push"

# --- in_use while a jail runs ------------------------------------------------------------------------
before=$(ws_ids)
"$AJAIL" --fs=host -q --clone sleep 5 </dev/null >/dev/null 2>"$T/bg.err" &
bg=$!
id=
for _ in $(seq 100); do
	id=$(comm -13 <(sort <<<"$before") <(ws_ids | sort))
	[ -z "$id" ] || break
	sleep 0.1
done
[ -n "$id" ] || fail "a running --clone session is not in clone list: $(cat "$T/bg.err")"
assert_eq "$(state "$id")" "ahead=0 dirty=false delivered=false in_use=true" "clone list while a jail uses the workspace"
wait "$bg" || fail "--clone sleep 5 failed: $(cat "$T/bg.err")"
assert_eq "$(state "$id")" "ahead=0 dirty=false delivered=false in_use=false" "clone list after the jail ended"
ok "in_use"

# --- clone list states, gc, rm, sync ------------------------------------------------------------------
# We: no commits, clean.            gc removes it.
# Wc: delivered, clean (above).     gc removes it.
# Wd: uncommitted changes (above).  gc keeps it; rm refuses; rm --force removes it.
# Wu: a commit whose delivered branch the user deleted: undelivered. gc keeps it; rm refuses; sync delivers it again.
# Wdd: delivered, plus uncommitted changes. gc keeps it; rm refuses.
# Wm: delivered, merged into main by the user, branch deleted. gc removes it.
# Wr (made after gc): delivered, clean. plain rm removes it.
run_new() { # LABEL SCRIPT: a --clone run of SCRIPT; sets $id
	local b
	b=$(ws_ids)
	jail --fs=host -q --clone sh -c "$2"
	assert_rc 0 "$1"
	take_id "$1" "$b"
}
run_new "We" 'true'
We=$id
assert_eq "$(state "$We")" "ahead=0 dirty=false delivered=false in_use=false" "clone list of a workspace without changes"
run_new "Wu" 'echo u >u.txt && git add u.txt && git commit -qm u'
Wu=$id
git rev-parse -q --verify "refs/heads/ajail/$Wu" >/dev/null || fail "Wu was not delivered"
utip=$(git rev-parse "ajail/$Wu")
git branch -q -D "ajail/$Wu"
assert_eq "$(state "$Wu")" "ahead=1 dirty=false delivered=false merged=false in_use=false" "clone list of a workspace whose delivered branch was deleted"
run_new "Wdd" 'echo k >k.txt && git add k.txt && git commit -qm k && echo more >>a.txt'
Wdd=$id
assert_eq "$(state "$Wdd")" "ahead=1 dirty=true delivered=true merged=false in_use=false" "clone list of a delivered workspace with uncommitted changes"
run_new "Wm" 'echo m >m.txt && git add m.txt && git commit -qm m'
Wm=$id
git merge -q --ff-only "ajail/$Wm" || fail "could not merge ajail/$Wm"
git branch -q -D "ajail/$Wm"
assert_eq "$(state "$Wm")" "ahead=1 dirty=false delivered=false merged=true in_use=false" "clone list of a workspace merged by the user"

dirs=()
for w in We Wc Wd Wu Wdd Wm; do
	ws_json >/dev/null
	d=$(ws "${!w}" dir)
	[ -d "$d" ] || fail "$w (${!w}): workspace directory '$d' does not exist before gc"
	dirs+=("$w=$d")
done
dir_of() { local e; for e in "${dirs[@]}"; do [ "${e%%=*}" = "$1" ] && echo "${e#*=}"; done; }

jail clone gc
assert_rc 0 "clone gc"
for w in We Wc Wm; do
	listed "${!w}" && fail "clone gc kept $w (${!w}), which is safe to remove: $(state "${!w}")"
	assert_missing "$(dir_of $w)" "clone gc removes the directory of $w"
done
for w in Wd Wu Wdd; do
	listed "${!w}" || fail "clone gc removed $w (${!w}), which holds work that is not delivered or not committed"
	assert_exists "$(dir_of $w)" "clone gc keeps the directory of $w"
done
ok "clone gc removes only what is safe"

for w in Wd Wu Wdd; do
	jail clone rm "${!w}"
	[ "$rc" -ne 0 ] || fail "clone rm $w (${!w}) without --force should refuse (undelivered or dirty work); stdout: $out; stderr: $err"
	listed "${!w}" || fail "clone rm $w without --force removed it anyway"
	assert_exists "$(dir_of $w)" "clone rm $w without --force keeps the directory"
done
ok "clone rm refuses undelivered or dirty work without --force"

run_new "Wr" 'echo r >r.txt && git add r.txt && git commit -qm r'
Wr=$id
ws_json >/dev/null
dirs+=("Wr=$(ws "$Wr" dir)")
jail clone sync "$Wu"
assert_rc 0 "clone sync"
assert_eq "$(git rev-parse -q --verify "refs/heads/ajail/$Wu")" "$utip" "clone sync delivers the branch again"
assert_eq "$(state "$Wu")" "ahead=1 dirty=false delivered=true merged=false in_use=false" "clone list after clone sync"
jail clone rm "$Wu"
assert_rc 0 "clone rm of a delivered clean workspace"
jail clone rm "$Wr"
assert_rc 0 "clone rm of a delivered clean workspace"
for w in Wu Wr; do
	listed "${!w}" && fail "clone rm $w: still listed"
	assert_missing "$(dir_of $w)" "clone rm $w removes the directory"
done
git rev-parse -q --verify "refs/heads/ajail/$Wr" >/dev/null || fail "clone rm must not delete the delivered branch ajail/$Wr"
jail clone rm --force "$Wd" "$Wdd"
assert_rc 0 "clone rm --force"
for w in Wd Wdd; do
	listed "${!w}" && fail "clone rm --force $w: still listed"
	assert_missing "$(dir_of $w)" "clone rm --force $w removes the directory"
done
jail clone rm no-such-id
[ "$rc" -ne 0 ] || fail "clone rm of an unknown id should fail"
ok "clone rm, rm --force, sync"
base=$(git rev-parse HEAD)

# --- 16 at once ----------------------------------------------------------------------------------------
before=$(ws_ids)
pids=()
for i in $(seq 16); do
	"$AJAIL" --fs=host -q --clone sh -c "echo $i >file-$i && git add file-$i && git commit -qm c$i && git status --porcelain" \
		</dev/null >"$T/c16.$i.out" 2>"$T/c16.$i.err" &
	pids+=($!)
done
for i in $(seq 16); do
	wait "${pids[$((i - 1))]}" || fail "run $i of 16 concurrent --clone runs exited $?: $(cat "$T/c16.$i.err")"
	[ ! -s "$T/c16.$i.out" ] || fail "run $i of 16: git status after the commit is not clean: $(cat "$T/c16.$i.out")"
done
new=$(comm -13 <(sort <<<"$before") <(ws_ids | sort))
[ "$(grep -c . <<<"$new")" = 16 ] || fail "16 concurrent --clone runs: expected 16 new workspaces, got: $new"
seen=
for w in $new; do
	ref="refs/heads/ajail/$w"
	git rev-parse -q --verify "$ref" >/dev/null || fail "16 at once: $ref did not arrive"
	files=$(git ls-tree --name-only "$ref" | grep '^file-' || true)
	[ "$(grep -c . <<<"$files")" = 1 ] || fail "16 at once: $ref should hold exactly one file-N, has: $files"
	n=${files#file-}
	assert_eq "$(git show "$ref:$files")" "$n" "16 at once: the content of $files on $ref"
	assert_eq "$(git rev-parse "$ref^")" "$base" "16 at once: $ref starts at the base"
	assert_eq "$(git rev-list --count "$base..$ref")" "1" "16 at once: $ref has one commit"
	assert_eq "$(state "$w")" "ahead=1 dirty=false delivered=true merged=false in_use=false" "16 at once: clone list of $w"
	seen="$seen $n"
done
assert_eq "$(tr ' ' '\n' <<<"$seen" | grep . | sort -n | tr '\n' ' ')" "$(seq 16 | tr '\n' ' ')" "16 at once: every file-N arrived once"
git fsck --strict >"$T/fsck" 2>&1 || fail "git fsck --strict after 16 at once: $(cat "$T/fsck")"
assert_eq "$(git status --porcelain)" "" "16 at once: the user's checkout is untouched"
ok "16 concurrent --clone runs: 16 branches, intact"

# --- a linked worktree (its .git is a file) ------------------------------------------------------------
wt="$TOP/wt"
git worktree add -q -b wtbranch "$wt" || fail "git worktree add"
cd "$wt"
jail --fs=host -q sh -c 'git status --porcelain && echo w >w.txt && git add w.txt && git commit -qm w && git rev-parse HEAD'
assert_rc 0 "a plain run in a linked worktree: git status and commit inside"
assert_eq "$(tail -1 <<<"$out")" "$(git -C "$repo" rev-parse -q --verify wtbranch)" "a commit inside a linked worktree lands in the repository"
assert_eq "$(git -C "$wt" status --porcelain)" "" "the linked worktree is clean after the commit inside"
git -C "$repo" fsck --strict >"$T/fsck" 2>&1 || fail "git fsck --strict after a commit in a linked worktree: $(cat "$T/fsck")"
wbase=$(git rev-parse HEAD)
before=$(ws_ids)
jail --fs=host --clone sh -c 'pwd; git symbolic-ref --short HEAD; git status --porcelain | wc -l; cat w.txt; echo z >z.txt && git add z.txt && git commit -qm z && git rev-parse HEAD'
assert_rc 0 "--clone in a linked worktree"
take_id "--clone in a linked worktree" "$before"
assert_eq "$(sed -n 1,4p <<<"$out")" "$wt
ajail/$id
0
w" "--clone in a linked worktree: path, branch, clean status, the worktree's files"
assert_eq "$(git -C "$repo" rev-parse -q --verify "refs/heads/ajail/$id")" "$(tail -1 <<<"$out")" "--clone in a linked worktree: the commit arrives as ajail/<id>"
assert_eq "$(git rev-parse "ajail/$id^")" "$wbase" "--clone in a linked worktree: the branch starts at the worktree's HEAD"
assert_missing "$wt/z.txt" "--clone in a linked worktree: the worktree's checkout is untouched"
assert_eq "$(ws "$id" repo)" "$wt" "clone list: repo of a linked worktree's workspace"
git -C "$repo" fsck --strict >"$T/fsck" 2>&1 || fail "git fsck --strict after --clone in a linked worktree: $(cat "$T/fsck")"
# The user's common git directory has its own path outside the linked worktree: writing it there
# from inside a --clone jail must not reach it either.
before_snap=$(snap "$repo")
jail --fs=host -q --clone sh -c "echo evil >>'$repo/.git/hooks/pre-commit'; echo evil >'$repo/.git/hooks/post-checkout';
	git config --file '$repo/.git/config' core.hooksPath /tmp; echo 0000 >'$repo/.git/refs/heads/main'; true"
assert_rc 0 "--clone in a linked worktree: writes to the common git directory's own path"
assert_eq "$(snap "$repo")" "$before_snap" "--clone in a linked worktree: the common git directory is unchanged by writes to its path"
ok "linked worktrees: plain runs and --clone"
