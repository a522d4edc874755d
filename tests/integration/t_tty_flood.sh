# A terminal that does not keep up with a jail flooding its output must not make ajail deaf: ^C (a
# byte the relay reads from the terminal) and signals to ajail still take effect at once, and the
# terminal's settings come back at exit. A terminal that does read still gets every byte, in order.
. "$(dirname "$0")/libtest.sh"
command -v python3 >/dev/null || fail "python3 is needed"
cd "$T"

# term.py MODE CMD...: runs CMD on a fresh pty, as the session leader in its foreground (as a shell
# would), and plays the terminal. MODE term or intr: read until the flood has begun, then stop
# reading (a terminal that accepts nothing more), send SIGTERM to CMD or type ^C, and time CMD's
# exit, and how long it took the jail to end (ajail's child, the jail's init, is gone: ajail saw
# the signal or the byte, the command died of it, and ajail reaped the jail). MODE read: read
# everything into ./out. Prints "rc=N secs=S react=S|never restored=yes|no".
cat >term.py <<'EOF'
import fcntl, os, pty, select, signal, sys, termios, time
mode, argv = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.closerange(3, 256)
    os.execv(argv[0], argv)
fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)

def children(ppid):
    kids = []
    for d in os.listdir("/proc"):
        try:
            stat = open("/proc/%s/stat" % d).read()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == ppid:
            kids.append(int(d))
    return kids

def alive(p):
    try:
        stat = open("/proc/%d/stat" % p).read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"

react, jail = None, []
def wait(limit):
    global react
    t0 = time.monotonic()
    while time.monotonic() < t0 + limit:
        if react is None and jail and not any(alive(p) for p in jail):
            react = time.monotonic() - t0
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            return os.waitstatus_to_exitcode(st)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "timeout"

def read_some():
    try:
        return os.read(master, 65536)
    except BlockingIOError:
        return b""

if mode == "read":
    out, status, end = [], None, time.monotonic() + 120
    while time.monotonic() < end:
        select.select([master], [], [], 0.05)
        chunk = read_some()
        out.append(chunk)
        if status is None and not chunk:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                status = os.waitstatus_to_exitcode(st)
        elif status is not None and not chunk:
            break  # the slave stays open here, so the end is: exited, and nothing left to read
    if status is None:
        status = wait(0)
    open("out", "wb").write(b"".join(out))
    secs = 0
else:
    got, end = 0, time.monotonic() + 30
    while got < 65536 and time.monotonic() < end:
        select.select([master], [], [], 0.05)
        got += read_some().count(b"x")
    if got < 65536:
        print("the flood did not begin:", got)
    time.sleep(0.5)  # the pty and the relay fill up; ajail would now be stuck writing
    jail = children(pid)  # the jail's init: ajail reaps it as soon as the jail has ended
    t0 = time.monotonic()
    if mode == "term":
        os.kill(pid, signal.SIGTERM)
    else:
        os.write(master, b"\x03")
    status = wait(3)
    secs = time.monotonic() - t0
restored = "yes" if termios.tcgetattr(slave) == before else "no"
print("rc=%s secs=%.2f react=%s restored=%s" % (status, secs, "%.3f" % react if react is not None else "never", restored))
EOF

flood='while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done'
# Within a second: 50 ms is what ajail aims at, the margin is for a loaded machine. Before the relay
# did bounded work per round, the jail heard nothing for as long as it kept writing. ajail itself
# exits later: it gives the terminal a second to take the rest of the output.
react_ok() { case "$1" in *react=0.*) ;; *) fail "$2: $1" ;; esac; }

res=$(python3 term.py term "$AJAIL" --fs=bb -q sh -c "$flood")
react_ok "$res" "SIGTERM to ajail reaches a flooding jail behind a terminal that does not read"
assert_contains "$res" "rc=143 " "ajail exits, with the command's SIGTERM, although the terminal takes nothing ($res)"
assert_contains "$res" "restored=yes" "the terminal's settings are restored after SIGTERM"

res=$(python3 term.py intr "$AJAIL" --fs=bb -q sh -c "$flood")
react_ok "$res" "^C reaches a flooding jail behind a terminal that does not read"
assert_contains "$res" "rc=130 " "ajail exits, with the command's SIGINT, although the terminal takes nothing ($res)"
assert_contains "$res" "restored=yes" "the terminal's settings are restored after ^C"

res=$(python3 term.py read "$AJAIL" --fs=bb -q seq 1 200000)
assert_contains "$res" "rc=0 " "seq through the pty ($res)"
assert_contains "$res" "restored=yes" "the terminal's settings are restored"
seq 1 200000 >want
tr -d '\r' <out >got
cmp -s want got || fail "the output arrived incomplete or out of order: $(wc -c <got) bytes of $(wc -c <want); first difference: $(cmp want got 2>&1 | head -1)"
ok "t_tty_flood"
