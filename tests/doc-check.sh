#!/bin/bash
# tests/doc-check.sh — the documentation says what the program does (make doc-check; make check).
#
# The options are named in five places: the parser (optdefs[] in src/cli.c), `ajail --help`, the
# README's options table, the man page and the bash completion. `ajail --help` is the reference: every
# option it defines is in each of the others, and each of them names no option it lacks. The man page
# is also rendered as man(1) shows it: groff must not warn, and no line may overflow 80 columns.
#
# usage: bash tests/doc-check.sh [AJAIL [MANPAGE]]   (default ./ajail build/ajail.1, from the top)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ajail=${1:-$top/ajail}
manpage=${2:-$top/build/ajail.1}
readme=$top/README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ajail-doc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

[ -x "$ajail" ] || { echo "doc-check: $ajail is not built; run make" >&2; exit 1; }
[ -f "$manpage" ] || { echo "doc-check: $manpage is not built; run make" >&2; exit 1; }
command -v man >/dev/null || { echo "doc-check: man is not installed; run 'make deps' (man-db, groff-base)" >&2; exit 1; }

# ---- the man page renders cleanly ----------------------------------------------------------------
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$manpage" >"$tmp/man.txt" 2>"$tmp/man.err"
rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/man.err" ]; then
	fail "man --warnings -l $manpage (exit $rc): $(cat "$tmp/man.err")"
else
	ok "man --warnings -l renders the page without a warning"
fi
wide=$(LC_ALL=C.UTF-8 awk 'length($0) > 80 { printf "  %d columns: %s\n", length($0), $0 }' "$tmp/man.txt")
if [ -n "$wide" ]; then
	fail "lines of the man page wider than 80 columns (shorten the help text or example they come from):
$wide"
else
	ok "no line of the man page is wider than 80 columns"
fi
# Without hyphenation or justification, so that every option stays whole on one line to be found.
LC_ALL=C.UTF-8 MANWIDTH=200 man --nh --nj -l "$manpage" 2>/dev/null >"$tmp/man-flat.txt"

# ---- the option lists ----------------------------------------------------------------------------
# `ajail --help`: the option column of every definition line ("  -q, --quiet   no status block").
"$ajail" --help >"$tmp/help.txt" || fail "ajail --help exited $?"
sed -nE 's/^  (-[^ ]+(, -[^ ]+)*)(  .*)?$/\1/p' "$tmp/help.txt" | grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' |
	tr -d ' ,' | sort -u >"$tmp/help.opts"
[ -s "$tmp/help.opts" ] || fail "found no option definitions in ajail --help"

# optdefs[] in src/cli.c: { "name", 'c' or 0, ... }.
sed -n '/optdefs\[\] = {/,/^};/p' "$top/src/cli.c" |
	sed -nE "s/^[[:space:]]*\{ \"([a-z-]+)\", ('(.)'|0),.*/--\1 \3/p" |
	while read -r long short; do
		echo "$long"
		[ -z "$short" ] || echo "-$short"
	done | sort -u >"$tmp/src.opts"
[ -s "$tmp/src.opts" ] || fail "found no optdefs[] in src/cli.c"

# The README's options table: the first column of the table under "### Options".
awk '/^### Options/ { on = 1; next } on && /^\|/ { print; seen = 1; next } on && seen { exit }' "$readme" |
	cut -d'|' -f2 | grep -oE '`-[^`]*`' | grep -oE '(^`|[ ,/])?--?[A-Za-z][A-Za-z0-9-]*' |
	sed -E 's/^[`, \/]//' | grep -vx -- '-' | sort -u >"$tmp/readme.opts"
[ -s "$tmp/readme.opts" ] || fail "found no options table under '### Options' in README.md"

# The bash completion's option lists (long options with their '=', short ones).
sed -n '/^__ajail_long_opts=(/,/)/p; /^__ajail_short_opts=(/p' "$top/completions/ajail.bash" |
	grep -oE '(^|[ (	])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' (\t' | sort -u >"$tmp/bash.opts"

# compare NAME FILE: both directions against --help.
compare() {
	local name=$1 file=$2 missing extra
	missing=$(comm -23 "$tmp/help.opts" "$file" | tr '\n' ' ')
	extra=$(comm -13 "$tmp/help.opts" "$file" | tr '\n' ' ')
	[ -z "$missing" ] || fail "$name lacks options that ajail --help defines: $missing"
	[ -z "$extra" ] || fail "$name has options that ajail --help does not define: $extra"
	[ -n "$missing$extra" ] || ok "$name names the same $(wc -l <"$tmp/help.opts") options as ajail --help"
}
compare "the parser (optdefs[] in src/cli.c)" "$tmp/src.opts"
compare "README.md's options table" "$tmp/readme.opts"
compare "completions/ajail.bash" "$tmp/bash.opts"

# The man page: each option as man shows it, whole (not a prefix of a longer one).
missing=
while read -r opt; do
	grep -qE -- "(^|[^A-Za-z0-9-])$opt([^A-Za-z0-9-]|\$)" "$tmp/man-flat.txt" || missing="$missing $opt"
done <"$tmp/help.opts"
[ -z "$missing" ] && ok "the man page shows every option of ajail --help" ||
	fail "the man page lacks options of ajail --help:$missing (rebuild it: make build/ajail.1)"

# The page is as old as the binary it describes: make rebuilds it, but a hand-made one could lag.
if [ "$manpage" -ot "$ajail" ]; then
	fail "$manpage is older than $ajail; run make"
fi

[ "$fails" -eq 0 ] && echo "doc-check: all good" || echo "doc-check: $fails failed"
[ "$fails" -eq 0 ]
