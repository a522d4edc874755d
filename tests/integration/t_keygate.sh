# The keygate (issue 11): with a filtered network (--net=allow) and an agent profile whose `secret`
# line names a key the host has, the key never enters the jail. The jail's ANTHROPIC_API_KEY holds a
# placeholder and its ANTHROPIC_BASE_URL points at a port of its own 127.0.0.1, where ajail's proxy
# takes each request, puts the real key in (replacing whatever the jail sent as a credential), and
# sends it on to the host's ANTHROPIC_BASE_URL or the profile's default. The upstream here is a
# stand-in API on the host's 127.0.0.1 (tests/helpers/keygate_upstream.py) that records every header
# it receives; over plain HTTP and over TLS with a throw-away CA (SSL_CERT_FILE, for ajail's process
# only). Clients: busybox wget in the busybox rootfs; curl and python3 in --fs=host jails.
. "$(dirname "$0")/libtest.sh"
for c in python3 openssl curl; do
	command -v "$c" >/dev/null || fail "$c is not installed: this test needs it on the host"
done
. "$(dirname "$0")/libnet.sh"
KEY=sk-real-SECRET-$$-0123456789
PLACEHOLDER=ajail-keygate-placeholder
UP="${HELPERS:?HELPERS must point at tests/helpers}/keygate_upstream.py"
[ -r "$UP" ] || fail "no $UP"
"$AJAIL" --fs=bb --net=allow --profile=claude --dry-run true >/dev/null 2>&1 ||
	fail "this ajail has no --net=allow --profile=claude: the keygate comes with agent profiles"

# --- the stand-in API, plain and TLS ---------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$OUT/ca.key" -out "$OUT/ca.pem" -days 2 -subj "/CN=ajail keygate test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" >/dev/null 2>&1 &&
	openssl req -newkey rsa:2048 -nodes -keyout "$OUT/srv.key" -out "$OUT/srv.csr" -subj /CN=localhost >/dev/null 2>&1 &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$OUT/ext" &&
	openssl x509 -req -in "$OUT/srv.csr" -CA "$OUT/ca.pem" -CAkey "$OUT/ca.key" -CAcreateserial -out "$OUT/srv.pem" \
		-days 2 -extfile "$OUT/ext" >/dev/null 2>&1 || fail "openssl could not make a CA and a server certificate"
python3 "$UP" "$OUT/plain.port" "$OUT/plain.jsonl" >"$OUT/plain.err" 2>&1 &
bg_pids="$bg_pids $!"
python3 "$UP" "$OUT/tls.port" "$OUT/tls.jsonl" "$OUT/srv.pem" "$OUT/srv.key" >"$OUT/tls.err" 2>&1 &
bg_pids="$bg_pids $!"
disown -a
for _ in $(seq 200); do [ -e "$OUT/plain.port" ] && [ -e "$OUT/tls.port" ] && break; sleep 0.05; done
[ -e "$OUT/plain.port" ] && [ -e "$OUT/tls.port" ] || fail "the stand-in API did not start: $(cat "$OUT"/*.err)"
PP=$(cat "$OUT/plain.port") PT=$(cat "$OUT/tls.port")

