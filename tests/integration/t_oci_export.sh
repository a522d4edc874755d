# ajail fs export of a layer (merged), --oci (an OCI image archive that skopeo, umoci and podman
# take, layers kept) and --k8s-job (a Kubernetes Job, escaped whatever the image says). Issue 13.
. "$(dirname "$0")/libtest.sh"
cd "$T"
for tool in python3 skopeo umoci; do
	command -v "$tool" >/dev/null || fail "$tool is not installed; run 'make deps'"
done
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is not installed; run 'make deps'"
FS=$AJAIL_HOME/fs
setx() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' "$@"; }

# ---- a stack: l1 (made by hand, in overlayfs's own format) on bb, l2 (a committed session) on l1 ----
mkdir -p "$FS/l1/bin" "$FS/l1/usr/bin/sub" "$FS/l1/root"
mknod "$FS/l1/bin/vi" c 0 0 || fail "mknod of a whiteout (0/0), which Linux allows unprivileged since 5.8"
echo new >"$FS/l1/usr/bin/only"
setx "$FS/l1/usr/bin" user.overlay.opaque y || skip "this filesystem takes no user.* xattrs (overlayfs's opaque directories)"
echo l1 >"$FS/l1/root/marker1"
mkdir -p "$FS/.meta" && printf 'source=\nbase=bb\n' >"$FS/.meta/l1"
jail --fs=l1 -q ls /usr/bin
assert_rc 0 "a jail on the hand-made layer"
[ "$out" = "$(printf 'only\nsub')" ] || skip "overlayfs ignores user.overlay.opaque here (a kernel before 5.11?): $out"
jail --fs=l1 --commit=l2 -q sh -c 'rm /etc/os-release && echo l2 > /root/marker2'
assert_rc 0 "commit l2 on l1"

# ---- fs export of a layer: the merged tree, as a jail sees it ----
mkdir out
jail fs export l2 out/merged.tar
assert_rc 0 "merged export of l2"
list=$(tar -tf out/merged.tar) || fail "the merged export is a tar"
assert_not_contains "$list" "./bin/vi" "the file l1 deletes is absent"
assert_not_contains "$list" "./etc/os-release" "the file l2 deletes is absent"
assert_contains "$list" "./bin/sh" "the base's files are there"
assert_contains "$list" "./root/marker1" "l1's file is there"
assert_contains "$list" "./root/marker2" "l2's file is there"
assert_not_contains "$list" ".wh." "no OCI whiteout names"
assert_eq "$(tar -tvf out/merged.tar | grep -c '^[cb]')" 0 "no device nodes (no overlayfs whiteouts)"
assert_eq "$(tar -tf out/merged.tar | sed -n 's|^\./usr/bin/\([^/][^/]*\)/\{0,1\}$|\1|p' | sort | tr '\n' ' ')" "only sub " \
	"the opaque directory hides the base's files"
assert_eq "$(tar -xOf out/merged.tar ./root/marker2)" "l2" "file contents"
# (Less /etc/resolv.conf: the jail's own, a mount point it makes.)
jail --fs=l2 -q sh -c 'cd / && find bin etc root usr | sort'
jailview=$(grep -vx etc/resolv.conf <<<"$out")
assert_eq "$(tar -tf out/merged.tar | sed -e 's|^\./||' -e 's|/$||' | grep -E '^(bin|etc|root|usr)(/|$)' | sort)" "$jailview" \
	"the export holds what a jail on the layer sees"
assert_eq "$(ls -A out)" "merged.tar" "nothing else left"
ok "fs export of a layer writes the merged tree"

