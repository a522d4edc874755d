#!/usr/bin/env python3
"""mkseeds_deliver.py [DIR] -- the seed corpus of fuzz_deliver (default tests/fuzz/corpus/fuzz_deliver).

Each seed is a clone workspace as a jail could leave it, in fuzz_deliver's format (see the top of
fuzz_deliver.c): 20 bytes of the base commit's id, then entries (kind, path, data). Objects are real
git objects (zlib-compressed "type size\\0content"), so the fuzzer starts from workspaces the reader
reads all the way, and from the attacks t_hostile_clone plants."""
import hashlib
import os
import struct
import sys
import zlib

DIR, FILE, LINK, FIFO = 0, 1, 2, 3
REF = "git/refs/heads/ajail/0badf00d"


def obj(kind, body):
    raw = b"%s %d\0" % (kind, len(body)) + body
    return hashlib.sha1(raw).digest(), zlib.compress(raw)


def loose(oid):
    h = oid.hex()
    return "git/objects/%s/%s" % (h[:2], h[2:])


def tree(entries):
    return b"".join(b"%s %s\0" % (mode, name) + oid for mode, name, oid in entries)


def commit(tree_oid, parent=None, msg=b"work"):
    body = b"tree %s\n" % tree_oid.hex().encode()
    if parent:
        body += b"parent %s\n" % parent.hex().encode()
    body += b"author a <a@e> 1700000000 +0000\ncommitter a <a@e> 1700000000 +0000\n\n" + msg + b"\n"
    return obj(b"commit", body)


def entry(kind, path, data=b""):
    p = path.encode() if isinstance(path, str) else path
    return struct.pack("<BB", kind, len(p)) + p + struct.pack("<H", len(data)) + data


