# Issue 11: the real Claude Code and Codex (from npm, in the `agents` rootfs) run in ajail against
# mock APIs on loopback (tests/helpers/mock_llm.py), each in a clone of its own, with no git flags:
# their commits arrive as branches in the user's repository; four at once; their state lives in
# $AJAIL_HOME/state/, not in the rootfs, and no other agent's jail sees it; the original's
# --home-edit=.claude.json example works on a fresh rootfs; and with --net=allow the API key stays
# outside the jail.
. "$(dirname "$0")/libtest.sh"
HELPERS=$(cd "$(dirname "$0")/../helpers" && pwd)
command -v python3 >/dev/null || fail "python3 is needed for the mock APIs (make deps installs it)"
command -v git >/dev/null || fail "git is needed (make deps installs it)"

# AJAIL_AGENTS_TARBALL: a tarball of the agents rootfs to use as it is (a developer's shortcut).
tarball=${AJAIL_AGENTS_TARBALL:-$("$HELPERS/agents_rootfs.sh" ensure)} ||
	fail "no agents rootfs tarball (see tests/helpers/agents_rootfs.sh)"
jail fs import agents "$tarball"
assert_rc 0 "import the agents rootfs"
AGENTS=$AJAIL_HOME/fs/agents

# The mocks: one per API, shared by every agent of the test (they tell turns apart by the request).
pids=()
stop_mocks() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; cleanup_test; }
trap stop_mocks EXIT
printf '%s\n' 'echo "$MARK" > "agent-$MARK.txt" && git add "agent-$MARK.txt" && git commit -qm "agent commit $MARK"' >"$T/script"
for api in anthropic openai; do
	python3 "$HELPERS/mock_llm.py" $api --port-file "$T/$api.port" --log "$T/$api.log" --script "$T/script" \
		2>"$T/$api.err" &
	pids+=($!)
done
for _ in $(seq 100); do [ -s "$T/anthropic.port" ] && [ -s "$T/openai.port" ] && break; sleep 0.1; done
aport=$(cat "$T/anthropic.port") && oport=$(cat "$T/openai.port") || fail "the mocks did not start: $(cat "$T"/*.err)"

mkdir "$T/repo" && cd "$T/repo"
git init -q -b main . && git config user.name "Repo Owner" && git config user.email owner@example.com
echo base >README && git add README && git commit -qm base

# What a user exports; nothing about git identity, nothing about Codex's sandbox.
export ANTHROPIC_BASE_URL=http://127.0.0.1:$aport ANTHROPIC_API_KEY=sk-ant-test-key
export AJAIL_ENV_CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
claude_run() { # claude_run MARK [ajail options...]: one Claude Code session in a clone
	local mark=$1
	shift
	AJAIL_ENV_MARK=$mark timeout 300 "$AJAIL" --fs=agents "$@" --clone claude -p "make a commit" \
		--dangerously-skip-permissions </dev/null >"$T/claude-$mark.out" 2>"$T/claude-$mark.err"
}
branch_of() { sed -n 's/.* as \(refs\/heads\/\)\{0,1\}\(ajail\/[0-9a-f]*\) in .*/\2/p' "$T/$1.err" | tail -1; }

claude_run one || fail "claude in a clone: $(tail -20 "$T/claude-one.err")"
b=$(branch_of claude-one)
[ -n "$b" ] || fail "no delivery line: $(cat "$T/claude-one.err")"
[ "$(git log -1 --format='%s|%an' "$b")" = "agent commit one|Repo Owner" ] ||
	fail "the branch $b does not hold Claude's commit as the repository's user: $(git log -1 --format='%s|%an' "$b")"
git cat-file -e "$b:agent-one.txt" || fail "the file Claude committed"
grep -q '"x-api-key": "sk-ant-test-key"' "$T/anthropic.log" || fail "the key reached the mock API"
ok "claude -p in a clone makes a commit that arrives as $b"

# Its state: in $AJAIL_HOME/state/claude, not in the rootfs.
st=$AJAIL_HOME/state/claude
[ -d "$st/.claude/projects" ] || fail "Claude's sessions are kept in $st/.claude: $(ls -la "$st" "$st/.claude" 2>&1)"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$st/.claude.json" || fail "$st/.claude.json is Claude's JSON"
[ -s "$st/.claude.json" ] && [ "$(cat "$st/.claude.json")" != "{}" ] || fail "Claude wrote its .claude.json"
assert_missing "$AGENTS/root/.claude" "the agent's state is not in the rootfs"
assert_missing "$AGENTS/root/.claude.json" "the agent's state is not in the rootfs"
jail --fs=agents -q --profile=codex sh -c 'ls -a /root | grep -c claude'
assert_eq "$out" "0" "another agent's jail does not see Claude's state"
ok "Claude's state in $st"

