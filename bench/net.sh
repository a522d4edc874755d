# bench/net.sh — the network sections of bench/run.sh, which sources it (not a script of its own).
#
# ajail --allow-net's filtering proxy against the same traffic without a proxy, and against Anthropic's
# sandbox-runtime (srt: bubblewrap without a network, socat bridging the sandbox's 127.0.0.1:3128 and
# :1080 to a Unix socket, another socat bridging that to an HTTP+SOCKS proxy in srt's Node process on
# the host).
#
#   net-download   a 1 GiB download from a loopback HTTP server        target: proxy >= 0.8x direct
#   net-requests   500 sequential small requests                        target: proxy <= 1.3x direct
#   net-startup    ajail --allow-net=example.com true vs --no-net true  target: <= 1.2x
#   net-rss        the proxy's RSS with 100 open connections            target: <= 4 MiB
#   net            all four
#
# Set-up, once, by whichever of them runs first (net_setup), undone by run.sh's EXIT trap (net_cleanup):
# bench/nethelper.c built into build/; its server on 127.0.0.1 and 127.0.0.2 (a port the kernel picks);
# as root, "127.0.0.2 bench.test # ajail-bench" added to /etc/hosts so that the proxy is asked for a
# name, as it is in real use (otherwise the address 127.0.0.2 is used); curl, and socat for srt,
# installed with apt-get when missing and root; srt itself installed with npm into
# ${XDG_CACHE_HOME:-~/.cache}/ajail-bench/srt once (BENCH_SRT_VERSION picks a version, default latest).
# Anything srt lacks (Node >= 20.11, npm, bwrap, socat, a working sandbox) is said in the tables, and
# its rows are left out.
#
#   BENCH_NET_RUNS=N       interleaved runs of each download (default 7)
#   BENCH_NET_REQ_RUNS=N   interleaved runs of each batch of requests (default 15)
#   BENCH_NET_REQUESTS=N   requests in a batch (default 500)
#   BENCH_NET_CONNS=N      connections held open for net-rss (default 100)
#   BENCH_NET_SIZE=SIZE    the download's size: N, Nk, Nm or Ng (default 1g)
#   BENCH_NO_SRT=1         leave srt out

NETHELPER=$ROOT/build/nethelper
NET_RUNS=${BENCH_NET_RUNS:-7}
NET_REQ_RUNS=${BENCH_NET_REQ_RUNS:-15}
NET_REQUESTS=${BENCH_NET_REQUESTS:-500}
NET_CONNS=${BENCH_NET_CONNS:-100}
NET_SIZE=${BENCH_NET_SIZE:-1g}

net_state=0 # 0: not set up; 1: ready; 2: cannot run here ($net_why)
net_why=
net_server_pid=
net_relay_pid=
net_hosts_added=0
NET_HOST=
NET_PORT=
NET_ALLOW=
NET_RELAY_PORT=
SRT=
srt_why=
srt_version=
srt_cwd=
srt_settings=
srt_allowed=

# Packages are installed only as root, with apt-get (as `make deps` does).
net_can_install()
{
	[ "$(id -u)" = 0 ] && have apt-get
}

# net_apt_install PKG...: install Debian packages; fails when not root or apt-get fails.
net_apt_install()
{
	net_can_install || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$work/apt.log" 2>&1 && return 0
	apt-get update -qq >>"$work/apt.log" 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$work/apt.log" 2>&1
}

# oneline FILE: the start of FILE (an error message) on one line.
oneline()
{
	head -c 300 "$1" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'
}

