#!/bin/bash
# mock_llm_selftest.sh — drive the REAL Claude Code and Codex CLIs against tests/helpers/mock_llm.py on
# the host (no ajail), each in a fresh git repository with a fresh HOME, and check that each made the
# scripted commit and that its key reached the mock. A developer aid, not part of make check.
#
#   npm install --prefix ~/.cache/ajail-agents-probe @anthropic-ai/claude-code @openai/codex
#   tests/helpers/mock_llm_selftest.sh            # AJAIL_AGENTS_DIR=DIR to use another install
#
# Exits 0 when both passed, 1 when one failed, 77 when the CLIs are not installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
agents=${AJAIL_AGENTS_DIR:-$HOME/.cache/ajail-agents-probe}
bin=$agents/node_modules/.bin
for c in claude codex; do
	if [ ! -x "$bin/$c" ]; then
		echo "SKIP: $bin/$c is not installed (npm install --prefix $agents @anthropic-ai/claude-code @openai/codex)"
		exit 77
	fi
done
for c in git python3 node; do
	command -v $c >/dev/null || { echo "SKIP: no $c"; exit 77; }
done

tmp=$(mktemp -d /tmp/mock_llm_selftest.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

printf '%s\n' 'echo hi > agent.txt && git add agent.txt && git commit -qm "agent commit"' >"$tmp/script"
for api in anthropic openai; do
	python3 "$here/mock_llm.py" $api --port-file "$tmp/$api.port" --log "$tmp/$api.log" \
		--script "$tmp/script" 2>"$tmp/$api.err" &
	pids+=($!)
done
for _ in $(seq 100); do
	[ -s "$tmp/anthropic.port" ] && [ -s "$tmp/openai.port" ] && break
	sleep 0.1
done
aport=$(cat "$tmp/anthropic.port" 2>/dev/null) && oport=$(cat "$tmp/openai.port" 2>/dev/null) || {
	echo "FAIL: the mocks did not start"; cat "$tmp"/*.err; exit 1
}

newrepo() {  # newrepo NAME: a git repository with one commit, and a HOME beside it
	mkdir -p "$tmp/$1/home" && git init -q "$tmp/$1/repo" &&
		git -C "$tmp/$1/repo" config user.name "Self Test" &&
		git -C "$tmp/$1/repo" config user.email selftest@example.invalid &&
		git -C "$tmp/$1/repo" commit -q --allow-empty -m init
}

run_claude() {  # run_claude NAME KEY
	newrepo "$1" || return 1
	# As root, --dangerously-skip-permissions needs IS_SANDBOX=1.
	(cd "$tmp/$1/repo" && env -u ANTHROPIC_AUTH_TOKEN HOME="$tmp/$1/home" IS_SANDBOX=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
		ANTHROPIC_BASE_URL="http://127.0.0.1:$aport" ANTHROPIC_API_KEY="$2" \
		timeout 120 "$bin/claude" -p "make a commit" --dangerously-skip-permissions </dev/null)
}

run_codex() {  # run_codex NAME KEY
	newrepo "$1" || return 1
	(cd "$tmp/$1/repo" && env -u CODEX_API_KEY HOME="$tmp/$1/home" OPENAI_API_KEY="$2" \
		timeout 120 "$bin/codex" exec -m mock-model \
		-c model_provider=mock -c model_providers.mock.name=mock \
		-c model_providers.mock.base_url="http://127.0.0.1:$oport/v1" \
		-c model_providers.mock.env_key=OPENAI_API_KEY \
		-c features.plugins=false -c analytics.enabled=false -c check_for_update_on_startup=false \
		--dangerously-bypass-approvals-and-sandbox --skip-git-repo-check "make a commit" </dev/null)
}

# Two of each at once: the mock reads the turn from each request, so sharing it must not matter.
run_claude claude1 sk-ant-selftest-1 >"$tmp/claude1.out" 2>&1 & c1=$!
run_claude claude2 sk-ant-selftest-2 >"$tmp/claude2.out" 2>&1 & c2=$!
run_codex codex1 sk-oai-selftest-1 >"$tmp/codex1.out" 2>&1 & x1=$!
run_codex codex2 sk-oai-selftest-2 >"$tmp/codex2.out" 2>&1 & x2=$!
rc=0
check() {  # check NAME PID HEADER-JSON-FRAGMENT LOG
	local st=0
	wait "$2" || st=$?
	local subject
	subject=$(git -C "$tmp/$1/repo" log -1 --format=%s 2>/dev/null)
	if [ "$st" = 0 ] && [ "$subject" = "agent commit" ] && [ -f "$tmp/$1/repo/agent.txt" ] &&
		grep -qF "$3" "$4"; then
		echo "PASS: $1 made the commit; the mock saw $3"
	else
		echo "FAIL: $1 (exit $st, last commit '$subject', key $3 seen: $(grep -cF "$3" "$4"))"
		sed 's/^/    /' "$tmp/$1.out" | tail -30
		rc=1
	fi
}
check claude1 $c1 '"x-api-key": "sk-ant-selftest-1"' "$tmp/anthropic.log"
check claude2 $c2 '"x-api-key": "sk-ant-selftest-2"' "$tmp/anthropic.log"
check codex1 $x1 '"authorization": "Bearer sk-oai-selftest-1"' "$tmp/openai.log"
check codex2 $x2 '"authorization": "Bearer sk-oai-selftest-2"' "$tmp/openai.log"
if [ $rc != 0 ]; then
	echo "--- anthropic.log"; cat "$tmp/anthropic.log"
	echo "--- openai.log"; cat "$tmp/openai.log"
fi
exit $rc
