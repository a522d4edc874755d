# --allow-net: a network namespace of the jail's own whose only way out is ajail's filtering proxy
# (HTTP 127.0.0.1:3128 with CONNECT and absolute form, SOCKS5 127.0.0.1:1080); names are checked
# before any lookup, wildcards never reach internal addresses, IP literals need IP rules, TLS SNI
# must be the host asked for; localhost:PORT forwards, --publish, --net-log, -v, the exit summary,
# presets (shipped and the user's), AJAIL_ARGS, --net, usage errors, clone show; npm as a real
# client. The servers are python3 on the host's loopback, under the names run.sh puts in /etc/hosts:
# allowed.test 127.0.0.2, other.test 127.0.0.3, sub.wild.test 127.0.0.4, exact.wild.test 127.0.0.5,
# meta.test 169.254.169.254 (nothing listens there: it is only ever to be refused).
. "$(dirname "$0")/libtest.sh"
for c in python3 curl openssl git; do
	command -v "$c" >/dev/null || fail "$c is not installed: this test needs it on the host (and in --fs=host jails)"
done
command -v npm >/dev/null || fail "npm is not installed: the real-client case (npm view through @npm) cannot run; apt-get install npm"
. "$(dirname "$0")/libnet.sh"
need_names allowed.test=127.0.0.2 other.test=127.0.0.3 sub.wild.test=127.0.0.4 exact.wild.test=127.0.0.5 meta.test=169.254.169.254
mkdir -p "$TOP/xdg/ajail" "$TOP/home/.config/ajail" "$TOP/empty"

# --- the host's servers ----------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$OUT/key.pem" -out "$OUT/cert.pem" -days 2 \
	-subj /CN=allowed.test -addext "subjectAltName=DNS:allowed.test,DNS:other.test" >/dev/null 2>&1 ||
	fail "openssl could not make a self-signed certificate"
