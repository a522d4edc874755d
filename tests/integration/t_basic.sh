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
n=$(printf '%s\n' "$out" | grep -cv -e '^HOME=' -e '^USER=' -e '^PATH=' -e '^TERM=' -e '^IS_SANDBOX=' -e '^PWD=' -e '^SHLVL=' -e '^GIT_CONFIG_')
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
