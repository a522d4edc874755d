# The --allow-net proxy under attack: everything a jail sends the proxy is hostile. Spellings of
# loopback and of other hosts (127.1, 0x7f000001, [::ffff:127.0.0.2], localhost., userinfo,
# percent-encoding), framings a server could read differently (TE+CL, obs-fold, bare CR, a second
# request in the stream), SOCKS5 address forms, BIND and UDP ASSOCIATE, TLS records that would hide
# a ClientHello from the server name check, half-closed connections, slow clients, garbage, 1,000
# connections at once, a low fd limit; what -v and --net-log print of hostile names; binding the
# proxy's ports first; exiting with connections held open, with the socket maker stopped, and
# ajail killed. The proxy's memory is measured with 100 relaying connections and with 1,000 at once.
# The host's servers listen on 127.0.0.2 (allowed.test) and 127.0.0.3 (other.test), names run.sh
# puts in /etc/hosts with sub.wild.test (127.0.0.4) and meta.wild.test (169.254.169.254).
. "$(dirname "$0")/libtest.sh"
command -v python3 >/dev/null || fail "python3 is not installed: this test needs it on the host (and in --fs=host jails)"
. "$(dirname "$0")/libnet.sh"
need_names allowed.test=127.0.0.2 other.test=127.0.0.3 sub.wild.test=127.0.0.4 meta.wild.test=169.254.169.254
check_eq() { [ "$1" = "$2" ] || gap "${3:-}: expected '$2', got '$1'"; }
check_contains() { case "$1" in *"$2"*) ;; *) gap "${3:-}: expected to contain '$2', got: $1" ;; esac; }
# line PREFIX: the line of $out that starts with PREFIX (its text after PREFIX).
line() { grep -F -- "$1" <<<"$out" | head -1 | cut -c$((${#1} + 1))-; }
# expect PREFIX PATTERN: the line for PREFIX matches the shell pattern.
expect() {
	local got
	got=$(line "$1")
	# shellcheck disable=SC2254
	case $got in $2) ;; *) gap "$1 expected '$2', got '$got'" ;; esac
}
# The proxy that ajail process PID forked, and what /proc says of it.
proxy_of() { pgrep -P "$1" -x ajail-proxy | head -1; }
status_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
# wait_for FILE [TENTHS]: until FILE exists (default 30 s).
wait_for() { local i; for i in $(seq "${2:-300}"); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

# --- the host's servers -------------------------------------------------------------------------
# NAME:ADDRESS:KIND each, on a free port: "log" logs each connection in $OUT/NAME.log (the bytes
# that arrived, the request line and Host), answers "served by NAME: REQUEST-LINE host=HOST" and
# closes; "echo" sends back what it gets for as long as the client stays.
cat >"$OUT/servers.py" <<'EOF'
import os, socket, sys, threading, time
out = sys.argv[1]
lock = threading.Lock()
def log(name, line):
    with lock:
        with open(os.path.join(out, name + ".log"), "a") as f:
            f.write(line + "\n")
def logger(c, name):
    # Reads a request (or whatever comes) for up to 2 s of quiet, logs it, answers, closes.
    # HTTP until its head is in; anything else (TLS, SSH) until a moment of quiet.
    data = b""
    c.settimeout(3)
    try:
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            d = c.recv(65536)
            if not d:
                break
            data += d
            if not data[:1].isalpha():
                c.settimeout(0.3)
    except OSError:
        pass
    line = data.split(b"\r\n")[0]
    host = b"-"
    for h in data.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        if h.lower().startswith(b"host:"):
            host = h[5:].strip()
    log(name, "len=%d first=%s line=%r host=%r" % (len(data), data[:2].hex(), line[:80], host))
    body = b"served by %s: %s host=%s\n" % (name.encode(), line[:80], host)
    try:
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        # what a client sends after its request (a second, pipelined one) is logged too
        c.settimeout(0.3)
        more = c.recv(65536)
        if more:
            log(name, "more=%r" % more[:80])
    except OSError:
        pass
    c.close()
def echo(c, name):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()
ports = []
for spec in sys.argv[2:]:
    name, addr, kind = spec.split(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 0))
    s.listen(4096)
    fn = logger if kind == "log" else echo
    def loop(s=s, fn=fn, name=name):
        while True:
            c, a = s.accept()
            threading.Thread(target=fn, args=(c, name), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    ports.append("%s %d" % (name, s.getsockname()[1]))
with open(os.path.join(out, "ports.tmp"), "w") as f:
    f.write("\n".join(ports) + "\n")
os.rename(os.path.join(out, "ports.tmp"), os.path.join(out, "ports"))
time.sleep(600)
EOF
cat >"$W/atk.py" <<'EOF'
import errno, json, os, random, resource, socket, ssl, struct, sys, threading, time

# The jail's side of t_hostile_proxy: each mode attacks ajail's proxy (HTTP 127.0.0.1:3128,
# SOCKS5 127.0.0.1:1080) and prints one line per attempt, "WHAT: RESULT".
PROXY, SOCKS = ("127.0.0.1", 3128), ("127.0.0.1", 1080)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def readall(s, limit=1 << 20):
    out = b""
    try:
        while len(out) < limit:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError as e:
        out += b" <%s>" % errno.errorcode.get(e.errno, type(e).__name__).encode() if e.errno else b" <timeout>"
    return out


def status(data):
    """The HTTP status line's code and the body's first line, or what came back instead."""
    if not data:
        return "closed"
    if data.startswith(b"HTTP/"):
        head, _, body = data.partition(b"\r\n\r\n")
        code = head.split(b" ")[1].decode()
        return code + " " + body.split(b"\n")[0].decode(errors="replace")
    return "raw %r" % data[:40]


def http(raw, port=PROXY, timeout=10):
    s = socket.create_connection(port, timeout=timeout)
    s.sendall(raw)
    return status(readall(s))


def tunnel(target, timeout=10):
    """A CONNECT tunnel: the socket once the 200 is in, or the refusal as text."""
    s = socket.create_connection(PROXY, timeout=timeout)
    s.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % target)
    r = b""
    while b"\r\n\r\n" not in r:
        d = s.recv(1)
        if not d:
            break
        r += d
    if not r.startswith(b"HTTP/1.1 200"):
        return None, status(r + readall(s))
    return s, "200"


def hello(name):
    """A real ClientHello (OpenSSL's) for server name `name`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(i, o, server_hostname=name)
    try:
        t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()


def socks(cmd, atyp, addr, port, then=b"GET / HTTP/1.0\r\n\r\n"):
    s = socket.create_connection(SOCKS, timeout=10)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        return "greeting refused"
    a = bytes([len(addr)]) + addr if atyp == 3 else addr
    s.sendall(bytes([5, cmd, 0, atyp]) + a + struct.pack(">H", port))
    r = s.recv(10)
    if len(r) < 2:
        return "closed"
    if r[1] != 0:
        return "REP=%d" % r[1]
    s.sendall(then)
    return "REP=0 " + status(readall(s))


def spell(pa):
    # Spellings of loopback, of the allowed name and of other hosts, in absolute form and CONNECT.
    hosts = ["127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.0.0.2", "127.0.0.2.", "[::ffff:127.0.0.2]",
             "[::ffff:7f00:2]", "[0:0:0:0:0:ffff:127.0.0.2]", "[::127.0.0.2]", "[::1]", "[fe80::1%25lo]",
             "localhost", "localhost.", "LOCALHOST", "localhost.localdomain", "allowed.test..", ".allowed.test",
             "allowed%2etest", "allowed.test%00.other.test", "allowed.test@other.test", "other.test@allowed.test",
             "other.test#@allowed.test", "allowed.test\\@other.test", "other.test\\.allowed.test", "other.test",
             "allowed.test.other.test", "xallowed.test", "allowed.test\t", "allowed.test other.test",
             "allowed.tes\u0442"]
    for h in hosts + ["ALLOWED.TEST", "allowed.test."]:
        hb = h.encode()
        target = hb + b":%d" % pa
        print("http %s: %s" % (h, http(b"GET http://%s/x HTTP/1.1\r\nHost: allowed.test\r\n\r\n" % target)))
        s, r = tunnel(target)
        if s:
            s.sendall(b"GET /in-tunnel HTTP/1.0\r\n\r\n")
            r = "200 then " + status(readall(s))
        print("connect %s: %s" % (h, r))
    # userinfo and the port: the name before '@' is not where a client goes
    print("http userinfo-port: %s" % http(b"GET http://allowed.test:%d@other.test:%d/ HTTP/1.1\r\n\r\n" % (pa, pa)))


def smuggle(pa, po):
    # Framings a server might read differently from the proxy, and a second request for another host.
    base = b"GET http://allowed.test:%d/ HTTP/1.1\r\n" % pa
    cases = {
        "te+cl": base + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "cl,cl": base + b"Content-Length: 4\r\nContent-Length: 5\r\n\r\nxxxxx",
        "cl list": base + b"Content-Length: 4, 4\r\n\r\nxxxx",
        "cl sign": base + b"Content-Length: +4\r\n\r\nxxxx",
        "te xchunked": base + b"Transfer-Encoding: xchunked\r\n\r\n",
        "te twice": base + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te space": base + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "te http/1.0": b"GET http://allowed.test:%d/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % pa,
        "obs-fold": base + b"X-A: a\r\n b\r\n\r\n",
        "bare cr": base + b"X-A: a\rHost: other.test\r\n\r\n",
        "nul": base + b"X-A: a\x00b\r\n\r\n",
        "two hosts": base + b"Host: allowed.test\r\nHost: other.test\r\n\r\n",
        "connection names cl": base + b"Connection: content-length\r\nContent-Length: 3\r\n\r\nabc",
        "space in target": b"GET http://allowed.test:%d/ x HTTP/1.1\r\n\r\n" % pa,
        "http/2": b"GET http://allowed.test:%d/ HTTP/2.0\r\n\r\n" % pa,
        "https absolute": b"GET https://allowed.test:%d/ HTTP/1.1\r\n\r\n" % pa,
        "origin form": b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        "ftp scheme": b"GET ftp://allowed.test:%d/ HTTP/1.1\r\n\r\n" % pa,
        "long method": b"A" * 20 + b" http://allowed.test:%d/ HTTP/1.1\r\n\r\n" % pa,
        "garbage line": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        "empty lines": b"\r\n\r\n\r\n",
        "huge head": base + b"X-Pad: " + b"a" * 20000 + b"\r\n\r\n",
        "many headers": base + b"".join(b"X-%d: y\r\n" % i for i in range(3000)) + b"\r\n",
        "long target": b"GET http://allowed.test:%d/%s HTTP/1.1\r\n\r\n" % (pa, b"a" * 9000),
        "CONNECT no port": b"CONNECT allowed.test HTTP/1.1\r\n\r\n",
        "CONNECT port 0": b"CONNECT allowed.test:0 HTTP/1.1\r\n\r\n",
        "CONNECT port 65536": b"CONNECT allowed.test:65536 HTTP/1.1\r\n\r\n",
        "CONNECT port +80": b"CONNECT allowed.test:+80 HTTP/1.1\r\n\r\n",
    }
    for name, raw in cases.items():
        print("%s: %s" % (name, http(raw)))
    # A request, then one for other.test in the same stream: the stream goes to allowed.test alone.
    two = base + b"Content-Length: 0\r\n\r\nGET http://other.test:%d/second HTTP/1.1\r\nHost: other.test\r\n\r\n" % po
    print("pipelined other.test: %s" % http(two))
    # Absolute form with another Host header: the server gets the target's.
    print("absolute, Host other.test: %s" % http(base + b"Host: other.test:%d\r\n\r\n" % po))
    # CONNECT, then a request for other.test inside: it reaches allowed.test's server.
    s, r = tunnel(b"allowed.test:%d" % pa)
    if s:
        s.sendall(b"GET http://other.test:%d/ HTTP/1.1\r\nHost: other.test\r\n\r\n" % po)
        r = status(readall(s))
    print("CONNECT then other.test inside: %s" % r)


def socksmode(pa, pt):
    a6 = lambda t: socket.inet_pton(socket.AF_INET6, t)
    cases = [
        ("name", 1, 3, b"allowed.test", pa),
        ("name upper dot", 1, 3, b"ALLOWED.TEST.", pa),
        ("other name", 1, 3, b"other.test", pa),
        ("ipv4 127.0.0.2", 1, 1, socket.inet_aton("127.0.0.2"), pa),
        ("ipv4 127.0.0.1", 1, 1, socket.inet_aton("127.0.0.1"), pa),
        ("ipv6 ::ffff:127.0.0.2", 1, 4, a6("::ffff:127.0.0.2"), pa),
        ("ipv6 ::127.0.0.2", 1, 4, a6("::127.0.0.2"), pa),
        ("ipv6 ::1", 1, 4, a6("::1"), pa),
        ("ipv6 64:ff9b::127.0.0.2", 1, 4, a6("64:ff9b::7f00:2"), pa),
        ("ipv6 2002:7f00:2::", 1, 4, a6("2002:7f00:2::"), pa),
        ("name 127.0.0.2", 1, 3, b"127.0.0.2", pa),
        ("name 127.1", 1, 3, b"127.1", pa),
        ("name ::ffff:127.0.0.2", 1, 3, b"::ffff:127.0.0.2", pa),
        ("name [::1]", 1, 3, b"[::1]", pa),
        ("name localhost", 1, 3, b"localhost", pa),
        ("name with nul", 1, 3, b"allowed.test\x00.other", pa),
        ("name with escape", 1, 3, b"\x1b[31mallowed.test", pa),
        ("port 0", 1, 3, b"allowed.test", 0),
        ("BIND", 2, 3, b"allowed.test", pa),
        ("UDP ASSOCIATE", 3, 1, b"\0\0\0\0", 0),
        ("cmd 9", 9, 3, b"allowed.test", pa),
        ("atyp 2", 1, 2, b"\0\0\0\0", pa),
        ("wildcard internal", 1, 3, b"sub.wild.test", pa),
        ("wildcard metadata", 1, 3, b"meta.wild.test", 80),
    ]
    for name, cmd, atyp, addr, port in cases:
        try:
            r = socks(cmd, atyp, addr, port)
        except Exception as e:
            r = "error %s" % e
        print("socks %s: %s" % (name, r))
    # SOCKS4, and HTTP on the SOCKS port
    for name, raw in [("socks4", b"\x04\x01\x00\x50\x7f\x00\x00\x02ajail\x00"), ("http", b"GET / HTTP/1.0\r\n\r\n"),
                      ("no methods", b"\x05\x00"), ("only user/pass", b"\x05\x01\x02")]:
        s = socket.create_connection(SOCKS, timeout=10)
        s.sendall(raw)
        print("socks %s: %r" % (name, readall(s)[:10]))


def tls(pt):
    cases = [
        ("same name", hello("allowed.test")),
        ("other name", hello("other.test")),
        ("alert then other", b"\x15\x03\x01\x00\x02\x01\x5a" + hello("other.test")),
        ("ccs then other", b"\x14\x03\x01\x00\x01\x01" + hello("other.test")),
        ("appdata then other", b"\x17\x03\x03\x00\x01\x00" + hello("other.test")),
        ("heartbeat then other", b"\x18\x03\x01\x00\x03\x01\x00\x00" + hello("other.test")),
        ("hello split over records", None),
        ("same name, byte by byte", "slow"),
        ("not tls", b"SSH-2.0-x\r\n"),
    ]
    h = hello("other.test")
    body = h[5:]
    split = b"\x16\x03\x01" + struct.pack(">H", 10) + body[:10] + b"\x16\x03\x01" + struct.pack(">H", len(body) - 10) + body[10:]
    for name, data in cases:
        s, r = tunnel(b"allowed.test:%d" % pt)
        if not s:
            print("tls %s: connect %s" % (name, r))
            continue
        if data is None:
            data = split
        if data == "slow":
            for b in hello("allowed.test"):
                s.send(bytes([b]))
                time.sleep(0.002)
        else:
            s.sendall(data)
        got = readall(s)
        print("tls %s: %s" % (name, "closed" if not got else "answered %d bytes" % len(got)))


def halfclose(pa):
    s, r = tunnel(b"allowed.test:%d" % pa)
    s.shutdown(socket.SHUT_WR)
    print("CONNECT, half-closed before a byte: %s" % status(readall(s)))
    s, r = tunnel(b"allowed.test:%d" % pa)
    s.sendall(b"GET /half HTTP/1.0\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    print("CONNECT, half-closed after a request: %s" % status(readall(s)))
    s = socket.create_connection(SOCKS, timeout=10)
    s.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x0callowed.test" + struct.pack(">H", pa))
    s.recv(2), s.recv(10)
    s.shutdown(socket.SHUT_WR)
    print("SOCKS5, half-closed before a byte: %s" % status(readall(s)))
    s = socket.create_connection(PROXY, timeout=10)
    s.sendall(b"GET http://allowed.test:%d/ HTTP/1.1\r\n\r\n" % pa)
    s.shutdown(socket.SHUT_WR)
    print("absolute form, half-closed: %s" % status(readall(s)))
    # The other half: the server closes first; the client still sends, then reads the answer.


def wait_file(name, timeout=30):
    t0 = time.time()
    while not os.path.exists(name) and time.time() - t0 < timeout:
        time.sleep(0.02)


def hold(n, pe, tag, until_refused=False):
    """n relaying connections to the echo server (CONNECT, SOCKS5 and plain HTTP in turn), then
    wait; until_refused: CONNECT only, and stop at the first refusal, which is printed."""
    raise_nofile()
    socks_ = []
    fails = 0
    first = ""
    for i in range(n):
        try:
            if i % 3 == 0 or until_refused:
                s, r = tunnel(b"allowed.test:%d" % pe)
                if not s:
                    raise OSError(r)
                s.sendall(hello("allowed.test"))
            elif i % 3 == 1:
                s = socket.create_connection(SOCKS, timeout=10)
                s.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x0callowed.test" + struct.pack(">H", pe))
                s.recv(2), s.recv(10)
                s.sendall(b"x")
            else:
                s = socket.create_connection(PROXY, timeout=10)
                s.sendall(b"POST http://allowed.test:%d/ HTTP/1.1\r\nContent-Length: 1\r\n\r\nx" % pe)
            s.recv(1)
            socks_.append(s)
        except Exception as e:
            fails += 1
            if until_refused:
                first = " (then %s)" % str(e)[:40]
                break
    print("%s: %d relaying, %d failed%s" % (tag, len(socks_), fails, first), flush=True)
    open(tag + ".ready", "w").close()
    wait_file(tag + ".done")


def burst(n, pe, tag, relay=False):
    """n connections at once: connect all, then CONNECT on each (relay: with a ClientHello after
    it, so that every tunnel served relays both ways); count the answers."""
    hard = raise_nofile()
    first = hello("allowed.test") if relay else b""
    n = min(n, hard - 50)
    cs = []
    for i in range(n):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(PROXY)
        cs.append(c)
    time.sleep(0.3)
    for c in cs:
        try:
            c.send(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % pe + first)
        except OSError:
            pass
    res = {}
    deadline = time.time() + 10
    for c in cs:
        c.setblocking(True)
        c.settimeout(max(0.1, deadline - time.time()))
        try:
            r = c.recv(100)
            k = r[9:12].decode() if r.startswith(b"HTTP/1.1 ") else ("closed" if not r else "other")
        except OSError as e:
            k = "error"
        res[k] = res.get(k, 0) + 1
    print("%s: %d at once: %s" % (tag, n, " ".join("%s=%d" % kv for kv in sorted(res.items()))), flush=True)
    open(tag + ".ready", "w").close()
    wait_file(tag + ".done")
    for c in cs:
        c.close()


def garbage(n, pa, seed):
    """n connections of random bytes and mutated requests, 16 at a time; some reset, some half-closed."""
    rnd = random.Random(seed)
    seeds = [b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: x\r\n\r\n" % pa, b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % pa,
             b"\x05\x01\x00\x05\x01\x00\x03\x0callowed.test" + struct.pack(">H", pa), b"\x05\x02\x00\x02\x05\x01\x00\x04" + b"\0" * 18,
             b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03" % pa + b"\0" * 40]
    lock = threading.Lock()
    stats = {"answered": 0, "silent": 0, "refused": 0}
    jobs = []
    for _ in range(n):
        port = rnd.choice([PROXY, SOCKS])
        if rnd.random() < 0.3:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 2000)))
        else:
            data = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 6)):
                i = rnd.randint(0, max(0, len(data) - 1))
                op = rnd.random()
                if op < 0.4 and data:
                    data[i] = rnd.getrandbits(8)
                elif op < 0.7:
                    data[i:i] = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 30)))
                elif data:
                    del data[i:i + rnd.randint(1, 8)]
            data = bytes(data)
        jobs.append((port, data, rnd.random(), rnd.random()))

    def one(job):
        port, data, half, rst = job
        try:
            s = socket.create_connection(port, timeout=1)
            s.sendall(data)
            if half < 0.5:
                s.shutdown(socket.SHUT_WR)
            try:
                got = s.recv(4096)
                k = "answered" if got else "silent"
            except OSError:
                k = "silent"
            if rst < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            k = "refused"
        with lock:
            stats[k] += 1

    def worker(part):
        for job in part:
            one(job)

    ts = [threading.Thread(target=worker, args=(jobs[i::16],)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("garbage: %d connections: %s" % (n, " ".join("%s=%d" % kv for kv in sorted(stats.items()))))
    print("after the garbage: %s" % http(b"GET http://allowed.test:%d/ok HTTP/1.1\r\n\r\n" % pa))


def slow(pa, pe):
    """Slow clients, from the jail's start: each line says when and how the proxy ended it."""
    t0 = time.time()
    out = []
    lock = threading.Lock()

    def note(what):
        with lock:
            out.append("%s after %.1fs" % (what, time.time() - t0))

    def trickle(i):
        s = socket.create_connection(PROXY, timeout=60)
        s.sendall(b"GET http://allowed.test:%d/ HTTP/1.1\r\n" % pa)
        try:
            while True:
                s.settimeout(2)
                try:
                    d = s.recv(4096)
                    note("trickle %d: %s" % (i, status(d + readall(s))))
                    return
                except socket.timeout:
                    s.sendall(b"X-Slow: 1\r\n")
        except OSError as e:
            note("trickle %d: error %s" % (i, e))

    def socks_partial():
        s = socket.create_connection(SOCKS, timeout=60)
        s.sendall(b"\x05")
        note("socks greeting cut: %r" % readall(s))

    def socks_request_partial():
        s = socket.create_connection(SOCKS, timeout=60)
        s.sendall(b"\x05\x01\x00")
        s.recv(2)
        s.sendall(b"\x05\x01\x00\x03\x0callowed")
        note("socks request cut: %r" % readall(s))

    def hello_partial():
        s, r = tunnel(b"allowed.test:%d" % pe, timeout=60)
        s.sendall(hello("allowed.test")[:20])
        note("partial ClientHello: %s" % ("closed" if not readall(s) else "answered"))

    def idle_tunnel():
        s, r = tunnel(b"allowed.test:%d" % pe, timeout=60)
        s.settimeout(33)
        try:
            d = s.recv(100)
            note("idle tunnel: %s" % ("closed" if not d else "answered"))
        except socket.timeout:
            note("idle tunnel: still open")

    ts = [threading.Thread(target=trickle, args=(i,)) for i in range(20)]
    ts += [threading.Thread(target=f) for f in (socks_partial, socks_request_partial, hello_partial, idle_tunnel)]
    for t in ts:
        t.start()
    time.sleep(3)
    note("meanwhile, a request: %s" % http(b"GET http://allowed.test:%d/meanwhile HTTP/1.1\r\n\r\n" % pa))
    for t in ts:
        t.join()
    print("\n".join(out))


def bindfirst():
    def b(fam, addr, reuseport=False):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            s.bind(addr)
            s.listen()
            return "bound"
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e))
    for port in (3128, 1080):
        print("bind 127.0.0.1:%d: %s" % (port, b(socket.AF_INET, ("127.0.0.1", port))))
        print("bind 0.0.0.0:%d: %s" % (port, b(socket.AF_INET, ("0.0.0.0", port))))
        print("bind reuseport 127.0.0.1:%d: %s" % (port, b(socket.AF_INET, ("127.0.0.1", port), True)))
    for name, fam, typ, proto in [("AF_VSOCK", 40, socket.SOCK_STREAM, 0), ("AF_PACKET", 17, socket.SOCK_RAW, 0),
                                  ("AF_NETLINK sock_diag", 16, socket.SOCK_RAW, 4), ("AF_XDP", 44, socket.SOCK_RAW, 0),
                                  ("AF_INET raw", socket.AF_INET, socket.SOCK_RAW, 1)]:
        try:
            socket.socket(fam, typ, proto)
            print("socket %s: made" % name)
        except OSError as e:
            print("socket %s: %s" % (name, errno.errorcode.get(e.errno, str(e))))


