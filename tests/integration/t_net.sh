# --no-net: a network namespace with only lo, and lo is up.
. "$(dirname "$0")/libtest.sh"
cd "$T"
ifaces='tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\n" " "'

jail --fs=bb -q --no-net sh -c "$ifaces"
assert_rc 0
assert_eq "$out" "lo " "--no-net sees only lo"
jail --fs=bb -q --no-net sh -c 'ip link show lo'
assert_contains "$out" "UP" "lo is up"
# TCP over lo: landlock denies TCP bind and connect with --no-net (a server on lo could be reached by
# nothing else anyway); without landlock the namespace's own lo works.
tcp_lo='nc -l -p 4242 -e echo hi & for i in $(seq 30); do nc 127.0.0.1 4242 </dev/null 2>/dev/null && break; sleep 0.1; done'
jail --fs=bb -q --no-net --no-landlock sh -c "$tcp_lo"
assert_contains "$out" "hi" "TCP over lo works inside --no-net --no-landlock"
if "$AJAIL" --fs=bb --no-net --dry-run true | grep -q "TCP bind and connect denied"; then
	jail --fs=bb -q --no-net sh -c 'nc -l -p 4243 -e echo hi 2>&1; echo "rc=$?"'
	assert_contains "$out" "Permission denied" "landlock denies TCP bind inside --no-net"
	assert_not_contains "$out" "rc=0" "the TCP listener did not start"
fi

host=$(sh -c "$ifaces")
jail --fs=bb -q sh -c "$ifaces"
assert_eq "$out" "$host" "without --no-net the host's interfaces are there"
jail --fs=bb -q cat /etc/resolv.conf
if [ -r /etc/resolv.conf ]; then assert_eq "$out" "$(cat /etc/resolv.conf)" "host resolv.conf when networked"; fi
