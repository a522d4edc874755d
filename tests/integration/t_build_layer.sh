# ajail fs build of a layer recipe (`base NAME`, or --base=NAME): built in a jail on the base by
# mkrootfs/layer and committed as a layer holding only its own changes; listed with its base; runs;
# a missing base, a recipe key of a rootfs made from scratch, a failing step, an unreachable registry,
# SIGINT, SIGTERM and SIGKILL leave nothing behind. Offline: mkrootfs/layer itself on the busybox
# rootfs (no package manager there), and a fake mkrootfs/layer (AJAIL_DATADIR) for what needs apt or
# npm. The real build of the agents layer on debian-dev runs in t_agents (tests/helpers/agents_rootfs.sh).
. "$(dirname "$0")/libtest.sh"
cd "$T"
tag=layer$$$RANDOM
real=$(cd "$MKROOTFS/.." && pwd) # the real mkrootfs/ and rootfs-recipes/
data=$T/data
mkdir -p "$data/mkrootfs" "$data/rootfs-recipes"
cat >"$data/mkrootfs/layer" <<'EOF'
#!/bin/sh
# A fake mkrootfs/layer: does what the recipe's `mode` says, in the jail on the base.
recipe=$1
mode=$(awk '$1 == "mode" { print $2 }' "$recipe")
tag=$(awk '$1 == "tag" { print $2 }' "$recipe")
echo "fake: mode $mode in $(pwd)"
sed 's/^/fake: | /' "$recipe"
case $mode in
ok)
	echo "layer data" >/etc/layer-marker
	rm /bin/vi
	mkdir -p /home/tool && echo tool >/home/tool/file
	echo scratch >./scratch-file
	echo "fake: env FOO=${FOO:-unset} http_proxy=${http_proxy:-unset} CA=${NODE_EXTRA_CA_CERTS:-unset}"
	echo "fake: recipe $(ls -l "$recipe" | awk '{ print $1 }')"
	if echo x >>"$recipe"; then echo "fake: recipe writable"; fi ;;
fail) for i in $(seq 1 30); do echo "fake: line $i"; done; echo junk >/etc/junk; exit 3 ;;
unreachable)
	echo "npm error code ENOTFOUND"
	echo "layer: the npm registry cannot be reached (npm install -g x: npm error network request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org)"
	exit 69 ;;
hang)
	echo junk >/etc/junk
	trap 'echo "fake: cleaning up"; exit 1' TERM
	sh -c 'sleep 1000; :' "ajail-$tag-child" &
	echo "fake: ready"
	while :; do sleep 0.1; done ;;
stubborn)
	echo junk >/etc/junk
	trap '' TERM INT HUP
	echo "fake: ready"
	exec sh -c 'trap "" TERM INT HUP; while :; do sleep 0.1; done' "ajail-$tag-stubborn" ;;
*) echo "fake: unknown mode '$mode'"; exit 9 ;;
esac
EOF
chmod 755 "$data/mkrootfs/layer"
for m in ok fail unreachable hang stubborn; do
	printf '# fake layer: %s\nbase bb\nmode %s\ntag %s\n' "$m" "$m" "$tag" >"$data/rootfs-recipes/$m"
done

fake() { AJAIL_DATADIR=$data jail "$@"; }
tmp_empty() { assert_eq "$(ls -A "$AJAIL_HOME/fs/.tmp")" "" "${1:-}: nothing left in fs/.tmp"; }
lingering() { pgrep -f "ajail-$tag-" || true; }
wait_for() { # FILE TEXT SECONDS
	for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	fail "'$2' never showed up in $1: $(cat "$1" 2>&1 | tail -5)"
}

