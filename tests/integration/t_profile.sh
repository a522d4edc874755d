# Issue 11: agent profiles (state outside the rootfs, variables, arguments, network preset), the
# rule for --home-edit of a path that does not exist yet, the host's CA bundle, and git identity and
# a push that explains itself in clones. The real Claude Code and Codex are in t_agents.sh.
. "$(dirname "$0")/libtest.sh"
cd "$T"
state=$AJAIL_HOME/state

# ---- profiles: state kept outside the rootfs ----
jail --fs=bb --profile=claude sh -c 'ls -ld /root/.claude /root/.claude.json | cut -c1; cat /root/.claude.json; echo tok >/root/.claude/credentials.json; echo "{\"n\":1}" >/root/.claude.json'
assert_rc 0 "a jail with the claude profile"
assert_eq "$out" "d
-
{}" ".claude is a directory, .claude.json a file holding {} (an empty one reads as corrupted to Claude Code)"
assert_contains "$err" "profile  claude (shipped); state in $state/claude" "the status block names the profile"
assert_eq "$(cat "$state/claude/.claude/credentials.json")" "tok" "the state is kept in \$AJAIL_HOME/state/claude"
assert_eq "$(cat "$state/claude/.claude.json")" '{"n":1}' ".claude.json is kept as a file"
assert_missing "$ROOTFS/root/.claude" "nothing of the state is in the rootfs"
assert_missing "$ROOTFS/root/.claude.json" "nothing of the state is in the rootfs"
[ "$(stat -c %a "$state/claude")" = 700 ] || fail "the state directory is private (0700)"

jail --fs=bb -q --profile=claude cat /root/.claude/credentials.json
assert_eq "$out" "tok" "the next session of the same agent finds its state"
jail --fs=bb -q --profile=codex sh -c 'ls -a /root; cat /root/.claude/credentials.json 2>&1'
assert_contains "$out" ".codex" "codex's own state"
assert_not_contains "$out" "tok" "another agent's jail does not see claude's state"
jail --fs=bb -q sh -c 'ls -a /root'
assert_not_contains "$out" ".claude" "a jail without a profile does not see it"
jail fs export bb "$T/bb.tar"
assert_rc 0 "fs export"
tar -tf "$T/bb.tar" | grep -q claude && fail "fs export carries the agent's state"
ok "state outside the rootfs"

# Selected by the command's name; --no-profile turns it off; arguments only for the agent itself.
mkdir -p bin
printf '#!/bin/sh\necho "args: $*"; ls -a /root | grep -c codex\n' >bin/codex
chmod +x bin/codex
jail --fs=bb -q ./bin/codex exec hi
assert_eq "$out" "args: -c sandbox_mode=\"danger-full-access\" exec hi
1" "codex by name: its profile, its sandbox off (the jail is the sandbox)"
jail --fs=bb -q --no-profile ./bin/codex exec hi
assert_eq "$out" "args: exec hi
0" "--no-profile"
jail --fs=bb -q --profile=codex sh -c 'echo "$0 $*"' a b
assert_eq "$out" "a b" "a profile's arguments never go to another command"
ANTHROPIC_API_KEY=sk-host DISABLE_AUTOUPDATER=0 OTHER_SECRET=x jail --fs=bb -q --profile=claude sh -c 'echo $ANTHROPIC_API_KEY $DISABLE_AUTOUPDATER ${OTHER_SECRET:-none}'
assert_eq "$out" "sk-host 1 none" "the profile's variables pass, and only those"
AJAIL_ENV_DISABLE_AUTOUPDATER=0 jail --fs=bb -q --profile=claude sh -c 'echo $DISABLE_AUTOUPDATER'
assert_eq "$out" "0" "AJAIL_ENV_ still wins"