# wait_file FILE SECONDS: until FILE is non-empty.
wait_file()
{
	local i
	for i in $(seq $(($2 * 20))); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# How busy the machine is just before a measurement (other work skews every number here).
net_busy()
{
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
	awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.0f%% of %d CPUs busy in the second before", 100 * (y[1] - x[1]) / (y[2] - x[2]), n }'
}

net_cleanup()
{
	[ -z "$net_server_pid" ] || kill "$net_server_pid" 2>/dev/null || true
	[ -z "$net_relay_pid" ] || kill "$net_relay_pid" 2>/dev/null || true
	net_server_pid= net_relay_pid=
	if [ "$net_hosts_added" = 1 ]; then
		sed -i '/ # ajail-bench$/d' /etc/hosts 2>/dev/null || true
		net_hosts_added=0
	fi
}

# srt_setup: sets SRT (and srt_version, srt_cwd, srt_settings), or srt_why.
srt_setup()
{
	local dir=${XDG_CACHE_HOME:-$HOME/.cache}/ajail-bench/srt node_v
	if [ "${BENCH_NO_SRT:-0}" = 1 ]; then
		srt_why="left out (BENCH_NO_SRT=1)"
		return
	fi
	if ! have node; then
		srt_why="Node.js is not installed (srt needs Node >= 20.11; Debian 12's nodejs is 18)"
		return
	fi
	node_v=$(node --version 2>/dev/null || true)
	if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 11) ? 0 : 1)' 2>/dev/null; then
		srt_why="srt needs Node >= 20.11; this machine has $node_v"
		return
	fi
	if ! have bwrap && ! net_apt_install bubblewrap; then
		srt_why="bubblewrap is not installed (srt runs its sandbox with bwrap)"
		return
	fi
	if ! have socat && ! net_apt_install socat; then
		srt_why="socat is not installed and could not be (srt bridges its proxies with socat): $(tail -c 200 "$work/apt.log" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')"
		return
	fi
	if [ ! -x "$dir/node_modules/.bin/srt" ]; then
		if ! have npm; then
			srt_why="npm is not installed (srt is the npm package @anthropic-ai/sandbox-runtime)"
			return
		fi
		mkdir -p "$dir"
		if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
			"@anthropic-ai/sandbox-runtime@${BENCH_SRT_VERSION:-latest}" >"$work/srt-install.log" 2>&1; then
			srt_why="npm install @anthropic-ai/sandbox-runtime failed: $(tail -c 300 "$work/srt-install.log" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')"
			return
		fi
	fi
	srt_version=$(node -p 'require(process.argv[1]).version' \
		"$dir/node_modules/@anthropic-ai/sandbox-runtime/package.json" 2>/dev/null || echo '?')
	# An empty directory to run in: srt scans the directories it may write with ripgrep; it may write none.
	srt_cwd=$work/srt-cwd
	mkdir -p "$srt_cwd"
	# srt refuses a name that resolves to loopback unless that address (and port) is allowed too.
	srt_settings=$work/srt-settings.json
	srt_allowed="\"$NET_HOST\", \"127.0.0.2:$NET_PORT\""
	[ "$NET_HOST" = 127.0.0.2 ] && srt_allowed="\"127.0.0.2:$NET_PORT\""
	cat >"$srt_settings" <<-EOF
		{
		  "network": { "allowedDomains": [$srt_allowed], "deniedDomains": [] },
		  "filesystem": { "denyRead": [], "allowWrite": [], "denyWrite": [] }
		}
	EOF
	cat >"$work/srt-startup.json" <<-EOF
		{
		  "network": { "allowedDomains": ["example.com"], "deniedDomains": [] },
		  "filesystem": { "denyRead": [], "allowWrite": [], "denyWrite": [] }
		}
	EOF
	local s=$dir/node_modules/.bin/srt code
	if ! (cd "$srt_cwd" && "$s" --settings "$srt_settings" -c true) </dev/null >/dev/null 2>"$work/srt.err"; then
		srt_why="\`srt -c true\` fails here: $(oneline "$work/srt.err")"
		return
	fi
	code=$(cd "$srt_cwd" && "$s" --settings "$srt_settings" -c \
		"curl -sS -o /dev/null -w '%{http_code}' http://$NET_HOST:$NET_PORT/small" </dev/null 2>"$work/srt.err" || true)
	if [ "$code" != 200 ]; then
		srt_why="a request through srt's proxy to an allowed host fails here (HTTP ${code:-none}): $(oneline "$work/srt.err")"
		return
	fi
	SRT=$s
}

# net_setup: once; returns 1 (with net_why) when the network sections cannot run here.
net_setup()
{
	case $net_state in 1) return 0 ;; 2) return 1 ;; esac
	net_state=2
	# The bench's own environment must not send anything to a proxy of its own.
	unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	if ! have curl && ! net_apt_install curl; then
		net_why="curl is not installed (and could not be: not root, or apt-get failed)"
		return 1
	fi
	cc -O2 -g -Wall -o "$NETHELPER" bench/nethelper.c -lpthread || { net_why="bench/nethelper.c does not compile"; return 1; }
	if ! "$AJAIL" --quiet --fs=bench --allow-net=example.com true </dev/null >/dev/null 2>"$work/net.err"; then
		net_why="\`ajail --fs=bench --allow-net=example.com true\` fails here: $(oneline "$work/net.err")"
		return 1
	fi
	"$NETHELPER" serve "$work/net.port" 127.0.0.1 127.0.0.2 </dev/null >/dev/null 2>"$work/server.err" &
	net_server_pid=$!
	if ! wait_file "$work/net.port" 5; then
		net_why="the benchmark's HTTP server did not start: $(head -c 300 "$work/server.err")"
		return 1
	fi
	NET_PORT=$(cat "$work/net.port")
	NET_HOST=127.0.0.2
	if [ -w /etc/hosts ] && [ "$(id -u)" = 0 ]; then
		sed -i '/ # ajail-bench$/d' /etc/hosts # a line left by an interrupted run
		if ! grep -qE '^[^#]*[[:space:]]bench\.test([[:space:]]|$)' /etc/hosts; then
			echo '127.0.0.2 bench.test # ajail-bench' >>/etc/hosts
			net_hosts_added=1
		fi
		[ "$(getent hosts bench.test | awk '{ print $1; exit }')" = 127.0.0.2 ] && NET_HOST=bench.test
	fi
	NET_ALLOW=$NET_HOST:$NET_PORT
	local code
	code=$("$AJAIL" --quiet --fs=host --allow-net="$NET_ALLOW" curl -sS -o /dev/null -w '%{http_code}' \
		"http://$NET_HOST:$NET_PORT/small" </dev/null 2>"$work/net.err" || true)
	if [ "$code" != 200 ]; then
		net_why="a request through ajail's proxy fails here (HTTP ${code:-none}): $(oneline "$work/net.err")"
		return 1
	fi
	"$NETHELPER" relay "$work/relay.port" 127.0.0.2 "$NET_PORT" </dev/null >/dev/null 2>"$work/relay.err" &
	net_relay_pid=$!
	wait_file "$work/relay.port" 5 || { net_why="the bare relay did not start: $(head -c 300 "$work/relay.err")"; return 1; }
	NET_RELAY_PORT=$(cat "$work/relay.port")
	srt_setup
	net_state=1
}