# ---- --oci: check an archive with python (digests, media types, whiteouts) ----
check_oci() { # FILE REF LAYERS [WHITEOUT-NAMES...]
	python3 - "$@" <<'EOF'
import hashlib, io, json, sys, tarfile
path, ref, nlayers, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def die(msg):
    print("FAIL: " + msg, file=sys.stderr); sys.exit(1)
t = tarfile.open(path)
files = {}
for m in t.getmembers():
    if m.uid != 0 or m.gid != 0: die("%s is not 0:0" % m.name)
    if m.isfile(): files[m.name] = t.extractfile(m).read()
for need in ("oci-layout", "index.json"):
    if need not in files: die("no " + need)
if json.loads(files["oci-layout"]) != {"imageLayoutVersion": "1.0.0"}: die("oci-layout")
blobs = {}
for name, data in files.items():
    if name.startswith("blobs/sha256/"):
        if hashlib.sha256(data).hexdigest() != name.split("/")[-1]: die("the digest of " + name)
        blobs["sha256:" + name.split("/")[-1]] = data
def blob(desc, mt):
    if desc["mediaType"] != mt: die("media type %s, not %s" % (desc["mediaType"], mt))
    data = blobs.get(desc["digest"])
    if data is None: die("no blob " + desc["digest"])
    if len(data) != desc["size"]: die("size of " + desc["digest"])
    return data
index = json.loads(files["index.json"])
if index["schemaVersion"] != 2 or index["mediaType"] != "application/vnd.oci.image.index.v1+json": die("index")
if len(index["manifests"]) != 1: die("one manifest")
md = index["manifests"][0]
if md["annotations"]["org.opencontainers.image.ref.name"] != ref: die("ref.name " + str(md["annotations"]))
man = json.loads(blob(md, "application/vnd.oci.image.manifest.v1+json"))
if man["schemaVersion"] != 2: die("manifest schemaVersion")
cfg = json.loads(blob(man["config"], "application/vnd.oci.image.config.v1+json"))
if len(man["layers"]) != nlayers: die("%d layers, not %d" % (len(man["layers"]), nlayers))
if cfg["os"] != "linux" or not cfg["architecture"]: die("os/architecture")
if cfg["rootfs"]["diff_ids"] != [l["digest"] for l in man["layers"]]: die("diff_ids are the (uncompressed) layers")
if len(cfg["history"]) != nlayers: die("one history entry per layer")
names = []
for i, l in enumerate(man["layers"]):
    lt = tarfile.open(fileobj=io.BytesIO(blob(l, "application/vnd.oci.image.layer.v1.tar")))
    for m in lt.getmembers():
        if m.ischr() or m.isblk(): die("a device node in layer %d: %s" % (i, m.name))
        if m.uid != 0 or m.gid != 0: die("%s is not 0:0" % m.name)
        if m.name.startswith("./") or m.name.startswith("/"): die("name " + m.name)
        names.append((i, m.name.rstrip("/")))
for w in wanted:
    layer, name = w.split(":", 1)
    if (int(layer), name) not in names: die("no %s in layer %s: %s" % (name, layer, [n for n in names if n[0] == int(layer)]))
    if name.endswith(".wh..wh..opq"):
        k = names.index((int(layer), name))
        if names[k - 1] != (int(layer), name.rsplit("/", 1)[0]): die("the opaque marker comes right after its directory")
print(json.dumps(cfg["config"], sort_keys=True))
EOF
}

jail fs export --oci bb out/bb.tar
assert_rc 0 "--oci of a flat rootfs"
assert_contains "$err" "as the OCI image ajail/bb:latest (1 layer)" "the summary names the image"
check_oci out/bb.tar ajail/bb:latest 1 >/dev/null || fail "the flat image"
jail fs export --oci l2 out/l2.tar
assert_rc 0 "--oci of a 3-rootfs stack"
config=$(check_oci out/l2.tar ajail/l2:latest 3 "1:bin/.wh.vi" "1:usr/bin/.wh..wh..opq" "1:usr/bin/only" "2:etc/.wh.os-release" \
	"2:root/marker2") || fail "the layered image"
assert_eq "$config" '{"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"], "Labels": {"org.opencontainers.image.title": "l2"}, "WorkingDir": "/root"}' \
	"the defaults, without metadata"
jail fs export --oci --tag=v1 l2 out/l2v1.tar
assert_rc 0 "--tag"
check_oci out/l2v1.tar ajail/l2:v1 3 >/dev/null || fail "--tag=v1"
jail fs export --oci --tag=registry.example/team/agent:2 l2 out/l2full.tar
check_oci out/l2full.tar registry.example/team/agent:2 3 >/dev/null || fail "--tag with a whole image name"
# The same rootfs, the same bytes: layer digests registries can share.
jail fs export --oci l2 out/l2again.tar
cmp -s out/l2.tar out/l2again.tar || fail "exporting twice gives the same archive"
ok "--oci: digests, media types, whiteouts and opaque markers, deterministic"

