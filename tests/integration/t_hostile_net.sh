# Issue 9, class 11: without network (--no-net, --lockdown) the jail learns nothing of the host's
# network from /sys: only its own interfaces, no MAC addresses or live counters of the host's;
# --lockdown hides /sys/module (which host modules are loaded says which kernel bugs are in reach).
# (Socket families and netlink protocols beyond route are the seccomp layer's: t_escape.)
. "$(dirname "$0")/libtest.sh"
cd "$T"
host_ifs=$(ls /sys/class/net | grep -vx lo | tr '\n' ' ')
host_macs=$(cat /sys/class/net/*/address 2>/dev/null | grep -v '^00:00:00:00:00:00$' | sort -u)
[ -n "$host_ifs" ] || skip "the host has no network interface but lo: nothing to hide"

for mode in --no-net --lockdown; do
	jail --fs=bb -q "$mode" sh -c 'ls /sys/class/net; echo ---; cat $(find /sys/devices /sys/class -name address 2>/dev/null) 2>/dev/null'
	assert_rc 0 "$mode: /sys readable"
	ifs=$(sed '/^---$/,$d' <<<"$out" | tr '\n' ' ')
	assert_eq "$ifs" "lo " "$mode: /sys/class/net shows only the jail's own interfaces"
	for mac in $host_macs; do
		assert_not_contains "$out" "$mac" "$mode: the host's MAC address $mac"
	done
	for i in $host_ifs; do
		jail --fs=bb -q "$mode" cat "/sys/class/net/$i/statistics/rx_bytes"
		[ "$rc" -ne 0 ] || fail "$mode: the host's traffic counters of $i are readable: $out"
	done
	# What programs size themselves from is still there.
	jail --fs=bb -q "$mode" sh -c 'ls /sys/devices/system/cpu | grep -c "^cpu[0-9]"; ls /sys/fs/cgroup | wc -l'
	assert_rc 0 "$mode: /sys/devices/system/cpu and /sys/fs/cgroup"
	[ "$(head -1 <<<"$out")" -ge 1 ] && [ "$(tail -1 <<<"$out")" -ge 1 ] || fail "$mode: cpus and cgroups visible: $out"
	# Read-only, like the host's /sys was.
	jail --fs=bb -q "$mode" sh -c 'echo 1 > /sys/kernel/mm/ksm/run'
	[ "$rc" -ne 0 ] || fail "$mode: /sys is writable"
done
ok "--no-net and --lockdown: /sys shows the jail's own network only ($host_ifs hidden)"

jail --fs=bb -q --lockdown sh -c 'ls -A /sys/module | wc -l'
assert_eq "$out" "0" "--lockdown: /sys/module is empty"
jail --fs=bb -q --no-net sh -c 'ls -A /sys/module | wc -l'
[ "$out" -gt 0 ] || fail "--no-net alone keeps /sys/module (only --lockdown hides it): $out"
ok "--lockdown hides /sys/module"
