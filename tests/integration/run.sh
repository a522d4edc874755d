#!/bin/bash
# Runs every t_*.sh as the current user and, when that is root, also as an unprivileged user that
# this script creates: the sandbox's real users are not root, and it must work for both.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${AJAIL:-$top/ajail}
[ -x "$bin" ] || { echo "run.sh: $bin not built; run make" >&2; exit 1; }
only=${1:-}

# Stage what the tests need where any user can read it (the checkout may live under /root).
stage=$(mktemp -d /var/tmp/ajail-it.XXXXXX)
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
cp "$bin" "$stage/ajail"
cp -r "$here" "$stage/integration"
cp -r "$top/mkrootfs" "$stage/mkrootfs"
cp -r "$top/rootfs-recipes" "$stage/rootfs-recipes"
cp "$top/README.md" "$stage/README.md" # t_realwork runs the README's examples as written
mkdir -p "$stage/helpers" && cp -r "$top/tests/helpers/." "$stage/helpers/"
for h in probe racer; do [ ! -x "$top/build/$h" ] || cp "$top/build/$h" "$stage/helpers/$h"; done
# A cache shared by the tests and both users: what is slow to make is made once per run (t_realwork's
# Debian rootfs tarball). Writable by whoever runs run.sh, readable by everyone. AJAIL_IT_CACHE=DIR
# keeps it across runs instead.
cache=${AJAIL_IT_CACHE:-$stage/cache}
mkdir -p "$cache"
chmod -R a+rX "$stage"

users=("$(id -un)")
test_user=ajail-test
if [ "$(id -u)" = 0 ]; then
	if ! id "$test_user" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash "$test_user" || { echo "run.sh: useradd failed" >&2; exit 1; }
	fi
	# Like a developer's: a private key in ~/.ssh, which t_escape must find unreadable from a jail.
	test_home=$(getent passwd "$test_user" | cut -d: -f6)
	if [ ! -e "$test_home/.ssh/id_ed25519" ]; then
		install -d -m 700 -o "$test_user" -g "$test_user" "$test_home/.ssh" &&
			printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\najail test key, not a real one\n-----END OPENSSH PRIVATE KEY-----\n' |
			install -m 600 -o "$test_user" -g "$test_user" /dev/stdin "$test_home/.ssh/id_ed25519" ||
			{ echo "run.sh: could not give $test_user an ssh key" >&2; exit 1; }
	fi
	users+=("$test_user")
	# Names for the network tests (--allow-net), on loopback addresses where their servers listen;
	# meta.test stands for a name that resolves to a cloud metadata address. Taken out again at exit.
	# (Its own lines, by their marker: what another run left is replaced, whatever else is there.)
	sed -i '/ # ajail-it$/d' /etc/hosts
	printf '%s\n' '127.0.0.2 allowed.test # ajail-it' '127.0.0.3 other.test # ajail-it' \
		'127.0.0.4 sub.wild.test # ajail-it' '169.254.169.254 meta.test # ajail-it' \
		'169.254.169.254 meta.wild.test # ajail-it' '127.0.0.5 exact.wild.test # ajail-it' >>/etc/hosts
	trap 'rm -rf "$stage"; sed -i "/ # ajail-it\$/d" /etc/hosts' EXIT
fi

mounts() { awk '{print $5, $9, $10}' /proc/self/mountinfo | sort; }
before=$(mounts)
pass=0 failed=0 skipped=0
failures=()
for user in "${users[@]}"; do
	for t in "$stage"/integration/t_*.sh; do
		name=$(basename "$t" .sh)
		[ -z "$only" ] || [ "$name" = "$only" ] || continue
		log="$stage/$name.$user.log"
		env_args=(AJAIL="$stage/ajail" MKROOTFS="$stage/mkrootfs" HELPERS="$stage/helpers" AJAIL_IT_CACHE="$cache" PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" TERM="${TERM:-dumb}")
		if [ "$user" = "$(id -un)" ]; then
			(cd "$stage" && env "${env_args[@]}" HOME="$HOME" bash "$t") >"$log" 2>&1
		else
			(cd /tmp && setpriv --reuid="$user" --regid="$user" --init-groups --reset-env \
				env "${env_args[@]}" HOME="$(getent passwd "$user" | cut -d: -f6)" bash "$t") >"$log" 2>&1
		fi
		rc=$?
		case $rc in
		0) pass=$((pass + 1)); echo "PASS $name (as $user)" ;;
		77) skipped=$((skipped + 1)); echo "SKIP $name (as $user): $(grep SKIP "$log" | tail -1)" ;;
		*) failed=$((failed + 1)); failures+=("$name ($user)"); echo "FAIL $name (as $user), exit $rc:"; tail -20 "$log" | sed 's/^/    /' ;;
		esac
	done
done
after=$(mounts)
if [ "$before" != "$after" ]; then
	failed=$((failed + 1))
	echo "FAIL: the host's mount table changed during the tests:"
	diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
else
	pass=$((pass + 1))
	echo "PASS nothing left mounted on the host"
fi
leftover=$(pgrep -f "$stage/ajail" || true)
if [ -n "$leftover" ]; then
	failed=$((failed + 1))
	echo "FAIL: ajail processes left running: $leftover"
else
	pass=$((pass + 1))
	echo "PASS no ajail process left running"
fi
echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
