# Escape attempts, with tests/helpers/probe.c inside the jail: every forbidden act is BLOCKED by
# default, and each layer (seccomp, capabilities, landlock, namespaces, masks, rlimits) is shown to
# hold on its own: where an act needs two layers off, it stays BLOCKED with either one off and is
# ALLOWED only with both off (when this machine permits it at all), so no layer is dead weight.
. "$(dirname "$0")/libtest.sh"
command -v python3 >/dev/null || fail "python3 is needed for the host-side listeners"
command -v git >/dev/null || fail "git is not installed (make deps installs it)"
HOST_PROBE=${HELPERS:-}/probe
[ -x "$HOST_PROBE" ] || fail "the probe is not built: make build/probe (run.sh stages it in \$HELPERS)"
TOP=$(cd "$T" && pwd -P)
W="$TOP/w"         # the jails' working directory
OUT="$TOP/outside" # on the host, never mounted in a jail (except where a test says so)
mkdir -p "$W" "$OUT/sock"
cd "$W"
# The probe lives in the rootfs itself, so that it is there whatever a jail mounts (--lockdown
# refuses --mount); host-rootfs jails run it from the working directory.
cp "$HOST_PROBE" "$ROOTFS/probe"
cp "$HOST_PROBE" "$W/probe"
echo "host-only secret" >"$OUT/marker"
root=false
[ "$(id -u)" != 0 ] || root=true

# Background processes are disowned (no job notices) and killed by pid at exit.
lpid='' spid='' bpid=''
cleanup_escape() {
	local p
	for p in $bpid $lpid $spid; do kill -KILL "$p" 2>/dev/null; done
	for p in $bpid $lpid $spid; do
		for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
	cleanup_test
}
trap cleanup_escape EXIT

# A layer that does not hold is recorded and the run goes on, so that one run names every gap; the
# test fails at the end if there was any.
gaps=()
gap() {
	echo "FAIL: $*" >&2
	gaps+=("$*")
}

# --- helpers ---------------------------------------------------------------------------------------
# pr VERDICT [AJAIL OPTION...] -- PROBE [ARG...]: runs the probe in a jail (busybox unless an option
# says --fs=) and checks that its one line says VERDICT. The probe's own detail is shown with ok.
pr() {
	local want=$1 opts=() fs=--fs=bb bin=/probe
	shift
	while [ "$1" != -- ]; do
		case $1 in --fs=*) fs=$1 bin=$W/probe ;; *) opts+=("$1") ;; esac
		shift
	done
	shift
	local how=("${opts[@]}")
	[ "$fs" = --fs=bb ] || how=("$fs" "${how[@]}")
	local what="probe $*${how[*]:+ with ${how[*]}}"
	jail "$fs" -q "${opts[@]}" "$bin" "$@"
	case "$want:$rc:$out" in
	"BLOCKED:0:BLOCKED $1: "* | "ALLOWED:1:ALLOWED $1: "*) ok "$what: ${out#* "$1": }" ;;
	*) gap "$what: expected $want, got exit $rc: $out${err:+ (stderr: $err)}" ;;
	esac
}

# syscalls LABEL "EXPECTED ALLOWED..." [AJAIL OPTION...]: probe seccomp-all in one jail; exactly
# the listed syscall probes must come out ALLOWED and every other one BLOCKED.
nsys=$("$HOST_PROBE" list | grep -c -v -x -E 'read|write|mkdir|proc_root|proc_cwd|chroot_escape|handle_escape|signal|ptrace_pid|tcp|udp|tcp_bind|unix|abstract|forkbomb|memhog|write_proc')
words() { tr -s ' \t\n' '\n' | grep . | sort | tr '\n' ' '; }
syscalls() {
	local label=$1 want got
	want=$(words <<<"$2")
	shift 2
	jail --fs=bb -q "$@" /probe seccomp-all
	if [ "$(grep -c -E '^(BLOCKED|ALLOWED) ' <<<"$out")" != "$nsys" ]; then
		gap "$label: expected $nsys results from seccomp-all, got exit $rc: $out${err:+ (stderr: $err)}"
		return
	fi
	got=$(grep '^ALLOWED ' <<<"$out" | cut -d' ' -f2 | tr -d : | words)
	if [ "$got" != "$want" ]; then
		gap "$label: expected ALLOWED exactly [${want% }], got [${got% }]; unexpected: [$(comm -13 <(words <<<"$want" | tr ' ' '\n') <(words <<<"$got" | tr ' ' '\n') | grep . | tr '\n' ' ')], missing: [$(comm -23 <(words <<<"$want" | tr ' ' '\n') <(words <<<"$got" | tr ' ' '\n') | grep . | tr '\n' ' ')]"
		return
	fi
	ok "seccomp-all with $label: ALLOWED exactly [${want% }], the other $((nsys - $(wc -w <<<"$want"))) BLOCKED"
}
line() { grep "^[A-Z]* $1: " <<<"$out"; }