# NAME:ADDRESS[:tls] each; every request is logged in $OUT/NAME.log ("METHOD TARGET"), and the TLS
# one logs each ClientHello's server name in $OUT/NAME.sni. The answer names the server and echoes
# what it received, so that a test can tell which server it reached and how.
cat >"$OUT/servers.py" <<'EOF'
import http.server, os, socketserver, ssl, sys, threading, time
out = sys.argv[1]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = 10
    def log_message(self, *a): pass
    def do_GET(self): self.answer(b"")
    def do_POST(self):
        self.answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
    def answer(self, body):
        name = self.server.name
        with open(os.path.join(out, name + ".log"), "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        with open(os.path.join(out, name + ".conns"), "a") as f:
            f.write("%d\n" % self.client_address[1])
        text = ("hello from %s\nrequest: %s\nhost: %s\nproxy-authorization: %s\nbody: %s\n" % (
            name, self.requestline, self.headers.get("Host"),
            self.headers.get("Proxy-Authorization", "-"), body.decode(errors="replace"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass
ports = []
for spec in sys.argv[2:]:
    name, addr, *tls = spec.split(":")
    # "ka..." servers speak HTTP/1.1 with keep-alive, the others close after each answer.
    s = Server((addr, 0), type("H11", (Handler,), {"protocol_version": "HTTP/1.1"}) if name.startswith("ka") else Handler)
    s.name = name
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(out, "cert.pem"), os.path.join(out, "key.pem"))
        def sni(sock, server_name, c, name=name):
            with open(os.path.join(out, name + ".sni"), "a") as f:
                f.write("%s\n" % server_name)
        ctx.sni_callback = sni
        s.socket = ctx.wrap_socket(s.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    ports.append("%s %d" % (name, s.server_address[1]))
with open(os.path.join(out, "ports.tmp"), "w") as f:
    f.write("\n".join(ports) + "\n")
os.rename(os.path.join(out, "ports.tmp"), os.path.join(out, "ports"))
time.sleep(900)
EOF
python3 "$OUT/servers.py" "$OUT" allowed:127.0.0.2 allowed2:127.0.0.2 other:127.0.0.3 wild:127.0.0.4 \
	exact:127.0.0.5 local:127.0.0.1 local2:127.0.0.1 tls:127.0.0.2:tls ka:127.0.0.2 >"$OUT/servers.err" 2>&1 &
bg_pids="$bg_pids $!"
disown
for _ in $(seq 200); do [ -e "$OUT/ports" ] && break; sleep 0.05; done
[ -e "$OUT/ports" ] || fail "the host's servers did not start: $(cat "$OUT/servers.err")"
port() { awk -v n="$1" '$1 == n {print $2}' "$OUT/ports"; }
PA=$(port allowed) PA2=$(port allowed2) PO=$(port other) PW=$(port wild) PE=$(port exact)
PL=$(port local) PL2=$(port local2) PS=$(port tls) PK=$(port ka)
curl -sS -m 5 "http://allowed.test:$PA/" | grep -q "hello from allowed" || fail "the host cannot reach its own server at allowed.test:$PA"
curl -sSk -m 5 "https://allowed.test:$PS/" | grep -q "hello from tls" || fail "the host cannot reach its own TLS server at allowed.test:$PS"
rm -f "$OUT"/*.log "$OUT"/*.sni "$OUT"/*.conns
# seen NAME: how many requests server NAME has answered so far.
seen() { { wc -l <"$OUT/$1.log"; } 2>/dev/null || echo 0; }
# free_port: a TCP port free on the host's 127.0.0.1 just now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# port_free PORT: whether a server could listen on the host's 127.0.0.1:PORT now (SO_REUSEADDR, as
# servers do: a connection in TIME_WAIT does not count, a listener does).
port_free() {
	python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()' "$1" 2>/dev/null
}

hj() { jail --fs=host -q "$@"; }
# The jail's network: which interfaces, and which proxy variables.
ifaces() { tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' '; }
# Whether this kernel's landlock has TCP rules (ABI 4): then a direct connect() fails with EACCES.
landlock_net=false
"$AJAIL" --fs=host --allow-net=allowed.test --dry-run true 2>/dev/null | grep -q "TCP connect denied but to ports" && landlock_net=true
# hint_works MESSAGE CMD...: a refusal says "--allow-net=X lets it through": with X, CMD must work.
hint_works() {
	local msg=$1 h
	shift
	h=$(sed -n 's/.*--allow-net=\([^ ]*\) lets it through.*/\1/p' <<<"$msg" | head -1)
	if [ -z "$h" ]; then
		gap "the refusal names no --allow-net=PATTERN that lets it through: $msg"
		return
	fi
	jail --fs=host -q --allow-net="$h" "$@"
	if [ "$rc" = 0 ]; then ok "the refusal's hint --allow-net=$h does let it through"; else
		gap "the refusal says '--allow-net=$h lets it through', but with --allow-net=$h: $* exits $rc: $(head -c 300 <<<"$out$err")"
	fi
}
# A SOCKS5 client (greeting, CONNECT by name or IPv4 address, then an HTTP GET): prints
# "TARGET REP=N" and, when N is 0, the first line of the answer.
cat >"$W/socks.py" <<'EOF'
import socket, struct, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    s = socket.create_connection(("127.0.0.1", 1080), timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00", "SOCKS5 greeting refused"
    if host.replace(".", "").isdigit():
        addr = b"\x01" + socket.inet_aton(host)
    else:
        addr = b"\x03" + bytes([len(host)]) + host.encode()
    s.sendall(b"\x05\x01\x00" + addr + struct.pack(">H", int(port)))
    r = s.recv(10)
    line = ""
    if r[1] == 0:
        s.sendall(("GET /socks HTTP/1.0\r\nHost: %s\r\n\r\n" % host).encode())
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        line = " " + data.split(b"\r\n\r\n", 1)[-1].split(b"\n")[0].decode(errors="replace")
    print("%s REP=%d%s" % (target, r[1], line))
EOF
# Ways around the proxy, from python3 in the jail: one line each, "WHAT: RESULT" (an errno name,
# or connected / reply / resolved when it got through).
cat >"$W/bypass.py" <<'EOF'
import errno, socket, sys
query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
def err(e):
    return errno.errorcode.get(e.errno, str(e)) if isinstance(e, OSError) and e.errno else type(e).__name__
def tcp(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(addr); return "connected"
    except Exception as e:
        return err(e)
def udp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(query, addr); s.recvfrom(512); return "reply"
    except socket.timeout:
        return "no reply"
    except Exception as e:
        return err(e)
def dns(name):
    try:
        socket.getaddrinfo(name, 443); return "resolved"
    except Exception as e:
        return "unresolved (%s)" % e
allowed_port = int(sys.argv[1])
print("tcp 1.1.1.1:443:", tcp(socket.AF_INET, ("1.1.1.1", 443)))
print("tcp [2606:4700:4700::1111]:443:", tcp(socket.AF_INET6, ("2606:4700:4700::1111", 443)))
print("tcp 127.0.0.2:%d:" % allowed_port, tcp(socket.AF_INET, ("127.0.0.2", allowed_port)))
print("tcp 8.8.8.8:53:", tcp(socket.AF_INET, ("8.8.8.8", 53)))
print("udp 8.8.8.8:53:", udp(("8.8.8.8", 53)))
print("udp 127.0.0.2:53:", udp(("127.0.0.2", 53)))
print("dns example.com:", dns("example.com"))
EOF

# --- the plan: --dry-run ---------------------------------------------------------------------------
jail --fs=host --allow-net="allowed.test:$PA,@npm,*.wild.test,127.0.0.0/8:$PO,localhost:$PL" --publish="$PL2:8000" --dry-run true
assert_rc 0 "--dry-run --allow-net"
assert_contains "$out" "network:     allow-list, through ajail's proxy (HTTP 127.0.0.1:3128, SOCKS5 127.0.0.1:1080): allowed.test:$PA, @npm, *.wild.test, 127.0.0.0/8:$PO, localhost:$PL" "--dry-run's network line"
assert_contains "$out" "published host's 127.0.0.1:$PL2 -> 8000" "--dry-run's network line names the published port"
for v in HTTP_PROXY=http://127.0.0.1:3128 HTTPS_PROXY=http://127.0.0.1:3128 ALL_PROXY=socks5h://127.0.0.1:1080 NO_PROXY=localhost,127.0.0.1,::1; do
	assert_contains "$out" "  $v" "--dry-run's env"
done
assert_contains "$(grep '^namespaces:' <<<"$out")" " net" "--dry-run: a network namespace of its own"
if $landlock_net; then
	ll=$(grep '^  landlock' <<<"$out")
	for p in 3128 1080 "$PL" 8000; do
		assert_contains "$ll" "$p" "--dry-run: landlock lets TCP connect reach port $p"
	done
	ok "--dry-run: network line, proxy variables, landlock TCP connect only to 3128,1080,$PL,8000"
else
	ok "--dry-run: network line and proxy variables (this kernel's landlock has no TCP rules)"
fi
jail --fs=host --no-net --publish="$PL2:8000" --dry-run true
assert_contains "$out" "network:     none (lo only); published host's 127.0.0.1:$PL2 -> 8000" "--dry-run --no-net --publish"
jail --fs=host --dry-run true
assert_contains "$out" "network:     host" "--dry-run without network options"
assert_not_contains "$out" "HTTP_PROXY" "no proxy variables on the host network"
ok "--dry-run --no-net --publish and the host network"

# --- the jail's network: only lo, the proxy variables ----------------------------------------------
hj --allow-net="allowed.test:$PA" sh -c "$(declare -f ifaces); ifaces; echo; ls /sys/class/net | tr '\n' ' '; echo; env | grep -i '_proxy=' | sort"
assert_rc 0 "an --allow-net jail runs"
assert_eq "$(sed -n 1p <<<"$out")" "lo " "/proc/net/dev in an --allow-net jail"
assert_eq "$(sed -n 2p <<<"$out")" "lo " "/sys/class/net in an --allow-net jail"
want_env="ALL_PROXY=socks5h://127.0.0.1:1080
HTTPS_PROXY=http://127.0.0.1:3128
HTTP_PROXY=http://127.0.0.1:3128
NO_PROXY=localhost,127.0.0.1,::1
all_proxy=socks5h://127.0.0.1:1080
http_proxy=http://127.0.0.1:3128
https_proxy=http://127.0.0.1:3128
no_proxy=localhost,127.0.0.1,::1"
got_env=$(sed -n '3,$p' <<<"$out" | grep -E '^(HTTP|HTTPS|ALL|NO)_PROXY=|^(http|https|all|no)_proxy=' | LC_ALL=C sort)
assert_eq "$got_env" "$(LC_ALL=C sort <<<"$want_env")" "the proxy variables in an --allow-net jail"
ok "--allow-net: the jail sees only lo (/proc/net/dev, /sys/class/net) and has the proxy variables"
for mode in --no-net --net=none --net=host; do
	hj "$mode" sh -c 'env | grep -ci "_proxy="'
	assert_eq "$out" "0" "$mode: no proxy variables"
done
ok "--no-net, --net=none, --net=host: no proxy variables"

# --- allowed: HTTP proxy (absolute form), CONNECT, SOCKS5 ------------------------------------------
hj --allow-net="allowed.test:$PA" curl -sS -m 10 "http://allowed.test:$PA/path?q=1"
assert_rc 0 "allowed.test through HTTP_PROXY"
assert_contains "$out" "hello from allowed" "allowed.test through HTTP_PROXY"
# The proxy rewrote the absolute-form request into origin form for the server, with the Host header.
assert_contains "$out" "request: GET /path?q=1 HTTP/1.1" "the server gets the request in origin form"
assert_contains "$out" "host: allowed.test:$PA" "the server gets the Host header"
assert_eq "$(seen allowed)" 1 "allowed.test's server saw the request"
ok "allowed name through HTTP_PROXY (absolute form, rewritten to origin form with Host)"
hj --allow-net="allowed.test:$PA" curl -sS -m 10 -U user:secret -d 'a=1&b=2' "http://allowed.test:$PA/post"
assert_rc 0 "a POST with proxy credentials"
assert_contains "$out" "request: POST /post HTTP/1.1" "POST through the proxy"
assert_contains "$out" "body: a=1&b=2" "the request body reaches the server"
assert_contains "$out" "proxy-authorization: -" "Proxy-Authorization is not passed on to the server"
ok "a POST body goes through; Proxy-Authorization stays at the proxy"
# Raw absolute form, as a program without a proxy library would send it.
hj --allow-net="allowed.test:$PA" python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(("GET http://allowed.test:%s/raw HTTP/1.1\r\nHost: allowed.test\r\nProxy-Connection: keep-alive\r\n\r\n" % sys.argv[1]).encode())
data = b""
while True:
    d = s.recv(4096)
    if not d: break
    data += d
print(data.decode())' "$PA"
assert_rc 0 "a raw absolute-form request"
assert_contains "$out" "HTTP/1.0 200" "a raw absolute-form request"
assert_contains "$out" "request: GET /raw HTTP/1.1" "a raw absolute-form request reaches the server in origin form"
ok "plain HTTP in absolute form from a raw socket"
# CONNECT: curl -p tunnels plain HTTP; HTTPS goes through CONNECT by itself.
hj --allow-net="allowed.test:$PA" curl -sS -m 10 -p "http://allowed.test:$PA/tunnel"
assert_rc 0 "CONNECT to allowed.test"
assert_contains "$out" "request: GET /tunnel HTTP/1.1" "CONNECT tunnel to allowed.test"
hj --allow-net="allowed.test:$PS" curl -sS -m 10 -k "https://allowed.test:$PS/tls"
assert_rc 0 "HTTPS through CONNECT"
assert_contains "$out" "hello from tls" "HTTPS through CONNECT"
assert_contains "$out" "request: GET /tls HTTP/1.1" "HTTPS through CONNECT"
assert_eq "$(cat "$OUT/tls.sni")" "allowed.test" "the TLS server got the client's SNI"
ok "CONNECT: a plain tunnel, and HTTPS with SNI allowed.test"
# SOCKS5 with host names: curl --socks5-hostname, ALL_PROXY alone, and the protocol by hand.
hj --allow-net="allowed.test:$PA,allowed.test:$PS" sh -c "curl -sS -m 10 --socks5-hostname 127.0.0.1:1080 http://allowed.test:$PA/socks1 &&
	curl -sSk -m 10 --socks5-hostname 127.0.0.1:1080 https://allowed.test:$PS/socks2 &&
	env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy curl -sS -m 10 http://allowed.test:$PA/allproxy"
assert_rc 0 "SOCKS5"
assert_contains "$out" "request: GET /socks1 " "curl --socks5-hostname, http"
assert_contains "$out" "request: GET /socks2 " "curl --socks5-hostname, https"
assert_contains "$out" "request: GET /allproxy " "curl with only ALL_PROXY (socks5h)"
hj --allow-net="allowed.test:$PA,127.0.0.3:$PO" python3 socks.py "allowed.test:$PA" "127.0.0.3:$PO" "other.test:$PO" "127.0.0.2:$PA" "allowed.test:$PA2"
assert_rc 0 "SOCKS5 by hand"
assert_contains "$out" "allowed.test:$PA REP=0 hello from allowed" "SOCKS5 CONNECT by name"
assert_contains "$out" "127.0.0.3:$PO REP=0 hello from other" "SOCKS5 CONNECT to an IPv4 address with an address rule"
assert_contains "$out" "other.test:$PO REP=2" "SOCKS5: a name not allowed gets 'not allowed by ruleset'"
assert_contains "$out" "127.0.0.2:$PA REP=2" "SOCKS5: an address without an address rule"
assert_contains "$out" "allowed.test:$PA2 REP=2" "SOCKS5: a port not allowed"
ok "SOCKS5: curl --socks5-hostname (http, https), ALL_PROXY, and by hand (REP 0 allowed, REP 2 refused)"

# --- refused: a name not in the list ---------------------------------------------------------------
o0=$(seen other)
hj --allow-net="allowed.test:$PA" curl -sS -m 10 -i "http://other.test:$PO/"
assert_rc 0 "curl gets the proxy's refusal"
assert_contains "$(head -1 <<<"$out")" "HTTP/1.1 403 Forbidden" "other.test refused with 403"
assert_contains "$out" "ajail: other.test:$PO is not allowed by the network policy (not in the allow-list)" "the refusal says why"
refusal=$out
hj --allow-net="allowed.test:$PA" curl -sS -m 10 -p "http://other.test:$PO/"
assert_rc 56 "CONNECT to other.test"
assert_contains "$err" "CONNECT tunnel failed, response 403" "CONNECT to other.test"
hj --allow-net="allowed.test:$PA" curl -sS -m 10 --socks5-hostname 127.0.0.1:1080 "http://other.test:$PO/"
[ "$rc" != 0 ] || fail "SOCKS5 to other.test should fail: $out"
assert_eq "$(seen other)" "$o0" "other.test's server saw nothing"
ok "other.test refused: 403 with the reason (HTTP), CONNECT 403, SOCKS5 refused; its server saw nothing"
hint_works "$refusal" curl -sS -m 10 -f "http://other.test:$PO/"

# --- around the proxy: direct connections, UDP, DNS ------------------------------------------------
a0=$(seen allowed)
hj --allow-net="allowed.test:$PA" curl -sS -m 10 --noproxy '*' "http://127.0.0.2:$PA/"
[ "$rc" != 0 ] || fail "curl --noproxy '*' to an allowed host's address got through: $out"
hj --allow-net="allowed.test:$PA" curl -sS -m 10 --noproxy '*' "http://allowed.test:$PA/"
[ "$rc" != 0 ] || fail "curl --noproxy '*' to an allowed name got through: $out"
ok "curl --noproxy '*' to an allowed host fails (exit $rc: ${err#curl: })"
for ll in "" --no-landlock; do
	hj --allow-net="allowed.test:$PA" $ll python3 bypass.py "$PA"
	assert_rc 0 "bypass.py $ll"
	for l in "tcp 1.1.1.1:443" "tcp [2606:4700:4700::1111]:443" "tcp 127.0.0.2:$PA" "tcp 8.8.8.8:53" "udp 8.8.8.8:53" "udp 127.0.0.2:53" "dns example.com"; do
		r=$(grep -F "$l:" <<<"$out") || fail "bypass.py printed nothing for $l: $out $err"
		case $r in *": connected" | *": reply" | *": resolved") fail "${ll:-with landlock}: $r: the jail got out around the proxy" ;; esac
	done
	if [ -z "$ll" ] && $landlock_net; then
		assert_contains "$(grep -F "tcp 1.1.1.1:443:" <<<"$out")" EACCES "landlock refuses connect() to a public address"
		assert_contains "$(grep -F "tcp 127.0.0.2:$PA:" <<<"$out")" EACCES "landlock refuses connect() to the allowed host's port"
	fi
	if [ -n "$ll" ]; then
		assert_contains "$(grep -F "tcp 1.1.1.1:443:" <<<"$out")" ENETUNREACH "without landlock: no route out of the namespace"
		assert_contains "$(grep -F "tcp 127.0.0.2:$PA:" <<<"$out")" ECONNREFUSED "without landlock: 127.0.0.2 is the jail's own lo"
	fi
	assert_contains "$(grep -F "udp 8.8.8.8:53:" <<<"$out")" ENETUNREACH "UDP DNS to 8.8.8.8 ${ll:-with landlock}"
	ok "python3 ${ll:-with landlock}: $(tr '\n' ';' <<<"$out" | sed 's/;$//; s/;/; /g')"
done
# A program that ignores the proxy variables (busybox nc); busybox wget honours http_proxy.
jail --fs=bb -q --allow-net="allowed.test:$PA" sh -c "echo -e 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 127.0.0.2 $PA; echo nc1=\$?; nc -w 5 1.1.1.1 80 </dev/null; echo nc2=\$?; wget -q -O- http://allowed.test:$PA/bbwget; echo wget=\$?"
assert_contains "$out" "nc1=1" "busybox nc to the allowed host's address, around the proxy"
assert_contains "$out" "nc2=1" "busybox nc to a public address"
assert_contains "$out" "request: GET /bbwget " "busybox wget through http_proxy"
assert_contains "$out" "wget=0" "busybox wget through http_proxy"
assert_eq "$(seen allowed)" "$((a0 + 1))" "allowed.test's server saw only busybox wget's request"
ok "busybox rootfs: nc (no proxy support) gets nowhere; wget (http_proxy) gets through"

# --- plain HTTP keep-alive ---------------------------------------------------------------------------
# Three requests on one connection to the proxy (sent at once: a GET, a POST with a body, a GET) reach
# the server on one connection and come back in order; then a request for a host the policy refuses
# ends the connection instead of reaching anything.
o1=$(seen other)
hj --allow-net="allowed.test:$PK" python3 -c '
import socket, sys
port = sys.argv[1]
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
body = b"Q" * 70000
reqs = b"GET http://allowed.test:%s/ka1 HTTP/1.1\r\n\r\n" % port.encode()
reqs += b"POST http://allowed.test:%s/ka2 HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (port.encode(), len(body)) + body
reqs += b"GET http://allowed.test:%s/ka3 HTTP/1.1\r\n\r\n" % port.encode()
reqs += b"GET http://other.test:%s/ka4 HTTP/1.1\r\n\r\n" % port.encode()
s.sendall(reqs)
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        print("timeout"); break
    if not chunk:
        break
    data += chunk
text = data.decode(errors="replace")
print("answers=%d" % text.count("hello from ka"))
print("order=%s" % ",".join(l.split()[2] for l in text.splitlines() if l.startswith("request: ")))
print("bodylen=%d" % text.count("Q"))
print("closed")
' "$PK"
assert_contains "$out" "answers=3" "three kept-alive requests answered"
assert_contains "$out" "order=/ka1,/ka2,/ka3" "in order"
assert_contains "$out" "bodylen=70000" "the POST body arrived whole"
assert_contains "$out" "closed" "a request for another host ends the connection"
assert_not_contains "$out" "timeout" "the connection ended rather than hung"
assert_eq "$(sort -u "$OUT/ka.conns" | wc -l)" 1 "the three requests reached the server on one connection"
assert_not_contains "$(cat "$OUT/ka.log")" "/ka4" "the request for another host reached the keep-alive server"
assert_eq "$(seen other)" "$o1" "other.test's server was reached"
ok "plain HTTP keep-alive: three requests (one with a 70 kB body) on one connection to the server, in order; a request for another host ends it"

# --- wildcards, internal addresses, IP literals ----------------------------------------------------
w0=$(seen wild) e0=$(seen exact)
hj -v --allow-net='*.wild.test:*' sh -c "curl -sS -m 10 http://sub.wild.test:$PW/; curl -sS -m 10 http://exact.wild.test:$PE/"
assert_contains "$out" "ajail: sub.wild.test:$PW is not allowed by the network policy (a wildcard rule never reaches an internal address)" "*.wild.test to 127.0.0.4"
assert_contains "$out" "ajail: exact.wild.test:$PE is not allowed by the network policy (a wildcard rule never reaches an internal address)" "*.wild.test to 127.0.0.5"
assert_contains "$err" "ajail: net: deny sub.wild.test:$PW: a wildcard rule never reaches an internal address (http)" "-v line of the wildcard refusal"
wild_refusal=$(grep "sub.wild.test" <<<"$out")
hj --allow-net="*.wild.test:*,exact.wild.test:$PE" sh -c "curl -sS -m 10 http://sub.wild.test:$PW/; curl -sS -m 10 http://exact.wild.test:$PE/"
assert_contains "$out" "a wildcard rule never reaches an internal address" "sub.wild.test still refused beside an exact rule"
assert_contains "$out" "hello from exact" "exact.wild.test allowed by its exact rule"
assert_eq "$(seen wild)" "$w0" "sub.wild.test's server saw nothing"
assert_eq "$(seen exact)" "$((e0 + 1))" "exact.wild.test's server saw one request"
ok "*.wild.test never reaches 127.0.0.4/127.0.0.5; exact.wild.test does by its exact rule"
hint_works "$wild_refusal" curl -sS -m 10 -f "http://sub.wild.test:$PW/"
# meta.test (169.254.169.254): two labels, which no wildcard may cover ("*.test" is too broad).
jail --fs=host --allow-net='*.test' true
assert_rc 2 "'*.test' as a pattern"
hj --allow-net="*.wild.test:*,allowed.test:$PA" sh -c "curl -sS -m 10 http://meta.test/latest/meta-data/; curl -sS -m 10 http://169.254.169.254/latest/meta-data/; curl -sS -m 10 -p http://169.254.169.254:80/ 2>&1; python3 socks.py meta.test:80 169.254.169.254:80"
assert_contains "$out" "ajail: meta.test:80 is not allowed by the network policy (not in the allow-list)" "meta.test"
assert_contains "$out" "ajail: 169.254.169.254:80 is not allowed by the network policy (an IP address needs an address rule)" "169.254.169.254 without an address rule"
assert_contains "$out" "CONNECT tunnel failed, response 403" "CONNECT to 169.254.169.254"
assert_contains "$out" "meta.test:80 REP=2" "SOCKS5 to meta.test"
assert_contains "$out" "169.254.169.254:80 REP=2" "SOCKS5 to 169.254.169.254"
ok "meta.test and 169.254.169.254 refused (no wildcard can cover meta.test; an IP literal needs an address rule)"
# IP literals: only address rules admit them, and a name is not admitted by an address rule.
o0=$(seen other) e0=$(seen exact) a0=$(seen allowed)
hj --allow-net="127.0.0.3:$PO,127.0.0.4/30:$PE,allowed.test:$PA" sh -c "curl -sS -m 10 http://127.0.0.3:$PO/; curl -sS -m 10 http://127.0.0.5:$PE/; curl -sS -m 10 http://other.test:$PO/; echo; curl -sS -m 10 http://127.0.0.2:$PA/"
assert_contains "$out" "hello from other" "127.0.0.3 allowed by its address rule"
assert_contains "$out" "hello from exact" "127.0.0.5 allowed by 127.0.0.4/30"
assert_contains "$out" "ajail: other.test:$PO is not allowed by the network policy (not in the allow-list)" "other.test is not admitted by the rule for its address"
assert_contains "$out" "ajail: 127.0.0.2:$PA is not allowed by the network policy (an IP address needs an address rule)" "127.0.0.2 is not admitted by the rule for allowed.test"
ip_refusal=$(grep "127.0.0.2:$PA is not allowed" <<<"$out")
assert_eq "$(seen other)" "$((o0 + 1))" "other's server: only the request by address"
assert_eq "$(seen allowed)" "$a0" "allowed's server: nothing by address"
# Other spellings of an address are refused, even under a rule for the address they spell.
hj --allow-net="127.0.0.0/8:$PO" python3 -c '
import socket, sys
for h in ["2130706435", "0x7f.0.0.3", "127.3", "0177.0.0.3"]:
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(("GET http://%s:%s/ HTTP/1.1\r\nHost: x\r\n\r\n" % (h, sys.argv[1])).encode())
    print(h, s.recv(4096).decode(errors="replace").splitlines()[0])' "$PO"
[ "$(grep -c ' 403 ' <<<"$out")" = 4 ] || fail "unusual spellings of 127.0.0.3 should each get 403: $out $err"
assert_eq "$(seen other)" "$((o0 + 1))" "other's server saw none of the unusual spellings"
ok "IP literals: allowed by an address or CIDR rule only; names not by address rules; 2130706435, 0x7f.0.0.3, 127.3, 0177.0.0.3 refused"
hint_works "$ip_refusal" curl -sS -m 10 -f "http://127.0.0.2:$PA/"

# --- port rules ------------------------------------------------------------------------------------
a0=$(seen allowed) b0=$(seen allowed2)
hj --allow-net="allowed.test:$PA" sh -c "curl -sS -m 10 http://allowed.test:$PA/; curl -sS -m 10 http://allowed.test:$PA2/"
assert_contains "$out" "hello from allowed" "allowed.test:$PA"
assert_contains "$out" "ajail: allowed.test:$PA2 is not allowed by the network policy (port not allowed for this host)" "another port of allowed.test"
port_refusal=$(grep "allowed.test:$PA2 is not allowed" <<<"$out")
hj --allow-net="allowed.test" curl -sS -m 10 "http://allowed.test:$PA/"
assert_contains "$out" "(port not allowed for this host)" "a name without :PORT allows only 80 and 443"
hj --allow-net="allowed.test:*" sh -c "curl -sS -m 10 http://allowed.test:$PA/; curl -sS -m 10 http://allowed.test:$PA2/"
assert_contains "$out" "hello from allowed2" "allowed.test:* allows any port"
assert_eq "$(seen allowed)" "$((a0 + 2))" "allowed's server"
assert_eq "$(seen allowed2)" "$((b0 + 1))" "allowed2's server: only through allowed.test:*"
ok "port rules: allowed.test:$PA, not :$PA2; allowed.test alone is 80/443; allowed.test:* any port"
hint_works "$port_refusal" curl -sS -m 10 -f "http://allowed.test:$PA2/"

# --- a refused name is never looked up -------------------------------------------------------------
rm -f "$W/nolookup.json"
hj --net-log="$W/nolookup.json" --allow-net="allowed.test:$PA" sh -c "curl -s -m 10 http://never-resolved.test/; curl -s -m 10 -p https://other.test:$PO/; curl -s -m 10 --socks5-hostname 127.0.0.1:1080 http://meta.test/"
python3 - "$W/nolookup.json" <<'EOF' || fail "refused names in the net log: $(cat "$W/nolookup.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["host"], r["via"]) for r in rows] == [("never-resolved.test", "http"), ("other.test", "http-connect"), ("meta.test", "socks5")], rows
for r in rows:
    assert r["decision"] == "deny" and r["address"] is None and r["reason"] == "not in the allow-list", r
EOF
ok "the net log has address null and 'not in the allow-list' for refused names (http, CONNECT, SOCKS5)"
if command -v strace >/dev/null; then
	# Under strace: the proxy's connection threads open /etc/hosts (or nscd, or port 53) to look a
	# name up. Refused names only: none; the control, one allowed name: some.
	lookups() {
		strace -f -qq -e trace=openat,connect,prctl,clone,clone3 -e signal=none -o "$TOP/strace.$1" \
			"$AJAIL" --fs=host -q --allow-net="allowed.test:$PA" sh -c "$2" </dev/null >/dev/null 2>&1
		# Two passes: a thread's first calls may be printed before its clone() returns in strace's log.
		awk 'FNR == NR && /prctl\(PR_SET_NAME, "ajail-proxy"\)/ { proxy[$1] = 1; main = $1 }
			FNR == NR && ($1 in proxy) && /clone/ && $NF ~ /^[0-9]+$/ { proxy[$NF] = 1 }
			FNR != NR && ($1 in proxy) && $1 != main && /"\/etc\/hosts"|nscd|htons\(53\)/ { n++ }
			END { print n + 0 }' "$TOP/strace.$1" "$TOP/strace.$1"
	}
	n_deny=$(lookups deny "curl -s -m 10 http://never-resolved.test/; curl -s -m 10 -p https://other.test:$PO/; curl -s -m 10 --socks5-hostname 127.0.0.1:1080 http://meta.test/")
	# The control is tried up to three times: it checks that strace sees the proxy's threads at all,
	# and once (of many runs) it saw none; the refused names are checked on every run.
	for _try in 1 2 3; do
		n_allow=$(lookups allow "curl -s -m 10 http://allowed.test:$PA/")
		[ "$n_allow" -ge 1 ] && break
	done
	if [ "$n_allow" -lt 1 ]; then
		fail "strace shows no lookup by the proxy even for an allowed name: this check no longer sees lookups ($TOP/strace.allow)"
	fi
	assert_eq "$n_deny" 0 "lookups by the proxy for refused names (strace)"
	ok "strace: the proxy looks up no refused name (an allowed one: $n_allow lookup(s))"
else
	ok "strace is not installed: lookups of refused names seen through the net log only"
fi

# --- presets: shipped, the user's, errors ----------------------------------------------------------
printf '%s\n' '# presets of the test' '[mine]' "allowed.test:$PA" '[both]' "@mine, exact.wild.test:$PE" '[npm]' "other.test:$PO" >"$TOP/xdg/ajail/net-presets"
XDG_CONFIG_HOME="$TOP/xdg" jail --fs=host --allow-net=@both,@npm --dry-run true
assert_contains "$out" "SOCKS5 127.0.0.1:1080): @both, @npm" "--dry-run names the presets"
XDG_CONFIG_HOME="$TOP/xdg" hj --allow-net=@both,@npm sh -c "curl -sS -m 10 http://allowed.test:$PA/; curl -sS -m 10 http://exact.wild.test:$PE/; curl -sS -m 10 http://other.test:$PO/; curl -sS -m 10 -o /dev/null https://registry.npmjs.org/ 2>&1"
assert_contains "$out" "hello from allowed" "@both (user) includes @mine"
assert_contains "$out" "hello from exact" "@both (user) adds exact.wild.test"
assert_contains "$out" "hello from other" "the user's @npm replaces the shipped one"
assert_contains "$out" "CONNECT tunnel failed, response 403" "the shipped @npm's registry.npmjs.org is gone when the user's @npm replaces it"
# ~/.config/ajail/net-presets when XDG_CONFIG_HOME is not set.
printf '%s\n' '[home]' "allowed.test:$PA" >"$TOP/home/.config/ajail/net-presets"
(unset XDG_CONFIG_HOME; HOME="$TOP/home" jail --fs=host -q --allow-net=@home curl -sS -m 10 "http://allowed.test:$PA/"
	assert_rc 0 "@home from ~/.config/ajail/net-presets"; assert_contains "$out" "hello from allowed" "@home") || exit 1
# The shipped presets expand (with an empty config directory).
XDG_CONFIG_HOME="$TOP/empty" hj --allow-net=@npm curl -sS -m 10 "http://allowed.test:$PA/"
assert_contains "$out" "ajail: allowed.test:$PA is not allowed by the network policy (not in the allow-list)" "the shipped @npm"
ok "presets: @npm shipped; the user's file (XDG_CONFIG_HOME or ~/.config) adds presets, nests them, replaces @npm"
# Errors: an unknown preset or a bad pattern is a usage error; a malformed file fails runs that use it.
XDG_CONFIG_HOME="$TOP/empty" jail --fs=host --allow-net=@nope true
assert_rc 2 "an unknown preset"
assert_eq "$(wc -l <<<"$err")" 1 "an unknown preset: one line"
assert_contains "$err" "no preset named 'nope'" "an unknown preset"
printf '%s\n' '[broken]' 'not a pattern' >"$TOP/xdg/ajail/net-presets"
XDG_CONFIG_HOME="$TOP/xdg" jail --fs=host --allow-net=@broken true
assert_rc 2 "a bad pattern in a user preset"
assert_contains "$err" "$TOP/xdg/ajail/net-presets" "the error names the preset file"
assert_contains "$err" "'not a pattern' is not a pattern" "the error names the bad pattern"
printf '%s\n' '[bad' "allowed.test:$PA" >"$TOP/xdg/ajail/net-presets"
XDG_CONFIG_HOME="$TOP/xdg" jail --fs=host -q --allow-net="allowed.test:$PA" true
assert_rc 1 "a malformed preset file"
assert_contains "$err" "$TOP/xdg/ajail/net-presets:1:" "the error names the file and line"
XDG_CONFIG_HOME="$TOP/xdg" jail --fs=host -q true
assert_rc 0 "a malformed preset file does not matter without --allow-net"
printf '%s\n' '[a]' '@b' '[b]' '@a' >"$TOP/xdg/ajail/net-presets"
XDG_CONFIG_HOME="$TOP/xdg" jail --fs=host --allow-net=@a true
assert_rc 2 "presets that include each other"
ok "preset errors: unknown (2), bad pattern (2, names the file), malformed file (1, file:line), a cycle (2)"

# --- usage errors: exit 2, one line ----------------------------------------------------------------
usage() {
	jail "$@"
	[ "$rc" = 2 ] || fail "ajail $*: expected a usage error (exit 2), got $rc: $out $err"
	[ "$(wc -l <<<"$err")" = 1 ] || fail "ajail $*: expected one line on stderr, got: $err"
	assert_contains "$err" "ajail: " "ajail $*"
	assert_eq "$out" "" "ajail $*: nothing on stdout"
}
for bad in '*.com' '*' 'a b' 'x.com:99999' 'x.com:0' 'localhost' 'localhost:*' '127.1' 'http://x.com/' '@' 'x.com,,y.com' '10.0.0.0/33' ''; do
	usage --fs=host --allow-net="$bad" true
done
usage --fs=host --lockdown --allow-net="allowed.test:$PA" true
assert_contains "$err" "--lockdown cannot be combined with --allow-net" "--lockdown --allow-net"
usage --fs=host --publish=8000 true
assert_contains "$err" "publishing needs --allow-net=PATTERN or --no-net" "--publish on the host network"
usage --fs=host --net=host --publish=8000 true
usage --fs=host --net-log="$W/x.json" true
usage --fs=host --no-net --net-log="$W/x.json" true
usage --fs=host --net=bogus true
for bad in 0 abc 70000 1:2:3 :80 80:; do
	usage --fs=host --no-net --publish="$bad" true
done
assert_missing "$W/x.json" "--net-log of a refused run"
ok "usage errors (exit 2, one line): bad patterns, --lockdown with --allow-net, --publish on the host network, --net-log without --allow-net, bad --net and --publish values"

# --- --net-log, -v, the exit summary ---------------------------------------------------------------
rm -f "$W/net.json"
FAILP=$(free_port)
hj -v --net-log="$W/net.json" --allow-net="allowed.test:$PA,allowed.test:$PS,allowed.test:$FAILP,localhost:$PL,exact.wild.test:$PE" sh -c "
	curl -s -m 10 -o /dev/null http://allowed.test:$PA/a
	curl -s -m 10 -o /dev/null -p http://allowed.test:$PA/b
	curl -s -m 10 -o /dev/null --socks5-hostname 127.0.0.1:1080 http://exact.wild.test:$PE/c
	curl -s -m 10 -o /dev/null http://other.test:$PO/d
	curl -s -m 10 -o /dev/null http://allowed.test:$FAILP/e
	curl -s -m 10 -o /dev/null --noproxy '*' http://127.0.0.1:$PL/f
	curl -s -m 10 -o /dev/null -k --connect-to other.test:$PS:allowed.test:$PS https://other.test:$PS/g
	true"
assert_rc 0 "the logged run"
python3 - "$W/net.json" "$PA" "$PS" "$FAILP" "$PL" "$PE" "$PO" <<'EOF' || fail "--net-log: $(cat "$W/net.json")"
import json, re, sys
path, pa, ps, failp, pl, pe, po = sys.argv[1], *map(int, sys.argv[2:])
keys = ["time", "via", "host", "port", "address", "decision", "rule", "reason", "bytes_out", "bytes_in", "duration_ms"]
rows = []
for line in open(path):
    r = json.loads(line)
    assert list(r) == keys, ("keys", list(r))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", r["time"]), r
    assert r["via"] in ("http", "http-connect", "socks5", "forward"), r
    assert r["decision"] in ("allow", "deny", "failed"), r
    for k in ("port", "bytes_out", "bytes_in", "duration_ms"):
        assert isinstance(r[k], int) and r[k] >= 0, (k, r)
    for k in ("address", "rule", "reason"):
        assert r[k] is None or isinstance(r[k], str), (k, r)
    rows.append(r)
def one(via, host, port, decision):
    m = [r for r in rows if (r["via"], r["host"], r["port"], r["decision"]) == (via, host, port, decision)]
    assert len(m) == 1, ("want one", via, host, port, decision, rows)
    return m[0]
r = one("http", "allowed.test", pa, "allow")
assert r["address"] == "127.0.0.2" and r["rule"] == "allowed.test:%d" % pa and r["reason"] is None, r
assert r["bytes_out"] > 0 and r["bytes_in"] > 0, r
r = one("http-connect", "allowed.test", pa, "allow")
assert r["bytes_out"] > 0 and r["bytes_in"] > 0, r
r = one("socks5", "exact.wild.test", pe, "allow")
assert r["address"] == "127.0.0.5" and r["rule"] == "exact.wild.test:%d" % pe, r
r = one("http", "other.test", po, "deny")
assert r["address"] is None and r["rule"] is None and r["reason"] == "not in the allow-list", r
assert r["bytes_out"] == 0 and r["bytes_in"] == 0, r
r = one("http", "allowed.test", failp, "failed")
assert r["rule"] == "allowed.test:%d" % failp and "refused" in r["reason"].lower(), r
r = one("forward", "localhost", pl, "allow")
assert r["address"] == "127.0.0.1" and r["rule"] == "localhost:%d" % pl and r["bytes_in"] > 0, r
r = one("http-connect", "allowed.test", ps, "deny")
assert r["reason"] == "TLS server name other.test is not the host asked for" and r["bytes_out"] == 0, r
assert len(rows) == 7, rows
EOF
ok "--net-log: 7 JSON lines with exactly the documented fields (allow http/CONNECT/SOCKS5/forward, deny, failed, SNI)"
for l in "ajail: net: allow allowed.test:$PA via 127.0.0.2 (allowed.test:$PA, http)" \
	"ajail: net: allow allowed.test:$PA via 127.0.0.2 (allowed.test:$PA, http-connect)" \
	"ajail: net: allow exact.wild.test:$PE via 127.0.0.5 (exact.wild.test:$PE, socks5)" \
	"ajail: net: deny other.test:$PO: not in the allow-list (http)" \
	"ajail: net: closed allowed.test:$PS: TLS server name other.test is not the host asked for (http-connect)"; do
	assert_contains "$err" "$l" "-v"
done
[ "$(grep -c '^ajail: net: ' <<<"$err")" -ge 7 ] || fail "-v: a line for each connection: $err"
ok "-v: an 'ajail: net: allow|deny|closed ...' line for each connection"
# The log is appended to, and is the user's alone.
n=$(wc -l <"$W/net.json")
hj --net-log="$W/net.json" --allow-net="allowed.test:$PA" curl -s -m 10 -o /dev/null "http://allowed.test:$PA/again"
assert_eq "$(wc -l <"$W/net.json")" "$((n + 1))" "--net-log appends"
assert_eq "$(stat -c %a "$W/net.json")" 600 "--net-log's mode"
jail --fs=host -q --net-log="$TOP/no/such/dir/net.json" --allow-net="allowed.test:$PA" true
assert_rc 1 "--net-log in a directory that does not exist"
assert_contains "$err" "$TOP/no/such/dir/net.json" "the error names the log"
ok "--net-log appends, mode 600; an unwritable log is an error before the jail runs"
# The exit summary: allowed connections, distinct hosts, and the refused names; -q hides it.
summary_cmd="curl -s -m 10 -o /dev/null http://allowed.test:$PA/; curl -s -m 10 -o /dev/null http://allowed.test:$PA/; curl -s -m 10 -o /dev/null http://exact.wild.test:$PE/; curl -s -m 10 -o /dev/null http://other.test:$PO/; curl -s -m 10 -o /dev/null http://meta.test/; curl -s -m 10 -o /dev/null http://other.test:$PO/"
jail --fs=host --allow-net="allowed.test:$PA,exact.wild.test:$PE" sh -c "$summary_cmd"
assert_rc 0 "the summary run"
assert_eq "$(tail -1 <<<"$err")" "ajail: network: 3 connections to 2 hosts; denied: 3 (other.test, meta.test)" "the exit summary"
jail --fs=host -q --allow-net="allowed.test:$PA,exact.wild.test:$PE" sh -c "$summary_cmd"
assert_eq "$err" "" "-q: no summary"
jail --fs=host --allow-net="allowed.test:$PA" true
assert_eq "$(tail -1 <<<"$err")" "ajail: network: no connections" "the summary of a run without connections"
jail --fs=host --no-net true
assert_not_contains "$err" "ajail: network:" "--no-net has no proxy to sum up"
ok "the exit summary: 'ajail: network: 3 connections to 2 hosts; denied: 3 (other.test, meta.test)'; -q hides it"

# --- SNI through CONNECT and SOCKS5 ----------------------------------------------------------------
rm -f "$OUT/tls.sni"
t0=$(seen tls)
hj -v --allow-net="allowed.test:$PS" sh -c "curl -sS -m 10 -k https://allowed.test:$PS/ok1; echo rc=\$?
	curl -sS -m 10 -k --connect-to other.test:$PS:allowed.test:$PS https://other.test:$PS/bad1; echo rc=\$?
	curl -sS -m 10 -k --socks5-hostname 127.0.0.1:1080 --connect-to other.test:$PS:allowed.test:$PS https://other.test:$PS/bad2; echo rc=\$?
	curl -sS -m 10 -k --socks5-hostname 127.0.0.1:1080 https://allowed.test:$PS/ok2; echo rc=\$?"
assert_contains "$out" "request: GET /ok1 " "HTTPS with the right SNI through CONNECT"
assert_contains "$out" "request: GET /ok2 " "HTTPS with the right SNI through SOCKS5"
[ "$(grep -c '^rc=0$' <<<"$out")" = 2 ] || fail "only the two matching-SNI requests should succeed: $out $err"
assert_not_contains "$out" "/bad" "a mismatched SNI"
assert_contains "$err" "ajail: net: closed allowed.test:$PS: TLS server name other.test is not the host asked for (http-connect)" "-v: SNI mismatch through CONNECT"
assert_contains "$err" "ajail: net: closed allowed.test:$PS: TLS server name other.test is not the host asked for (socks5)" "-v: SNI mismatch through SOCKS5"
assert_eq "$(seen tls)" "$((t0 + 2))" "the TLS server answered the two matching requests only"
assert_not_contains "$(cat "$OUT/tls.sni")" "other.test" "no ClientHello for other.test reached the TLS server"
ok "SNI: other.test's ClientHello to allowed.test is closed (CONNECT and SOCKS5) and logged; allowed.test's goes through"
# The exit summary of a run whose one connection was closed for its SNI: nothing got through.
jail --fs=host --allow-net="allowed.test:$PS" curl -sS -m 10 -k --connect-to "other.test:$PS:allowed.test:$PS" "https://other.test:$PS/bad3"
case "$(tail -1 <<<"$err")" in
"ajail: network: no connections; denied: 1 ("*) ok "the summary counts an SNI refusal as a denial: $(tail -1 <<<"$err")" ;;
*) gap "the exit summary of a run whose only connection was refused for its SNI: expected 'ajail: network: no connections; denied: 1 (...)', got '$(tail -1 <<<"$err")'" ;;
esac

