#!/usr/bin/env bash
# run.sh TARGET SECONDS — run build/fuzz/TARGET (make fuzz-build) over its committed seed corpus
# (tests/fuzz/corpus/TARGET/, every seed must pass) and then fuzz it for SECONDS, keeping what it
# finds in build/fuzz/corpus/TARGET/ (not in git). tests/fuzz/TARGET.options holds extra libFuzzer
# flags, one per line, and tests/fuzz/TARGET.dict a dictionary, when they exist.
#
# Exit 0 when nothing was found; else 1, with the reproducer's path and how to replay it.
# Extra libFuzzer flags can be given in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2).
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${1:?usage: run.sh TARGET SECONDS}
seconds=${2:?usage: run.sh TARGET SECONDS}
bin=build/fuzz/$target
seeds=tests/fuzz/corpus/$target
corpus=build/fuzz/corpus/$target
artifacts=build/fuzz/artifacts/$target
log=build/fuzz/$target.log

[ -x "$bin" ] || { echo "fuzz: $bin is missing; run 'make fuzz-build'" >&2; exit 2; }
[ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 2; }
mkdir -p "$corpus" "$artifacts"

flags=(-artifact_prefix="$artifacts/" -max_total_time="$seconds" -print_final_stats=1)
[ -f "tests/fuzz/$target.options" ] && mapfile -t -O ${#flags[@]} flags < <(grep -v '^\s*\(#\|$\)' "tests/fuzz/$target.options")
[ -f "tests/fuzz/$target.dict" ] && flags+=(-dict="tests/fuzz/$target.dict")
# shellcheck disable=SC2206
[ -n "${FUZZ_FLAGS:-}" ] && flags+=($FUZZ_FLAGS)

# Reproducers older than this run are not this run's findings.
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT

echo "== fuzz $target: the seeds of $seeds, then ${seconds}s of fuzzing (log: $log)"
# fuzz_import sandboxes itself: the host is read-only for it but for build/fuzz (see fuzz_import.c).
export AJAIL_FUZZ_RW=$PWD/build/fuzz
# The first corpus directory receives the new inputs; the seeds are only read.
set +e
"$bin" "${flags[@]}" "$corpus" "$seeds" >"$log" 2>&1
rc=$?
set -e
grep -aE '^(#[0-9]+ +(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' "$log" | sed 's/^/   /' || true
if [ "$rc" -eq 0 ]; then
	exit 0
fi
echo "fuzz: $target FAILED (exit $rc); the end of $log:" >&2
# (cat -v: the log quotes the input, which may hold any byte)
grep -avE '^#[0-9]+ ' "$log" | tail -n 40 | cat -v | sed 's/^/   /' >&2
found=$(find "$artifacts" -type f -newer "$stamp" | head -n 5)
if [ -n "$found" ]; then
	for f in $found; do
		echo "fuzz: reproducer: $f   (replay: $bin $f)" >&2
	done
else
	echo "fuzz: no reproducer was written (a failure of the harness itself?)" >&2
fi
exit 1