# The set-up, as a few lines under a section's heading.
net_describe()
{
	echo "Server: bench/nethelper.c on 127.0.0.1 and 127.0.0.2, port $NET_PORT (sendfile from a memfd of zeros;"
	echo "a thread per connection). The proxy is asked for \`$NET_HOST\`$([ "$NET_HOST" = bench.test ] &&
		echo " (127.0.0.2: a line in /etc/hosts while the benchmark runs)")."
	echo "Jails run \`ajail --quiet --fs=host --allow-net=$NET_ALLOW ...\`; $(curl --version 2>/dev/null | awk 'NR == 1 { print $1, $2 }') on both sides."
	if [ -n "$SRT" ]; then
		echo "srt: @anthropic-ai/sandbox-runtime $srt_version (Node $(node --version), $(bwrap --version), socat"
		echo "$(socat -V 2>/dev/null | awk '/socat version/ { v = $3 } END { print v }')), allowedDomains \`[$srt_allowed]\`."
	else
		echo "srt: not measured: $srt_why."
	fi
	echo "Machine: $(net_busy) this section."
}

# proxy_pid AJAIL_PID: the ajail-proxy process that AJAIL_PID forked (empty when none yet).
proxy_pid()
{
	pgrep -P "$1" -x ajail-proxy 2>/dev/null | head -1 || true
}

# cpu_ms PID: user+system CPU time of PID so far, in ms.
cpu_ms()
{
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# proxy_cpu STDIN ALLOW CMD...: run CMD in a jail with --allow-net=ALLOW (stdin from STDIN) and print
# the CPU time, in ms, its proxy used: read after CMD ends, while the jail sleeps a moment more.
proxy_cpu()
{
	local in=$1 allow=$2 apid pp ms i
	shift 2
	rm -f "$work/cpu.done"
	"$AJAIL" --quiet --fs=host --allow-net="$allow" sh -c '"$@" >/dev/null; echo done; sleep 2' sh "$@" \
		<"$in" >"$work/cpu.done" 2>"$work/cpu.err" &
	apid=$!
	wait_file "$work/cpu.done" 120 || die "net: \`$*\` in a jail did not finish: $(head -c 300 "$work/cpu.err")"
	pp=$(proxy_pid "$apid")
	ms=$([ -n "$pp" ] && cpu_ms "$pp" || echo '?')
	wait "$apid" || true
	echo "$ms"
}

# ---------------------------------------------------------------------------------------------------
# net-download: throughput of one large download, as curl measures it (time_total: from its start of
# the transfer to the last byte, so no sandbox's start-up is counted).

# net_dl KEY: one download by contender KEY; prints "seconds bytes http_code".
net_dl()
{
	local fmt='%{time_total} %{size_download} %{http_code}\n'
	local url=http://$NET_HOST:$NET_PORT/zero/$NET_SIZE
	local -a get=(curl -sS -o /dev/null -w "$fmt")
	local -a jail=("$AJAIL" --quiet --fs=host --allow-net="$NET_ALLOW")
	case $1 in
	direct) "${get[@]}" --noproxy '*' "$url" ;;
	jail) "$AJAIL" --quiet --fs=host --net=host "${get[@]}" --noproxy '*' "$url" ;;
	relay) "${get[@]}" --noproxy '*' "http://127.0.0.1:$NET_RELAY_PORT/zero/$NET_SIZE" ;;
	http) "${jail[@]}" "${get[@]}" "$url" ;;
	connect) "${jail[@]}" "${get[@]}" --proxytunnel "$url" ;;
	socks) "${jail[@]}" "${get[@]}" --proxy socks5h://127.0.0.1:1080 "$url" ;;
	forward) "$AJAIL" --quiet --fs=host --allow-net="localhost:$NET_PORT" "${get[@]}" "http://127.0.0.1:$NET_PORT/zero/$NET_SIZE" ;;
	srt-http) (cd "$srt_cwd" && exec "$SRT" --settings "$srt_settings" -c "curl -sS -o /dev/null -w '$fmt' '$url'") ;;
	srt-connect) (cd "$srt_cwd" && exec "$SRT" --settings "$srt_settings" -c "curl -sS -o /dev/null -w '$fmt' --proxytunnel '$url'") ;;
	esac
}