# skopeo and umoci read it; umoci's merge is the jail's.
jail fs export --oci l1 out/l1.tar
for img in bb l1 l2; do
	n=$(skopeo inspect "oci-archive:out/$img.tar" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))') ||
		fail "skopeo inspect oci-archive:out/$img.tar"
	assert_eq "$n" "$(case $img in bb) echo 1 ;; l1) echo 2 ;; l2) echo 3 ;; esac)" "skopeo counts the layers of $img"
done
mkdir layout
tar -xf out/l2.tar -C layout || fail "untar the archive"
umoci unpack --rootless --image "layout:ajail/l2:latest" bundle >umoci.log 2>&1 || fail "umoci unpack: $(cat umoci.log)"
R=bundle/rootfs
assert_missing "$R/bin/vi" "umoci: the whiteout of l1 deletes"
assert_missing "$R/etc/os-release" "umoci: the whiteout of l2 deletes"
assert_eq "$(cat "$R/root/marker1") $(cat "$R/root/marker2")" "l1 l2" "umoci: the markers"
assert_eq "$(ls "$R/usr/bin" | tr '\n' ' ')" "only sub " "umoci: the opaque directory"
assert_eq "$(cd "$R" && find bin etc root usr | sort)" "$jailview" "umoci's tree is the jail's"
ok "skopeo inspect and umoci unpack take the archive"

# Two empty layers: the blob is in the archive once, listed twice.
mkdir "$FS/e1" "$FS/e2"
printf 'base=bb\nenv=A=1\n' >"$FS/.meta/e1"
printf 'base=e1\n' >"$FS/.meta/e2"
jail fs export --oci e2 out/e2.tar
assert_rc 0 "--oci with two empty layers"
check_oci out/e2.tar ajail/e2:latest 3 >/dev/null || fail "two empty layers"
assert_eq "$(tar -tf out/e2.tar | sort | uniq -d)" "" "no blob twice in the archive"
skopeo inspect oci-archive:out/e2.tar >/dev/null || fail "skopeo takes the repeated layer"

# ---- what goes wrong: one line, the right status, nothing left ----
rm -rf out && mkdir out out/adir.tar
bad() { # RC WHAT ARGS...
	local want=$1 what=$2
	shift 2
	jail fs export "$@"
	assert_rc "$want" "$what"
	assert_eq "$(grep -c . <<<"$err")" 1 "$what: one line ($err)"
	assert_contains "$err" "ajail: " "$what"
	assert_eq "$(ls -A out)" "adir.tar" "$what: nothing left"
	assert_eq "$(ls -A out/adir.tar)" "" "$what: nothing left in the directory"
}
bad 2 "an unknown rootfs" --oci nope out/x.tar
bad 1 "--oci to an existing directory" --oci l2 out/adir.tar
bad 1 "--oci into a missing directory" --oci l2 out/missing/x.tar
bad 2 "--oci to a compressed name" --oci l2 out/x.tar.gz
bad 2 "--oci to a .tar.zst" --oci l2 out/x.tar.zst
bad 2 "--oci to standard output" --oci l2 -
bad 2 "a bad --tag" --oci --tag='a b' l2 out/x.tar
bad 2 "--oci and --k8s-job" --oci --k8s-job l2 out/x.tar
bad 2 "--k8s-job with a FILE" --k8s-job l2 out/x.tar
bad 2 "--tag without --oci" --tag=v1 l2 out/x.tar
bad 1 "a merged export into a missing directory" l2 out/missing/x.tar
bad 1 "a merged export to a directory" l2 out/adir.tar
assert_contains "$err" "Is a directory"
# A name OCI reserves for whiteouts, in the second layer: refused while the file is half written.
echo x >"$FS/l1/root/.wh.trap"
bad 1 "a .wh. name in a layer" --oci l2 out/x.tar
assert_contains "$err" ".wh.trap" "names the entry"
rm "$FS/l1/root/.wh.trap"
ok "bad input: one line, exit status, nothing left"

# ---- --k8s-job ----
jail fs export --k8s-job l2
assert_rc 0 "--k8s-job"
printf '%s\n' "$out" >job.yaml
python3 - job.yaml ajail/l2:latest <<'EOF' || fail "the Job manifest"
import sys, yaml
def die(msg):
    print("FAIL: " + msg, file=sys.stderr); sys.exit(1)