# --- localhost:PORT forwards -----------------------------------------------------------------------
l0=$(seen local) m0=$(seen local2)
hj --allow-net="localhost:$PL" sh -c "curl -sS -m 10 http://127.0.0.1:$PL/l1; curl -sS -m 10 http://localhost:$PL/l2; curl -sS -m 10 --noproxy '' -x http://127.0.0.1:3128 http://localhost:$PL/l3; busybox wget -q -O- http://127.0.0.1:$PL/l4; curl -sS -m 10 --noproxy '*' http://127.0.0.1:$PL2/m1; echo m1=\$?"
for p in l1 l2 l3 l4; do assert_contains "$out" "request: GET /$p " "localhost:$PL forward ($p)"; done
assert_contains "$out" "m1=7" "another port of the host's loopback is not forwarded"
assert_eq "$(seen local)" "$((l0 + 4))" "the host's loopback server"
assert_eq "$(seen local2)" "$m0" "the host's other loopback server"
ok "localhost:$PL: the jail's 127.0.0.1:$PL is the host's (direct, NO_PROXY localhost, through the proxy, busybox wget); $PL2 is not"
hj --allow-net="allowed.test:$PA" sh -c "curl -sS -m 10 --noproxy '*' http://127.0.0.1:$PL/; echo rc=\$?; curl -sS -m 10 http://127.0.0.1:$PL/; echo rc=\$?; curl -sS -m 10 --noproxy '' -x http://127.0.0.1:3128 http://localhost:$PL/; curl -sS -m 10 --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:$PL/"
assert_contains "$out" "rc=7" "without localhost:$PL the host's loopback is out of reach"
assert_not_contains "$out" "rc=0" "without localhost:$PL"
assert_contains "$out" "ajail: localhost:$PL is not allowed by the network policy (localhost needs a localhost:PORT rule)" "localhost through the proxy"
assert_contains "$out" "ajail: 127.0.0.1:$PL is not allowed by the network policy (an IP address needs an address rule)" "127.0.0.1 through the proxy"
lo_refusal=$(grep "localhost:$PL is not allowed" <<<"$out")
assert_eq "$(seen local)" "$((l0 + 4))" "the host's loopback server saw nothing from the jail without the rule"
ok "without localhost:$PL the host's loopback is unreachable (direct and through the proxy)"
hint_works "$lo_refusal" curl -sS -m 10 -f "http://localhost:$PL/"

