#!/bin/bash
# ajail fs import of container images: OCI image layouts (directories and tars of them) and docker
# save archives, found by content; layers applied in order with whiteouts and opaque directories;
# the image's config kept in the metadata; hostile images refused in one line, leaving nothing.
# The fixtures are made here with Python (for both users); the podman part runs as root only
# (podman on these machines does).
. "$(dirname "$0")/libtest.sh"
cd "$T"
"$MKROOTFS/busybox" "$T/bb.tar" || fail "mkrootfs/busybox tarball"
command -v python3 >/dev/null || fail "python3 is needed (make deps)"
command -v zstd >/dev/null || fail "zstd is needed (make deps)"

# ---- the fixtures ------------------------------------------------------------------------------
# good: 3 layers over the busybox rootfs: a plain tar; a gzip one that deletes data/gone.txt and the
# tree data/gonedir, replaces data/keep.txt, whites out and re-adds data/ro.txt, hard-links a file of
# layer 1 and puts a file where layer 1 had the non-empty directory srv/dir; a zstd one that makes
# opq/ opaque while adding opq/new to it and deletes layer 2's l2.txt. The same image as a tar
# (podman's member order), as a docker-archive (docker's <id>/layer.tar and podman's <hex>.tar) and
# its tar; indexes of several platforms (flat and nested); and the hostile ones.
cat > "$T/mkoci.py" <<'PY'
import gzip, hashlib, io, json, os, platform, shutil, subprocess, sys, tarfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_TAR = "application/vnd.oci.image.layer.v1.tar"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
bb_tar, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)

def ti(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link=""):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.mtime, t.linkname = kind, mode, 1700000000, link
    t.size = len(data) if kind == tarfile.REGTYPE else 0
    return (t, data if kind == tarfile.REGTYPE else None)

def f(name, data=b"", mode=0o644): return ti(name, data=data if isinstance(data, bytes) else data.encode(), mode=mode)
def d(name, mode=0o755): return ti(name, tarfile.DIRTYPE, mode=mode)
def hl(name, target): return ti(name, tarfile.LNKTYPE, link=target)
def sl(name, target): return ti(name, tarfile.SYMTYPE, link=target)

def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()

def zstd(data): return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
def sha(data): return hashlib.sha256(data).hexdigest()

def put_blob(layout, data):
    h = sha(data)
    os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
    with open(f"{layout}/blobs/sha256/{h}", "wb") as fh:
        fh.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}

def jbytes(o): return json.dumps(o, indent=1).encode()

# The three layers of the good image: the busybox rootfs and some files; a gzip layer that deletes
# and replaces; a zstd layer that makes a directory opaque while adding to it.
def base_layer():
    entries = []
    with tarfile.open(bb_tar) as t:
        for m in t.getmembers():
            entries.append((m, t.extractfile(m).read() if m.isreg() else None))
    entries += [d("data"), f("data/keep.txt", "keep 1\n"), f("data/gone.txt", "gone\n"),
                d("data/gonedir"), d("data/gonedir/sub"), f("data/gonedir/sub/x", "x\n"),
                d("opq"), f("opq/old1", "old\n"), d("opq/sub"), f("opq/sub/old2", "old\n"),
                d("srv"), d("srv/dir"), d("srv/dir/deep"), f("srv/dir/deep/file", "deep\n"),
                d("lnk"), f("lnk/target.txt", "shared\n"), f("data/ro.txt", "ro\n", 0o444)]
    return tar_bytes(entries)