net_dl_label()
{
	case $1 in
	direct) echo "curl on the host, no proxy" ;;
	jail) echo "curl in ajail --net=host, no proxy" ;;
	relay) echo "curl on the host through a bare splice relay (nethelper relay)" ;;
	http) echo "ajail --allow-net: plain HTTP through the proxy (\$HTTP_PROXY)" ;;
	connect) echo "ajail --allow-net: CONNECT tunnel (curl --proxytunnel)" ;;
	socks) echo "ajail --allow-net: SOCKS5 (curl --proxy socks5h://127.0.0.1:1080)" ;;
	forward) echo "ajail --allow-net=localhost:PORT: the jail's 127.0.0.1:PORT forwarded" ;;
	srt-http) echo "srt: plain HTTP through its proxy (\$HTTP_PROXY)" ;;
	srt-connect) echo "srt: CONNECT tunnel (curl --proxytunnel)" ;;
	esac
}

bench_net_download()
{
	echo "## Network: a $(sed -e 's/k$/ KiB/' -e 's/m$/ MiB/' -e 's/g$/ GiB/' <<<"$NET_SIZE") download from a loopback HTTP server, $NET_RUNS interleaved runs each"
	echo
	if ! net_setup; then
		echo "Not measured: $net_why."
		verdict net-download SKIPPED "$net_why"
		return
	fi
	net_describe
	echo
	local -a keys=(direct jail relay http connect socks forward)
	[ -z "$SRT" ] || keys+=(srt-http srt-connect)
	local n=${#keys[@]} r k key line bytes=
	for key in "${keys[@]}"; do : >"$work/dl.$key"; done
	for r in $(seq 0 "$NET_RUNS"); do # round 0 is a warm-up
		for k in $(seq 0 $((n - 1))); do
			key=${keys[$(((k + r) % n))]}
			line=$(net_dl "$key" </dev/null 2>"$work/dl.err") ||
				die "net-download: $(net_dl_label "$key") failed: $(head -c 300 "$work/dl.err")"
			set -- $line
			[ "${3:-}" = 200 ] || die "net-download: $(net_dl_label "$key"): HTTP ${3:-none}: $(head -c 300 "$work/dl.err")"
			[ -z "$bytes" ] || [ "$2" = "$bytes" ] || die "net-download: $(net_dl_label "$key") got $2 bytes, not $bytes"
			bytes=$2
			[ "$r" = 0 ] || echo "$1" >>"$work/dl.$key"
		done
	done
	# The proxy's own CPU time for one more download each way, for information.
	local cpu_http cpu_connect url=http://$NET_HOST:$NET_PORT/zero/$NET_SIZE
	cpu_http=$(proxy_cpu /dev/null "$NET_ALLOW" curl -sS -o /dev/null "$url")
	cpu_connect=$(proxy_cpu /dev/null "$NET_ALLOW" curl -sS -o /dev/null --proxytunnel "$url")

	local mib=$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }') direct_med
	direct_med=$(median_of <"$work/dl.direct")
	echo "| contender | median MiB/s | slowest–fastest MiB/s | median s | ratio to direct |"
	echo "|---|---:|---:|---:|---:|"
	for key in "${keys[@]}"; do
		local med lo hi
		med=$(median_of <"$work/dl.$key")
		lo=$(sort -n "$work/dl.$key" | tail -1)
		hi=$(sort -n "$work/dl.$key" | head -1)
		awk -v l="$(net_dl_label "$key")" -v m="$mib" -v med="$med" -v lo="$lo" -v hi="$hi" -v d="$direct_med" \
			'BEGIN { printf "| %s | %.0f | %.0f–%.0f | %.3f | %.2f |\n", l, m / med, m / lo, m / hi, med, d / med }'
	done
	echo
	echo "Each run is one curl process fetching /zero/$NET_SIZE ($bytes bytes, checked) to /dev/null; the time is curl's"
	echo "\`time_total\` for the transfer, so no sandbox's start-up is in it. Rounds rotate the order; one warm-up"
	echo "round is not counted. Every byte crosses loopback twice through a proxy or relay (client to proxy,"
	echo "proxy to server) and once without, on $(nproc) CPUs shared by the server, the proxy and curl."
	echo "ajail-proxy's CPU time for one more download: ${cpu_http} ms plain HTTP, ${cpu_connect} ms CONNECT."

	local h c rl
	h=$(awk -v a="$(median_of <"$work/dl.http")" -v d="$direct_med" 'BEGIN { printf "%.2f", d / a }')
	c=$(awk -v a="$(median_of <"$work/dl.connect")" -v d="$direct_med" 'BEGIN { printf "%.2f", d / a }')
	rl=$(awk -v a="$(median_of <"$work/dl.relay")" -v d="$direct_med" 'BEGIN { printf "%.2f", d / a }')
	if awk -v h="$h" -v c="$c" 'BEGIN { exit !(h >= 0.8 && c >= 0.8) }'; then
		verdict net-download MET "through the proxy ${h}x (plain HTTP) and ${c}x (CONNECT) of direct throughput; target 0.8x (a bare relay: ${rl}x)"
	else
		verdict net-download MISSED "through the proxy ${h}x (plain HTTP) and ${c}x (CONNECT) of direct throughput; target 0.8x (a bare splice relay, no policy: ${rl}x)"
	fi
}

