# Help and usage errors: every verb's --help (and -h) is its own usage on stdout with exit 0, -V is
# --version, and a command with missing or extra arguments says in one line what is wrong and how to
# find what it wants, with exit 2.
. "$(dirname "$0")/libtest.sh"

# help VERB...: `ajail VERB... --help` and `ajail VERB... -h` print VERB's own usage, an example,
# nothing on stderr, exit 0.
help() {
	local flag first
	for flag in --help -h; do
		jail "$@" "$flag"
		assert_rc 0 "ajail $* $flag"
		first=${out%%$'\n'*}
		case $first in "Usage: ajail $*"*) ;; *) fail "ajail $* $flag: the first line is not its own usage: $first" ;; esac
		assert_eq "$err" "" "ajail $* $flag writes nothing on stderr"
		assert_contains "$out" "Example" "ajail $* $flag has an example"
	done
	ok "ajail $* --help and -h: its own usage"
}

# usage_error WANT... -- ARGS...: `ajail ARGS...` exits 2 with one line on stderr that holds each WANT.
usage_error() {
	local want=()
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	jail "$@"
	assert_rc 2 "ajail $*"
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "ajail $*: expected one line on stderr, got: $err"
	assert_contains "$err" "ajail: " "ajail $*"
	assert_not_contains "$err" "wrong arguments" "ajail $*"
	local w
	for w in "${want[@]}"; do assert_contains "$err" "$w" "ajail $*"; done
	ok "ajail $*: $err"
}

# The whole program's.
for flag in --help -h; do
	jail "$flag"
	assert_rc 0 "ajail $flag"
	case $out in "Usage: ajail [OPTIONS]"*) ;; *) fail "ajail $flag: ${out%%$'\n'*}" ;; esac
done
ok "ajail --help and -h"
for flag in -V --version; do
	jail "$flag"
	assert_rc 0 "ajail $flag"
	[[ $out =~ ^ajail\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "ajail $flag: expected 'ajail VERSION', got: $out"
	assert_eq "$err" "" "ajail $flag writes nothing on stderr"
done
ok "ajail -V and --version: $out"
jail -qV
assert_rc 0 "-V bundled with -q"
[[ $out =~ ^ajail\ [0-9] ]] || fail "ajail -qV: $out"
jail --help
assert_contains "$out" "-V, --version" "--help names -V"

# Each verb's, and each subcommand's.
for sub in import list rm build cp export; do help fs "$sub"; done
for sub in list show rm gc sync; do help clone "$sub"; done
for sub in list rm path; do help state "$sub"; done
help trust
help doctor
jail state ls --help
case $out in "Usage: ajail state list"*) ;; *) fail "state ls --help: ${out%%$'\n'*}" ;; esac

# The overviews stay: each names every subcommand, and points at their own --help.
jail fs --help
assert_rc 0 "fs --help"
for sub in import list rm build cp export; do assert_contains "$out" "ajail fs $sub" "fs --help"; done
assert_contains "$out" "ajail fs COMMAND --help"
jail clone --help
assert_rc 0 "clone --help"
for sub in list show rm gc sync; do assert_contains "$out" "ajail clone $sub" "clone --help"; done
jail state --help
assert_rc 0 "state --help"
for sub in list rm path; do assert_contains "$out" "ajail state $sub" "state --help"; done
jail fs
assert_rc 2 "fs without a command"
assert_contains "$err" "Usage: ajail fs" "fs without a command shows the overview on stderr"
ok "the overviews of fs, clone and state"

# Help wins over what else the line holds: extra words, options the command would refuse.
jail fs import -h extra args
assert_rc 0 "fs import -h extra args"
case $out in "Usage: ajail fs import"*) ;; *) fail "fs import -h extra args: ${out%%$'\n'*}" ;; esac
jail fs import --bogus --help
assert_rc 0 "fs import --bogus --help"
case $out in "Usage: ajail fs import"*) ;; *) fail "fs import --bogus --help: ${out%%$'\n'*}" ;; esac
jail clone show a b -h
assert_rc 0 "clone show a b -h"
case $out in "Usage: ajail clone show"*) ;; *) fail "clone show a b -h: ${out%%$'\n'*}" ;; esac
jail doctor --bogus -h
assert_rc 0 "doctor --bogus -h"
# After "--", -h is a name, not a request for help.
jail fs rm -- -h
assert_rc 2 "fs rm -- -h"
ok "-h wins over extra words and unknown options, but not after --"

# Help needs no store: nothing is made for it.
AJAIL_HOME="$T/nostore" "$AJAIL" fs list --help >/dev/null
AJAIL_HOME="$T/nostore" "$AJAIL" clone gc --help >/dev/null
AJAIL_HOME="$T/nostore" "$AJAIL" state rm --help >/dev/null
assert_missing "$T/nostore" "help makes no store"
ok "help touches no store"

# Missing or extra arguments: one line naming what is wrong and where to look.
usage_error "clone show" "ID" "ajail clone list" -- clone show
usage_error "one ID" -- clone show a b
usage_error "clone rm" "ajail clone list" -- clone rm
usage_error "takes no ID" "'x'" -- clone list x
usage_error "takes no ID" "ajail clone rm" -- clone gc x
usage_error "--json" "ajail clone list" -- clone show --json x
usage_error "--force" "ajail clone rm" -- clone gc --force
usage_error "unknown option '--bogus'" "ajail clone show --help" -- clone show --bogus
usage_error "unknown command 'bogus'" "list, show, rm, gc, sync" -- clone bogus
usage_error "no workspace 'nope'" "ajail clone list" -- clone show nope
usage_error "state rm" "NAME" "ajail state list" -- state rm
usage_error "unknown option '-f'" -- state rm -f claude
usage_error "state path" "NAME" "ajail state list" -- state path
usage_error "one NAME" -- state path a b
usage_error "'.x' is not a state name" -- state path .x
usage_error "unknown argument 'x'" -- state list x
usage_error "unknown command 'bogus'" "list, rm, path" -- state bogus
usage_error "--list" "directory" -- trust --list "$T"
usage_error "--json goes with --list" -- trust --json
usage_error "--list and --revoke" -- trust --list --revoke
usage_error "--revoke and --yes" -- trust --revoke --yes
usage_error "one directory at most" "'b'" -- trust a b
usage_error "unknown option '--bogus'" -- trust --bogus
usage_error "unknown argument 'x'" "--json" -- doctor x
usage_error "unknown command 'bogus'" "import, list" -- fs bogus
usage_error "unknown command 'bogus'" -- fs bogus --help

exit 0