def hostile(pa):
    # Names with terminal escapes and other bytes, through every way in: the proxy refuses them;
    # -v and the net log must never carry a control byte to the terminal.
    for h in [b"\x1b]0;pwned\x07.test", b"\x1b[2J.allowed.test", b"a\x08\x08\x08b.test", b"evil.test\r\nX: y", b"\xc2\x9b31m.test", b"e%1b.test"]:
        print("http %r: %s" % (h, http(b"GET http://" + h + b":%d/ HTTP/1.1\r\n\r\n" % pa)))
        print("connect %r: %s" % (h, http(b"CONNECT " + h + b":%d HTTP/1.1\r\n\r\n" % pa)))
        print("socks %r: %s" % (h, socks(1, 3, h, pa)))
    for sni in ["\x1b[31mx.test", "other.test\x07"]:
        # A ClientHello whose name holds a control byte (built by hand: OpenSSL refuses to).
        h = bytearray(hello("allowed.test"))
        i = h.find(b"allowed.test")
        name = sni.encode()
        delta = len(name) - len(b"allowed.test")
        h[i:i + 12] = name
        # fix the lengths: record, handshake, extensions, server_name ext, list, name
        struct.pack_into(">H", h, 3, struct.unpack_from(">H", h, 3)[0] + delta)
        hs = int.from_bytes(h[6:9], "big") + delta
        h[6:9] = hs.to_bytes(3, "big")
        struct.pack_into(">H", h, i - 2, len(name))
        struct.pack_into(">H", h, i - 5, len(name) + 3)
        struct.pack_into(">H", h, i - 7, len(name) + 5)
        # the extensions block length: after session id, cipher suites and compression methods
        p = 9 + 2 + 32
        p += 1 + h[p]
        p += 2 + struct.unpack_from(">H", h, p)[0]
        p += 1 + h[p]
        struct.pack_into(">H", h, p, struct.unpack_from(">H", h, p)[0] + delta)
        s, r = tunnel(b"allowed.test:%d" % pa)
        s.sendall(bytes(h))
        print("sni %r: %s" % (sni, "closed" if not readall(s) else "answered"))