# ---- built, listed with its base, runs; only its own changes; the scratch and the user's settings stay out ----
AJAIL_ARGS='--fs=nope' AJAIL_ENV_FOO=bar http_proxy=http://127.0.0.1:9 fake fs build ok l1 -p jq
assert_rc 0 "a layer build: $err"
assert_contains "$err" "ajail: building 'l1', a layer on 'bb', with $data/mkrootfs/layer in a jail; its output goes to $AJAIL_HOME/fs/.log/l1.log"
assert_contains "$(tail -1 <<<"$err")" "ajail: built 'l1', a layer on 'bb', in "
assert_contains "$(tail -1 <<<"$err")" " entries (" "the summary counts the layer's own files"
log=$(cat "$AJAIL_HOME/fs/.log/l1.log")
assert_contains "$log" "fake: mode ok in $AJAIL_HOME/fs/.tmp/l1@build/work" "the working directory is the build's scratch"
assert_contains "$log" "fake: | packages jq" "-p reaches the recipe the builder reads"
assert_contains "$log" "fake: env FOO=unset http_proxy=http://127.0.0.1:9 CA=" "the proxy is passed, the user's AJAIL_ENV_ are not"
assert_not_contains "$log" "fake: recipe writable" "the recipe is read-only in the jail"
assert_contains "$log" "ajail: committed the session's changes as 'l1', a layer on 'bb'"
jail fs list --json
assert_contains "$out" '"name": "l1", "size": ' "fs list --json"
assert_contains "$out" '"base": "bb"' "fs list --json shows the base"
jail fs list
assert_contains "$(grep '^l1 ' <<<"$out")" " bb " "fs list shows the base"
jail --fs=l1 -q sh -c 'cat /etc/layer-marker /home/tool/file; [ -e /bin/vi ] && echo vi || echo no-vi'
assert_rc 0 "a jail on the layer"
assert_eq "$out" "$(printf 'layer data\ntool\nno-vi')" "the layer's files over the base's, the deletion too"
assert_exists "$ROOTFS/bin/vi" "the base is untouched"
assert_missing "$ROOTFS/etc/layer-marker" "the base is untouched"
assert_eq "$(cd "$AJAIL_HOME/fs/l1" && find . -mindepth 1 | sort | tr '\n' ' ')" \
	"./bin ./bin/vi ./etc ./etc/layer-marker ./home ./home/tool ./home/tool/file " \
	"the layer holds its changes only (the whiteout of /bin/vi), not the scratch, not /run"
tmp_empty "after a layer build"
# A layer on that layer; the base named on the command line, over the recipe's.
printf '# nothing of its own\nbuilder layer\nbase nope\n' >"$T/empty"
AJAIL_DATADIR=$real jail fs build -v --base=l1 "$T/empty" l2
assert_rc 0 "mkrootfs/layer itself, on a layer, with --base: $err"
assert_contains "$err" "layer: done" "-v shows the builder's lines"
jail --fs=l2 -q cat /etc/layer-marker
assert_eq "$out" "layer data" "a layer on a layer"
assert_eq "$(find "$AJAIL_HOME/fs/l2" -mindepth 1 | wc -l)" 0 "an empty layer"
jail fs rm l1
assert_rc 1 "the base of a layer is not removed"
ok "a layer recipe: built, listed, runs, holds only its changes"

# ---- refused before anything is made: no base, an existing name, keys of a rootfs made from scratch ----
printf '# on nothing\nbase nope\nmode ok\n' >"$T/nobase"
fake fs build "$T/nobase" l3
assert_rc 1 "a missing base"
assert_eq "$err" "ajail: fs build: 'l3' is a layer on 'nope', which is not in the store; build or import it first (ajail fs import nope FILE)"
AJAIL_DATADIR=$real jail fs build --base=debian-dev agents l3
assert_rc 1 "a missing base that has a recipe"
assert_eq "$err" "ajail: fs build: 'l3' is a layer on 'debian-dev', which is not in the store; build or import it first (ajail fs build debian-dev)"
assert_missing "$AJAIL_HOME/fs/l3"
assert_missing "$AJAIL_HOME/fs/.log/l3.log" "no build was started"
fake fs build ok l1
assert_rc 1 "an existing name"
assert_eq "$err" "ajail: rootfs 'l1' exists already; remove it first with 'ajail fs rm l1'"
printf 'base bb\nsuite bookworm\n' >"$T/scratchkey"
AJAIL_DATADIR=$real jail fs build "$T/scratchkey" l3
assert_rc 2 "a key of a rootfs made from scratch"
assert_eq "$err" "ajail: recipe scratchkey: 'suite' is for a rootfs built from scratch; a layer recipe (base bb) takes packages, apt-lists, npm, npm-version and npm-flags"
AJAIL_DATADIR=$real jail fs build --base=bb debian l3
assert_rc 2 "--base on a recipe with another builder"
assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "one line"
jail fs build "$T/empty" l3 --base
assert_rc 2 "--base without a name"
assert_eq "$err" "ajail: fs build: --base needs a rootfs name, e.g. --base=debian"
assert_missing "$AJAIL_HOME/fs/l3"
tmp_empty "refused builds"
ok "a missing base, an existing name, a recipe for a rootfs made from scratch: refused in one line"

