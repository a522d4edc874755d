#!/usr/bin/env python3
"""mkseeds.py [TARGET...] — (re)write the seed corpora in tests/fuzz/corpus/<target>/.

The seeds are committed; run this after changing it (or the input format of a target), and commit
what changes. Deterministic: the same files every time (fixed mtimes, no randomness).

  fuzz_cli_plan  every `ajail OPTIONS...` line of README.md, on a few fake machines, and hand-made
                 cases: AJAIL_ARGS with --lockdown, symlinks out of the working directory, the store
                 in reach, a clone, a linked worktree, odd paths.
  fuzz_import    small valid archives in each format and compression the importer reads, and the
                 malicious tarballs of tests/helpers/mkevil.py plus ones aimed at fuzz_import's
                 canaries (/tmp/ajail-fuzz/s/canary, canary-file).
"""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "helpers"))
import mkevil  # noqa: E402

SCRATCH = "/tmp/ajail-fuzz/s"  # fuzz_import.c's SCRATCH_FIXED


def write_corpus(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    seen = set()
    for name, data in seeds:
        h = hashlib.sha1(data).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "seed"
        with open(os.path.join(d, safe), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (d, len(seen)))


# ---- fuzz_cli_plan ------------------------------------------------------------------------------

def cli_input(flags="", ajail_args="", argv=(), machine=(), env=(), deleted=()):
    """FLAGS \\0 AJAIL_ARGS \\0 ARGV... \\0\\0 MACHINE... \\0\\0 ENV... \\0\\0 DELETED..."""
    out = [flags, ajail_args]
    for section in (argv, machine, env):
        out.extend(section)
        out.append("")
    out.extend(deleted)
    return "\0".join(out).encode()


def readme_lines():
    """The option words of every `ajail -...` example in README.md (no verbs: they stop parsing)."""
    lines = []
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(?:\$ )?ajail( .*)?$", line.rstrip("\n"))
            if not m:
                continue
            text = (m.group(1) or "").replace("$HOME", "/home/u")
            try:
                words = shlex.split(text, comments=True)
            except ValueError:
                continue
            words = [w for w in words if "|" not in w]
            if words and words[0] in ("fs", "clone", "doctor"):
                continue
            lines.append(words)
    return lines


def cli_seeds():
    seeds = []
    machines = [
        ("", []),
        ("H", []),                     # the host rootfs
        ("RGT", []),                   # root, in git, on a terminal
        ("c3", []),                    # a delegated cgroup, landlock ABI 3
    ]
    for i, words in enumerate(readme_lines()):
        for flags, mach in machines:
            seeds.append(("readme-%02d-%s" % (i, flags or "dflt"), cli_input(flags, "", words, mach)))
    args = "--fs=busybox; --no-net; --rw=~/.cache"
    seeds += [
        ("ajail-args-readme", cli_input("", "--fs=busybox; --no-net", ["make", "test"])),
        ("ajail-args-lockdown", cli_input("R", args + ";--no-seccomp;--mount=/data/target,/d;--cap-add=NET_RAW",
                                          ["--lockdown", "python3", "untrusted.py"])),
        ("ajail-args-lockdown-value", cli_input("", "--fs;busybox;--dev;kvm;--memory;1G", ["--lockdown", "true"])),
        ("ajail-args-bad", cli_input("", " ; make;", ["true"])),
        ("lockdown-conflict", cli_input("", "", ["--lockdown", "--rw=build", "true"])),
        ("lockdown-root-pids", cli_input("Rc", "", ["--lockdown", "true"])),
        ("lockdown-root-nocg", cli_input("RE", "", ["--lockdown", "--pids=100", "true"])),
        ("limits", cli_input("c", "", ["--memory=1.5GiB", "--cpus=0.25", "--pids=8", "-v", "true"])),
        ("limits-nocg", cli_input("E", "", ["--pids=512", "true"])),
        ("limits-root-nocg", cli_input("RE", "", ["--pids=512", "--memory=4G", "true"])),
        ("symlink-out", cli_input("", "", ["--rw=outlink", "--ro=inlink", "--rol=uplink/..", "true"])),
        ("symlink-loop", cli_input("", "", ["--ro=loop", "true"])),
        ("symlink-chain", cli_input("", "", ["--rw=a/b/c", "true"],
                                    ["l/work/x/a\tsub", "l/work/x/sub/b\t../build", "d/work/x/build/c"])),
        ("symlink-abs-in", cli_input("", "", ["--rw=/work/x/abs/deep", "true"],
                                     ["l/work/x/abs\t/work/x/sub", "d/work/x/sub/deep"])),
        ("missing-and-file", cli_input("", "", ["--rw=nothere", "--ro=file.txt", "--hide=file.txt", "true"])),
        ("noaccess", cli_input("", "", ["--rol=/noaccess/x", "true"])),
        ("mount-odd", cli_input("", "", ["--mount=/data/a\\,b:c,/d\\\\e,ro", "--mount=sub,../up", "true"],
                                ["d/data/a,b:c"])),
        ("mount-root", cli_input("", "", ["--mount=sub,/", "true"])),
        ("mount-dev", cli_input("", "", ["--mount=/dev/dri,/dev/dri,dev", "--dev=/dev/kvm", "--dev=sym", "true"])),
        ("store-in-cwd", cli_input("", "", ["true"], ["c/home/u"], ["HOME=/home/u"])),
        ("store-is-cwd", cli_input("", "", ["--rw=/home/u/.ajail", "true"], ["c/home/u/.ajail"])),
        ("store-relative", cli_input("", "", ["--ro=.", "true"], ["s .ajail", "c/home/u"])),
        ("store-env", cli_input("", "", ["--ro=/srv", "true"], ["d/srv/ajail"], ["AJAIL_HOME=/srv/ajail"])),
        ("store-rootfs", cli_input("", "", ["--fs=/home/u/.ajail", "true"], ["r/home/u/.ajail"])),
        ("fs-edit", cli_input("", "", ["--fs-edit=/etc", "--fs-edit=/usr/bin", "--fs-edit=/bin", "true"])),
        ("fs-edit-whole", cli_input("", "", ["--fs-edit", "--home-edit=.claude", "true"])),
        ("home-edit", cli_input("", "", ["--home-edit=.claude", "--home-edit=/", "--home-edit=a/../b", "true"])),
        ("home-edit-host", cli_input("H", "", ["--home-edit", "true"])),
        ("clone", cli_input("", "", ["--clone=fix", "--clone-dirty", "claude"], [], [], ["src/a.c", "b"])),
        ("clone-push", cli_input("P", "", ["--clone-push", "claude"], ["C/work"], [], ["x/y"])),
        ("clone-at-root", cli_input("", "", ["--clone", "sh"], ["C/"])),  # a /.git: refused
        ("worktree", cli_input("GW", "", ["git", "commit"])),
        ("worktree-named", cli_input("GW", "", ["git", "commit"], ["g/srv/r/.git\twt", "d/srv/r/.git/objects"])),
        ("worktree-lockdown", cli_input("GWw", "", ["--lockdown", "git", "status"])),
        ("cwd-root", cli_input("/", "", ["--rw=/data/target", "true"])),
        ("cwd-unreadable", cli_input("N", "", ["true"])),
        ("layers-off", cli_input("1", "", ["--no-cap-drop", "--no-seccomp", "--allow-ptrace", "--no-landlock",
                                           "--no-rlimits", "--no-mask", "--cap-add=CAP_SYS_ADMIN", "true"])),
        ("short-flags", cli_input("", "", ["-qvh", "--version", "--dry-run", "--new-session", "--", "--rw"])),
        ("verb-fs", cli_input("", "", ["fs", "import", "x", "y.tar"])),
        ("unknown", cli_input("", "", ["--frobnicate=1"])),
        ("env", cli_input("G", "", ["env"], [], ["AJAIL_ENV_GIT_CONFIG_COUNT=0", "AJAIL_ENV_=x", "AJAIL_ENV_PATH=/x",
                                                  "TERM=dumb", "HOME=relative"])),
        ("newline-path", cli_input("", "", ["--ro=/data/new\nline", "true"], ["d/data/new\nline"])),
        ("tty-legacy", cli_input("TL", "", ["--new-session", "sh"])),
        ("foreign-rootfs", cli_input("OI", "", ["sh"])),
    ]
    return seeds


# ---- fuzz_import --------------------------------------------------------------------------------

def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for ti, data in members:
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            tar.addfile(ti, data)
    # tarfile pads to a 10 KiB record; the two zero blocks that end an archive are enough.
    data = buf.getvalue().rstrip(b"\0")
    return data + b"\0" * (-len(data) % 512 + 1024)


def small_rootfs():
    return [
        mkevil.dirent("./", 0o755),
        mkevil.dirent("bin"),
        mkevil.reg("bin/busybox", b"\x7fELF not really\n", 0o755),
        mkevil.sym("bin/sh", "busybox"),
        mkevil.hard("bin/ls", "bin/busybox"),
        mkevil.dirent("etc"),
        mkevil.reg("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        mkevil.sym("etc/mtab", "/proc/self/mounts"),
        mkevil.dirent("root", 0o700),
        mkevil.dirent("tmp", 0o1777),
        mkevil.dirent("usr/lib", 0o755),
        mkevil.reg("usr/lib/os-release", b'NAME="fuzz"\n'),
    ]


def long_paths():
    """Names past PATH_MAX (4096): the importer walks them a component at a time."""
    comps = ["d%02d" % i + "x" * 196 for i in range(22)]  # 22 x 200 bytes
    deep = "/".join(comps)
    return [
        mkevil.dirent(deep, 0o555),
        mkevil.reg(deep + "/f", b"deep\n"),
        mkevil.hard("h", deep + "/f"),
        mkevil.hard(deep + "/h2", "h"),
        mkevil.sym(deep + "/up", "../" * 23 + "canary"),
        mkevil.reg(deep + "/up/x", b"evil\n"),
    ]


def canary_kinds():
    """Each tries to reach fuzz_import's canaries beside the target."""
    return {
        "canary-symlink-rel": [mkevil.sym("c", "../canary"), mkevil.reg("c/x", b"evil\n")],
        "canary-symlink-abs": [mkevil.sym("c", SCRATCH + "/canary"), mkevil.reg("c/x", b"evil\n")],
        "canary-symlink-file": [mkevil.sym("f", "../canary-file"), mkevil.reg("f", b"evil\n")],
        "canary-hardlink-rel": [mkevil.hard("h", "../canary-file"), mkevil.reg("h", b"evil\n")],
        "canary-hardlink-abs": [mkevil.hard("h", SCRATCH + "/canary-file")],
        "canary-hardlink-via-symlink": [mkevil.sym("up", ".."), mkevil.hard("h", "up/canary-file")],
        "canary-dotdot": [mkevil.reg("./../canary/x", b"evil\n"), mkevil.reg("a/../../canary/y", b"evil\n")],
        "canary-dir-symlink-swap": [mkevil.dirent("d"), mkevil.reg("d/ok", b"ok\n"), mkevil.sym("d2", "../canary"),
                                    mkevil.dirent("d2/sub"), mkevil.reg("d2/sub/x", b"evil\n")],
        "canary-root-symlink": [mkevil.sym(".", "../canary"), mkevil.reg("x", b"evil\n")],
        "canary-hardlink-then-write": [mkevil.reg("f", b"mine\n"), mkevil.hard("g", "f"),
                                       mkevil.sym("f", "../canary-file"), mkevil.reg("g", b"evil\n")],
    }


def cpio_newc(entries):
    """entries: (name, mode, data, nlink); a trailer is added."""
    out = io.BytesIO()
    ino = 1
    for name, mode, data, nlink in entries + [("TRAILER!!!", 0, b"", 1)]:
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (ino, mode, 0, 0, nlink, 1700000000, len(data), 0, 0, 0, 0, len(nb), 0))
        out.write(hdr.encode() + nb)
        out.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - len(data) % 4) % 4))
        ino += 1
    return out.getvalue()


