# The command runs, its exit status and signals pass through, errors are clear.
. "$(dirname "$0")/libtest.sh"
cd "$T"

jail --fs=bb -q true
assert_rc 0 "true"
assert_eq "$err" "" "--quiet prints nothing"

jail --fs=bb -q sh -c 'exit 7'
assert_rc 7 "exit status passes through"

jail --fs=bb -q sh -c 'kill -TERM $$'
assert_rc 143 "killed by SIGTERM is 128+15"
jail --fs=bb -q sh -c 'kill -KILL $$'
assert_rc 137 "killed by SIGKILL is 128+9"

jail --fs=bb -q no-such-command-xyz
assert_rc 127 "command not found"
assert_contains "$err" "no-such-command-xyz" "the error names the command"
assert_contains "$err" "not found" "the error says not found"

jail --fs=bb -q /etc/passwd
assert_rc 126 "a file that is not executable"

jail --fs=bb --no-such-option true
assert_rc 2 "unknown option is a usage error"
assert_contains "$err" "--no-such-option" "usage error names the option"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "a usage error is one line: $err"

jail --fs=bb --mount=onlyone true
assert_rc 2 "malformed --mount"

jail --fs=bb -q sh -c 'id -u; hostname; echo $HOME; echo $USER; echo $IS_SANDBOX'
assert_rc 0
assert_eq "$out" "0
localhost
/root
root
1" "identity inside"

FOO_HOST_SECRET=leak jail --fs=bb -q env
assert_not_contains "$out" "FOO_HOST_SECRET" "host environment is cleared"
assert_contains "$out" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "PATH is set"
# ...and the variables that point TLS clients at the host's CA bundle (t_agents_setup.sh tests them).
n=$(printf '%s\n' "$out" | grep -cv -e '^HOME=' -e '^USER=' -e '^PATH=' -e '^TERM=' -e '^IS_SANDBOX=' -e '^PWD=' -e '^SHLVL=' -e '^GIT_CONFIG_' -e '=/run/ajail/ca-certificates.crt$')
[ "$n" -eq 0 ] || fail "unexpected variables inside: $out"

AJAIL_ENV_FOO=bar AJAIL_ENV_HOME=/tmp jail --fs=bb -q sh -c 'echo $FOO $HOME'
assert_eq "$out" "bar /tmp" "AJAIL_ENV_ sets variables inside"

AJAIL_ARGS='--fs=bb; --quiet;--no-net' jail sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "'
assert_rc 0 "AJAIL_ARGS"
assert_eq "$err" "" "AJAIL_ARGS --quiet took effect"
assert_eq "$out" "lo" "AJAIL_ARGS --no-net took effect"

AJAIL_ARGS='sh' jail --fs=bb true
assert_rc 2 "a command in AJAIL_ARGS is refused"
assert_contains "$err" "AJAIL_ARGS"

# The default command is bash, or sh in a rootfs without bash; it reads stdin.
out=$(echo 'echo from-default-shell' | "$AJAIL" --fs=bb -q 2>&1)
assert_eq "$out" "from-default-shell" "default shell"

# Status block on stderr, command output on stdout.
jail --fs=bb echo hi
assert_eq "$out" "hi"
assert_contains "$err" "rootfs   bb"
assert_contains "$err" "cwd      $T"

jail --fs=bb --dry-run echo hi
assert_rc 0 "--dry-run"
assert_contains "$out" "overlay" "dry-run shows the root overlay"
assert_contains "$out" "$T" "dry-run shows the cwd mount"
assert_not_contains "$out" "hi
" "dry-run runs nothing"

jail --help
assert_rc 0
assert_contains "$out" "Usage: ajail"
jail --version
assert_contains "$out" "ajail "

jail -- fs
assert_rc 127 "ajail -- fs runs a program named fs"

# Capabilities: none by default, --cap-add keeps one.
jail --fs=bb -q sh -c 'grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr -s "\t" " "'
assert_eq "$out" "CapEff: 0000000000000000
CapBnd: 0000000000000000" "no capabilities inside"
jail --fs=bb -q --cap-add=NET_RAW sh -c 'grep -E "^CapEff" /proc/self/status | tr -s "\t" " "'
assert_eq "$out" "CapEff: 0000000000002000" "--cap-add=NET_RAW keeps only that one"
jail --fs=bb -q --cap-add=BOGUS true
assert_rc 2 "an unknown capability"

# A new session unless the kernel has disabled TIOCSTI; --new-session forces it.
jail --fs=bb -q --new-session sh -c 'cut -d" " -f6 /proc/self/stat'
assert_eq "$out" "1" "--new-session: the jail's init leads the session"
if [ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" != 0 ]; then
	jail --fs=bb -q sh -c 'cut -d" " -f6 /proc/self/stat'
	assert_eq "$out" "1" "legacy TIOCSTI allowed: a new session by default"
fi

# The kernel refusing user namespaces is explained with the sysctl to change. user.max_user_namespaces
# is per user namespace, so lowering it in a throw-away one shows the failure without touching the host.
if unshare -U -r true 2>/dev/null; then
	out=$(unshare -U -r sh -c "echo 0 > /proc/sys/user/max_user_namespaces && '$AJAIL' -q --fs=host true" 2>&1)
	rc=$?
	assert_rc 1 "no user namespaces allowed"
	assert_contains "$out" "user.max_user_namespaces" "the error names the sysctl"
fi

# A working directory that is gone or unreadable.
mkdir "$T/gone" && cd "$T/gone" && rmdir "$T/gone"
jail --fs=bb -q true
assert_rc 1 "a deleted cwd"
assert_contains "$err" "working directory"
cd "$T"
if [ "$(id -u)" != 0 ]; then
	mkdir -p "$T/locked/in" && cd "$T/locked/in" && chmod 000 "$T/locked/in"
	jail --fs=bb -q true
	chmod 755 "$T/locked/in"
	cd "$T"
	assert_rc 1 "an unreadable cwd"
	assert_contains "$err" "working directory"
fi

# ajail doctor: can this machine run jails?
jail doctor
assert_rc 0 "doctor on a machine that runs jails"
assert_contains "$out" "ok   user namespaces"
assert_contains "$out" "ok   overlayfs in a user namespace"
for check in landlock seccomp "cgroup v2 limits"; do assert_contains "$out" " $check " "doctor reports $check"; done
jail doctor --json
assert_contains "$out" '"ok": true'
jail doctor --bogus
assert_rc 2 "doctor with a bad argument"
if unshare -U -r true 2>/dev/null; then
	out=$(unshare -U -r sh -c "echo 0 > /proc/sys/user/max_user_namespaces && '$AJAIL' doctor" 2>&1)
	rc=$?
	assert_rc 1 "doctor where user namespaces are refused"
	assert_contains "$out" "FAIL user namespaces"
	assert_contains "$out" "max_user_namespaces"
fi

# Installed setuid or setgid, ajail refuses to run, whoever runs it (an owner's run has equal ids).
for bits in u+s g+s; do
	cp "$AJAIL" "$T/ajail-bits" && chmod "$bits" "$T/ajail-bits"
	out=$("$T/ajail-bits" --fs=bb true 2>&1)
	rc=$?
	assert_rc 1 "ajail with $bits"
	assert_contains "$out" "refusing to run setuid or setgid" "ajail with $bits says why"
	rm -f "$T/ajail-bits"
done