# --- what this machine permits outside any jail ----------------------------------------------------
# Acts that only seccomp stops still depend on the kernel's own knobs; an act the machine itself
# forbids cannot be shown to flip, so it is left out of the ALLOWED lists (and must stay BLOCKED).
knob() { cat "/proc/sys/$1" 2>/dev/null || echo "$2"; }
machine_allows() {
	case $1 in
	perf_event_open) [ "$(knob kernel/perf_event_paranoid 2)" -le 2 ] ;;
	io_uring_setup) [ "$(knob kernel/io_uring_disabled 0)" = 0 ] ;;
	tiocsti) [ "$(knob dev/tty/legacy_tiocsti 1)" = 1 ] ;;
	unshare_userns | clone_userns) [ "$(knob user/max_user_namespaces 1)" -gt 1 ] ;;
	# int $0x80 exists only with IA32 emulation: ask the kernel, outside any jail.
	x86_32_abi) "$HOST_PROBE" x86_32_abi | grep -q '^ALLOWED' ;;
	# A socket family or netlink protocol this kernel may not have at all.
	netlink_diag | netlink_uevent | socket_vsock) "$HOST_PROBE" "$1" | grep -q '^ALLOWED' ;;
	*) true ;;
	esac
}
only_permitted() { for p in $1; do machine_allows "$p" && printf '%s ' "$p"; done; }

# Stopped by seccomp alone: an unprivileged process may do each of these in its own user namespace.
SECCOMP_ONLY=$(only_permitted "perf_event_open userfaultfd keyctl add_key request_key ptrace
	process_vm_readv process_vm_writev io_uring_setup unshare_userns clone_userns clone3
	name_to_handle_at quotactl tiocsti tioclinux personality x86_32_abi netlink_diag netlink_uevent socket_vsock")
PTRACE="ptrace process_vm_readv process_vm_writev"
# Stopped by missing capabilities alone (seccomp lets chroot through).
CAPS_ONLY="chroot"
# Stopped by seccomp and by missing capabilities, each on its own.
SECCOMP_AND_CAPS="umount2 move_mount fsopen fsmount open_tree unshare_mountns setns open_by_handle_at reboot"
# ...and by landlock as well: a landlocked process may not mount or pivot_root.
SECCOMP_CAPS_LANDLOCK="mount pivot_root"
# The rest are never ALLOWED in a jail, whatever is turned off: kexec_*, *_module, bpf, swapon,
# swapoff, acct and syslog need capabilities in the host's user namespace.

# --- system calls: seccomp, capabilities, landlock -------------------------------------------------
jail --fs=bb -q /probe seccomp-all
if [ "$rc" = 0 ]; then
	ok "seccomp-all in a default jail: all $nsys syscall probes BLOCKED"
else
	gap "seccomp-all in a default jail: expected all BLOCKED, got exit $rc: $(grep -v '^BLOCKED' <<<"$out") $err"
fi
case "$(line clone3)" in *ENOSYS*) ok "clone3 is refused with ENOSYS, so libc falls back to clone" ;;
*) gap "clone3 should fail with ENOSYS: $(line clone3)" ;; esac
if machine_allows x86_32_abi; then
	case "$(line x86_32_abi)" in *"killed by SIGSYS"*) ok "the 32-bit x86 ABI is killed with SIGSYS" ;;
	*) gap "the 32-bit x86 ABI should be killed: $(line x86_32_abi)" ;; esac
