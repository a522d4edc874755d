# The headline use: installing system packages in a jail on a Debian rootfs built by `ajail fs build
# debian`, as the user: ephemerally by default, for good with --fs-edit.
. "$(dirname "$0")/libtest.sh"
cd "$T"
mirror=$(awk '$1 == "mirror" { print $2; exit }' "$MKROOTFS/../rootfs-recipes/debian")
# Not a skip: a missing mirror is not a missing kernel feature, and make deps needs the same
# registry, so where make check runs at all the mirror answers. Say plainly what is wrong.
if ! python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/dists/bookworm/Release', timeout=15)" "$mirror" 2>/dev/null; then
	fail "the Debian mirror $mirror does not answer (the apt-in-a-jail test builds its rootfs from it); check the network or the recipe's mirror"
fi
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing (make deps installs it)"

jail fs build debian
assert_rc 0 "fs build debian"
jail --fs=debian -q sh -c 'apt-get update -q >/dev/null && apt-get install -y -q jq >/dev/null && jq --version'
assert_rc 0 "apt-get install in an ephemeral jail"
assert_contains "$out" "jq-" "jq runs"
jail --fs=debian -q sh -c 'command -v jq || echo gone'
assert_eq "$out" "gone" "the ephemeral install is gone in the next session"

jail --fs=debian -q --fs-edit apt-get install -y -q jq
assert_rc 0 "apt-get install with --fs-edit"
jail --fs=debian -q jq --version
assert_rc 0
assert_contains "$out" "jq-" "--fs-edit kept jq"
