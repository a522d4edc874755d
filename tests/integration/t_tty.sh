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

# The first --clone of a large repository checks out its base for seconds: at a terminal a progress
# line says so (and is cleared), with -q or without a terminal nothing. 40,000 files of one blob.
mkdir -p "$T/big" && git -C "$T/big" init -q
{
	echo 'blob'; echo 'mark :1'; echo 'data 2'; echo 'x'
	echo 'commit refs/heads/master'; echo 'committer t <t@t> 1700000000 +0000'; echo 'data 3'; echo 'big'
	for i in $(seq 1 40000); do echo "M 100644 :1 d$((i % 200))/f$i"; done
} | git -C "$T/big" fast-import --quiet
git -C "$T/big" checkout -q master 2>/dev/null || git -C "$T/big" reset -q --hard master
# Without a terminal first (it makes this commit's base), then at one, on a new commit (a new base).
out=$(cd "$T/big" && "$AJAIL" --fs=bb --clone true 2>&1 </dev/null)
assert_not_contains "$out" "checking out" "no progress line without a terminal"
git -C "$T/big" -c user.name=t -c user.email=t@t commit -q --allow-empty -m again
out=$(cd "$T/big" && script -qec "'$AJAIL' --fs=bb --clone true" /dev/null </dev/null | tr '\r' '\n')
assert_contains "$out" "ajail: checking out base " "a progress line at a terminal"
assert_contains "$out" "/40000 files" "it counts the files"
ok "the first --clone's checkout shows a progress line at a terminal only"
