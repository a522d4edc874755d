# Per-project options: a repository's .ajail.conf applies only once the user trusts that very content;
# an untrusted, changed, symlinked or malformed one is ignored with one line, and nothing is written
# outside $AJAIL_HOME.
. "$(dirname "$0")/libtest.sh"
repo=$(cd "$T" && pwd -P)/repo
conf=$repo/.ajail.conf
mkdir -p "$repo/.git" "$repo/sub" "$repo/build"
echo s3cret >"$repo/secret"
printf '# keep the key out of the jail\n--hide=secret\n\n' >"$conf"
cd "$repo"
# Everything in the repository now; the runs below may change nothing in it but what a test writes.
listing() { (cd "$repo" && find . -path ./scratch -prune -o -printf '%p %s %T@\n' | sort); }

jail --fs=bb cat secret
assert_rc 0 "untrusted file"
assert_eq "$out" "s3cret" "an untrusted file's options are ignored"
assert_contains "$err" "ajail: $conf is not trusted; its options are ignored (review them with 'ajail trust')"
assert_contains "$err" "ajail: project  $conf (not trusted: ignored)" "the status says so"
[ "$(printf '%s\n' "$err" | grep -c 'not trusted; its options')" -eq 1 ] || fail "one warning line: $err"

# From a subdirectory the file at the top of the work tree is the one.
(cd sub && "$AJAIL" --fs=bb true) >"$T/o" 2>"$T/e" </dev/null
assert_contains "$(cat "$T/e")" "ajail: $conf is not trusted" "from a subdirectory, the top's file"

before=$(listing)

# No terminal to ask on, no --yes: exit 2, one line saying so, nothing recorded.
setsid -w "$AJAIL" trust >"$T/o" 2>"$T/e" </dev/null
rc=$?
out=$(cat "$T/o") err=$(cat "$T/e")
assert_rc 2 "trust without a terminal"
assert_contains "$err" "no terminal" "trust without a terminal"
assert_contains "$err" "--yes"
assert_contains "$out" "--hide=secret" "the options are shown even so"
assert_missing "$AJAIL_HOME/trust/$(printf '%s' "$conf" | sha256sum | cut -d' ' -f1)" "nothing recorded"

jail trust --help
assert_rc 0 "trust --help"
assert_contains "$out" "Usage: ajail trust"
jail trust --bogus
assert_rc 2 "trust with an unknown option"

jail trust --yes
assert_rc 0 "trust --yes"
assert_contains "$out" "--hide=secret"
assert_contains "$out" "Trusted $conf"
record="$AJAIL_HOME/trust/$(printf '%s' "$conf" | sha256sum | cut -d' ' -f1)"
assert_exists "$record" "the record is named by the SHA-256 of the file's path"
assert_contains "$(cat "$record")" "sha256 $(sha256sum <"$conf" | cut -d' ' -f1)" "the record holds the content's hash"
assert_eq "$(stat -c %a "$AJAIL_HOME/trust")" "700" "the trust directory is private"
jail trust --yes
assert_contains "$out" "Already trusted" "trusting twice"

jail --fs=bb cat secret
assert_rc 0 "trusted file"
assert_eq "$out" "" "--hide=secret from the trusted file applies"
assert_contains "$err" "ajail: project  $conf (trusted, applied): --hide=secret"
assert_not_contains "$err" "not trusted"
jail --fs=bb -v true
assert_contains "$err" "options from $conf: --hide=secret" "-v names them"
jail --fs=bb --dry-run true
assert_contains "$out" "project:     $conf (trusted, applied): --hide=secret" "--dry-run shows it applied"

# Skipping the file altogether.
jail --fs=bb --no-project cat secret
assert_eq "$out" "s3cret" "--no-project"
assert_not_contains "$err" "project" "--no-project: not a word of it"
jail --fs=bb --no-project --dry-run true
assert_contains "$out" "project:     skipped" "--dry-run says it was skipped"
AJAIL_NO_PROJECT=1 jail --fs=bb -q cat secret
assert_eq "$out" "s3cret" "AJAIL_NO_PROJECT=1"
assert_eq "$err" "" "AJAIL_NO_PROJECT=1: no warning either"

