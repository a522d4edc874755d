# At a terminal, the command gets a pty of the jail's own as its controlling terminal.
. "$(dirname "$0")/libtest.sh"
command -v script >/dev/null || fail "script (util-linux) is needed"
cd "$T"
# script gives ajail a terminal whose foreground it is in.
out=$(script -qec "'$AJAIL' --fs=bb -q sh -c 'tty; test -t 0 && test -t 1 && echo both-ttys; cut -d\" \" -f6 /proc/self/stat; exit 4'" /dev/null </dev/null | tr -d '\r')
rc=$?
assert_contains "$out" "/dev/pts/" "the command has a terminal"
assert_contains "$out" "both-ttys"
# Its own session (sid = its own pid, not the init's 1): it leads a session on the jail's pty.
sid=$(printf '%s\n' "$out" | sed -n 3p)
[ -n "$sid" ] && [ "$sid" != 0 ] && [ "$sid" != 1 ] || fail "the command should lead its own session: $out"
# script returns the child's status
out=$(script -qec "'$AJAIL' --fs=bb -q sh -c 'exit 4'" /dev/null </dev/null; echo "rc=$?")
assert_contains "$out" "rc=4" "exit status through the pty"
# Output redirected away from the terminal stays redirected.
script -qec "'$AJAIL' --fs=bb -q sh -c 'echo to-file' > '$T/redir'" /dev/null </dev/null >/dev/null
assert_eq "$(cat "$T/redir")" "to-file" "stdout redirected to a file is not replaced by the pty"