# Behind the allow-list a credential the keygate does not hold stays out (one line says so).
OPENAI_API_KEY=sk-real ANTHROPIC_AUTH_TOKEN=tok jail --fs=bb --net=allow --profile=codex sh -c 'echo ${OPENAI_API_KEY:-unset}'
assert_eq "$out" "unset" "OPENAI_API_KEY stays out of a filtered jail"
assert_contains "$err" "OPENAI_API_KEY stays outside the jail"
OPENAI_API_KEY=sk-real AJAIL_ENV_OPENAI_API_KEY=sk-real jail --fs=bb -q --net=allow --profile=codex sh -c 'echo ${OPENAI_API_KEY:-unset}'
assert_eq "$out" "sk-real" "AJAIL_ENV_ passes it on purpose"
jail --fs=bb --profile=nope true
assert_rc 2 "unknown profile"
assert_contains "$err" "no such profile"
assert_contains "$err" "claude"
jail --fs=bb --net=allow true
assert_rc 2 "--net=allow with nothing allowed"
assert_contains "$err" "--allow-net"
jail --fs=bb --net=allow --profile=claude --dry-run true
assert_rc 0 "--net=allow with a profile"
assert_contains "$out" "@claude" "the profile's network preset"
assert_contains "$out" "profile:     claude (shipped)" "--dry-run names the profile"
assert_missing "$state/claude-dry" "--dry-run makes nothing"

# The user's own profile replaces the shipped one.
mkdir -p "$T/xdg/ajail/profiles"
printf '# mine\nstate .mine/\nset MINE=1\n' >"$T/xdg/ajail/profiles/claude"
XDG_CONFIG_HOME=$T/xdg jail --fs=bb --profile=claude sh -c 'echo $MINE; ls -a /root'
assert_contains "$out" "1" "the user's profile"
assert_contains "$out" ".mine"
assert_not_contains "$out" ".claude.json" "it replaces the shipped one whole"
assert_contains "$err" "$T/xdg/ajail/profiles/claude" "the status block says whose profile"
printf 'state /etc\n' >"$T/xdg/ajail/profiles/claude"
XDG_CONFIG_HOME=$T/xdg jail --fs=bb --profile=claude true
assert_rc 2 "a broken profile"
assert_contains "$err" "line 1"
ok "profiles"

# ---- ajail state ----
jail state list --json
assert_rc 0 "state list"
assert_contains "$out" '"name": "claude"'
assert_contains "$out" '"in_use": false'
"$AJAIL" -q --fs=bb --profile=claude sleep 3 </dev/null >/dev/null 2>&1 &
sleep 1
jail state rm claude
assert_rc 1 "state rm of a state in use"
assert_contains "$err" "in use"
wait
jail state rm claude
assert_rc 0 "state rm"
assert_missing "$state/claude"
jail state rm claude
assert_rc 2 "state rm of what is not there"
jail state list
assert_not_contains "$out" "claude"
ok "state list and rm"

# ---- --home-edit of a path the rootfs lacks: the original's example ----
jail --fs=bb -q --no-profile --home-edit=.claude --home-edit=.claude.json --home-edit=.bashrc --home-edit=notes.d/ true
assert_rc 0 "--home-edit=.claude --home-edit=.claude.json on a fresh rootfs"
[ -d "$ROOTFS/root/.claude" ] || fail ".claude is made a directory"
[ -f "$ROOTFS/root/.claude.json" ] && [ "$(cat "$ROOTFS/root/.claude.json")" = "{}" ] || fail ".claude.json is made a file"
[ -f "$ROOTFS/root/.bashrc" ] || fail ".bashrc is made a file"
[ -d "$ROOTFS/root/notes.d" ] || fail "a trailing / makes a directory"
jail --fs=bb -q --home-edit=.claude.json/ true
assert_rc 2 "a file named as a directory"
# An explicit --home-edit wins over the profile's state, as the user asked.
jail --fs=bb -q --profile=claude --home-edit=.claude.json sh -c 'echo kept >/root/.claude.json'
assert_eq "$(cat "$ROOTFS/root/.claude.json")" "kept" "--home-edit of a profile's path goes to the rootfs"
# A rootfs with the other kind where a profile keeps a path: one line that says what to do, which works.
rm -f "$ROOTFS/root/.claude.json" && mkdir "$ROOTFS/root/.claude.json"
jail --fs=bb -q --profile=claude true
assert_rc 2 "a directory where the profile keeps a file"
assert_contains "$err" "rootfs bb has a directory there"
jail --fs=bb -q --fs-edit rm -r /root/.claude.json
assert_rc 0 "the remedy the message names"
jail --fs=bb -q --profile=claude true
assert_rc 0 "then the profile works"
ok "--home-edit makes the right kind"