# ---------------------------------------------------------------------------------------------------
# net-requests: NET_REQUESTS sequential GETs of a 3-byte body by one curl process (a config file of
# URLs on its stdin), timed as the sum of curl's time_total over the transfers.

# net_req KEY: one batch; prints "total_ms connections ok_count".
net_req()
{
	local fmt='%{time_total} %{num_connects} %{http_code}\n'
	local -a get=(curl -s -K - -w "$fmt")
	local -a jail=("$AJAIL" --quiet --fs=host --allow-net="$NET_ALLOW")
	{
		case $1 in
		direct-ka) "${get[@]}" --noproxy '*' ;;
		direct-close) "${get[@]}" --noproxy '*' -H 'Connection: close' ;;
		http) "${jail[@]}" "${get[@]}" ;;
		connect-ka) "${jail[@]}" "${get[@]}" --proxytunnel ;;
		connect-close) "${jail[@]}" "${get[@]}" --proxytunnel -H 'Connection: close' ;;
		srt-http) (cd "$srt_cwd" && exec "$SRT" --settings "$srt_settings" -c "curl -s -K - -w '$fmt'") ;;
		srt-connect) (cd "$srt_cwd" && exec "$SRT" --settings "$srt_settings" -c "curl -s -K - -w '$fmt' --proxytunnel") ;;
		esac
	} <"$work/req.cfg" | awk '{ t += $1; c += $2; ok += ($3 == 200) } END { printf "%.2f %d %d\n", t * 1000, c, ok }'
}

net_req_label()
{
	case $1 in
	direct-ka) echo "curl on the host, keep-alive" ;;
	direct-close) echo "curl on the host, \`Connection: close\`" ;;
	http) echo "ajail --allow-net: plain HTTP through the proxy" ;;
	connect-ka) echo "ajail --allow-net: one CONNECT tunnel, keep-alive inside" ;;
	connect-close) echo "ajail --allow-net: CONNECT, \`Connection: close\`" ;;
	srt-http) echo "srt: plain HTTP through its proxy" ;;
	srt-connect) echo "srt: one CONNECT tunnel, keep-alive inside" ;;
	esac
}

# The direct contender with the same connection pattern.
net_req_base()
{
	case $1 in
	http | direct-close | connect-close) echo direct-close ;;
	srt-http) echo direct-ka ;; # srt's proxy keeps the client's connection (see the table's "connections")
	*) echo direct-ka ;;
	esac
}

