# Real work keeps working with every defense-in-depth layer on (the default: capabilities dropped,
# seccomp deny list, landlock, rlimits, masked /proc and /sys), on the Debian rootfs for developers
# (rootfs-recipes/debian-dev): a C build with make and gcc, git (commit, fetch from another repository,
# gc), npm install from the registry, apt-get install with --fs-edit, and a Python program with threads,
# a multiprocessing Pool and interface enumeration. The C build also runs with --lockdown, the Python
# program also with --no-net. A failure here means a layer denies something real tools need: do not
# weaken the test: find out which layer (the --no-* switches one at a time) denies what (strace with
# --allow-ptrace, dmesg) and fix the layer.
. "$(dirname "$0")/libtest.sh"
began=$SECONDS
cd "$T"
recipe="$MKROOTFS/../rootfs-recipes/debian-dev"
mirror=$(awk '$1 == "mirror" { print $2; exit }' "$recipe")
# Not a skip: a missing mirror is not a missing kernel feature, and make deps needs the same
# registry, so where make check runs at all the mirror answers. Say plainly what is wrong.
if ! python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/dists/bookworm/Release', timeout=15)" "$mirror" 2>/dev/null; then
	fail "the Debian mirror $mirror does not answer (the real-work tests build their rootfs from it); check the network or the recipe's mirror"
fi
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing (make deps installs it)"

# Like jail() in libtest.sh, with a time limit: a layer that makes a tool hang must fail, not stall CI.
tjail() {
	local secs=$1 o="$T/.out" e="$T/.err"
	shift
	timeout -k 10 "$secs" "$AJAIL" "$@" >"$o" 2>"$e" </dev/null
	rc=$?
	out=$(cat "$o")
	err=$(cat "$e")
}

# The rootfs: about a minute to build, so it is built once per run into a tarball in run.sh's shared
# cache ($AJAIL_IT_CACHE, keyed by the recipe), under a lock, and each user imports it. One older than a
# day is rebuilt: its package lists may name .debs the mirror no longer has. Whoever cannot write the
# cache (the unprivileged user) and finds no tarball there builds its own.
build() {
	local start
	start=$(date +%s)
	"$MKROOTFS/debian" "$recipe" "$1" >"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&2; rm -f "$1"; fail "building the debian-dev rootfs"; }
	ok "debian-dev rootfs built in $(($(date +%s) - start)) s: $(du -h "$1" | cut -f1)"
}
key=$(sha256sum "$recipe" | cut -c1-16)
tarball=""
if [ -n "${AJAIL_IT_CACHE:-}" ]; then
	tarball="$AJAIL_IT_CACHE/debian-dev-$key.tar"
	fresh() { [ -s "$tarball" ] && [ -z "$(find "$tarball" -mmin +1440)" ]; }
	if ! fresh && [ -w "$AJAIL_IT_CACHE" ]; then
		exec 9>>"$AJAIL_IT_CACHE/debian-dev.lock"
		flock 9
		if ! fresh; then
			build "$tarball.part"
			chmod 644 "$tarball.part" && mv "$tarball.part" "$tarball"
		fi
		exec 9>&-
	fi
	[ -s "$tarball" ] || tarball=""
fi
if [ -z "$tarball" ]; then
	tarball="$T/debian-dev.tar"
	build "$tarball"
fi
start=$(date +%s)
jail fs import dev "$tarball"
assert_rc 0 "import the debian-dev rootfs"
ok "debian-dev imported in $(($(date +%s) - start)) s"
# The layers are on: no capability, no_new_privs, a seccomp filter (what else is on, --dry-run says).
jail --fs=dev -q grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
assert_eq "$(printf '%s' "$out" | tr -s '[:space:]' ' ')" "CapEff: 0000000000000000 NoNewPrivs: 1 Seccomp: 2" "the default layers are on"