# ---- a step that fails: the tail, one line, nothing left ----
printf '# jq on busybox\nbase bb\npackages jq\n' >"$T/nopm"
AJAIL_DATADIR=$real jail fs build "$T/nopm" l4
assert_rc 1 "packages on a base without apt-get or apk"
assert_contains "$err" "    layer: the base has neither apt-get nor apk, so it cannot take 'packages jq'"
assert_contains "$(tail -1 <<<"$err")" "ajail: fs build: the builder $real/mkrootfs/layer failed in a jail on 'bb' (exit 1) after"
assert_missing "$AJAIL_HOME/fs/l4"
fake fs build fail l4
assert_rc 1 "a failing step"
assert_contains "$err" "all of its output is in $AJAIL_HOME/fs/.log/l4.log"
assert_contains "$err" "    fake: line 30"
assert_contains "$err" "    ajail: the command exited with status 3: nothing was committed as 'l4'"
assert_contains "$(tail -1 <<<"$err")" "ajail: fs build: the builder $data/mkrootfs/layer failed in a jail on 'bb' (exit 3) after"
assert_contains "$(tail -1 <<<"$err")" "; nothing was kept; its output is in $AJAIL_HOME/fs/.log/l4.log"
assert_missing "$AJAIL_HOME/fs/l4"
fake fs build unreachable l4
assert_rc 1 "an unreachable registry"
assert_eq "$(tail -1 <<<"$err")" "ajail: fs build: the npm registry cannot be reached (npm install -g x: npm error network request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org); check the network (and the proxy), then build again" "the builder's own words"
assert_eq "$(grep -vc '^ajail: building ' <<<"$err")" 1 "one line"
assert_missing "$AJAIL_HOME/fs/l4"
jail fs list
assert_not_contains "$out" "l4"
tmp_empty "failed layer builds"
ok "a failing step: its last lines, one line saying so, nothing kept"

# ---- another import of the name under way ----
AJAIL_DATADIR=$real "$AJAIL" -q --fs=bb --commit=l5 sleep 3 </dev/null >/dev/null 2>&1 &
cpid=$!
for _ in $(seq 50); do [ -e "$AJAIL_HOME/fs/.tmp/l5" ] && break; sleep 0.1; done
AJAIL_DATADIR=$real jail fs build --base=bb "$T/empty" l5
assert_rc 1 "a build while a --commit of the name runs"
assert_eq "$err" "ajail: another import of 'l5' is in progress"
assert_exists "$AJAIL_HOME/fs/.tmp/l5" "the session's upper directory is left alone"
wait "$cpid"
rc=$?
assert_rc 0 "the --commit session"
assert_exists "$AJAIL_HOME/fs/l5" "the session committed"
tmp_empty "after the session"
ok "a layer build refused while another import of its name runs"

# ---- SIGINT, SIGTERM: the jail is stopped, nothing kept ----
for sig in INT TERM; do
	set -m
	AJAIL_DATADIR=$data "$AJAIL" fs build hang "h$sig" >"$T/h$sig.out" 2>&1 </dev/null &
	apid=$!
	set +m
	wait_for "$AJAIL_HOME/fs/.log/h$sig.log" "fake: ready" 10
	[ -n "$(lingering)" ] || fail "the jail's child does not run: $(cat "$AJAIL_HOME/fs/.log/h$sig.log")"
	assert_exists "$AJAIL_HOME/fs/.tmp/h$sig" "the jail's upper directory while it runs"
	kill -"$sig" "$apid"
	wait "$apid"
	rc=$?
	want=130
	[ "$sig" = TERM ] && want=143
	assert_eq "$rc" "$want" "SIG$sig: the exit status"
	assert_eq "$(tail -1 "$T/h$sig.out")" "ajail: fs build: interrupted by SIG$sig: the builder was stopped and its files removed; nothing was kept"
	assert_eq "$(grep -c . "$T/h$sig.out")" 2 "SIG$sig: the line before the build and one line"
	assert_contains "$(cat "$AJAIL_HOME/fs/.log/h$sig.log")" "fake: cleaning up" "SIG$sig reached the jail's command"
	assert_eq "$(lingering)" "" "SIG$sig: no process left"
	assert_missing "$AJAIL_HOME/fs/h$sig"
	tmp_empty "SIG$sig"
done
ok "SIGINT and SIGTERM stop a layer build"

# ---- SIGKILL of ajail, with a jail that ignores SIGTERM: the reaper ends it and removes its files ----
AJAIL_DATADIR=$data "$AJAIL" fs build stubborn k1 >"$T/k1.out" 2>&1 </dev/null &
apid=$!
wait_for "$AJAIL_HOME/fs/.log/k1.log" "fake: ready" 10
[ -n "$(lingering)" ] || fail "the stubborn jail does not run: $(cat "$AJAIL_HOME/fs/.log/k1.log")"
kill -KILL "$apid"
wait "$apid" 2>/dev/null
for _ in $(seq 300); do [ -z "$(lingering)" ] && [ -z "$(ls -A "$AJAIL_HOME/fs/.tmp")" ] && break; sleep 0.1; done
assert_eq "$(lingering)" "" "SIGKILL: no process left"
tmp_empty "SIGKILL, before any other store operation"
jail fs list
assert_not_contains "$out" "k1"
ok "SIGKILL of ajail during a layer build: nothing survives"