# The headers of the stand-in's request number $2 (from 1) in $1.jsonl, one "name: value" a line.
headers() { python3 -c 'import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = recs[int(sys.argv[2]) - 1]
print("path: " + r["path"]); print("body: " + r["body"])
for k, v in r["headers"]: print("%s: %s" % (k.lower(), v))' "$OUT/$1.jsonl" "$2" 2>/dev/null; }
seen() { [ -e "$OUT/$1.jsonl" ] && wc -l <"$OUT/$1.jsonl" || echo 0; }

# Every run of ajail here has the real key in its environment, as a user's shell would.
kj() { ANTHROPIC_API_KEY=$KEY jail "$@"; }

# --- plain HTTP, busybox wget in the busybox rootfs --------------------------------------------------
export ANTHROPIC_BASE_URL="http://127.0.0.1:$PP/api"
kj --fs=bb --net=allow --profile=claude --net-log="$OUT/net.log" sh -c '
	echo "base=$ANTHROPIC_BASE_URL"
	env | grep "^ANTHROPIC_API_KEY="
	echo "--- env"; env
	echo "--- 1"; cat /proc/1/environ 2>&1 | tr "\0" "\n"
	echo "--- all"; cat /proc/*/environ 2>&1 | tr "\0" "\n"
	echo "--- self"; tr "\0" "\n" </proc/self/environ
	echo "--- wget1"
	wget -Y off -q -O- --header "x-api-key: jail-own-key" --header "Authorization: Bearer stolen" \
		--header "anthropic-version: 2023-06-01" --post-data "{\"model\": \"m\"}" "$ANTHROPIC_BASE_URL/v1/messages?beta=true"
	echo; echo "wget1=$?"
	echo "--- wget2"
	wget -Y off -q -O- "$ANTHROPIC_BASE_URL/v1/models"; echo; echo "wget2=$?"'
assert_rc 0 "busybox wget through the keygate: $err"
assert_contains "$out" "ANTHROPIC_API_KEY=$PLACEHOLDER" "the jail's key variable holds the placeholder"
assert_contains "$out" "base=http://127.0.0.1:" "the jail's ANTHROPIC_BASE_URL is its own loopback"
assert_not_contains "$out" "$KEY" "the key, anywhere inside the jail (env, /proc/1/environ, /proc/*/environ)"
assert_not_contains "$out" "sk-real" "the key, anywhere inside the jail"
assert_not_contains "$out" "127.0.0.1:$PP" "the host's ANTHROPIC_BASE_URL inside the jail"
assert_contains "$out" "wget1=0" "a request with the jail's own x-api-key"
assert_contains "$out" "\"path\": \"/api/v1/messages?beta=true\"" "the stand-in's answer comes back"
assert_contains "$out" "wget2=0" "a request without the header"
assert_eq "$(seen plain)" 2 "requests the stand-in got"
h1=$(headers plain 1)
assert_contains "$h1" "x-api-key: $KEY" "the upstream got the real key"
assert_eq "$(grep -c '^x-api-key:' <<<"$h1")" 1 "one x-api-key header upstream: $h1"
assert_not_contains "$h1" "jail-own-key" "the jail's own x-api-key replaced"
assert_not_contains "$h1" "authorization:" "the jail's Authorization dropped"
assert_not_contains "$h1" "$PLACEHOLDER" "the placeholder upstream"
assert_contains "$h1" "path: /api/v1/messages?beta=true" "the upstream's path prefix before the request's"
assert_contains "$h1" "host: 127.0.0.1:$PP" "Host is the upstream's"
assert_contains "$h1" "anthropic-version: 2023-06-01" "the jail's other headers pass"
assert_contains "$h1" 'body: {"model": "m"}' "the body passes"
assert_contains "$h1" "connection: close" "one request per connection"
h2=$(headers plain 2)
assert_contains "$h2" "x-api-key: $KEY" "a request without the header still gets the key"
assert_contains "$h2" "path: /api/v1/models" "the second request's path"
log=$(cat "$OUT/net.log")
assert_contains "$log" '"via": "keygate"' "the net log's keygate lines"
assert_contains "$log" "\"host\": \"127.0.0.1\", \"port\": $PP" "the net log names the upstream"
assert_contains "$log" '"rule": "keygate ANTHROPIC_API_KEY"' "the net log names the keygate"
assert_not_contains "$log" "$KEY" "the key in the net log"
assert_not_contains "$log" "sk-real" "the key in the net log"
ok "plain HTTP: the upstream gets the real key, the jail sees only the placeholder"