def zip_bytes(symlink=True):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name, data, mode):
            zi = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20))
            zi.external_attr = mode << 16
            zi.create_system = 3
            z.writestr(zi, data)
        add("etc/", b"", 0o040755)
        add("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o100644)
        if symlink:
            add("etc/link", b"../canary", 0o120777)
            add("etc/link/x", b"evil\n", 0o100644)
    return buf.getvalue()


def zstd(data):
    if not shutil.which("zstd"):
        return None
    return subprocess.run(["zstd", "-q", "-c", "-19"], input=data, stdout=subprocess.PIPE, check=True).stdout


def import_seeds():
    seeds = []
    rootfs = small_rootfs()
    plain = tar_bytes(rootfs)
    seeds.append(("rootfs.tar", plain))
    seeds.append(("rootfs-gnu.tar", tar_bytes(small_rootfs(), tarfile.GNU_FORMAT)))
    seeds.append(("rootfs-ustar.tar", tar_bytes(small_rootfs(), tarfile.USTAR_FORMAT)))
    seeds.append(("rootfs.tar.gz", gzip.compress(plain, mtime=0)))
    seeds.append(("rootfs.tar.bz2", bz2.compress(plain)))
    seeds.append(("rootfs.tar.xz", lzma.compress(plain)))
    z = zstd(plain)
    if z:
        seeds.append(("rootfs.tar.zst", z))
    seeds.append(("rootfs.cpio", cpio_newc([("bin", 0o040755, b"", 2), ("bin/sh", 0o100755, b"#!sh\n", 1),
                                            ("bin/ls", 0o120777, b"sh", 1), ("suid", 0o104755, b"x", 1),
                                            ("dev-null", 0o020666, b"", 1), ("../evil", 0o100644, b"evil\n", 1)])))
    seeds.append(("rootfs.zip", zip_bytes()))
    seeds.append(("empty", b""))
    seeds.append(("empty.tar", b"\0" * 1024))
    seeds.append(("long-paths.tar", tar_bytes(long_paths())))
    seeds.append(("long-paths-ok.tar", tar_bytes(long_paths()[:4])))
    seeds.append(("only-root.tar", tar_bytes([mkevil.dirent("./", 0o555)])))
    seeds.append(("only-file.tar", tar_bytes([mkevil.reg("f", b"x\n")], tarfile.USTAR_FORMAT)))  # crashes/README.md
    for kind, make in sorted(mkevil.KINDS.items()):
        if kind == "many-files":
            continue  # 100 000 entries: a benchmark, not a seed
        seeds.append(("evil-" + kind + ".tar", tar_bytes(make())))
    for kind, members in sorted(canary_kinds().items()):
        data = tar_bytes(members)
        seeds.append((kind + ".tar", data))
    z = zstd(tar_bytes(canary_kinds()["canary-symlink-rel"]))
    if z:
        seeds.append(("canary-symlink-rel.tar.zst", z))
    seeds.append(("canary-symlink-rel.tar.gz", gzip.compress(tar_bytes(canary_kinds()["canary-symlink-rel"]), mtime=0)))
    return seeds


TARGETS = {"fuzz_cli_plan": cli_seeds, "fuzz_import": import_seeds}


def main():
    names = sys.argv[1:] or sorted(TARGETS)
    for n in names:
        if n not in TARGETS:
            sys.stderr.write("mkseeds.py: unknown target %s (%s)\n" % (n, " ".join(sorted(TARGETS))))
            return 2
        write_corpus(n, TARGETS[n]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
