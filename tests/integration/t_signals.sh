# Signals to ajail reach the command; when ajail dies, the jail dies.
. "$(dirname "$0")/libtest.sh"
cd "$T"

"$AJAIL" --fs=bb -q sh -c 'trap "echo got-term > term; exit 3" TERM; echo ready > ready; while :; do sleep 0.05; done' </dev/null &
pid=$!
for _ in $(seq 100); do [ -e ready ] && break; sleep 0.05; done
assert_exists ready "the command started"
kill -TERM "$pid"
wait "$pid"
rc=$?
assert_eq "$rc" 3 "the command's own exit status after its TERM handler"
assert_eq "$(cat term)" "got-term" "SIGTERM was forwarded"

marker=$((RANDOM * 7 + 10000))
"$AJAIL" --fs=bb -q sh -c "sleep $marker & sleep $marker" </dev/null &
pid=$!
for _ in $(seq 100); do pgrep -f "sleep $marker" >/dev/null && break; sleep 0.05; done
pgrep -f "sleep $marker" >/dev/null || fail "the jail did not start"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
for _ in $(seq 100); do pgrep -f "sleep $marker" >/dev/null || break; sleep 0.05; done
pgrep -f "sleep $marker" >/dev/null && fail "processes survived the supervisor: $(pgrep -af "sleep $marker")"

# Orphans are reaped by the jail's init: a double-forked child becomes a zombie otherwise.
jail --fs=bb -q sh -c '(sh -c "exit 0" &) ; sleep 0.3; ps -o stat,comm | grep -c "^Z" || true'
assert_eq "$out" "0" "no zombies inside"