# --- --publish -------------------------------------------------------------------------------------
# The jail serves on its own 127.0.0.1:JPORT until the host has fetched a page through HOSTPORT.
cat >"$W/serve.py" <<'EOF'
import http.server, os, sys, threading, time
port, tag = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = ("served from the jail (%s) %s\n" % (tag, self.path)).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", port), H)
threading.Thread(target=s.serve_forever, daemon=True).start()
open(tag + ".ready", "w").close()
for _ in range(600):
    if os.path.exists(tag + ".done"):
        break
    time.sleep(0.05)
EOF
# published TAG HOSTPORT JPORT AJAIL-OPTION...: runs the jail in the background, fetches from the host.
published() {
	local tag=$1 hp=$2 jp=$3 jpid
	shift 3
	rm -f "$W/$tag".*
	"$AJAIL" --fs=host -q "$@" python3 serve.py "$jp" "$tag" </dev/null >"$TOP/$tag.out" 2>"$TOP/$tag.err" &
	jpid=$!
	bg_pids="$bg_pids $jpid"
	for _ in $(seq 400); do
		[ ! -e "$W/$tag.ready" ] && kill -0 "$jpid" 2>/dev/null || break
		sleep 0.05
	done
	[ -e "$W/$tag.ready" ] || fail "$tag: the jail's server did not start: $(cat "$TOP/$tag.err")"
	pub=$(curl -sS -m 10 "http://127.0.0.1:$hp/from-host" 2>&1)
	touch "$W/$tag.done"
	wait "$jpid"
	pub_rc=$?
}
HP=$(free_port)
published pa "$HP" 8000 --allow-net="allowed.test:$PA" --publish="$HP:8000"
assert_eq "$pub" "served from the jail (pa) /from-host" "--publish with --allow-net"
assert_eq "$pub_rc" 0 "the --publish jail"
port_free "$HP" || fail "the host's 127.0.0.1:$HP is still taken after the jail exited"
published pa2 "$HP" 8000 --allow-net="allowed.test:$PA" --publish="$HP:8000"
assert_eq "$pub" "served from the jail (pa2) /from-host" "--publish of the same host port again at once"
HP=$(free_port)
published nn "$HP" 8000 --no-net --publish="$HP:8000"
assert_eq "$pub" "served from the jail (nn) /from-host" "--publish with --no-net"
HP=$(free_port)
published same "$HP" "$HP" --allow-net="allowed.test:$PA" --publish="$HP"
assert_eq "$pub" "served from the jail (same) /from-host" "--publish=PORT (the same port on both sides)"
ok "--publish: the jail's server reached from the host with --allow-net, with --no-net, and as --publish=PORT; the port is free again at exit"
# A host port that is taken: an error (exit 1) that names it; the jail does not run.
jail --fs=host -q --no-net --publish="$PL:8000" sh -c 'echo ran'
assert_rc 1 "--publish to a taken host port"
assert_contains "$err" "127.0.0.1:$PL" "the error names the taken port"
assert_not_contains "$out" "ran" "the jail did not run"
jail --fs=host -q --allow-net="allowed.test:$PA" --publish="$PL:8000" sh -c 'echo ran'
assert_rc 1 "--publish to a taken host port with --allow-net"
assert_contains "$err" "127.0.0.1:$PL" "the error names the taken port"
curl -sS -m 5 "http://127.0.0.1:$PL/still-there" | grep -q "hello from local" || fail "the host's server on $PL was disturbed"
ok "--publish to a taken host port: exit 1 naming 127.0.0.1:$PL"

