# Issue 9, classes 1 and 2: git metadata a jail wrote is data from an attacker. A .git file in the
# working directory must not make the next run mount what it names, and nothing a jail can write in a
# repository's git directory may decide what the user's own git runs later (config, hooks,
# commondir, worktrees/*/commondir, config.worktree).
. "$(dirname "$0")/libtest.sh"
command -v git >/dev/null || fail "git is not installed (make deps installs it)"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e
export AJAIL_ENV_GIT_AUTHOR_NAME=a AJAIL_ENV_GIT_AUTHOR_EMAIL=a@e AJAIL_ENV_GIT_COMMITTER_NAME=a AJAIL_ENV_GIT_COMMITTER_EMAIL=a@e

secret="$T/secret"
mkdir -p "$secret"
echo "SECRET-$$" > "$secret/key"

# --- class 1: a .git file planted in a plain directory ------------------------------------------------
w="$T/work"
mkdir -p "$w"
cd "$w"
# A file only the host has, in the user's home: what the jail would read if the home were mounted.
marker="$HOME/.ajail-hostile-git-$$"
echo "SECRET-HOME-$$" > "$marker"
trap 'rm -f "$marker"; cleanup_test' EXIT
for target in "$secret" / "$HOME"; do
	rm -rf .git .x
	# The jail writes what a linked worktree's .git file and gitdir would hold, pointing anywhere.
	jail --fs=bb -q sh -c "printf 'gitdir: .x\n' > .git && mkdir .x && echo '$target' > .x/commondir && echo '$w/.git' > .x/gitdir"
	assert_rc 0 "a jail plants a .git file"
	jail --fs=bb sh -c "cat $secret/key $marker; touch $secret/ajail-planted && echo WROTE"
	assert_not_contains "$out" "SECRET" "commondir -> $target: nothing of it is mounted"
	assert_not_contains "$out" "WROTE" "commondir -> $target: not writable"
	assert_missing "$secret/ajail-planted"
	assert_contains "$err" "does not believe it" "commondir -> $target: a warning says why"
	assert_not_contains "$err" "mount    $target (" "the status block mounts nothing of it"
done
# A structure that imitates worktrees/NAME inside the working directory, with "commondir" pointing out.
rm -rf .git .x
jail --fs=bb -q sh -c "mkdir -p .x/worktrees/w && printf 'gitdir: .x/worktrees/w\n' > .git && echo '$secret' > .x/worktrees/w/commondir && echo '$w/.git' > .x/worktrees/w/gitdir"
jail --fs=bb sh -c "cat $secret/key"
assert_not_contains "$out" "SECRET" "an imitated worktrees/ layout"
assert_contains "$err" "does not believe it"
ok "a .git file a jail planted mounts nothing it names"

# --- a .git file pointing at another real repository's worktree (its back-link names another dir) ----
repo="$T/repo"
mkdir -p "$repo" && cd "$repo"
git init -q . && echo a > a && git add a && git commit -qm init
wt="$T/wt"
git worktree add -q -b wtb "$wt"
other="$T/other"
git init -q "$other" && echo private > "$other/p" && git -C "$other" add p && git -C "$other" commit -qm private
git -C "$other" worktree add -q -b ob "$T/otherwt"
cd "$w"
rm -rf .git .x
jail --fs=bb -q sh -c "printf 'gitdir: $other/.git/worktrees/otherwt\n' > .git"
jail --fs=bb sh -c "ls $other/.git/objects && echo LISTED"
assert_not_contains "$out" "LISTED" "another repository's worktree: its git directory is not mounted"
assert_contains "$err" "does not point back" "the warning says which link failed"
# --clone there must not open that repository either.
jail --fs=host -q --clone true
assert_rc 2 "--clone in a directory whose .git file is not believed"
assert_contains "$err" "back-links"
[ -z "$(ls -A "$AJAIL_HOME/clone" 2>/dev/null | grep -v '^\.base$')" ] || fail "--clone refused: no workspace left: $(ls -A "$AJAIL_HOME/clone")"
ok "a .git file pointing at another repository's worktree is not believed, by plain runs and --clone"

# --- a real linked worktree: committing works; what decides the user's git stays read-only ----------
cd "$wt"
common="$repo/.git"
before=$(cd "$common" && find config hooks info worktrees/wt/commondir worktrees/wt/gitdir -type f 2>/dev/null | sort | xargs sha256sum)
jail --fs=host sh -c "
	echo change >> a && git commit -qam inside && echo COMMITTED
	for f in $common/config $common/hooks/post-checkout $common/commondir $common/worktrees/wt/commondir \
		$common/worktrees/wt/gitdir $common/worktrees/wt/config.worktree $common/info/attributes; do
		(echo evil > \$f) 2>/dev/null && echo \"WROTE \$f\"
	done
	mkdir $common/evil 2>/dev/null && echo WROTE-DIR
	true"
assert_contains "$out" "COMMITTED" "a commit inside a linked worktree"
assert_not_contains "$out" "WROTE" "config, hooks, commondir, worktrees/NAME/{commondir,gitdir,config.worktree}, info stay read-only"
assert_eq "$(git -C "$repo" log -1 --format=%s wtb)" "inside" "the commit is in the repository"
after=$(cd "$common" && find config hooks info worktrees/wt/commondir worktrees/wt/gitdir -type f 2>/dev/null | sort | xargs sha256sum)
assert_eq "$after" "$before" "nothing that decides what git runs changed"
assert_missing "$common/commondir"
assert_missing "$common/worktrees/wt/config.worktree" "the mount point for config.worktree is gone again"
assert_contains "$err" "git" "the status block lists the git directory"
git -C "$repo" fsck --strict >"$T/fsck" 2>&1 || fail "git fsck after a commit in a linked worktree: $(cat "$T/fsck")"
# --lockdown: all of it read-only.
jail --fs=host -q --lockdown sh -c "touch $common/refs/heads/x 2>/dev/null && echo WROTE; git log --oneline | wc -l"
assert_not_contains "$out" "WROTE" "--lockdown: the common git directory is read-only"
ok "a linked worktree: commits work, config/hooks/commondir/config.worktree stay read-only"

# --- class 2: --clone-push writes only objects, refs and logs -----------------------------------------
cd "$repo"
before=$(find .git -maxdepth 1 | sort)
jail --fs=host -q --clone --clone-push sh -c '
	git commit -q --allow-empty -m pushed && git push -q origin HEAD:refs/heads/pushed && echo PUSHED
	for f in commondir config hooks/pre-commit info/exclude worktrees/x/commondir modules/m/config description; do
		(mkdir -p $(dirname /ajail/origin/$f) && echo evil > /ajail/origin/$f) 2>/dev/null && echo "WROTE $f"
	done
	mkdir /ajail/origin/evil 2>/dev/null && echo WROTE-DIR
	true'
assert_contains "$out" "PUSHED" "--clone-push: a push into origin works"
assert_not_contains "$out" "WROTE" "--clone-push: only objects, refs and logs are writable"
assert_eq "$(find .git -maxdepth 1 | sort)" "$before" "--clone-push: nothing new at the top of the git directory"
assert_missing "$repo/.git/commondir"
git rev-parse -q --verify refs/heads/pushed >/dev/null || fail "--clone-push: the pushed branch is there"
# The user's next git status runs nothing of the agent's.
GIT_TRACE=0 git status --porcelain >/dev/null || fail "git status after --clone-push"
ok "--clone-push: an allow-list (objects, refs, logs)"