fi
syscalls "--no-landlock" "" --no-landlock
syscalls "--no-cap-drop" "$CAPS_ONLY" --no-cap-drop
syscalls "--allow-ptrace" "$PTRACE" --allow-ptrace
syscalls "--no-seccomp" "$SECCOMP_ONLY" --no-seccomp
syscalls "--no-seccomp --no-landlock" "$SECCOMP_ONLY" --no-seccomp --no-landlock
syscalls "--no-cap-drop --no-landlock" "$CAPS_ONLY" --no-cap-drop --no-landlock
syscalls "--no-seccomp --no-cap-drop" "$SECCOMP_ONLY $CAPS_ONLY $SECCOMP_AND_CAPS" --no-seccomp --no-cap-drop
syscalls "--no-seccomp --no-cap-drop --no-landlock" \
	"$SECCOMP_ONLY $CAPS_ONLY $SECCOMP_AND_CAPS $SECCOMP_CAPS_LANDLOCK" --no-seccomp --no-cap-drop --no-landlock
# TIOCSTI on the jail's own terminal: seccomp is what stops it.
pr BLOCKED -- tiocsti
machine_allows tiocsti && pr ALLOWED --no-seccomp -- tiocsti

# --- host listeners: TCP, UDP, a unix socket outside the jail's mounts, an abstract socket ---------
abstract="ajail-escape-$$-$RANDOM"
python3 - "$OUT" "$abstract" <<'EOF' &
import os, select, socket, sys, time
out, abstract = sys.argv[1], sys.argv[2]
def log(kind, what):
    with open(os.path.join(out, kind + ".log"), "a") as f:
        f.write(what + "\n")
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0)); tcp.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("0.0.0.0", 0))
path = socket.socket(socket.AF_UNIX); path.bind(os.path.join(out, "sock", "bus")); path.listen(16)
abst = socket.socket(socket.AF_UNIX); abst.bind("\0" + abstract); abst.listen(16)
with open(os.path.join(out, "ports.tmp"), "w") as f:
    f.write("%d %d\n" % (tcp.getsockname()[1], udp.getsockname()[1]))
os.rename(os.path.join(out, "ports.tmp"), os.path.join(out, "ports"))
end = time.time() + 300
while time.time() < end:
    for s in select.select([tcp, udp, path, abst], [], [], 1)[0]:
        if s is udp:
            data, peer = udp.recvfrom(512)
            log("udp", data.decode(errors="replace"))
            udp.sendto(b"pong", peer)
        else:
            c, _ = s.accept()
            c.settimeout(1)
            try:
                data = c.recv(512)
            except OSError:
                data = b""
            c.close()
            log({tcp: "tcp", path: "unix", abst: "abstract"}[s], data.decode(errors="replace").strip())
EOF
lpid=$!
disown
for _ in $(seq 100); do [ -e "$OUT/ports" ] && break; sleep 0.05; done
[ -e "$OUT/ports" ] || fail "the host listeners did not start"
read -r tcp_port udp_port <"$OUT/ports"
count() { { wc -l <"$OUT/$1.log"; } 2>/dev/null || echo 0; }
wait_count() { for _ in $(seq 60); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.05; done; return 1; }

# TCP: the host's loopback is reachable on the host network (the control), not with --no-net, which
# holds by the network namespace alone (landlock off too), nor with --lockdown.
pr ALLOWED -- tcp 127.0.0.1 "$tcp_port"
wait_count tcp 1 || fail "the host's TCP listener saw nothing from the control connection"
pr BLOCKED --no-net -- tcp 127.0.0.1 "$tcp_port"
pr BLOCKED --no-net --no-landlock -- tcp 127.0.0.1 "$tcp_port"
pr BLOCKED --lockdown -- tcp 127.0.0.1 "$tcp_port"
[ "$(count tcp)" = 1 ] || gap "only the control connection should reach the host's TCP listener: $(count tcp)"
# Listening inside --no-net: landlock alone refuses the bind; without it the jail's own lo works.
bind_port=$((20000 + RANDOM % 20000))
pr BLOCKED --no-net -- tcp_bind "$bind_port"
case $out in *EACCES*) ok "landlock refuses the bind with EACCES" ;; *) gap "--no-net tcp_bind: expected EACCES from landlock: $out" ;; esac
pr ALLOWED --no-net --no-landlock -- tcp_bind "$bind_port"
pr BLOCKED --lockdown -- tcp_bind "$bind_port"