def linger(pa):
    # A detached child holds connections of every kind open; the command itself exits at once.
    if os.fork() == 0:
        os.setsid()
        held = []
        for i in range(40):
            s, r = tunnel(b"allowed.test:%d" % pa)
            held.append(s)
            s = socket.create_connection(PROXY)
            s.sendall(b"GET http://allowed.test:%d/ HTTP/1.1\r\nX-Slow: " % pa)
            held.append(s)
            s = socket.create_connection(SOCKS)
            s.sendall(b"\x05\x01\x00")
            held.append(s)
        open("linger.ready", "w").close()
        time.sleep(1000)
        os._exit(0)
    wait_file("linger.ready")
    print("the command exits; its child holds 120 connections")


mode, args = sys.argv[1], sys.argv[2:]
if mode == "spell":
    spell(int(args[0]))
elif mode == "smuggle":
    smuggle(int(args[0]), int(args[1]))
elif mode == "socks":
    socksmode(int(args[0]), int(args[1]))
elif mode == "tls":
    tls(int(args[0]))
elif mode == "halfclose":
    halfclose(int(args[0]))
elif mode == "hold":
    hold(int(args[0]), int(args[1]), args[2], args[3:] == ["until-refused"])
elif mode == "burst":
    burst(int(args[0]), int(args[1]), args[2], args[3:] == ["relay"])