# The command line wins: the file's --ro makes writes vanish, a command-line --rw after it keeps them.
printf -- '--ro\n--hide=secret\n--rw=build\n' >"$conf"
jail --fs=bb cat secret
assert_contains "$err" "ajail: $conf has changed since you trusted it; ignored until you run 'ajail trust' again"
assert_eq "$out" "s3cret" "a changed file is ignored"
jail trust --list
assert_contains "$out" "changed    $conf" "trust --list: changed"
jail trust --yes
assert_rc 0
assert_contains "$out" "loosens: --rw=build: the jail can change build on the host" "the loosening option is marked"
assert_contains "$out" "It has changed since you trusted it"
mkdir -p scratch
jail --fs=bb -q sh -c 'echo x > scratch/a; echo y > build/b; cat secret'
assert_rc 0
assert_eq "$out" "" "the file's --hide applies"
assert_missing "$repo/scratch/a" "the file's --ro: writes vanish"
assert_exists "$repo/build/b" "the file's --rw=build: writes reach the host"
rm -f "$repo/build/b"
jail --fs=bb -q --rw sh -c 'echo x > scratch/a'
assert_exists "$repo/scratch/a" "a command-line --rw beats the file's --ro"
# AJAIL_ARGS comes first, then the file: the file's --ro beats AJAIL_ARGS' --rw.
AJAIL_ARGS='--rw' jail --fs=bb -q sh -c 'echo x > scratch/c'
assert_missing "$repo/scratch/c" "the file's options come after AJAIL_ARGS"
rm -rf "$repo/scratch"

# --lockdown on the command line leaves out the file's loosening options, as those of AJAIL_ARGS.
jail --fs=bb --lockdown sh -c 'cat secret; echo y > build/b'
assert_eq "$out" "" "the file's --hide still applies under --lockdown"
assert_contains "$err" "left out --rw=build" "--lockdown names what it left out"
assert_missing "$repo/build/b" "--lockdown: build is not writable"

# Malformed: a command, or a ';', makes the whole file ignored with one line naming file:line.
printf -- '--hide=secret\nmake test\n' >"$conf"
jail --fs=bb cat secret
assert_eq "$out" "s3cret" "a malformed file is ignored entirely"
assert_contains "$err" "$conf:2: 'make test' is not an option"
jail trust --yes
assert_rc 1 "a malformed file cannot be trusted"
printf -- '--hide=secret;--rw=/\n' >"$conf"
jail --fs=bb cat secret
assert_contains "$err" "$conf:1: ';' is not allowed"
assert_eq "$out" "s3cret"
# Control characters are never printed raw.
printf -- '--hide=\033[31mred\n' >"$conf"
jail --fs=bb true
assert_contains "$err" '\x1b[31m' "escaped"
case $err in *$'\033'*) fail "an escape character reached the terminal: $err" ;; esac

# A symlink is not followed, even to content the user trusted.
printf -- '--hide=secret\n' >"$T/elsewhere.conf"
rm -f "$conf"
ln -s "$T/elsewhere.conf" "$conf"
jail trust --yes
assert_rc 1 "trust refuses a symlink"
assert_contains "$err" "is a symlink"
cp "$T/elsewhere.conf" "$T/real.conf" && rm "$conf" && mv "$T/real.conf" "$conf"
jail trust --yes
assert_rc 0
rm "$conf" && ln -s "$T/elsewhere.conf" "$conf"
jail --fs=bb cat secret
assert_eq "$out" "s3cret" "a symlinked .ajail.conf is ignored, even with trusted content"
assert_contains "$err" "$conf is a symlink"
rm "$conf"

# A fifo does not hang ajail; a huge file is refused.
mkfifo "$conf"
timeout 10 "$AJAIL" --fs=bb cat secret >"$T/o" 2>"$T/e" </dev/null
rc=$?
assert_rc 0 "a fifo in place of the file"
assert_contains "$(cat "$T/e")" "not a regular file"
rm "$conf"
head -c 70000 /dev/zero | tr '\0' '#' >"$conf"
jail --fs=bb -q true
assert_rc 0
jail --fs=bb true
assert_contains "$err" "larger than 64 KiB"
rm "$conf"

# No file: nothing said.
jail --fs=bb true
assert_not_contains "$err" "project"

jail trust --list --json
assert_rc 0
assert_contains "$out" "\"state\": \"missing\"" "trust --list: missing"
jail trust --revoke
assert_rc 0 "revoke"
assert_contains "$out" "no longer trusted"
jail trust --list
assert_contains "$out" "No project file is trusted"

# Nothing written outside $AJAIL_HOME: the repository is as it was (the test's own writes aside).
after=$(listing)
[ "$(printf '%s\n' "$before" | grep -v -e '\./\.ajail\.conf' -e '^\. ' -e '\./build ')" = \
	"$(printf '%s\n' "$after" | grep -v -e '\./\.ajail\.conf' -e '^\. ' -e '\./build ')" ] ||
	fail "the repository changed: $(diff <(echo "$before") <(echo "$after"))"
extra=$(find "$AJAIL_HOME" -path "$AJAIL_HOME/fs" -prune -o -path "$AJAIL_HOME/trust" -prune -o -mindepth 1 -print)
[ -z "$extra" ] || fail "unexpected files in the store: $extra"
ok "per-project options"