bench_net_requests()
{
	echo "## Network: $NET_REQUESTS sequential small requests by one curl process, $NET_REQ_RUNS interleaved runs each"
	echo
	if ! net_setup; then
		echo "Not measured: $net_why."
		verdict net-requests SKIPPED "$net_why"
		return
	fi
	net_describe
	echo
	local i
	for i in $(seq "$NET_REQUESTS"); do
		printf 'url = "http://%s:%s/small"\noutput = "/dev/null"\n' "$NET_HOST" "$NET_PORT"
	done >"$work/req.cfg"
	local -a keys=(direct-ka direct-close http connect-ka connect-close)
	[ -z "$SRT" ] || keys+=(srt-http srt-connect)
	local n=${#keys[@]} r k key line
	for key in "${keys[@]}"; do : >"$work/req.$key" && : >"$work/req.$key.conns"; done
	for r in $(seq 0 "$NET_REQ_RUNS"); do
		for k in $(seq 0 $((n - 1))); do
			key=${keys[$(((k + r) % n))]}
			line=$(net_req "$key" 2>"$work/req.err") || true
			set -- $line
			[ "${3:-0}" = "$NET_REQUESTS" ] ||
				die "net-requests: $(net_req_label "$key"): ${3:-0} of $NET_REQUESTS requests answered 200: $(head -c 300 "$work/req.err")"
			if [ "$r" != 0 ]; then
				echo "$1" >>"$work/req.$key"
				echo "$2" >>"$work/req.$key.conns"
			fi
		done
	done
	local cpu_http
	cpu_http=$(proxy_cpu "$work/req.cfg" "$NET_ALLOW" curl -s -K -)

	echo "| contender | connections made | median ms for $NET_REQUESTS | µs per request | ratio to the direct row with the same connections | ratio to direct keep-alive |"
	echo "|---|---:|---:|---:|---:|---:|"
	local ka
	ka=$(median_of <"$work/req.direct-ka")
	for key in "${keys[@]}"; do
		local med base conns
		med=$(median_of <"$work/req.$key")
		base=$(median_of <"$work/req.$(net_req_base "$key")")
		conns=$(median_of <"$work/req.$key.conns")
		awk -v l="$(net_req_label "$key")" -v c="$conns" -v m="$med" -v n="$NET_REQUESTS" -v b="$base" -v ka="$ka" \
			-v same="$([ "$(net_req_base "$key")" = direct-close ] && echo close || echo ka)" \
			'BEGIN { printf "| %s | %d | %.1f | %.0f | %.2f (vs %s) | %.2f |\n", l, c, m, m * 1000 / n, m / b,
				same == "close" ? "Connection: close" : "keep-alive", m / ka }'
	done
	echo
	echo "One curl process reads $NET_REQUESTS URLs from a config file on its stdin (\`curl -K -\`, each body to"
	echo "/dev/null); the time is the sum of curl's \`time_total\` over the transfers (connection set-up included,"
	echo "no process or sandbox start-up). \"Connections made\" is curl's own count (\`num_connects\`)."
	echo "Why this shape: it is what an agent's tools do (a client with keep-alive), and it shows the cost"
	echo "of a new connection separately (the \`Connection: close\` rows). Through ajail's proxy, plain HTTP"
	echo "keeps its connection while requests go to the same host and port (the proxy reads each request"
	echo "head, checks it, and sends it on the same server connection); a tunnel (CONNECT, SOCKS5) carries"
	echo "keep-alive inside: one connection for the batch either way."
	echo "ajail-proxy's CPU time for one more batch of plain HTTP: $cpu_http ms ($(awk -v c="$cpu_http" -v n="$NET_REQUESTS" \
		'BEGIN { if (c == "?") print "?"; else printf "%.0f", c * 1000 / n }') µs per connection)."

	local t c h hk
	t=$(awk -v a="$(median_of <"$work/req.connect-ka")" -v b="$ka" 'BEGIN { printf "%.2f", a / b }')
	c=$(awk -v a="$(median_of <"$work/req.http")" -v b="$(median_of <"$work/req.direct-close")" 'BEGIN { printf "%.2f", a / b }')
	hk=$(awk -v a="$(median_of <"$work/req.http")" -v b="$ka" 'BEGIN { printf "%.2f", a / b }')
	if awk -v t="$t" 'BEGIN { exit !(t <= 1.3) }'; then
		verdict net-requests-tunnel MET "$NET_REQUESTS requests in one CONNECT tunnel take ${t}x direct keep-alive; target 1.3x"
	else
		verdict net-requests-tunnel MISSED "$NET_REQUESTS requests in one CONNECT tunnel take ${t}x direct keep-alive; target 1.3x"
	fi
	if awk -v c="$hk" 'BEGIN { exit !(c <= 1.3) }'; then
		verdict net-requests-http MET "$NET_REQUESTS plain-HTTP requests through the proxy take ${hk}x direct keep-alive; target 1.3x"
	else
		verdict net-requests-http MISSED "$NET_REQUESTS plain-HTTP requests through the proxy take ${hk}x direct keep-alive (${c}x direct with a connection per request); target 1.3x"
	fi
}