# --- AJAIL_ARGS and --net on the command line ------------------------------------------------------
AJAIL_ARGS="--fs=host;--allow-net=allowed.test:$PA" jail -q sh -c "$(declare -f ifaces); ifaces; curl -sS -m 10 http://allowed.test:$PA/args; curl -sS -m 10 http://other.test:$PO/"
assert_contains "$out" "lo hello from allowed" "AJAIL_ARGS=--allow-net"
assert_contains "$out" "ajail: other.test:$PO is not allowed" "AJAIL_ARGS=--allow-net refuses other.test"
host_ifaces=$(ifaces)
o0=$(seen other)
AJAIL_ARGS="--fs=host;--allow-net=allowed.test:$PA" jail -q --net=host sh -c "$(declare -f ifaces); ifaces; echo; env | grep -ci _proxy=; curl -sS -m 10 http://other.test:$PO/hostnet"
assert_eq "$(sed -n 1p <<<"$out")" "$host_ifaces" "--net=host over AJAIL_ARGS: the host's interfaces"
assert_eq "$(sed -n 2p <<<"$out")" 0 "--net=host over AJAIL_ARGS: no proxy variables"
assert_contains "$out" "request: GET /hostnet " "--net=host over AJAIL_ARGS: other.test directly"
AJAIL_ARGS="--fs=host;--allow-net=allowed.test:$PA" jail -q --no-net curl -sS -m 10 "http://allowed.test:$PA/"
[ "$rc" != 0 ] || fail "--no-net over AJAIL_ARGS=--allow-net: curl got through: $out"
AJAIL_ARGS="--fs=host;--allow-net=allowed.test:$PA" jail --lockdown true
assert_rc 0 "--lockdown with --allow-net from AJAIL_ARGS"
assert_contains "$err" "left out --allow-net=allowed.test:$PA from AJAIL_ARGS" "--lockdown leaves AJAIL_ARGS's --allow-net out, with a warning"
ok "AJAIL_ARGS=--allow-net works; --net=host and --no-net on the command line override it; --lockdown leaves it out"