# Four at once, each in its own clone, each delivered.
fours=()
for m in a b c d; do
	claude_run "four$m" &
	fours+=($!)
done
wait "${fours[@]}" # not the mocks
for m in a b c d; do
	b=$(branch_of "claude-four$m")
	[ -n "$b" ] && [ "$(git log -1 --format=%s "$b")" = "agent commit four$m" ] ||
		fail "agent four$m: $(tail -20 "$T/claude-four$m.err")"
done
[ "$(git for-each-ref 'refs/heads/ajail/*' | wc -l)" -eq 5 ] || fail "five branches: $(git branch)"
ok "four Claude Code sessions at once"

# Codex: its own sandbox cannot start in a jail; the profile turns it off (no flag from the user).
codex_run() {
	AJAIL_ENV_MARK=$1 AJAIL_ENV_OPENAI_API_KEY=sk-oai-test-key timeout 300 "$AJAIL" --fs=agents --clone codex exec \
		-m mock-model -c model_provider=mock -c model_providers.mock.name=mock \
		-c model_providers.mock.base_url="http://127.0.0.1:$oport/v1" -c model_providers.mock.env_key=OPENAI_API_KEY \
		-c features.plugins=false -c analytics.enabled=false --skip-git-repo-check "make a commit" \
		</dev/null >"$T/codex-$1.out" 2>"$T/codex-$1.err"
}
codex_run x || fail "codex exec in a clone: $(tail -20 "$T/codex-x.err")"
b=$(branch_of codex-x)
[ -n "$b" ] && [ "$(git log -1 --format='%s|%an' "$b")" = "agent commit x|Repo Owner" ] ||
	fail "codex's commit: $(tail -30 "$T/codex-x.err"; tail -5 "$T/openai.log")"
[ -d "$AJAIL_HOME/state/codex/.codex/sessions" ] || fail "Codex's sessions in \$AJAIL_HOME/state/codex"
assert_missing "$AGENTS/root/.codex" "Codex's state is not in the rootfs"
ok "codex exec in a clone makes a commit that arrives as $b"

# The original's example, on a fresh rootfs and without a profile: .claude.json is made a file.
jail fs cp agents agents2
assert_rc 0 "fs cp"
# (Without a profile the jail gets no host variable but AJAIL_ENV_*, as in the original.)
AJAIL_ENV_ANTHROPIC_API_KEY=$ANTHROPIC_API_KEY AJAIL_ENV_ANTHROPIC_BASE_URL=$ANTHROPIC_BASE_URL \
	claude_run home --fs=agents2 --no-profile --home-edit=.claude --home-edit=.claude.json ||
	fail "--home-edit=.claude --home-edit=.claude.json: $(tail -20 "$T/claude-home.err")"
[ -f "$AJAIL_HOME/fs/agents2/root/.claude.json" ] && [ -d "$AJAIL_HOME/fs/agents2/root/.claude/projects" ] ||
	fail "the original's example keeps Claude's files in the rootfs"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$AJAIL_HOME/fs/agents2/root/.claude.json" ||
	fail ".claude.json is Claude's JSON"
ok "--home-edit=.claude --home-edit=.claude.json works on a fresh rootfs"

# --net=allow: the key stays outside; the proxy adds it on the way to the (host's) API.
: >"$T/anthropic.log"
claude_run gate --net=allow ||
	fail "claude with --net=allow: $(tail -20 "$T/claude-gate.err")"
b=$(branch_of claude-gate)
[ -n "$b" ] || fail "no delivery with --net=allow: $(tail -20 "$T/claude-gate.err")"
grep -q '"x-api-key": "sk-ant-test-key"' "$T/anthropic.log" || fail "the keygate added the real key: $(cat "$T/anthropic.log")"
grep -q 'placeholder' "$T/anthropic.log" && fail "the placeholder reached the API"
jail --fs=agents -q --net=allow --profile=claude sh -c 'env; tr "\\0" "\\n" </proc/self/environ'
assert_not_contains "$out" "sk-ant-test-key" "the key is not in the jail"
assert_contains "$out" "ANTHROPIC_BASE_URL=http://127.0.0.1:" "the jail's API address is the keygate"
ok "with --net=allow the API key never enters the jail"