# ---------------------------------------------------------------------------------------------------
# net-startup: what --allow-net adds to a jail's start-up (a network namespace, the proxy's process and
# its sockets), against --no-net (a network namespace alone). Target: at most 1.2x.
bench_net_startup()
{
	echo "## Network: start to exit of \`true\` with a network policy, $RUNS interleaved runs each"
	echo
	if ! net_setup; then
		echo "Not measured: $net_why."
		verdict net-startup SKIPPED "$net_why"
		return
	fi
	echo "Machine: $(net_busy) this section."
	echo
	local -a c=(-- "ajail --no-net" "$AJAIL" --quiet --fs=bench --no-net true
		-- "ajail --allow-net=example.com" "$AJAIL" --quiet --fs=bench --allow-net=example.com true
		-- "ajail (host network)" "$AJAIL" --quiet --fs=bench true)
	[ -z "$SRT" ] || c+=(-- "srt (allowedDomains example.com)" env -C "$srt_cwd" "$SRT" --settings "$work/srt-startup.json" -c true)
	local out
	out=$("$TIMEIT" -n "$RUNS" "${c[@]}") || die "net-startup: a contender failed (see above)"
	echo "$out"
	echo
	echo "Ratios are to \`ajail --no-net\`. All ajail rows: \`ajail --quiet --fs=bench ... true\` on the busybox rootfs."
	echo "--allow-net adds to --no-net: the proxy's process (forked by the supervisor, in the host's network),"
	echo "its listening sockets made in the jail's namespace and passed to it, and its end when the jail ends."
	if [ -n "$SRT" ]; then
		echo "srt: \`srt --settings S -c true\` with allowedDomains [\"example.com\"], run in an empty directory"
		echo "(Node starts, its proxies listen, two socat bridges, bwrap): for scale, not a target."
	else
		echo "srt: not measured: $srt_why."
	fi
	local a b ratio
	a=$(median "ajail --no-net" <<<"$out")
	b=$(median "ajail --allow-net=example.com" <<<"$out")
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
	if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.2) }'; then
		verdict net-startup MET "--allow-net starts in $b ms, ${ratio}x --no-net's $a ms; target 1.2x"
	else
		verdict net-startup MISSED "--allow-net starts in $b ms, ${ratio}x --no-net's $a ms; target 1.2x"
	fi
}

# ---------------------------------------------------------------------------------------------------
# net-rss: the proxy process's memory while NET_CONNS connections are open through it, each a slow
# download (the server sends 1 KiB every 200 ms) read by nethelper hold inside the jail.

# kib FIELD PID: a /proc/PID/status field in KiB (empty when gone).
kib()
{
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status" 2>/dev/null || true
}

# pss PID: proportional set size in KiB (shared pages split between their users).
pss()
{
	awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

# descendants PID: every process below PID, one a line.
descendants()
{
	ps -e -o pid=,ppid= | awk -v root="$1" '{ parent[$1] = $2 } END {
		n = 1; q[1] = root
		for (i = 1; i <= n; i++) for (p in parent) if (parent[p] == q[i]) { q[++n] = p; print p } }'
}

# hold_ajail N MODE: hold N connections (MODE http or connect; N 0: none) in a jail; prints
# "proxy_rss proxy_hwm proxy_threads proxy_anon supervisor_hwm".
hold_ajail()
{
	local n=$1 mode=$2 apid pp out=$work/hold.out
	rm -f "$out"
	if [ "$n" = 0 ]; then
		"$AJAIL" --quiet --fs=host --allow-net="$NET_ALLOW" sh -c 'echo ready 0; sleep 3' </dev/null >"$out" 2>"$work/hold.err" &
	else
		"$AJAIL" --quiet --fs=host --allow-net="$NET_ALLOW" sh -c 'exec "$0" hold "$1" "$2" "$HTTP_PROXY" "$3" "$4" /drip 4' \
			"$NETHELPER" "$n" "$mode" "$NET_HOST" "$NET_PORT" </dev/null >"$out" 2>"$work/hold.err" &
	fi
	apid=$!
	wait_file "$out" 60 || die "net-rss: the jail did not open its connections: $(head -c 300 "$work/hold.err")"
	grep -q "^ready $n\$" "$out" || die "net-rss: $(cat "$out") $(head -c 300 "$work/hold.err")"
	sleep 0.5 # a few drips through every connection
	pp=$(proxy_pid "$apid")
	[ -n "$pp" ] || die "net-rss: no ajail-proxy process under ajail (pid $apid)"
	echo "$(kib VmRSS "$pp") $(kib VmHWM "$pp") $(kib Threads "$pp") $(kib RssAnon "$pp") $(kib VmHWM "$apid")"
	wait "$apid" || die "net-rss: the jail holding $n connections failed: $(head -c 300 "$work/hold.err")"
}