def seed(base, entries):
    return base + b"".join(entries)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "fuzz_deliver")
    os.makedirs(out, exist_ok=True)

    # A real workspace: base commit B, tip T on top of it (one new file), upper/ matching T.
    blob_a, z_blob_a = obj(b"blob", b"hello\n")
    blob_b, z_blob_b = obj(b"blob", b"new work\n")
    tree_b, z_tree_b = obj(b"tree", tree([(b"100644", b"a.txt", blob_a)]))
    tree_t, z_tree_t = obj(b"tree", tree([(b"100644", b"a.txt", blob_a), (b"100644", b"b.txt", blob_b)]))
    base, z_base = commit(tree_b, msg=b"base")
    tip, z_tip = commit(tree_t, base, b"tip")
    objects = [(blob_a, z_blob_a), (blob_b, z_blob_b), (tree_b, z_tree_b), (tree_t, z_tree_t), (base, z_base), (tip, z_tip)]
    real = [entry(FILE, loose(o), z) for o, z in objects]
    ref = entry(FILE, REF, tip.hex().encode() + b"\n")
    upper = [entry(FILE, "upper/a.txt", b"hello\n"), entry(FILE, "upper/b.txt", b"new work\n")]
    seeds = {}
    seeds["workspace"] = seed(base, real + [ref] + upper)
    seeds["workspace-dirty"] = seed(base, real + [ref, entry(FILE, "upper/a.txt", b"changed\n"), entry(FILE, "upper/c.txt", b"untracked\n")])
    seeds["workspace-nothing-ahead"] = seed(base, real + [entry(FILE, REF, base.hex().encode() + b"\n")])
    seeds["packed-ref"] = seed(base, real + [entry(FILE, "git/packed-refs", b"# pack-refs with: peeled fully-peeled sorted \n%s refs/heads/ajail/0badf00d\n" % tip.hex().encode())])
    seeds["symbolic-ref"] = seed(base, real + [entry(FILE, REF, b"ref: refs/heads/main\n")])

    # The private repository beside the workspace (fuzz_deliver.c makes the same objects).
    pblob, _ = obj(b"blob", b"private history\n")
    ptree, _ = obj(b"tree", tree([(b"100644", b"secret", pblob)]))
    pcommit, _ = obj(b"commit", b"tree %s\nauthor p <p@e> 1700000000 +0000\ncommitter p <p@e> 1700000000 +0000\n\nprivate\n" % ptree.hex().encode())
    pref = entry(FILE, REF, pcommit.hex().encode() + b"\n")
    seeds["attack-objects-symlink"] = seed(base, [entry(LINK, "git/objects", b"../../private.git/objects"), pref])
    seeds["attack-objects-abs-symlink"] = seed(base, [entry(DIR, "git/objects"), entry(LINK, loose(pcommit)[:len("git/objects/xx")], b"../../../private.git/objects/" + pcommit.hex()[:2].encode()), pref] + real)
    seeds["attack-loose-symlink"] = seed(base, real + [entry(LINK, loose(pcommit), b"../../../../private.git/objects/%s/%s" % (pcommit.hex()[:2].encode(), pcommit.hex()[2:].encode())), pref])
    seeds["attack-refs-symlink"] = seed(base, real + [entry(LINK, "git/refs", b"../../private.git/refs")])
    seeds["attack-pack-symlink"] = seed(base, real + [entry(DIR, "git/objects/pack"), entry(LINK, "git/objects/pack/pack-" + "1" * 40 + ".pack", b"../../../../private.git/objects/pack/x.pack"), entry(FILE, "git/objects/pack/pack-" + "1" * 40 + ".idx", b"\xfftOc\0\0\0\2" + b"\0" * 1024), ref])
    seeds["attack-fifo-object"] = seed(base, [e for e in real if not e.startswith(struct.pack("<BB", FILE, len(loose(tip))) + loose(tip).encode())] + [entry(FIFO, loose(tip)), ref])
    seeds["attack-fifo-ref"] = seed(base, real + [entry(FIFO, REF)])
    seeds["attack-fifo-upper"] = seed(base, real + [ref, entry(FIFO, "upper/a.txt")])
    bomb = zlib.compress(b"blob 2147483648\0" + b"\0" * 65536)
    seeds["attack-bomb-blob"] = seed(base, [e for e in real if not e.startswith(struct.pack("<BB", FILE, len(loose(blob_b))) + loose(blob_b).encode())] + [entry(FILE, loose(blob_b), bomb[:65000]), ref])
    seeds["attack-upper-symlink"] = seed(base, real + [ref, entry(LINK, "upper/a.txt", b"/etc/passwd"), entry(LINK, "upper/d", b"../../private.git")])
    seeds["attack-escape-names"] = seed(base, real + [ref, entry(FILE, b"upper/\x1b]0;pwned\x07", b"x"), entry(FILE, b"upper/\xc2\x9b2J", b"y")])
    # The same work as a pack (what a git gc or a fetch inside the jail leaves), made by git itself.
    import subprocess, tempfile
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@e", GIT_COMMITTER_NAME="a",
                   GIT_COMMITTER_EMAIL="a@e", GIT_AUTHOR_DATE="1700000000 +0000", GIT_COMMITTER_DATE="1700000000 +0000")
        run = lambda *a: subprocess.run(a, cwd=tmp, env=env, check=True, capture_output=True).stdout.decode().strip()
        run("git", "init", "-q", ".")
        with open(os.path.join(tmp, "a.txt"), "w") as f:
            f.write("hello\n" * 50)
        run("git", "add", "a.txt")
        run("git", "commit", "-qm", "base")
        pbase = bytes.fromhex(run("git", "rev-parse", "HEAD"))
        with open(os.path.join(tmp, "a.txt"), "a") as f:
            f.write("more work\n")
        run("git", "commit", "-qam", "tip")
        ptip = run("git", "rev-parse", "HEAD")
        run("git", "repack", "-adq")
        packdir = os.path.join(tmp, ".git", "objects", "pack")
        pack_entries = [entry(DIR, "git/objects/pack")]
        for n in sorted(os.listdir(packdir)):
            if n.endswith((".pack", ".idx")):
                with open(os.path.join(packdir, n), "rb") as f:
                    pack_entries.append(entry(FILE, "git/objects/pack/" + n, f.read()))
        pref_tip = entry(FILE, REF, ptip.encode() + b"\n")
        seeds["packed-workspace"] = seed(pbase, pack_entries + [pref_tip, entry(FILE, "upper/a.txt", b"hello\n")])
        seeds["packed-workspace-idx-only"] = seed(pbase, [e for e in pack_entries if b".pack" not in e[:80]] + [pref_tip])
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