elif mode == "garbage":
    garbage(int(args[0]), int(args[1]), int(args[2]))
elif mode == "slow":
    slow(int(args[0]), int(args[1]))
elif mode == "bindfirst":
    bindfirst()
elif mode == "hostile":
    hostile(int(args[0]))
elif mode == "linger":
    linger(int(args[0]))
EOF

python3 "$OUT/servers.py" "$OUT" allowed:127.0.0.2:log other:127.0.0.3:log echo:127.0.0.2:echo >"$OUT/servers.err" 2>&1 &
bg_pids="$bg_pids $!"
disown
wait_for "$OUT/ports" 100 || fail "the host's servers did not start: $(cat "$OUT/servers.err")"
port() { awk -v n="$1" '$1 == n {print $2}' "$OUT/ports"; }
PA=$(port allowed) PO=$(port other) PE=$(port echo)
# logged NAME: what server NAME logged since the last forget NAME.
logged() { cat "$OUT/$1.log" 2>/dev/null; }
forget() { rm -f "$OUT/$1.log"; }
hj() { jail --fs=host -q "$@"; }
# A jail in the background, its stdout and stderr in $W/TAG.out: its pid in $bgj.
bg_jail() {
	local tag=$1
	shift
	"$AJAIL" "$@" </dev/null >"$W/$tag.out" 2>&1 &
	bgj=$!
	bg_pids="$bg_pids $bgj"
}