# UDP (landlock does not cover it): the network namespace alone keeps datagrams in.
pr ALLOWED -- udp 127.0.0.1 "$udp_port" expect-reply
wait_count udp 1 || fail "the host's UDP listener saw nothing from the control"
pr BLOCKED --no-net -- udp 127.0.0.1 "$udp_port" expect-reply
pr ALLOWED --no-net -- udp 127.0.0.1 "$udp_port"
host_ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}')
[ -z "$host_ip" ] || pr BLOCKED --no-net -- udp "$host_ip" "$udp_port"
[ -z "$host_ip" ] || pr BLOCKED --lockdown -- udp "$host_ip" "$udp_port"
sleep 0.3
if [ "$(count udp)" = 1 ]; then ok "no datagram from a --no-net or --lockdown jail reached the host"; else
	gap "datagrams from --no-net/--lockdown jails reached the host: $(count udp) received"; fi

# An abstract unix socket of the host: landlock scopes them even on the host network; the network
# namespace alone hides them too.
pr BLOCKED -- abstract "$abstract"
pr BLOCKED --no-net -- abstract "$abstract"
pr BLOCKED --no-net --no-landlock -- abstract "$abstract"
pr ALLOWED --no-landlock -- abstract "$abstract"
wait_count abstract 1 || gap "the host's abstract listener saw nothing from the --no-landlock connection"
[ "$(count abstract)" = 1 ] || gap "only the --no-landlock connection should reach the abstract socket: $(count abstract)"

# A session-bus-like socket in a host directory the jail does not mount is out of reach; mounted,
# the same socket answers (the control).
pr BLOCKED -- unix "$OUT/sock/bus"
pr BLOCKED --fs=host -- unix "$OUT/sock/bus"
pr BLOCKED --no-landlock --no-seccomp --no-cap-drop -- unix "$OUT/sock/bus"
pr ALLOWED --mount="$OUT/sock,/hostsock,rw" -- unix /hostsock/bus
# --mount's default is an overlay: its socket inodes are the overlay's, so nothing reaches the host's.
pr BLOCKED --mount="$OUT/sock,/hostsock" -- unix /hostsock/bus
# The host's real service sockets, where there are any: connected to and closed at once.
for s in "/run/user/$(id -u)/bus" /run/dbus/system_bus_socket /run/docker.sock /run/systemd/private; do
	[ -S "$s" ] || continue
	pr BLOCKED -- unix "$s"
	pr BLOCKED --fs=host -- unix "$s"
done
# The listener logs the control's connection a moment after it closes: wait for it before counting.
wait_count unix 1 || gap "the host's unix listener saw nothing from the control connection"
[ "$(count unix)" = 1 ] || gap "only the control should reach the host's unix socket: $(count unix)"

# --- files of the host -----------------------------------------------------------------------------
pr BLOCKED -- read "$OUT/marker"
pr BLOCKED --fs=host -- read "$OUT/marker"
pr BLOCKED --no-landlock --no-mask --no-seccomp --no-cap-drop -- read "$OUT/marker"
pr ALLOWED --mount="$OUT,/outside,ro" -- read /outside/marker
# The user's own keys and dotfiles (the probe prints byte counts, never content), another user's home.
# run.sh gives the unprivileged test user a key, so there the probe of ~/.ssh always runs.
ssh_probed=false
for f in "$HOME"/.ssh/id_* "$HOME/.ssh/authorized_keys" "$HOME/.ssh/known_hosts"; do
	[ -f "$f" ] && [ -s "$f" ] && [ -r "$f" ] || continue
	pr BLOCKED -- read "$f"
	pr BLOCKED --fs=host -- read "$f"
	pr BLOCKED --no-landlock --no-mask --no-seccomp --no-cap-drop -- read "$f"
	ssh_probed=true
	break
done
[ "$(id -un)" != ajail-test ] || $ssh_probed || gap "run.sh should have given ajail-test a key in $HOME/.ssh"
for f in "$HOME/.bashrc" "$HOME/.profile"; do
	[ -f "$f" ] && [ -s "$f" ] && [ -r "$f" ] || continue
	pr BLOCKED -- read "$f"
	pr BLOCKED --fs=host -- read "$f"
	break
done
if $root; then other=$(getent passwd ajail-test | cut -d: -f6); else other=/root; fi
if [ -n "$other" ] && [ -d "$other" ]; then
	pr BLOCKED -- read "$other/.bashrc"
	pr BLOCKED --fs=host -- read "$other/.bashrc"