# 1. A C project: two .c files, a header, a Makefile; built with make -j2 and gcc, and run.
mkdir "$T/cproj"
cat >"$T/cproj/greet.h" <<'EOF'
#ifndef GREET_H
#define GREET_H
const char *greet(const char *who);
#endif
EOF
cat >"$T/cproj/greet.c" <<'EOF'
#include <stdio.h>
#include "greet.h"
const char *greet(const char *who)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "hello, %s", who);
	return buf;
}
EOF
cat >"$T/cproj/main.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include "greet.h"
static void *run(void *arg) { return (void *)greet(arg); }
int main(void)
{
	pthread_t t;
	void *msg;
	if (pthread_create(&t, NULL, run, "jail") != 0 || pthread_join(t, &msg) != 0)
		return 1;
	puts(msg);
	return 0;
}
EOF
printf '%s\n' 'CFLAGS = -O2 -Wall -Wextra -Werror -pthread' \
	'hello: main.o greet.o' '	$(CC) $(CFLAGS) -o $@ main.o greet.o' \
	'%.o: %.c greet.h' '	$(CC) $(CFLAGS) -c -o $@ $<' \
	'clean:' '	rm -f hello *.o' >"$T/cproj/Makefile"
cd "$T/cproj"
tjail 300 --fs=dev -q sh -c 'make -j2 && ./hello && make'
assert_rc 0 "make and gcc in the jail"
assert_contains "$out" "hello, jail" "the program built in the jail runs"
assert_contains "$out" "'hello' is up to date" "make sees its own outputs as up to date"
assert_exists "$T/cproj/hello" "the build's output reaches the host"
rm -f hello ./*.o
ok "C build with make -j2 and gcc"

# ...and with --lockdown: the working directory is read-only, so the build happens in /tmp.
tjail 300 --fs=dev -q --lockdown sh -c 'cp -r . /tmp/b && make -C /tmp/b -j2 >/dev/null && /tmp/b/hello'
assert_rc 0 "make and gcc under --lockdown"
assert_eq "$out" "hello, jail" "the program built under --lockdown runs"
assert_missing "$T/cproj/hello" "nothing was built in the read-only working directory"
ok "C build with --lockdown"

# 2. git: a repository made in the working directory, a commit, a fetch from another repository (a
# bare one, mounted read-only), a merge and gc; the host sees every commit.
git init -q --bare -b main "$T/upstream.git"
git init -q -b main "$T/seed" && (cd "$T/seed" && git config user.email t@e && git config user.name t &&
	echo upstream >up.txt && git add up.txt && git commit -qm "made on the host" && git push -q "$T/upstream.git" main) ||
	fail "setting up the upstream repository"
upstream_head=$(git -C "$T/upstream.git" rev-parse main)
mkdir "$T/work"
cd "$T/work"
tjail 120 --fs=dev -q --mount="$T/upstream.git,/srv/upstream.git,rol" sh -c '
	set -e
	git init -q -b main .
	git config user.email jail@localhost && git config user.name jail
	echo jail >jail.txt && git add jail.txt && git commit -qm "made in the jail"
	git remote add upstream /srv/upstream.git
	git fetch -q upstream
	git merge -q --allow-unrelated-histories -m "merged in the jail" upstream/main
	git gc -q
	git log --format=%s'
assert_rc 0 "git init, commit, fetch, merge and gc in the jail"
assert_contains "$out" "made on the host" "the fetched commit is in the jail's history"
assert_eq "$(git log --format=%s | sort | tr '\n' ,)" "made in the jail,made on the host,merged in the jail," "the host sees the jail's commits"
assert_eq "$(git rev-parse upstream/main)" "$upstream_head" "the fetched ref reached the host"
fsck_out=$(git fsck --strict 2>&1) || fail "git fsck on the host of the repository the jail wrote: $fsck_out"
assert_eq "$(git -C "$T/upstream.git" rev-parse main)" "$upstream_head" "the mounted repository is unchanged"
tjail 60 --fs=dev -q sh -c 'echo more >>jail.txt && git commit -qam "second commit in the jail" && git status --porcelain'
assert_rc 0 "a commit in a repository that already exists"
assert_eq "$out" "" "the tree is clean after the commit"
assert_eq "$(git log -1 --format=%s)" "second commit in the jail" "the host sees the second commit"
assert_eq "$(git status --porcelain)" "" "the host sees a clean tree"
ok "git commit, fetch, merge, gc"

# 3. npm install of a small package from the registry, then node requires it. The host's CA bundle
# goes in place of the rootfs's, as a user behind a TLS-inspecting proxy would have it.
mkdir "$T/npmproj"
cd "$T/npmproj"
ca=()
[ ! -r /etc/ssl/certs/ca-certificates.crt ] || ca=(--mount=/etc/ssl/certs/ca-certificates.crt,/etc/ssl/certs/ca-certificates.crt,rol)
tjail 300 --fs=dev -q "${ca[@]}" sh -c 'npm install --no-audit --no-fund is-number@7 &&
	node -e "const n = require(\"is-number\"); console.log(n(5), n(\"x\"), require(\"is-number/package.json\").version)"'
assert_rc 0 "npm install and node in the jail"
assert_contains "$out" "true false 7." "node requires what npm installed"
assert_exists "$T/npmproj/node_modules/is-number/package.json" "node_modules reaches the host"
ok "npm install is-number@7, node require"

# 4. apt-get install with --fs-edit: kept in the rootfs. (t_debian covers the ephemeral install.)
cd "$T"
tjail 300 --fs=dev -q --fs-edit apt-get install -y -q hello
assert_rc 0 "apt-get install with --fs-edit"
tjail 30 --fs=dev -q hello
assert_rc 0 "the installed program runs in the next jail"
assert_eq "$out" "Hello, world!" "GNU hello"
ok "apt-get install --fs-edit"

# 5. Python: threads, a multiprocessing Pool of 4 (semaphores in /dev/shm) with fork and forkserver,
# shared memory, and the network interfaces from socket.if_nameindex() and libc's getifaddrs().
mkdir "$T/py"
cd "$T/py"
cat >work.py <<'EOF'
import ctypes, ctypes.util, hashlib, multiprocessing, os, socket, threading
from multiprocessing import shared_memory

def digest(i):
    return hashlib.sha256(str(i).encode() * 1000).hexdigest()[:8]

def pid(_):
    return os.getpid()

class sockaddr(ctypes.Structure):
    _fields_ = [("sa_family", ctypes.c_ushort), ("sa_data", ctypes.c_ubyte * 14)]

class ifaddrs(ctypes.Structure):
    pass
ifaddrs._fields_ = [("ifa_next", ctypes.POINTER(ifaddrs)), ("ifa_name", ctypes.c_char_p),
                    ("ifa_flags", ctypes.c_uint), ("ifa_addr", ctypes.POINTER(sockaddr)),
                    ("ifa_netmask", ctypes.POINTER(sockaddr)), ("ifa_ifu", ctypes.c_void_p),
                    ("ifa_data", ctypes.c_void_p)]

def getifaddrs():
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    head = ctypes.POINTER(ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        raise OSError(ctypes.get_errno(), "getifaddrs: " + os.strerror(ctypes.get_errno()))
    found = {}
    try:
        p = head
        while p:
            a = p.contents
            name = a.ifa_name.decode()
            found.setdefault(name, [])
            if a.ifa_addr and a.ifa_addr.contents.sa_family == socket.AF_INET:
                found[name].append(socket.inet_ntoa(bytes(a.ifa_addr.contents.sa_data[2:6])))
            p = a.ifa_next
    finally:
        libc.freeifaddrs(head)
    return found

if __name__ == "__main__":
    want = [digest(i) for i in range(64)]
    results = [None] * 64
    def worker(k):
        for i in range(k, 64, 8):
            results[i] = digest(i)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert results == want, "threads"

    for method in ("fork", "forkserver"):
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(4) as pool:
            assert pool.map(digest, range(64)) == want, method
            pids = set(pool.map(pid, range(64), chunksize=1))
        assert os.getpid() not in pids and 1 <= len(pids) <= 4, (method, pids)
    lock, q = multiprocessing.Lock(), multiprocessing.Queue()
    with lock:
        q.put("queued")
    assert q.get(timeout=10) == "queued"
    shm = shared_memory.SharedMemory(create=True, size=4096)
    shm.buf[:4] = b"jail"
    other = shared_memory.SharedMemory(name=shm.name)
    assert bytes(other.buf[:4]) == b"jail"
    other.close(); shm.close(); shm.unlink()

    names = sorted(n for _, n in socket.if_nameindex())
    addrs = getifaddrs()
    assert "lo" in names and "127.0.0.1" in addrs.get("lo", []), (names, addrs)
    assert sorted(addrs) == names, (names, addrs)
    print("ok", " ".join(names))
EOF
host_ifs=$(python3 -c 'import socket; print(" ".join(sorted(n for _, n in socket.if_nameindex())))')
tjail 120 --fs=dev -q python3 work.py
assert_rc 0 "the Python program"
assert_eq "$out" "ok $host_ifs" "threads, Pool(4) with fork and forkserver, shared memory; the host's interfaces"
tjail 120 --fs=dev -q --no-net python3 work.py
assert_rc 0 "the Python program with --no-net"
assert_eq "$out" "ok lo" "with --no-net, only lo"
ok "Python threads, multiprocessing, shared memory, if_nameindex and getifaddrs"

# 6. The README's examples run as written (its Usage and Options sections), on the rootfs the README
# has the user make the default (debian-dev), in a project with what the examples name: a Makefile,
# .env, secrets/, untrusted.py, a program to debug. Read from the README, so the two cannot drift.
readme="$MKROOTFS/../README.md"
[ -r "$readme" ] || fail "no README.md beside mkrootfs/ ($readme)"
proj="$T/readme-proj"
mkdir -p "$proj/secrets" "$T/readme-home/.cache" "$T/bin"
ln -s "$AJAIL" "$T/bin/ajail"
ln -s dev "$AJAIL_HOME/fs/default"
jail fs build -q busybox # the README's own examples name it
assert_rc 0 "ajail fs build busybox: $err"
printf 'all:\n\techo built > out.txt\n\tmkdir -p build && echo obj > build/o\ntest:\n\ttest -f Makefile\n' >"$proj/Makefile"
echo 'KEY=1' >"$proj/.env"
echo 'print("untrusted ran")' >"$proj/untrusted.py"
printf '#include <stdio.h>\nint main(void) { puts("prog ran"); return 0; }\n' >"$proj/prog.c"
cd "$proj" || fail "cd $proj"
tjail 120 --fs=dev -q gcc -g -o prog prog.c
assert_rc 0 "compile the README's ./prog"
cd "$T" || fail "cd $T"
examples=$(awk '/^## Usage/ { on = 1 } /^### Root filesystems/ { on = 0 } /^### Options/ { on = 1 } /^### Network policy/ { on = 0 }
	on && /^```/ { inb = !inb; next }
	on && inb && !/^\$ / && (/^ajail / || /^ajail$/ || /&& ajail /) && !/^ajail \[OPTIONS\]/ { print }' "$readme")
[ "$(printf '%s\n' "$examples" | wc -l)" -ge 20 ] || fail "found only these README examples: $examples"
ran=0
while IFS= read -r line; do
	cmd=${line%%  #*} # the comment after the command (two spaces then #) is not part of it
	case "$cmd" in
	*--dev=kvm*) [ -c /dev/kvm ] || { ok "README: skipped (this machine has no /dev/kvm): $cmd"; continue; } ;;
	*--memory=*) [ -w /sys/fs/cgroup/cgroup.subtree_control ] || { ok "README: skipped (memory and cpu sit on cgroup v1 here; --memory needs a delegated cgroup v2 subtree): $cmd"; continue; } ;;
	esac
	(cd "$proj" && HOME="$T/readme-home" PATH="$T/bin:$PATH" timeout -k 10 120 bash -c "$cmd" </dev/null >"$T/ex.out" 2>"$T/ex.err")
	rc=$?
	[ "$rc" = 0 ] || fail "the README's example '$cmd' exits $rc: $(tail -5 "$T/ex.err")"
	ran=$((ran + 1))
done <<<"$examples"
# What they say they do, for the ones whose effect is easy to see:
assert_missing "$proj/out.txt" "'ajail --ro make' leaves no out.txt on the host"
assert_eq "$(cat "$proj/build/o" 2>/dev/null)" "obj" "'--ro --rw=build make' keeps what lands in build/"
assert_missing "$T/readme-home/.cache/x" "nothing leaked"
ok "the README's $ran examples in Usage and Options run as written on the default debian-dev rootfs"
ok "the whole test in $((SECONDS - began)) s (build, import and clean-up included)"