# hold_srt N: the same through srt (CONNECT); prints "node_rss node_hwm socat_count socat_pss_total".
hold_srt()
{
	local n=$1 spid out=$work/hold-srt.out p node_rss node_hwm socats=0 socat_pss=0
	rm -f "$out"
	(cd "$srt_cwd" && exec "$SRT" --settings "$srt_settings" -c \
		"exec '$NETHELPER' hold $n connect \"\$HTTP_PROXY\" $NET_HOST $NET_PORT /drip 4") </dev/null >"$out" 2>"$work/hold-srt.err" &
	spid=$!
	wait_file "$out" 60 || die "net-rss: srt did not open its connections: $(head -c 300 "$work/hold-srt.err")"
	grep -q "^ready $n\$" "$out" || die "net-rss (srt): $(cat "$out") $(head -c 300 "$work/hold-srt.err")"
	sleep 0.5
	node_rss=$(kib VmRSS "$spid")
	node_hwm=$(kib VmHWM "$spid")
	for p in $(descendants "$spid"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = socat ] || continue
		socats=$((socats + 1))
		socat_pss=$((socat_pss + $(pss "$p")))
	done
	echo "$node_rss $node_hwm $socats $socat_pss"
	wait "$spid" || die "net-rss: srt holding $n connections failed: $(head -c 300 "$work/hold-srt.err")"
}

bench_net_rss()
{
	local limit_kib=4096 n=$NET_CONNS
	echo "## Network: memory of the proxy with $n connections open through it"
	echo
	if ! net_setup; then
		echo "Not measured: $net_why."
		verdict net-rss SKIPPED "$net_why"
		return
	fi
	local idle tun http s
	idle=$(hold_ajail 0 none)
	tun=$(hold_ajail "$n" connect)
	http=$(hold_ajail "$n" http)
	echo "| process | connections | RSS (VmRSS) | peak RSS (VmHWM) | anonymous RSS | threads | target | result |"
	echo "|---|---|---:|---:|---:|---:|---:|---|"
	local worst=0 word
	row()
	{
		local what=$1 conns=$2 loaded=$3 rss hwm thr anon
		set -- $4
		rss=$1 hwm=$2 thr=$3 anon=$4
		word=—
		if [ "$loaded" = 1 ]; then
			word=PASS
			[ "$hwm" -le "$limit_kib" ] || word=FAIL
			[ "$hwm" -le "$worst" ] || worst=$hwm
		fi
		printf '| %s | %s | %s KiB | %s KiB (%.2f MiB) | %s KiB | %s | %s | %s |\n' "$what" "$conns" "$rss" "$hwm" \
			"$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$anon" "$thr" "$([ "$loaded" = 1 ] && echo '≤ 4 MiB' || echo —)" "$word"
	}
	row "ajail-proxy" "none (the jail runs sleep)" 0 "$idle"
	row "ajail-proxy" "$n CONNECT tunnels, a slow download in each" 1 "$tun"
	row "ajail-proxy" "$n plain-HTTP slow downloads" 1 "$http"
	local sup
	sup=$(awk '{ print $5 }' <<<"$tun")
	printf '| ajail supervisor | (the run with %s tunnels) | | %s KiB (%.2f MiB) | | | < 4 MiB | %s |\n' "$n" "$sup" \
		"$(awk -v k="$sup" 'BEGIN { print k / 1024 }')" "$([ "$sup" -lt "$limit_kib" ] && echo PASS || echo FAIL)"
	if [ -n "$SRT" ]; then
		s=$(hold_srt "$n")
		set -- $s
		printf '| srt (one Node process: CLI and proxies) | %s CONNECT tunnels | %s KiB | %s KiB (%.1f MiB) | | | | for scale |\n' \
			"$n" "$1" "$2" "$(awk -v k="$2" 'BEGIN { print k / 1024 }')"
		printf "| srt's socat relays (%s processes: a fork per connection on each side, and the listeners) | %s CONNECT tunnels | %s KiB PSS in all (%.1f MiB) | | | | | for scale |\n" \
			"$3" "$n" "$4" "$(awk -v k="$4" 'BEGIN { print k / 1024 }')"
	fi
	echo
	echo "Each connection is opened from inside the jail by \`nethelper hold $n connect|http \"\$HTTP_PROXY\" ...\`"
	echo "to the server's /drip (1 KiB every 200 ms), and read on; the figures are read from /proc once all $n"
	echo "response heads are in and half a second has passed. ajail-proxy is found with \`pgrep -P AJAIL_PID -x"
	echo "ajail-proxy\`. VmHWM is the peak over the proxy's life; PSS splits shared pages between their users."
	[ -n "$SRT" ] || echo "srt: not measured: $srt_why."
	if [ "$worst" -le "$limit_kib" ] && [ "$sup" -lt "$limit_kib" ]; then
		verdict net-rss PASS "the proxy's peak RSS with $n connections is $worst KiB, the supervisor's $sup KiB; target 4 MiB"
	else
		verdict net-rss FAIL "the proxy's peak RSS with $n connections is $worst KiB, the supervisor's $sup KiB; target 4 MiB"
	fi
}

bench_net()
{
	bench_net_download
	echo
	bench_net_requests
	echo
	bench_net_startup
	echo
	bench_net_rss
}