# --- clone show: the session's network line --------------------------------------------------------
git init -q "$TOP/repo" && git -C "$TOP/repo" -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m init ||
	fail "git init"
(cd "$TOP/repo" && jail --fs=host -q --clone --allow-net="allowed.test:$PA" sh -c "curl -s -m 10 http://allowed.test:$PA/; curl -s -m 10 http://other.test:$PO/"
	assert_rc 0 "--clone --allow-net") || exit 1
id=$("$AJAIL" clone list --json </dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])') || fail "clone list"
jail clone show "$id"
assert_rc 0 "clone show"
assert_contains "$(grep '^network' <<<"$out")" "1 connection to 1 host; denied: 1 (other.test)" "clone show's network line"
ok "clone show $id: $(grep '^network' <<<"$out" | tr -s ' ')"

# --- a real client: npm through @npm ---------------------------------------------------------------
npm_cmd=(timeout 120 npm view is-number version --no-update-notifier --fetch-retries=0)
jail --fs=host -q --allow-net=@npm "${npm_cmd[@]}"
if [ "$rc" != 0 ] && ! (cd "$TOP" && "${npm_cmd[@]}" >/dev/null 2>&1); then
	fail "npm view fails on the host too (no way to registry.npmjs.org from this machine?): $err"
fi
assert_rc 0 "npm view is-number version with --allow-net=@npm"
[[ $out =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "npm view is-number version: expected a version, got: $out"
npm_version=$out
jail --fs=host --allow-net=example.com "${npm_cmd[@]}"
[ "$rc" != 0 ] || fail "npm view with --allow-net=example.com should fail: $out"
assert_contains "$err" "403" "npm is refused by the proxy"
assert_contains "$(tail -1 <<<"$err")" "registry.npmjs.org)" "the summary names registry.npmjs.org as denied"
ok "npm view is-number version: $npm_version with --allow-net=@npm; refused (403) with --allow-net=example.com"

# --- nothing left running, even when ajail is killed -----------------------------------------------
for sig in TERM KILL; do
	HP=$(free_port)
	"$AJAIL" --fs=host -q --allow-net="allowed.test:$PA" --publish="$HP:8000" sleep 60 </dev/null >/dev/null 2>&1 &
	jpid=$!
	bg_pids="$bg_pids $jpid"
	for _ in $(seq 200); do pgrep -P "$jpid" -x ajail-proxy >/dev/null && ! port_free "$HP" && break; sleep 0.05; done
	pgrep -P "$jpid" -x ajail-proxy >/dev/null || fail "SIG$sig case: the proxy did not start"
	kill -"$sig" "$jpid"
	wait "$jpid" 2>/dev/null
	left=''
	for _ in $(seq 100); do left=$(leftovers); [ -n "$left" ] || break; sleep 0.05; done
	[ -z "$left" ] || fail "after SIG$sig to ajail, still running: $left"
	port_free "$HP" || fail "after SIG$sig to ajail, the published port $HP is still taken"
done
ok "SIGTERM or SIGKILL to ajail: no proxy, socket maker or jail process is left; the published port is free"
left=$(leftovers)
[ -z "$left" ] || fail "ajail processes left running: $left"
ok "nothing of ajail left running"

gaps_report