# --- slow clients: started first, they take 33 s while the rest runs --------------------------------
# 20 request heads that trickle a header line every 2 s, a SOCKS5 greeting and a SOCKS5 request cut
# short, a tunnel whose ClientHello stops after 20 bytes, and an idle tunnel (a protocol where the
# server speaks first may wait as long as it likes); meanwhile an ordinary request.
bg_jail slow --fs=host -q --allow-net="allowed.test:$PA,allowed.test:$PE" python3 atk.py slow "$PA" "$PE"
slow_pid=$bgj

# --- spellings of loopback and of other hosts -------------------------------------------------------
forget allowed
forget other
hj --allow-net="allowed.test:$PA" python3 atk.py spell "$PA"
assert_rc 0 "the spellings"
for h in ALLOWED.TEST allowed.test.; do
	expect "http $h: " "200 served by allowed: GET /x HTTP/1.1 host=allowed.test:$PA"
	expect "connect $h: " "200 then 200 served by allowed: GET /in-tunnel HTTP/1.0*"
done
for h in 127.1 0x7f000001 2130706433 0177.0.0.1; do
	expect "http $h: " "403 *an address in an unusual form*"
	expect "connect $h: " "403 *an address in an unusual form*"
done
for h in 127.0.0.2 127.0.0.2. '[::ffff:127.0.0.2]' '[::ffff:7f00:2]' '[0:0:0:0:0:ffff:127.0.0.2]' '[::127.0.0.2]' '[::1]'; do
	expect "http $h: " "403 *an IP address needs an address rule*"
done
for h in localhost localhost. LOCALHOST; do
	expect "connect $h: " "403 *localhost needs a localhost:PORT rule*"
done
for h in allowed.test@other.test other.test@allowed.test 'allowed.test\@other.test'; do
	expect "http $h: " "400 *userinfo in the target*"
done
expect "http userinfo-port: " "400 *userinfo in the target*"
expect "http other.test#@allowed.test: " "400 *fragment*"
for h in allowed%2etest allowed.test%00.other.test allowed.test.. .allowed.test 'other.test\.allowed.test'; do
	expect "connect $h: " "400 *bad host name*"
done
expect "http [fe80::1%25lo]: " "400 *bad IPv6 literal*"
for h in other.test allowed.test.other.test xallowed.test localhost.localdomain; do
	expect "connect $h: " "403 *not in the allow-list*"
done
# Everything but the two spellings of allowed.test was refused, and reached no server.
stray=$(grep -v -E '^(http|connect) (ALLOWED\.TEST|allowed\.test\.): 200 |: 40[03] ' <<<"$out")
[ -z "$stray" ] || gap "spellings that were not refused: $stray"
check_eq "$(logged allowed | grep -c '^len=')" 4 "allowed.test's server: the two allowed spellings' requests, twice each"
check_eq "$(logged other)" "" "other.test's server saw nothing"
ok "$(grep -c ': 40[03] ' <<<"$out") spellings refused (127.1, 0x7f000001, [::ffff:127.0.0.2], localhost., userinfo, %2e, ...); ALLOWED.TEST and allowed.test. are allowed.test"

