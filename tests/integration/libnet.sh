# libnet.sh — sourced after libtest.sh by the network tests (t_net_allow, t_hostile_proxy).
# Gives: need_names NAME=ADDR... (the names run.sh puts in /etc/hosts must resolve so), $TOP (the
# test's temp dir, resolved), $AJAIL as a name of this test's own (its processes told from any other
# ajail's), $W (the jails' working directory, the cwd) and $OUT (the servers' logs, never mounted in a
# jail), leftovers, bg_pids (killed at exit, and an ajail process of this test still running then
# fails the test), and gap/gaps/gaps_report (a failed check is recorded and the run goes on, so one
# run names every failure).

need_names() {
	local nh got
	for nh in "$@"; do
		got=$(getent hosts "${nh%=*}" | awk '{print $1; exit}')
		[ "$got" = "${nh#*=}" ] || fail "${nh%=*} must resolve to ${nh#*=} on the host (got '$got'): run this through run.sh as root, which adds the names to /etc/hosts"
	done
}

TOP=$(cd "$T" && pwd -P)
ln -s "$AJAIL" "$TOP/ajail" && AJAIL="$TOP/ajail"
W="$TOP/w"
OUT="$TOP/out"
mkdir -p "$W" "$OUT"
cd "$W" || fail "cd $W"

# ajail processes of this test still running (zombies waiting for their reaper are not running).
leftovers() {
	local p st
	for p in $(pgrep -f "$AJAIL" 2>/dev/null; pgrep -x 'ajail-proxy|ajail-publish' 2>/dev/null); do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
		[ "$st" != Z ] || continue
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in "$AJAIL "*) echo "$p: $(tr '\0' ' ' <"/proc/$p/cmdline")" ;; esac
	done | sort -u
}

bg_pids=''
cleanup_net() {
	local status=$? p left
	for p in $bg_pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $bg_pids; do
		for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
	for _ in $(seq 60); do left=$(leftovers); [ -n "$left" ] || break; sleep 0.05; done
	if [ -n "$left" ]; then
		echo "FAIL: ajail processes of this test left running at its exit: $left" >&2
		for p in $(cut -d: -f1 <<<"$left"); do kill -KILL "$p" 2>/dev/null; done
		status=1
	fi
	chmod -R u+rwx "$T" 2>/dev/null
	cleanup_test
	exit "$status"
}
trap cleanup_net EXIT

gaps=()
gap() {
	echo "FAIL: $*" >&2
	gaps+=("$*")
}
# At the end of a test: fail if any check did.
gaps_report() {
	if [ "${#gaps[@]}" -gt 0 ]; then
		echo "FAIL: ${#gaps[@]} check(s) failed:" >&2
		printf '  %s\n' "${gaps[@]}" >&2
		exit 1
	fi
}