# The status block, -v and --dry-run say where the key goes, and show no key.
kj --fs=bb --net=allow --profile=claude -v true
assert_rc 0 "-v"
assert_contains "$err" "key ANTHROPIC_API_KEY stays outside the jail: ANTHROPIC_BASE_URL=http://127.0.0.1:" "the status block"
assert_contains "$err" "-> http://127.0.0.1:$PP/api" "the status block names the upstream"
assert_not_contains "$err" "$KEY" "the key in the status block and -v"
kj --fs=bb --net=allow --profile=claude --dry-run true
assert_contains "$out" "ANTHROPIC_API_KEY=$PLACEHOLDER" "--dry-run's env"
assert_not_contains "$out$err" "$KEY" "the key in --dry-run"
ok "status block, -v and --dry-run show where the key goes, never the key"

# --- TLS: verified against SSL_CERT_FILE (for ajail's process only), by name ------------------------
tls_req='wget -Y off -q -O- --header "x-api-key: mine" "$ANTHROPIC_BASE_URL/v1/messages"; echo; echo rc=$?'
ANTHROPIC_BASE_URL="https://localhost:$PT" SSL_CERT_FILE="$OUT/ca.pem" kj --fs=bb --net=allow --profile=claude sh -c "$tls_req"
assert_contains "$out" "rc=0" "a request through the keygate over TLS: $err"
assert_contains "$out" '"path": "/v1/messages"' "the TLS stand-in's answer"
ht=$(headers tls 1)
assert_contains "$ht" "x-api-key: $KEY" "the TLS upstream got the real key"
assert_contains "$ht" "host: localhost:$PT" "Host over TLS"
assert_not_contains "$ht" "mine" "the jail's own key over TLS"
ok "https://: certificate and name verified, the key added"

# Without the CA, the certificate is refused: a 502 with the reason, and nothing reaches the API.
ANTHROPIC_BASE_URL="https://localhost:$PT" kj --fs=host --net=allow --profile=claude sh -c 'curl -sS -o- -w "\nstatus=%{http_code}\n" "$ANTHROPIC_BASE_URL/v1/messages"'
assert_contains "$out" "status=502" "an unknown CA"
assert_contains "$out" "certificate" "the 502 says why"
# ...nor a certificate for another name (the stand-in's names are localhost and 127.0.0.1).
ANTHROPIC_BASE_URL="https://127.0.0.2:$PT" SSL_CERT_FILE="$OUT/ca.pem" kj --fs=host --net=allow --profile=claude sh -c 'curl -sS -o- -w "\nstatus=%{http_code}\n" "$ANTHROPIC_BASE_URL/v1/messages"'
assert_contains "$out" "status=502" "a certificate for another name (or nothing there)"
assert_eq "$(seen tls)" 1 "requests that reached the TLS stand-in"
ok "https://: an unknown CA or a wrong name is a 502, and the key goes nowhere"

# --- streaming: server-sent events reach the client as they come ------------------------------------
kj --fs=host --net=allow --profile=claude python3 -c '
import os, time, urllib.request
t0 = time.time()
r = urllib.request.urlopen(os.environ["ANTHROPIC_BASE_URL"] + "/v1/stream")
times = []
for line in r:
    if line.startswith(b"data:"):
        times.append(time.time() - t0)
print("events=%d first=%.2f last=%.2f" % (len(times), times[0], times[-1]))'
assert_rc 0 "python3 reading a stream through the keygate: $err"
assert_contains "$out" "events=3" "three events"
python3 -c 'import sys; f, l = [float(x.split("=")[1]) for x in sys.argv[1].split()[1:]]; sys.exit(0 if l - f > 0.4 else 1)' "$out" ||
	gap "the first event came with the last (buffered): $out"
ok "server-sent events are relayed as they come"