# --- framings and a second host in one stream -------------------------------------------------------
forget allowed
hj --allow-net="allowed.test:$PA" python3 atk.py smuggle "$PA" "$PO"
assert_rc 0 "the framings"
for c in "te+cl" "cl,cl" "cl list" "cl sign" "te twice" "te space" "te http/1.0" "obs-fold" "bare cr" "nul" "two hosts" \
	"connection names cl" "space in target" "https absolute" "origin form" "garbage line" "empty lines" \
	"CONNECT no port" "CONNECT port 0" "CONNECT port 65536" "CONNECT port +80"; do
	expect "$c: " "400 *"
done
expect "te xchunked: " "501 *"
expect "ftp scheme: " "501 *"
expect "long method: " "501 *"
expect "http/2: " "505 *"
expect "huge head: " "431 *"
expect "many headers: " "431 *"
expect "long target: " "414 *"
# What reaches a server: the target's host alone, with the target's Host header.
expect "pipelined other.test: " "200 served by allowed: GET / HTTP/1.1 host=allowed.test:$PA"
expect "absolute, Host other.test: " "200 served by allowed: GET / HTTP/1.1 host=allowed.test:$PA"
expect "CONNECT then other.test inside: " "200 served by allowed: GET http://other.test:$PO/ *"
check_eq "$(logged other)" "" "other.test's server saw nothing of the requests for it"
check_eq "$(logged allowed | grep -c '^len=')" 3 "allowed.test's server: 3 connections, none from a refused framing"
ok "framings refused (TE+CL, two Content-Length, obs-fold, bare CR, NUL, 16 KiB heads, ...); a request for other.test after one for allowed.test, or inside its tunnel, reaches allowed.test's server"

# --- SOCKS5 ------------------------------------------------------------------------------------------
hj --allow-net="allowed.test:$PA,*.wild.test:*" python3 atk.py socks "$PA" "$PA"
assert_rc 0 "SOCKS5"
expect "socks name: " "REP=0 200 served by allowed*"
expect "socks name upper dot: " "REP=0 200 served by allowed*"
for c in "other name" "ipv4 127.0.0.2" "ipv4 127.0.0.1" "ipv6 ::ffff:127.0.0.2" "ipv6 ::127.0.0.2" "ipv6 ::1" \
	"ipv6 64:ff9b::127.0.0.2" "ipv6 2002:7f00:2::" "name 127.0.0.2" "name 127.1" "name ::ffff:127.0.0.2" "name localhost" \
	"wildcard internal" "wildcard metadata"; do
	expect "socks $c: " "REP=2"
done
for c in "name [::1]" "name with nul" "name with escape" "port 0"; do
	expect "socks $c: " "REP=1"
done
for c in BIND "UDP ASSOCIATE" "cmd 9"; do
	expect "socks $c: " "REP=7"
done
expect "socks atyp 2: " "REP=8"
expect "socks socks4: " "b''"
expect "socks http: " "b''"
expect "socks no methods: " "b'\\\\x05\\\\xff'"
ok "SOCKS5: IPv4, IPv6 (mapped, compatible, NAT64, 6to4) and name forms of 127.0.0.2 refused; BIND, UDP ASSOCIATE refused (7); *.wild.test never reaches 127.0.0.4 or 169.254.169.254"

# --- TLS: what would hide a ClientHello from the server name check ---------------------------------
forget allowed
hj --net-log="$W/tls.json" --allow-net="allowed.test:$PA" python3 atk.py tls "$PA"
assert_rc 0 "the TLS cases"
for c in "same name" "same name, byte by byte" "not tls"; do
	expect "tls $c: " "answered*"
done
for c in "other name" "alert then other" "ccs then other" "appdata then other" "heartbeat then other" "hello split over records"; do
	expect "tls $c: " "closed"
done
check_eq "$(logged allowed | grep -c '^len=517 first=1603 ')" 2 "allowed.test's server: the two ClientHellos for allowed.test"
check_eq "$(logged allowed | grep -c -E '^len=0 ')" 6 "allowed.test's server: not a byte of the six refused tunnels"
python3 - "$W/tls.json" <<'EOF' || gap "the net log of the TLS cases: $(cat "$W/tls.json")"
import json, sys
reasons = [json.loads(l)["reason"] for l in open(sys.argv[1])]
assert reasons.count("a TLS record before the ClientHello") == 4, reasons
assert reasons.count("TLS server name other.test is not the host asked for") == 1, reasons
assert reasons.count("a malformed TLS ClientHello") == 1, reasons
EOF
ok "TLS: an alert, change_cipher_spec, application_data or heartbeat record before another name's ClientHello is closed (Go servers skip a warning alert there); so is a ClientHello split over records"

# --- half-closed connections ------------------------------------------------------------------------
hj --allow-net="allowed.test:$PA" python3 atk.py halfclose "$PA"
assert_rc 0 "half-closed connections"
expect "CONNECT, half-closed before a byte: " "200 served by allowed:  host=-"
expect "CONNECT, half-closed after a request: " "200 served by allowed: GET /half HTTP/1.0*"
expect "SOCKS5, half-closed before a byte: " "200 served by allowed:  host=-"
expect "absolute form, half-closed: " "200 served by allowed: GET / HTTP/1.1*"
ok "half-closed clients (CONNECT and SOCKS5 before their first byte, after a request; absolute form) get the server's answer"

# --- the proxy's ports, taken first; socket families ------------------------------------------------
hj --allow-net="allowed.test:$PA" python3 atk.py bindfirst
assert_rc 0 "bindfirst"
for p in 3128 1080; do
	for b in "bind 127.0.0.1:$p" "bind 0.0.0.0:$p" "bind reuseport 127.0.0.1:$p"; do
		expect "$b: " "EADDRINUSE"
	done
done
for f in AF_VSOCK AF_PACKET "AF_NETLINK sock_diag" AF_XDP "AF_INET raw"; do
	expect "socket $f: " "E*"
done
ok "the proxy's ports are the proxy's before the command runs (127.0.0.1, 0.0.0.0, SO_REUSEPORT: EADDRINUSE); vsock, packet, sock_diag, XDP, raw sockets refused"

# --- hostile names in -v and --net-log --------------------------------------------------------------
jail --fs=host -v --net-log="$W/hostile.json" --allow-net="allowed.test:$PA" python3 atk.py hostile "$PA"
assert_rc 0 "hostile names"
cp "$T/.err" "$W/hostile.err"
bad=$(grep -v -E '^(http|connect) .*: 400 |^socks .*: REP=1$|^sni .*: closed$' <<<"$out")
[ -z "$bad" ] || gap "hostile names that were not refused: $bad"
python3 - "$W/hostile.err" "$W/hostile.json" <<'EOF' || gap "a control byte reached -v's stderr or the net log"
import json, sys
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    bad = [c for c in data if (c < 0x20 and c != 0x0a) or c == 0x7f] + [1 for i in range(len(data) - 1) if data[i:i + 2] == b"\xc2\x9b"]
    assert not bad, (path, data)