fi
# The host rootfs carries /etc, but not its secrets.
for f in /etc/shadow /etc/gshadow; do
	[ -e "$f" ] || continue
	pr BLOCKED --fs=host -- read "$f"
	pr BLOCKED --fs=host --no-landlock --no-cap-drop --no-mask -- read "$f"
done
# /proc/1 is the jail's own init: no way to the host's root through it.
pr BLOCKED -- proc_root "$OUT/marker"
pr BLOCKED --no-landlock --no-cap-drop --no-mask -- proc_root "$OUT/marker"
# The kernel's symbols are masked; --no-mask shows that the mask is what hides them.
if [ -e /proc/kallsyms ]; then
	pr BLOCKED -- read /proc/kallsyms
	pr ALLOWED --no-mask -- read /proc/kallsyms
fi
if [ -n "$(ls -A /sys/firmware 2>/dev/null)" ]; then
	jail --fs=bb -q sh -c 'ls -A /sys/firmware | wc -l'
	if [ "$out" = 0 ]; then ok "/sys/firmware is masked"; else gap "/sys/firmware is not masked: $out entries"; fi
	jail --fs=bb -q --no-mask sh -c 'ls -A /sys/firmware | wc -l'
	[ "$out" != 0 ] || gap "/sys/firmware should be the host's with --no-mask"
fi

# The classic chroot escape: no chroot without capabilities; with them, ".." stops at the mount
# namespace's root and the host's file stays invisible.
pr BLOCKED -- chroot_escape "$OUT/marker"
case $out in *"chroot: EPERM"*) ok "chroot itself is refused" ;; *) gap "chroot_escape: expected chroot to fail with EPERM: $out" ;; esac
pr BLOCKED --no-cap-drop -- chroot_escape "$OUT/marker"
case $out in *"not readable"*) ok "with capabilities chroot works, the escape does not" ;; *) gap "chroot_escape with --no-cap-drop: expected chroot to work and the escape to fail: $out" ;; esac
pr BLOCKED --no-cap-drop --no-seccomp --no-landlock -- chroot_escape "$OUT/marker"

# "Shocker": a forged file handle for the root inode of the filesystem the cwd lives on. As root
# outside any jail it works (so the attack is real here); inside, the kernel's subtree check holds
# even with every layer off.
if $root; then
	if "$HOST_PROBE" handle_escape "$W" | grep -q '^ALLOWED'; then
		ok "handle_escape works on the host as root: the attack is real on this filesystem"
	fi
fi
pr BLOCKED -- handle_escape "$W"
pr BLOCKED --no-seccomp -- handle_escape "$W"
pr BLOCKED --no-cap-drop -- handle_escape "$W"
pr BLOCKED --no-seccomp --no-cap-drop --no-landlock -- handle_escape "$W"

# --- writes ----------------------------------------------------------------------------------------
pr ALLOWED -- write "$W/probe-write"
assert_missing "$W/probe-write" "the probe removes what it wrote"
pr BLOCKED --rol -- write "$W/probe-write"
case $out in *EROFS*) ok "--rol: a read-only mount" ;; *) gap "--rol: expected EROFS: $out" ;; esac
pr BLOCKED --rol --no-landlock -- write "$W/probe-write"
pr BLOCKED --lockdown -- write "$W/probe-write"
pr BLOCKED --lockdown -- mkdir "$W/probe-dir"
[ ! -e "$W/probe-write" ] && [ ! -e "$W/probe-dir" ] || gap "something was written to the cwd"
# A standing --rw in AJAIL_ARGS does not open a --lockdown: it is left out, and the user is told.
AJAIL_ARGS="--rw=$OUT" jail --fs=bb --lockdown /probe write "$OUT/lockdown-write"
case "$rc:$out" in
"0:BLOCKED write: "*) ok "--lockdown leaves out AJAIL_ARGS' --rw: ${out#BLOCKED write: }" ;;
*) gap "--lockdown with AJAIL_ARGS=--rw: expected BLOCKED, got exit $rc: $out (stderr: $err)" ;;
esac
[[ $err == *"left out --rw=$OUT from AJAIL_ARGS"* ]] || gap "--lockdown should say it left out AJAIL_ARGS' --rw: $err"
[ ! -e "$OUT/lockdown-write" ] || gap "a --lockdown jail wrote through AJAIL_ARGS' --rw"
# Landlock on its own: the overlay root is writable as a mount, landlock limits writes to the
# places a program needs.
pr BLOCKED -- write /probe-write
pr ALLOWED --no-landlock -- write /probe-write