# ---- the host's CA bundle ----
ca=/etc/ssl/certs/ca-certificates.crt
if [ -r "$ca" ]; then
	want="$(wc -c <"$ca") $(tail -n 2 "$ca" | head -n 1)"
	jail --fs=bb -q sh -c 'echo $SSL_CERT_FILE $NODE_EXTRA_CA_CERTS $REQUESTS_CA_BUNDLE $GIT_SSL_CAINFO; echo "$(wc -c <"$SSL_CERT_FILE") $(tail -n 2 "$SSL_CERT_FILE" | head -n 1)"'
	assert_eq "$out" "/run/ajail/ca-certificates.crt /run/ajail/ca-certificates.crt /run/ajail/ca-certificates.crt /run/ajail/ca-certificates.crt
$want" "the host's CA bundle, and the variables that point at it"
	jail --fs=bb -q --no-host-ca sh -c 'echo ${SSL_CERT_FILE:-unset}; ls /run/ajail 2>&1'
	assert_contains "$out" "unset" "--no-host-ca"
	jail --fs=bb -q --no-net sh -c 'echo ${SSL_CERT_FILE:-unset}'
	assert_eq "$out" "unset" "no network, no CA bundle"
	jail --fs=bb -q sh -c 'echo x >/run/ajail/ca-certificates.crt'
	assert_rc 1 "the bundle is read-only"
	[ "$(wc -c <"$ca") $(tail -n 2 "$ca" | head -n 1)" = "$want" ] || fail "the host's bundle changed"
	# $SSL_CERT_FILE in the working directory, which a jail writes: a symlink it planted there is
	# never followed to a file of the user's that the jail could not read.
	mkdir -p "$T/caproj" "$T/private" && echo PRIVATE-KEY >"$T/private/key" && cp "$ca" "$T/caproj/ca.pem"
	(cd "$T/caproj" && SSL_CERT_FILE=$T/caproj/ca.pem "$AJAIL" -q --fs=bb sh -c 'rm ca.pem; ln -s '"$T/private/key"' ca.pem' </dev/null)
	(cd "$T/caproj" && SSL_CERT_FILE=$T/caproj/ca.pem "$AJAIL" -q --fs=bb sh -c 'head -c 200 /run/ajail/ca-certificates.crt' </dev/null) >"$T/ca.out" 2>&1
	grep -q PRIVATE "$T/ca.out" && fail "a symlink planted as \$SSL_CERT_FILE was followed"
	grep -q "BEGIN CERTIFICATE" "$T/ca.out" || fail "the system bundle instead: $(cat "$T/ca.out")"
	ok "host CA"
fi

# ---- git identity and push in a clone (the host rootfs has git) ----
if command -v git >/dev/null; then
	mkdir repo && cd repo
	git init -q -b main . && git config user.name "Repo User" && git config user.email repo@example.com
	echo a >a && git add a && git commit -qm a
	jail --fs=host -q --clone sh -c 'echo b >b && git add b && git commit -qm b && git log -1 --format="%an <%ae>|%cn"; git push origin HEAD; echo push=$?'
	assert_rc 0 "a commit in a clone with no git variables"
	assert_contains "$out" "Repo User <repo@example.com>|Repo User" "the repository's identity in the clone"
	assert_contains "$out" "push=1" "a push to the read-only origin fails"
	assert_contains "$err" "read-only in this jail" "...and says why"
	assert_contains "$err" "delivers" "...and how work leaves a clone"
	assert_contains "$err" "delivered 1 commit" "-q still says where the work went"
	jail --fs=host -q --clone true
	assert_contains "$err" "nothing delivered" "-q still says nothing was delivered"
	git config user.name "$(printf 'Evil\033]0;x\007')"
	jail --fs=host -q --clone sh -c 'git config user.name || echo none'
	assert_not_contains "$out" "Evil" "a name with control characters is not copied"
	cd "$T"
	ok "git identity and push"
fi