for l in open(sys.argv[2]):
    json.loads(l)
EOF
check_contains "$(cat "$W/hostile.err")" "a malformed TLS ClientHello" "-v names the refusal of a server name with control bytes"
ok "names with escapes, BEL, backspaces, CRLF, C1 CSI: refused by HTTP, CONNECT and SOCKS5 and by the server name check; -v and the net log carry no control byte"

# --- 100 relaying connections: the proxy's memory ---------------------------------------------------
rm -f hold.ready hold.done
bg_jail hold --fs=host -q --allow-net="allowed.test:$PE" python3 atk.py hold 100 "$PE" hold
hold_pid=$bgj
wait_for hold.ready || gap "the 100 connections were not opened: $(cat hold.out)"
px=$(proxy_of "$hold_pid")
rss=$(status_of "$px" VmRSS) anon=$(status_of "$px" RssAnon) threads=$(status_of "$px" Threads) fds=$(fds_of "$px")
nnp=$(status_of "$px" NoNewPrivs) seccomp=$(status_of "$px" Seccomp)
touch hold.done
wait "$hold_pid"
check_contains "$(cat hold.out)" "hold: 100 relaying, 0 failed" "100 relaying connections (CONNECT with a ClientHello, SOCKS5, plain HTTP)"
[ "${anon:-99999}" -le 2560 ] || gap "the proxy's anonymous memory with 100 relaying connections: ${anon} kB (budget 2560 kB; VmRSS $rss kB)"
[ "${threads:-0}" -le 201 ] || gap "the proxy has $threads threads for 100 connections"
check_eq "$nnp" 1 "the proxy runs with no_new_privs"
if [ -r /proc/sys/kernel/seccomp/actions_avail ]; then check_eq "$seccomp" 2 "the proxy runs under a seccomp filter"; fi
ok "100 relaying connections: the proxy's VmRSS $rss kB, anonymous $anon kB, $threads threads, $fds fds; no_new_privs, seccomp $seccomp"

# --- 1,000 connections at once ----------------------------------------------------------------------
# Tunnels that relay both ways once served. Meanwhile a pipe the same user makes on the host keeps its
# 64 KiB: the relays' pipes must not use up the user's allowance (fs.pipe-user-pages-soft), past
# which the kernel gives every new pipe of the user's 8 KiB (root is not held to it).
rm -f burst.ready burst.done
bg_jail burst --fs=host -q --allow-net="allowed.test:$PE" python3 atk.py burst 1000 "$PE" burst relay
burst_pid=$bgj
wait_for burst.ready || gap "the burst did not finish: $(cat burst.out)"
px=$(proxy_of "$burst_pid")
brss=$(status_of "$px" VmRSS) banon=$(status_of "$px" RssAnon) bthreads=$(status_of "$px" Threads)
pipe_size=$(python3 -c 'import fcntl, os; r, w = os.pipe(); print(fcntl.fcntl(w, 1032))')
touch burst.done
wait "$burst_pid"
read -r n served refused <<<"$(sed -n 's/^burst: \([0-9]*\) at once: .*200=\([0-9]*\).*503=\([0-9]*\).*/\1 \2 \3/p' burst.out)"
[ -n "$n" ] || gap "the burst's result: $(cat burst.out)"
check_eq "$served" "$((n < 512 ? n : 512))" "connections served at once (PROXY_MAX_CONNS)"
[ "$((served + refused))" -eq "$n" ] || gap "$n at once: every one answered 200 or 503: $(cat burst.out)"
[ "${banon:-99999}" -le 16384 ] || gap "the proxy's anonymous memory with $n connections at once: $banon kB"
[ "${bthreads:-99999}" -le 1025 ] || gap "the proxy's threads with $n connections at once: $bthreads"
soft=$(cat /proc/sys/fs/pipe-user-pages-soft 2>/dev/null || echo 0)
if [ "$(id -u)" != 0 ] && [ "$soft" -ge 16384 ]; then
	check_eq "$pipe_size" 65536 "a new pipe of the user's on the host while $served tunnels relay"
fi
ok "$n connections at once: $served served, $refused answered 503; the proxy's VmRSS $brss kB, anonymous $banon kB, $bthreads threads; the user's new pipes: $pipe_size bytes"

# --- garbage: the proxy serves on, and its fds come back ---------------------------------------------
rm -f g.start g.go g.ready g.done
bg_jail garbage --fs=host -q --allow-net="allowed.test:$PA" sh -c 'touch g.start; while [ ! -e g.go ]; do sleep 0.05; done
	python3 atk.py garbage 2000 "$1" 1; touch g.ready; while [ ! -e g.done ]; do sleep 0.05; done' sh "$PA"
garbage_pid=$bgj
wait_for g.start || gap "the garbage jail did not start: $(cat garbage.out)"
px=$(proxy_of "$garbage_pid")
fds0=$(fds_of "$px")
touch g.go
wait_for g.ready 600 || gap "the garbage did not finish: $(cat garbage.out)"
for _ in $(seq 100); do
	[ "$(fds_of "$px")" = "$fds0" ] && [ "$(status_of "$px" Threads)" = 1 ] && break
	sleep 0.1
done
fds1=$(fds_of "$px") threads=$(status_of "$px" Threads)
touch g.done
wait "$garbage_pid"
check_contains "$(cat garbage.out)" "after the garbage: 200 served by allowed" "a request after the garbage"
check_eq "$fds1" "$fds0" "the proxy's fds after 2,000 garbage connections"
check_eq "$threads" 1 "the proxy's threads after 2,000 garbage connections"
ok "2,000 connections of random and mutated bytes (some reset, some half-closed): $(sed -n 's/^garbage: //p' garbage.out); the proxy serves on, back to $fds0 fds and 1 thread"

# --- a low fd limit: no busy loop --------------------------------------------------------------------
# Under a hard limit of 1024 fds, tunnels that relay both ways (6 fds each in the proxy) one after
# another until one is refused: the proxy must refuse what it cannot hold, not leave a connection
# queued while accept fails with EMFILE (the listener stays readable: a busy loop).
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 1024 ]; then
	ok "the hard fd limit is $(ulimit -Hn), under 1024: the low fd limit case is left out"