# The store under the working directory (cwd = ~ holding ~/.ajail, the default): hidden, so that no
# jail can change a rootfs under later jails or touch a clone workspace, with every layer off too;
# the rest of the working directory stays writable.
cd "$TOP"
pr BLOCKED -- write "$ROOTFS/probe-write"
pr BLOCKED --no-landlock --no-seccomp --no-cap-drop --no-mask --no-rlimits -- write "$ROOTFS/probe-write"
pr BLOCKED -- read "$ROOTFS/probe"
pr ALLOWED -- write "$TOP/probe-write"
jail --fs=bb true
[[ $err == *"mount    $AJAIL_HOME (hidden)  store"* ]] && ok "the status block says the store is hidden" ||
	gap "the status block should say the store is hidden: $err"
cd "$W"
[ ! -e "$ROOTFS/probe-write" ] || gap "a jail wrote into the store's rootfs"

# /proc/sys is read-only, and the dangerous files are masked.
pr BLOCKED -- write_proc /proc/sys/kernel/hostname
pr BLOCKED --no-cap-drop --no-seccomp --no-landlock -- write_proc /proc/sys/kernel/hostname
for f in /proc/sysrq-trigger /proc/kcore /proc/kallsyms /proc/irq/default_smp_affinity; do
	[ -e "$f" ] || continue
	pr BLOCKED -- write_proc "$f"
	pr BLOCKED --no-cap-drop --no-seccomp --no-landlock -- write_proc "$f"
done
# /sys is the host's, read-only: a knob that root could write on the host, whatever is turned off.
[ ! -e /sys/kernel/mm/ksm/run ] ||
	pr BLOCKED --no-mask --no-cap-drop --no-seccomp --no-landlock -- write_proc /sys/kernel/mm/ksm/run
# A host-wide sysctl (core_pattern runs a program as the host's root) is out of reach with either
# the masks or landlock off. Run as root, the jail's root is the host's, so with both off only the
# kernel's ownership check would be left: not tried (as anyone else, that check refuses it). The
# probe writes back the value it read, so nothing would change even if it got in.
pr BLOCKED --no-mask -- write_proc /proc/sys/kernel/core_pattern
pr BLOCKED --no-landlock -- write_proc /proc/sys/kernel/core_pattern
$root || pr BLOCKED --no-mask --no-landlock -- write_proc /proc/sys/kernel/core_pattern

# A --clone jail may not write the user's hooks or config (reached through /ajail/origin).
repo="$TOP/repo"
mkdir -p "$repo" && (cd "$repo" && git init -q -b main . &&
	git -c user.email=u@example.com -c user.name=u commit -q --allow-empty -m init) ||
	fail "could not make a repository"
hooks_before=$(ls -A "$repo/.git/hooks"; sha256sum "$repo/.git/config")
cd "$repo"
pr BLOCKED --clone -- write /ajail/origin/hooks/pre-commit
pr BLOCKED --clone --no-landlock --no-cap-drop --no-seccomp -- write /ajail/origin/hooks/pre-commit
pr BLOCKED --clone --no-landlock -- write /ajail/origin/config
cd "$W"
if [ "$(ls -A "$repo/.git/hooks"; sha256sum "$repo/.git/config")" = "$hooks_before" ]; then
	ok "the user's hooks and config are unchanged"
else
	gap "the user's hooks or config changed"
fi

# --- processes of the host -------------------------------------------------------------------------
(cd "$OUT" && exec sleep 60) &
spid=$!
disown
pr BLOCKED -- signal "$spid"
pr BLOCKED -- ptrace_pid "$spid"
pr BLOCKED --allow-ptrace --no-cap-drop -- ptrace_pid "$spid"
pr BLOCKED -- proc_cwd "$spid"
pr BLOCKED --fs=host --no-landlock -- proc_cwd "$spid"
kill -0 "$spid" 2>/dev/null || gap "the host process died"
# The jail's init is outside the command's landlock domain: landlock alone stops signals to it.
pr BLOCKED -- signal 1
pr ALLOWED --no-landlock -- signal 1