# --- what the keygate refuses: a chunked body (what the jail pipelined after it would reach the upstream
# unrewritten) and dot segments (they would leave the upstream's path prefix) ------------------------
before=$(seen plain)
ANTHROPIC_BASE_URL="http://127.0.0.1:$PP/tenant" kj --fs=host --net=allow --profile=claude python3 -c '
import os, socket
port = int(os.environ["ANTHROPIC_BASE_URL"].rsplit(":", 1)[1].split("/")[0])
for req in (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            b"GET /../admin HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /%2e%2e/admin HTTP/1.1\r\nHost: x\r\n\r\n"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    print(s.recv(200).split(b"\r\n")[0].decode())
    s.close()'
assert_rc 0 "raw requests to the keygate: $err"
assert_eq "$out" "HTTP/1.1 411 Length Required
HTTP/1.1 400 Bad Request
HTTP/1.1 400 Bad Request" "a chunked body and dot segments are refused"
assert_eq "$(seen plain)" "$before" "none of them reached the upstream"
ok "chunked bodies and dot segments are refused before anything reaches the upstream"

# --- OpenAI's form: "Authorization: Bearer KEY" and a path prefix, from a profile of the user's own --
mkdir -p "$TOP/xdg/ajail/profiles"
printf '%s\n' '# an OpenAI-style agent' 'net @codex' 'secret OPENAI_API_KEY authorization https://api.openai.com/v1 OPENAI_BASE_URL' \
	>"$TOP/xdg/ajail/profiles/oai"
n0=$(seen plain)
OPENAI_API_KEY=$KEY OPENAI_BASE_URL="http://127.0.0.1:$PP/v1" XDG_CONFIG_HOME="$TOP/xdg" jail --fs=bb --net=allow --profile=oai sh -c '
	env | grep OPENAI_; wget -Y off -q -O- --header "Authorization: Bearer $OPENAI_API_KEY" "$OPENAI_BASE_URL/responses"; echo; echo rc=$?'
assert_contains "$out" "rc=0" "an OpenAI-style request: $err"
assert_contains "$out" "OPENAI_API_KEY=$PLACEHOLDER" "the OpenAI key's placeholder"
assert_not_contains "$out" "$KEY" "the OpenAI key inside the jail"
ho=$(headers plain $((n0 + 1)))
assert_contains "$ho" "authorization: Bearer $KEY" "the upstream got the key as a Bearer token"
assert_eq "$(grep -c '^authorization:' <<<"$ho")" 1 "one Authorization header upstream"
assert_contains "$ho" "path: /v1/responses" "the upstream's /v1 before the request's path"
ok "authorization: Bearer KEY, with the upstream's path prefix"

# --- refusals before the jail starts ------------------------------------------------------------------
ANTHROPIC_BASE_URL="api.example.com" kj --fs=bb --net=allow --profile=claude true
assert_rc 2 "a BASE_URL that is not a URL"
assert_contains "$err" "ANTHROPIC_BASE_URL" "the error names the variable"
assert_eq "$(printf "%s\n" "$err" | grep -c .)" 1 "a one-line error: $err"
ANTHROPIC_BASE_URL="https://user:$KEY@example.com" kj --fs=bb --net=allow --profile=claude true
assert_rc 2 "a BASE_URL with userinfo"
assert_not_contains "$err" "$KEY" "the BASE_URL's value is not repeated"
ANTHROPIC_API_KEY="$KEY
X-Evil: 1" jail -q --fs=bb --net=allow --profile=claude echo ran
assert_rc 1 "a key with a line break"
assert_not_contains "$out" "ran" "the jail did not start"
assert_contains "$err" "line break" "the error says why"
assert_not_contains "$err" "$KEY" "the key in the error"
assert_eq "$(printf "%s\n" "$err" | grep -c .)" 1 "a one-line error: $err"
ANTHROPIC_API_KEY=$(head -c 5000 /dev/zero | tr '\0' k) jail -q --fs=bb --net=allow --profile=claude echo ran
assert_rc 1 "a key longer than 4 KiB"
assert_contains "$err" "4 KiB" "the error says why"
ok "a bad base URL or an unsendable key: one line, before the jail starts"

# --- only with a filtered network: on the host's network the key is the agent's as before -------------
unset ANTHROPIC_BASE_URL
kj --fs=bb --net=allow --profile=claude sh -c 'echo "$ANTHROPIC_BASE_URL"'
assert_contains "$out" "http://127.0.0.1:" "with no host ANTHROPIC_BASE_URL the jail's still points at the keygate"
kj --fs=bb --net=allow --profile=claude --dry-run true
assert_contains "$out" "-> https://api.anthropic.com" "the profile's default upstream"

gaps_report