LAYERS_UNCOMPRESSED = [
    base_layer(),
    tar_bytes([d("data"), f("data/.wh.gone.txt"), f("data/.wh.gonedir"), f("data/keep.txt", "keep 2\n"),
               hl("lnk/hard", "lnk/target.txt"), f("srv/dir", "now a file\n"), f("l2.txt", "layer 2\n"),
               # a whiteout and a re-add of the same name in one layer: the new one stays
               f("data/.wh.ro.txt"), f("data/ro.txt", "new ro\n")]),
    tar_bytes([d("opq"), f("opq/.wh..wh..opq"), f("opq/new", "new\n"), f(".wh.l2.txt"),
               f("l3.txt", "layer 3\n")]),
]
CONFIG = {"architecture": ARCH, "os": "linux",
          "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello world"],
                     "WorkingDir": "/srv", "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo from-cmd"],
                     "User": "root"},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(l) for l in LAYERS_UNCOMPRESSED]}}

def layout(path, layers=None, config=None, manifest_edit=None, index_edit=None, layer_types=None):
    """An OCI layout at path; layers: list of (media type, blob bytes)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    if layers is None:
        u = LAYERS_UNCOMPRESSED
        layers = [(MT_TAR, u[0]), (MT_TAR + "+gzip", gzip.compress(u[1], mtime=0)), (MT_TAR + "+zstd", zstd(u[2]))]
    with open(f"{path}/oci-layout", "w") as fh:
        fh.write('{"imageLayoutVersion": "1.0.0"}')
    descs = [dict(mediaType=mt, **put_blob(path, data)) for mt, data in layers]
    cfg = dict(mediaType=MT_CONFIG, **put_blob(path, jbytes(config or CONFIG)))
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cfg, "layers": descs}
    if manifest_edit:
        manifest_edit(manifest)
    mdesc = dict(mediaType=MT_MANIFEST, **put_blob(path, jbytes(manifest)))
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": "ajail-test:1"}
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [mdesc]}
    if index_edit:
        index_edit(path, index)
    with open(f"{path}/index.json", "wb") as fh:
        fh.write(jbytes(index))
    return descs

def tar_of(src, dst, order=None):
    """A tar of the directory src as podman writes one: blobs first, then index.json, oci-layout."""
    with tarfile.open(dst, "w") as t:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for n in sorted(files):
                p = os.path.join(root, n)
                t.add(p, arcname=os.path.relpath(p, src), recursive=False)

# --- good images ---
layout(f"{out}/good")
tar_of(f"{out}/good", f"{out}/good.tar")

# docker save's older form: <id>/layer.tar (checked against the config's diff_ids), <hex>.json, and
# podman's <hex>.tar beside it.
def docker(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    paths = []
    for i, l in enumerate(LAYERS_UNCOMPRESSED):
        if i < 2:
            lid = sha(b"legacy-id-%d" % i)
            os.makedirs(f"{path}/{lid}")
            with open(f"{path}/{lid}/layer.tar", "wb") as fh:
                fh.write(l)
            with open(f"{path}/{lid}/VERSION", "w") as fh:
                fh.write("1.0")
            paths.append(f"{lid}/layer.tar")
        else:
            with open(f"{path}/{sha(l)}.tar", "wb") as fh:
                fh.write(l)
            paths.append(f"{sha(l)}.tar")
    c = jbytes(CONFIG)
    with open(f"{path}/{sha(c)}.json", "wb") as fh:
        fh.write(c)
    with open(f"{path}/manifest.json", "wb") as fh:
        fh.write(jbytes([{"Config": f"{sha(c)}.json", "RepoTags": ["ajail-test:docker"], "Layers": paths}]))
    with open(f"{path}/repositories", "w") as fh:
        fh.write('{"ajail-test":{"docker":"%s"}}' % sha(c))

docker(f"{out}/docker")
tar_of(f"{out}/docker", f"{out}/docker.tar")

# An index of several platforms (this machine's among them: only its blobs are there), nested in
# another index as podman's manifest lists are.
def multi(path, nested, mine=True):
    def edit(p, index):
        m = index["manifests"][0]
        del m["annotations"]
        others = [dict(mediaType=MT_MANIFEST, digest="sha256:" + sha(a.encode()), size=500,
                       platform={"os": "linux", "architecture": a}) for a in ("arm64", "s390x") if a != ARCH]
        me = dict(m, platform={"os": "linux", "architecture": ARCH})
        ms = ([me] if mine else []) + others
        if not mine:
            ms.append(dict(mediaType=MT_MANIFEST, digest="sha256:" + sha(b"ppc"), size=1,
                           platform={"os": "linux", "architecture": "ppc64le"}))
        inner = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": ms}
        if nested:
            index["manifests"] = [dict(mediaType=MT_INDEX, **put_blob(p, jbytes(inner)))]
        else:
            index["manifests"] = ms
    layout(path, index_edit=edit)

multi(f"{out}/multi", False)
multi(f"{out}/nested", True)
multi(f"{out}/foreign-arch", False, mine=False)

# A rootfs tarball that happens to hold a manifest.json (valid docker-archive JSON) at the top.
with tarfile.open(bb_tar) as t, tarfile.open(f"{out}/rootfs-with-manifest.tar", "w") as o:
    mf = jbytes([{"Config": "x.json", "Layers": ["a/layer.tar"]}])
    info, data = f("manifest.json", mf)
    o.addfile(info, io.BytesIO(data))
    for m in t.getmembers():
        o.addfile(m, t.extractfile(m) if m.isreg() else None)

# --- hostile images: each must be refused in one line, leaving nothing ---
def hostile(name, **kw):
    layout(f"{out}/evil-{name}", **kw)
    return f"{out}/evil-{name}"

def set_digest(value):
    def edit(p, index):
        index["manifests"][0]["digest"] = value
    return edit

hostile("dotdot-digest", index_edit=set_digest("sha256:../../../../etc/passwd"))
hostile("upper-digest", index_edit=set_digest("sha256:" + "A" * 64))
hostile("sha512-digest", index_edit=set_digest("sha512:" + "a" * 128))
# A blob that is a symlink (to the very same bytes, elsewhere).
p = hostile("symlink-blob")
descs = json.load(open(p + "/index.json"))
mh = descs["manifests"][0]["digest"].split(":")[1]
man = json.load(open(f"{p}/blobs/sha256/{mh}"))
lh = man["layers"][1]["digest"].split(":")[1]
shutil.move(f"{p}/blobs/sha256/{lh}", f"{out}/elsewhere-{lh}")
os.symlink(f"{out}/elsewhere-{lh}", f"{p}/blobs/sha256/{lh}")
# A layer entry that climbs out, a whiteout that climbs out, an absolute whiteout target.
u = LAYERS_UNCOMPRESSED
hostile("dotdot-entry", layers=[(MT_TAR, u[0]), (MT_TAR, tar_bytes([f("../x", "escaped\n")]))])
hostile("dotdot-whiteout", layers=[(MT_TAR, u[0]), (MT_TAR, tar_bytes([f("../../.wh.x")]))])
hostile("dotdot-whiteout-name", layers=[(MT_TAR, u[0]), (MT_TAR, tar_bytes([f("data/.wh...")]))])
hostile("whiteout-in-path", layers=[(MT_TAR, u[0]), (MT_TAR, tar_bytes([f("data/.wh.x/y")]))])
# A layer whose bytes are not what its digest says (same size).
p = hostile("mismatch")
man = json.load(open(f"{p}/blobs/sha256/{json.load(open(p + '/index.json'))['manifests'][0]['digest'][7:]}"))
lh = man["layers"][0]["digest"][7:]
b = bytearray(open(f"{p}/blobs/sha256/{lh}", "rb").read())
i = b.find(b"keep 1")
b[i:i + 6] = b"KEEP 1"
open(f"{p}/blobs/sha256/{lh}", "wb").write(b)
# A 5 MiB index.json.
p = hostile("huge-index")
with open(p + "/index.json", "ab") as fh:
    fh.write(b" " * (5 << 20))
# A missing layer blob.
p = hostile("missing-blob")
os.unlink(f"{p}/blobs/sha256/{json.load(open(f'{p}/blobs/sha256/' + json.load(open(p + '/index.json'))['manifests'][0]['digest'][7:]))['layers'][2]['digest'][7:]}")
# No layers; a foreign layer; an encrypted one.
hostile("no-layers", layers=[])
hostile("foreign-layer", layers=[(MT_TAR, u[0]), ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", b"x")])
hostile("encrypted-layer", layers=[(MT_TAR + "+gzip+encrypted", b"x")])
# A layer that is neither tar, gzip nor zstd (xz).
hostile("xz-layer", layers=[(MT_TAR, subprocess.run(["xz", "-c"], input=u[2], stdout=subprocess.PIPE).stdout)])
# A tar of an image whose layer climbs out (the tar form takes the same path).
tar_of(f"{out}/evil-dotdot-entry", f"{out}/evil-dotdot-entry.tar")
tar_of(f"{out}/evil-mismatch", f"{out}/evil-mismatch.tar")
hostile("dotdot-whiteout-canary", layers=[(MT_TAR, u[0]), (MT_TAR, tar_bytes([f("../.wh.canary")]))])
p = hostile("fifo-blob")
man = json.load(open(f"{p}/blobs/sha256/{json.load(open(p + '/index.json'))['manifests'][0]['digest'][7:]}"))
lh = man["layers"][1]["digest"][7:]
os.unlink(f"{p}/blobs/sha256/{lh}")
os.mkfifo(f"{p}/blobs/sha256/{lh}")
print("ok")
PY
python3 "$T/mkoci.py" "$T/bb.tar" "$T/img" >/dev/null || fail "could not make the image fixtures"

tree() { (cd "$1" && find . -printf '%P %y %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
# Nothing of a failed import is left: no rootfs, nothing in fs/.tmp (the scratch copy included).
nothing_left() { # WHAT NAME
	assert_missing "$AJAIL_HOME/fs/$2" "$1: no rootfs left"
	[ -z "$(ls -A "$AJAIL_HOME/fs/.tmp")" ] || fail "$1: left in fs/.tmp: $(ls -A "$AJAIL_HOME/fs/.tmp")"
}

# The good image, however it came: what a jail sees, and what the store holds.
check_good() { # NAME
	local n=$1 r="$AJAIL_HOME/fs/$1"
	jail --fs="$n" -q sh -c 'cat /data/keep.txt /data/ro.txt /srv/dir; ls /data; ls /opq; ls /l2.txt /l3.txt 2>&1; cat /etc/os-release'
	assert_rc 0 "$n: a jail runs on it"
	assert_contains "$out" $'keep 2\nnew ro\nnow a file\nkeep.txt\nro.txt\nnew\n' "$n: layer 2 replaced and deleted, layer 3 made opq/ opaque"
	assert_contains "$out" "/l2.txt: No such file" "$n: layer 3 deleted layer 2's file"
	assert_contains "$out" "/l3.txt" "$n: layer 3's file"
	assert_contains "$out" "busybox" "$n: layer 1's files"
	assert_missing "$r/data/gone.txt" "$n: .wh.gone.txt"
	assert_missing "$r/data/gonedir" "$n: .wh.gonedir removes a tree"
	assert_missing "$r/opq/old1" "$n: opaque: old1"
	assert_missing "$r/opq/sub" "$n: opaque: sub/"
	[ -z "$(find "$r" -name '.wh.*')" ] || fail "$n: whiteout files in the rootfs: $(find "$r" -name '.wh.*')"
	[ "$(stat -c %i "$r/lnk/hard")" = "$(stat -c %i "$r/lnk/target.txt")" ] || fail "$n: the hard link to layer 1's file"
	[ "$(stat -c %h "$r/lnk/hard")" = 2 ] || fail "$n: two links"
	[ -f "$r/srv/dir" ] || fail "$n: a file replaces layer 1's non-empty directory"
}

# The config, in fs list --json (and the metadata file beside the rootfs).
check_config() { # NAME SOURCE-PREFIX
	grep -qx 'env=GREETING=hello world' "$AJAIL_HOME/fs/.meta/$1" || fail "$1: env= in the metadata: $(cat "$AJAIL_HOME/fs/.meta/$1")"
	jail fs list --json
	assert_rc 0 "fs list --json"
	local got
	got=$(printf '%s' "$out" | python3 -c '
import json, sys
e = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]][0]
print(e.get("env"), e.get("workdir"), e.get("entrypoint"), e.get("cmd"), e.get("user"), e["source"].split(":")[0])' "$1")
	assert_eq "$got" "['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello world'] /srv ['/bin/sh', '-c'] ['echo from-cmd'] root $2" "$1: the image's config in fs list --json"
	# A jail on it has the image's Env, as a container of it would; HOME stays the jail's.
	jail --fs="$1" -q sh -c 'echo "$GREETING|$HOME"'
	assert_eq "$out" "hello world|/root" "$1: the image's Env in the jail"
}

for form in "img-dir img/good oci" "img-tar img/good.tar oci-archive" "dk-dir img/docker docker-archive" \
	"dk-tar img/docker.tar docker-archive"; do
	set -- $form
	jail fs import "$1" "$2"
	assert_rc 0 "import $2"
	assert_eq "$(grep -c . <<<"$err")" 1 "$2: one summary line"
	assert_contains "$err" "imported '$1' from " "$2: summary"
	assert_contains "$err" "3 layers, 5 whiteouts" "$2: layers and whiteouts counted"
	check_good "$1"
	check_config "$1" "$3"
	nothing_left "after importing $2" no-such
done
# Standard input is read once: unpacked, then found to be an image, then imported as one.
for form in "img-stdin img/good.tar oci-archive" "dk-stdin img/docker.tar docker-archive"; do
	set -- $form
	"$AJAIL" fs import "$1" - <"$2" >"$T/.out" 2>"$T/.err"
	rc=$? out=$(cat "$T/.out") err=$(cat "$T/.err")
	assert_rc 0 "import $2 from standard input"
	assert_contains "$err" "3 layers, 5 whiteouts" "$2 from standard input: summary"
	check_good "$1"
	check_config "$1" "$3"
	assert_eq "$(tree "$AJAIL_HOME/fs/$1")" "$(tree "$AJAIL_HOME/fs/img-dir")" "$2 from standard input: the same tree"
	nothing_left "after importing $2 from standard input" no-such
done
"$AJAIL" fs import evil - <img/evil-mismatch.tar >"$T/.out" 2>"$T/.err"
rc=$? out=$(cat "$T/.out") err=$(cat "$T/.err")
assert_rc 1 "a corrupt image on standard input"
assert_contains "$err" "import 'evil' from standard input: layer 1 of 3 (sha256:"
assert_contains "$err" "digest mismatch"
assert_eq "$(grep -c . <<<"$err")" 1 "a corrupt image on standard input: one line"
nothing_left "a corrupt image on standard input" evil
assert_contains "$(cat "$AJAIL_HOME/fs/.meta/img-tar")" "source=oci-archive:$T/img/good.tar (ajail-test:1, sha256:" "the source names the archive, tag and digest"
assert_eq "$(tree "$AJAIL_HOME/fs/img-tar")" "$(tree "$AJAIL_HOME/fs/img-dir")" "the layout and its tar give the same tree"
assert_eq "$(tree "$AJAIL_HOME/fs/dk-dir")" "$(tree "$AJAIL_HOME/fs/img-dir")" "the docker-archive gives the same tree"
assert_eq "$(tree "$AJAIL_HOME/fs/dk-tar")" "$(tree "$AJAIL_HOME/fs/img-dir")" "the docker-archive's tar gives the same tree"
ok "OCI layout, oci-archive, docker-archive (dir and tar): layers, whiteouts, opaque directories, hard links, config"

# An index of several platforms picks this machine's (the others' blobs are not even there), also
# through a nested index; one without this machine's is refused, naming what it has.
for n in multi nested; do
	jail fs import "$n" "img/$n"
	assert_rc 0 "import $n"
	check_good "$n"
done
jail fs import foreign img/foreign-arch
assert_rc 1 "an index without this machine's platform"
assert_contains "$err" "no image for this machine"
assert_contains "$err" "linux/ppc64le"
nothing_left "foreign-arch" foreign
ok "image indexes: this machine's platform, flat and nested; none refused"

# Not images: a rootfs tarball that happens to hold a valid docker manifest.json at its top, and
# a rootfs directory with one, import as root trees.
jail fs import rootfs-mf img/rootfs-with-manifest.tar
assert_rc 0 "a rootfs tarball with a manifest.json"
assert_not_contains "$err" "layer" "imported as a rootfs"
assert_exists "$AJAIL_HOME/fs/rootfs-mf/manifest.json"
jail --fs=rootfs-mf -q cat /etc/os-release
assert_contains "$out" busybox
mkdir "$T/rootdir"
cp -a "$ROOTFS/." "$T/rootdir/"
cp "$T/img/docker/manifest.json" "$T/rootdir/"
jail fs import rootdir-mf "$T/rootdir"
assert_rc 0 "a rootfs directory with a manifest.json"
assert_exists "$AJAIL_HOME/fs/rootdir-mf/manifest.json"
assert_exists "$AJAIL_HOME/fs/rootdir-mf/etc/os-release"
ok "rootfses holding a manifest.json stay rootfses"

# Hostile images: each refused in one line that says what is wrong, nothing left behind, nothing
# written outside the rootfs.
touch "$AJAIL_HOME/fs/.tmp/canary"
for c in "dotdot-digest|is not a digest" "upper-digest|is not a digest" "sha512-digest|not sha256" \
	"symlink-blob|symbolic link" "fifo-blob|not a regular file" "dotdot-entry|leaves the rootfs" \
	"dotdot-whiteout|leaves the rootfs" "dotdot-whiteout-canary|leaves the rootfs" \
	"dotdot-whiteout-name|names no file" "whiteout-in-path|beneath a whiteout" \
	"mismatch|layer 1 of 3 (sha256:" "mismatch|digest mismatch: the image is corrupt; fetch it again" \
	"huge-index|larger than 4 MiB" "missing-blob|is missing from the image" "no-layers|no layers" \
	"foreign-layer|foreign layer" "encrypted-layer|encrypted" "xz-layer|neither a tar" \
	"dotdot-entry.tar|leaves the rootfs" "mismatch.tar|digest mismatch"; do
	src=img/evil-${c%%|*} want=${c#*|}
	timeout -k 5 60 "$AJAIL" fs import evil "$src" >"$T/.out" 2>"$T/.err" </dev/null
	rc=$? out=$(cat "$T/.out") err=$(cat "$T/.err")
	assert_rc 1 "$src"
	assert_contains "$err" "$want" "$src"
	assert_contains "$err" "import 'evil' from '$src': " "$src: says which import"
	assert_eq "$(grep -c . <<<"$err")" 1 "$src: one line"
	assert_exists "$AJAIL_HOME/fs/.tmp/canary" "$src: a whiteout outside the rootfs removed nothing"
	rm "$AJAIL_HOME/fs/.tmp/canary"
	nothing_left "$src" evil
	touch "$AJAIL_HOME/fs/.tmp/canary"
	assert_missing "$AJAIL_HOME/fs/.tmp/x" "$src: nothing written beside the rootfs"
	assert_missing "$AJAIL_HOME/fs/x" "$src: nothing written in the store"
done
rm "$AJAIL_HOME/fs/.tmp/canary"
ok "hostile images refused in one line, nothing left"

# ---- podman: images made by a real engine -------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	ok "podman part not run: podman on these machines runs as root only"
	exit 0
fi
command -v podman >/dev/null || fail "podman is not installed (make deps)"
# A private store, so nothing is left in root's own: removed with $T by the trap.
P=(podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver vfs --runtime runc
	--cgroup-manager=cgroupfs --events-backend=none)
trap '"${P[@]}" rmi -af >/dev/null 2>&1; cleanup_test' EXIT
"${P[@]}" import -q "$T/bb.tar" localhost/ajail-oci-base:1 >/dev/null || fail "podman import"
mkdir "$T/ctx"
cat > "$T/ctx/Containerfile" <<'CF'
FROM localhost/ajail-oci-base:1
RUN rm /bin/vi && echo marker-from-podman > /marker
ENV FOO=bar
WORKDIR /srv
CMD ["cat", "/marker"]
CF
"${P[@]}" build -q --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network=none -t localhost/ajail-oci-test:1 \
	"$T/ctx" >"$T/.build" 2>&1 || fail "podman build: $(tail -5 "$T/.build")"
"${P[@]}" save -q --format oci-archive -o "$T/pm-oci.tar" localhost/ajail-oci-test:1 || fail "podman save oci-archive"
"${P[@]}" save -q --format docker-archive -o "$T/pm-docker.tar" localhost/ajail-oci-test:1 || fail "podman save docker-archive"
forms="pm-oci pm-docker"
if command -v skopeo >/dev/null; then
	skopeo copy -q "oci-archive:$T/pm-oci.tar" "oci:$T/pm-layout:t1" || fail "skopeo copy to an OCI layout"
	forms="$forms pm-layout"
fi
for n in $forms; do
	src=$T/$n.tar
	[ -d "$T/$n" ] && src=$T/$n
	jail fs import "$n" "$src"
	assert_rc 0 "import podman's $n"
	assert_contains "$err" "2 layers, 1 whiteout" "$n: summary"
	jail --fs="$n" -q sh -c 'cat /marker; test -e /bin/vi && echo vi-present || echo vi-gone; cat /etc/os-release'
	assert_rc 0 "$n: a jail runs on it"
	assert_contains "$out" "marker-from-podman" "$n: the upper layer's file"
	assert_contains "$out" "vi-gone" "$n: the file the upper layer deleted"
	assert_contains "$out" "busybox" "$n: the base layer"
	grep -qx 'env=FOO=bar' "$AJAIL_HOME/fs/.meta/$n" || fail "$n: env in the metadata"
	grep -qx 'workdir=/srv' "$AJAIL_HOME/fs/.meta/$n" || fail "$n: workdir in the metadata"
	grep -qx 'cmd=/marker' "$AJAIL_HOME/fs/.meta/$n" || fail "$n: cmd in the metadata"
	nothing_left "after importing $n" no-such
done
assert_eq "$(tree "$AJAIL_HOME/fs/pm-docker")" "$(tree "$AJAIL_HOME/fs/pm-oci")" "podman's two archives give the same tree"
"${P[@]}" save --format docker-archive localhost/ajail-oci-test:1 2>/dev/null | gzip | "$AJAIL" fs import pm-pipe - >"$T/.out" 2>"$T/.err"
rc=$? out=$(cat "$T/.out") err=$(cat "$T/.err")
assert_rc 0 "podman save | gzip | ajail fs import -"
assert_contains "$err" "from a docker-archive" "podman save | ajail fs import -: summary"
assert_eq "$(tree "$AJAIL_HOME/fs/pm-pipe")" "$(tree "$AJAIL_HOME/fs/pm-oci")" "podman save | ajail fs import -: the same tree"
ok "podman's oci-archive and docker-archive (and skopeo's layout): the deleted file gone, the marker there"