# --- resources -------------------------------------------------------------------------------------
jail --fs=bb -q --pids=64 /probe forkbomb 1000
pids_ok=true
if $root && [ "$rc" = 1 ] && [[ $err == *"--pids"*root* ]]; then
	# Without a delegated cgroup, RLIMIT_NPROC is the fallback, and it does not bind uid 0.
	ok "--pids=64 as root without a delegated pids cgroup is refused, not ignored"
	pids_ok=false
else
	made=$(sed -n 's/^BLOCKED forkbomb: fork failed after \([0-9]*\) children.*/\1/p' <<<"$out")
	if [ "$rc" = 0 ] && [ -n "$made" ] && [ "$made" -le 64 ]; then
		ok "--pids=64 stops a fork bomb after $made children"
	else
		gap "--pids=64 forkbomb 1000: expected BLOCKED after at most 64 children, got exit $rc: $out $err"
	fi
fi
pr ALLOWED --no-rlimits -- forkbomb 200
# While a capped bomb holds every process it may have, the host and new jails still work.
if $pids_ok; then
	# A shell exits when it cannot fork: the bomb runs in a subshell, and the jail's command then
	# holds on with exec, which needs no new process.
	"$AJAIL" --fs=bb -q --pids=64 sh -c '(i=0; while [ $i -lt 300 ]; do sleep 60 & i=$((i+1)); done) 2>/dev/null
		echo held >bomb-held; exec sleep 60' </dev/null >/dev/null 2>&1 &
	bpid=$!
	disown
	for _ in $(seq 200); do [ -e "$W/bomb-held" ] && break; sleep 0.05; done
	[ -e "$W/bomb-held" ] || fail "the capped fork bomb did not finish forking"
	if timeout 10 "$AJAIL" --fs=bb -q true </dev/null >/dev/null 2>&1 && timeout 10 sh -c true; then
		ok "the host and a new jail work while a --pids=64 fork bomb holds its processes"
	else
		gap "a new jail or the host could not start a process while a capped bomb runs"
	fi
	kill -TERM "$bpid"
	for _ in $(seq 100); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$bpid" 2>/dev/null && gap "the capped bomb's jail did not end on SIGTERM"
	bpid=
	rm -f "$W/bomb-held"
fi
pr BLOCKED --lockdown -- forkbomb 5000

# --memory and --cpus need a delegated cgroup v2 subtree. Where there is one, --memory stops a hog
# and says so; where there is none (memory and cpu on cgroup v1, as on these machines), the run is
# refused in one line that says why.
jail --fs=bb -q --memory=64M /probe memhog 512
if [ "$rc" = 1 ] && [ -z "$out" ]; then
	[[ $err == "ajail: --memory needs the cgroup v2 memory controller delegated to you; "* ]] &&
		[ "$(wc -l <<<"$err")" = 1 ] && ok "--memory without a delegated memory controller is refused: ${err#ajail: }" ||
		gap "--memory refused without a one-line reason: $err"
else
	[[ $rc = 0 && $out == "BLOCKED memhog: killed by SIGKILL after "* && $err == *"hit its --memory limit"* ]] &&
		ok "--memory=64M stops a 512 MiB hog: ${out#BLOCKED memhog: }" ||
		gap "--memory=64M memhog 512: expected the hog killed and a note, got exit $rc: $out (stderr: $err)"
fi
pr ALLOWED -- memhog 128
jail --fs=bb -q --cpus=0.5 true
if [ "$rc" = 1 ]; then
	[[ $err == "ajail: --cpus needs the cgroup v2 cpu controller delegated to you; "* ]] && [ "$(wc -l <<<"$err")" = 1 ] &&
		ok "--cpus without a delegated cpu controller is refused: ${err#ajail: }" || gap "--cpus refused without a one-line reason: $err"
else
	[ "$rc" = 0 ] && ok "--cpus=0.5 runs in a cgroup of its own" || gap "--cpus=0.5 true: exit $rc: $err"
fi
# No cgroup of a jail outlives it, whichever hierarchy it was made in.
left=$(find /sys/fs/cgroup -maxdepth 4 -type d -name 'ajail-*' 2>/dev/null | head -5)
[ -z "$left" ] && ok "no ajail cgroup is left behind" || gap "cgroups left behind: $left"

if [ ${#gaps[@]} -gt 0 ]; then
	printf '  %s\n' "${gaps[@]}" >&2
	fail "${#gaps[@]} escape checks did not hold (above)"
fi