job = yaml.safe_load(open(sys.argv[1]))
if job["apiVersion"] != "batch/v1" or job["kind"] != "Job": die("a batch/v1 Job")
spec = job["spec"]
if spec["backoffLimit"] != 0: die("backoffLimit 0")
pod = spec["template"]["spec"]
if pod["restartPolicy"] != "Never": die("restartPolicy")
if pod["securityContext"]["seccompProfile"]["type"] != "RuntimeDefault": die("seccomp")
if pod.get("automountServiceAccountToken") is not False: die("no service account token")
(c,) = pod["containers"]
if c["image"] != sys.argv[2]: die("image " + c["image"])
sc = c["securityContext"]
if sc["allowPrivilegeEscalation"] is not False or sc["capabilities"]["drop"] != ["ALL"]: die("container securityContext")
if c["workingDir"] != "/root": die("workingDir")
if c["envFrom"] != [{"secretRef": {"name": "ajail-agent"}}]: die("secrets by name")
env = {e["name"]: e for e in c["env"]}
for k in ("REPO_URL", "BRANCH", "AGENT_CMD", "JOB_NAME", "PATH", "HOME"):
    if k not in env: die("env " + k)
if env["JOB_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] != "metadata.labels['job-name']": die("JOB_NAME")
if env["AGENT_CMD"]["value"] != "'/bin/sh'": die("AGENT_CMD " + env["AGENT_CMD"]["value"])
script = c["command"][-1]
if c["command"][:2] != ["/bin/sh", "-c"]: die("command")
for s in ('git clone', '"$REPO_URL"', 'git push origin "HEAD:refs/heads/ajail/$JOB_NAME"', 'sh -c "$AGENT_CMD"'):
    if s not in script: die("the script lacks " + s)
if "$(" in script or "$$" in script: die("the script has what Kubernetes would expand")
lim = c["resources"]["limits"]
if not lim.get("cpu") or not lim.get("memory"): die("limits")
if "value" in str(c.get("envFrom")): die("a secret's value inline")
EOF
jail fs export --k8s-job --image=registry.example/ajail/agents:latest l2
assert_rc 0 "--k8s-job --image"
assert_contains "$out" 'image: "registry.example/ajail/agents:latest"'

# An image that says anything at all: every value comes back as it was, nothing is added.
mkdir "$FS/evil"
python3 - "$FS/.meta/evil" <<'EOF'
import sys
def esc(s):
    return "".join("\\\\" if c == "\\" else "\\n" if c == "\n" else "\\x%02x" % ord(c) if ord(c) < 0x20 or c == "\x7f" else c for c in s)
vals = [("base", "bb"),
        ("env", 'X=a"b\n    c: d\n- e'), ("env", "Y=$(HOME) $$ ${Z}"), ("env", "Q='\\'\t\x1b[2J"),
        ("env", "U=caf\u00e9 \u2028 \U0001F600"),
        ("workdir", '/w"\n  extra: key'),
        ("entrypoint", "/bin/echo"), ("cmd", "it's"), ("cmd", '"q"\nz: 1 $(x)'),
        ("user", "1000:1001")]
open(sys.argv[1], "w", encoding="utf-8").write("".join("%s=%s\n" % (k, esc(v)) for k, v in vals))
EOF
jail fs export --k8s-job evil
assert_rc 0 "--k8s-job of a hostile image"
printf '%s\n' "$out" >evil.yaml
python3 - evil.yaml <<'EOF' || fail "the hostile image's Job"
import sys, yaml
def die(msg):
    print("FAIL: " + msg, file=sys.stderr); sys.exit(1)
job = yaml.safe_load(open(sys.argv[1]))
pod = job["spec"]["template"]["spec"]
(c,) = pod["containers"]
if sorted(c) != ["command", "env", "envFrom", "image", "imagePullPolicy", "name", "resources", "securityContext",
                 "volumeMounts", "workingDir"]: die("container keys " + str(sorted(c)))
if c["workingDir"] != '/w"\n  extra: key': die("workingDir %r" % c["workingDir"])
env = {e["name"]: e.get("value") for e in c["env"]}
want = {"X": 'a"b\n    c: d\n- e', "Y": "$$(HOME) $$$$ $${Z}", "Q": "'\\'\t\x1b[2J", "U": "caf\u00e9 \u2028 \U0001F600"}
for k, v in want.items():
    if env.get(k) != v: die("env %s: %r, not %r" % (k, env.get(k), v))
if env["AGENT_CMD"] != "'/bin/echo' 'it'\\''s' '\"q\"\nz: 1 $$(x)'": die("AGENT_CMD %r" % env["AGENT_CMD"])
sc = pod["securityContext"]
if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") != 1000 or sc.get("runAsGroup") != 1001: die("non-root %r" % sc)
if len(c["env"]) != 4 + 4: die("env count %d" % len(c["env"]))
EOF
# The same values in the image's config, as JSON.
jail fs export --oci evil out/evil.tar
assert_rc 0 "--oci of the hostile image"
config=$(check_oci out/evil.tar ajail/evil:latest 2) || fail "the hostile image"
python3 - "$config" <<'EOF' || fail "the hostile image's config"
import json, sys
c = json.loads(sys.argv[1])
want = {"Env": ['X=a"b\n    c: d\n- e', "Y=$(HOME) $$ ${Z}", "Q='\\'\t\x1b[2J", "U=caf\u00e9 \u2028 \U0001F600"],
        "WorkingDir": '/w"\n  extra: key', "Entrypoint": ["/bin/echo"], "Cmd": ["it's", '"q"\nz: 1 $(x)'],
        "User": "1000:1001"}
for k, v in want.items():
    if c.get(k) != v:
        print("FAIL: %s: %r, not %r" % (k, c.get(k), v), file=sys.stderr)
        sys.exit(1)
EOF
ok "--k8s-job: a valid Job, values escaped, secrets by name"

# ---- a jail's sparse file: an OCI layer has no holes, so the export stops before it fills the disk ----
jail --fs=bb --commit=sparse -q sh -c 'dd if=/dev/zero of=/root/big bs=1 count=1 seek=3G 2>/dev/null'
assert_rc 0
jail fs export --oci sparse "$T/sparse.tar"
assert_rc 1 "--oci of a layer with a 3 GiB sparse file"
assert_contains "$err" "root/big' is a sparse file" "it names the file"
assert_missing "$T/sparse.tar"
assert_eq "$(ls "$T" | grep -c 'sparse.tar')" 0 "no FILE.part left"
jail fs export sparse "$T/sparse-plain.tar"
assert_rc 0 "a plain tarball keeps the holes"
[ "$(du -k "$T/sparse-plain.tar" | cut -f1)" -lt 10240 ] || fail "the plain export is small"
ok "--oci refuses a layer of mostly holes"

# ---- podman load and run (root only on these machines) ----
if [ "$(id -u)" != 0 ]; then
	echo "podman: not run as $(id -un): podman runs here as root only (rootless podman needs subuids and a" \
		"cgroup setup this machine lacks)"
	exit 0
fi
command -v podman >/dev/null || fail "podman is not installed; run 'make deps'"
P=(podman --root "$T/podman/root" --runroot "$T/podman/run" --tmpdir "$T/podman/tmp" --storage-driver vfs
	--events-backend none)
trap '"${P[@]}" rmi -a -f >/dev/null 2>&1; cleanup_test' EXIT
jail fs export --oci l2 "$T/l2.tar"
assert_rc 0
loaded=$("${P[@]}" load -i "$T/l2.tar" 2>&1) || fail "podman load: $loaded"
assert_contains "$loaded" "Loaded image: localhost/ajail/l2:latest" "podman names the image from its ref.name"
run=(run --rm --runtime runc --cgroup-manager=cgroupfs --network=none --ulimit nofile=1024:1024
	--ulimit nproc=1024:1024)
got=$(timeout 120 "${P[@]}" "${run[@]}" localhost/ajail/l2:latest cat /root/marker2 2>&1) || fail "podman run: $got"
assert_eq "$got" "l2" "podman run prints the marker"
got=$(timeout 120 "${P[@]}" "${run[@]}" localhost/ajail/l2:latest sh -c 'ls /bin/vi /etc/os-release 2>&1; pwd' 2>&1)
assert_contains "$got" "/bin/vi: No such file" "podman applies l1's whiteout"
assert_contains "$got" "/etc/os-release: No such file" "podman applies l2's whiteout"
assert_contains "$got" "/root" "WorkingDir"
ok "podman load and podman run"