else
	rm -f lowfd.ready lowfd.done
	(
		ulimit -n 1024
		exec "$AJAIL" --fs=host -q --allow-net="allowed.test:$PE" python3 atk.py hold 400 "$PE" lowfd until-refused </dev/null >"$W/lowfd.out" 2>&1
	) &
	low_pid=$!
	bg_pids="$bg_pids $low_pid"
	wait_for lowfd.ready || gap "the tunnels under ulimit -n 1024 were not opened: $(cat lowfd.out)"
	px=$(proxy_of "$low_pid")
	c0=$(cpu_of "$px")
	sleep 1
	c1=$(cpu_of "$px")
	touch lowfd.done
	wait "$low_pid"
	[ "$((c1 - c0))" -le 20 ] || gap "with ulimit -n 1024 and its fds full, the proxy used $((c1 - c0)) ticks of CPU in 1 s (a busy loop)"
	check_contains "$(cat lowfd.out)" "lowfd: 120 relaying, 1 failed (then 503 " "under ulimit -n 1024: (1024 - 64) / 8 tunnels at once, then 503"
	ok "ulimit -n 1024: $(sed -n 's/^lowfd: //p' lowfd.out); the proxy idle meanwhile ($((c1 - c0)) ticks in 1 s)"
fi

# --- exiting: connections held by a detached child; the socket maker stopped; ajail killed ----------
s0=$(date +%s%N)
hj --allow-net="allowed.test:$PA" python3 atk.py linger "$PA"
s1=$(date +%s%N)
assert_rc 0 "a jail whose detached child holds 120 connections"
[ "$(((s1 - s0) / 1000000))" -lt 5000 ] || gap "ajail took $(((s1 - s0) / 1000000)) ms to exit with 120 connections held open"
left=$(leftovers | grep -v "atk.py slow"; pgrep -f "atk.py linger")
[ -z "$left" ] || gap "left running after a jail exited with connections held open: $left"
ok "a detached child holding 120 connections: ajail exits in $(((s1 - s0) / 1000000)) ms, nothing left"

cat >"$W/maker.sh" <<'EOF'
python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
for _ in $(seq 200); do grep -q ':1F40 00000000:0000 0A' /proc/net/tcp && break; sleep 0.05; done
for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = ajail-publish ] && m=${p#/proc/}; done
if kill -STOP "$m" 2>/dev/null; then echo "maker stopped"; else echo "maker: kill refused"; fi
touch "$1.ready"
for _ in $(seq 200); do [ -e "$1.done" ] && break; sleep 0.05; done
EOF
# fetch PORT: the host fetches from its 127.0.0.1:PORT (10 s at most); prints the result and ms.
fetch() {
	python3 -c 'import sys, time, urllib.request
t0 = time.time()
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=10).status
except Exception as e:
    r = type(e).__name__
print(r, int((time.time() - t0) * 1000))' "$1"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
scoped=false
"$AJAIL" --fs=host --allow-net=allowed.test --dry-run true 2>/dev/null | grep -q "signals scoped" && scoped=true
for ll in "" --no-landlock; do
	HP=$(free_port)
	rm -f maker.ready maker.done
	bg_jail maker --fs=host -q $ll --allow-net="allowed.test:$PA" --publish="$HP:8000" sh maker.sh maker
	maker_pid=$bgj
	wait_for maker.ready || gap "the maker jail did not start: $(cat maker.out)"
	sleep 0.3
	read -r res ms <<<"$(fetch "$HP")"
	touch maker.done
	m0=$(date +%s%N)
	wait "$maker_pid"
	m1=$(date +%s%N)
	if grep -q "maker stopped" maker.out; then
		[ -n "$ll" ] || ! $scoped || gap "the jail stopped its socket maker despite landlock's signal scope"
		[ "$res" != 200 ] || gap "a fetch through a stopped maker got 200"
		[ "$ms" -lt 8000 ] || gap "a fetch through a stopped maker took $ms ms"
	else
		check_eq "$res" 200 "${ll:-with landlock}: the published port while the jail tried to stop its maker"
	fi
	[ "$(((m1 - m0) / 1000000))" -lt 3000 ] || gap "${ll:-with landlock}: ajail took $(((m1 - m0) / 1000000)) ms to exit after its command, the maker stopped"
	ok "--publish ${ll:-with landlock}: $(head -1 maker.out); the host's fetch: $res in $ms ms; ajail exits $(((m1 - m0) / 1000000)) ms after its command"
done

# descendants PID: every process under PID.
descendants() {
	local kids k
	kids=$(ps -eo pid=,ppid= | awk -v p="$1" '$2 == p {print $1}')
	for k in $kids; do echo "$k"; descendants "$k"; done
}
HP=$(free_port)
rm -f kill.ready kill.done
bg_jail kill --fs=host -q --allow-net="allowed.test:$PE" --publish="$HP:8000" python3 atk.py hold 60 "$PE" kill
kill_pid=$bgj
wait_for kill.ready || gap "the jail to kill did not start: $(cat kill.out)"
under=$(descendants "$kill_pid" | tr '\n' ' ')
kill -KILL "$kill_pid"
wait "$kill_pid" 2>/dev/null
alive=''
for _ in $(seq 60); do
	alive=''
	for p in $under; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) && [ "$st" != Z ] && alive="$alive $p($(cat "/proc/$p/comm" 2>/dev/null))"
	done
	[ -z "$alive" ] && break
	sleep 0.05
done
[ -z "$alive" ] || gap "after SIGKILL to ajail holding 60 connections, still running:$alive"
ok "SIGKILL to ajail with 60 connections relaying and a published port: its $(wc -w <<<"$under") processes (proxy, maker, jail) are gone"

# --- the slow clients' results ----------------------------------------------------------------------
wait "$slow_pid"
out=$(cat slow.out)
expect "meanwhile, a request: " "200 served by allowed: GET /meanwhile *"
# "... after S.Ss" within [lo, hi] seconds
within() { awk -v t="${1##* after }" -v lo="$2" -v hi="$3" 'BEGIN { t += 0; exit !(t >= lo && t <= hi) }'; }
n408=0
for i in $(seq 0 19); do
	l=$(line "trickle $i: ")
	case $l in "408 ajail: no complete request in 30 s after "*) within "$l" 29 40 && n408=$((n408 + 1)) ;; esac
done
check_eq "$n408" 20 "request heads trickling a line every 2 s: 408 after 30 s: $(grep trickle <<<"$out" | head -3)"
for c in "socks greeting cut" "socks request cut"; do
	l=$(line "$c: ")
	case $l in "b'' after "*) within "$l" 29 40 || gap "$c: $l" ;; *) gap "$c: $l" ;; esac
done
l=$(line "partial ClientHello: ")
case $l in "closed after "*) within "$l" 9 16 || gap "partial ClientHello: $l" ;; *) gap "partial ClientHello: $l" ;; esac
expect "idle tunnel: " "still open after *"
ok "slow clients: trickling heads 408 and cut SOCKS5 handshakes closed after 30 s, a stalled ClientHello after 10 s; an idle tunnel stays; others served meanwhile"

left=$(leftovers)
[ -z "$left" ] || gap "ajail processes left running: $left"
gaps_report
ok "nothing of ajail left running"
