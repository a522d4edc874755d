#!/usr/bin/env python3
"""mkevil.py KIND OUT.tar — write a malicious (or merely nasty) tarball for the import tests.

Python's standard tarfile only; nothing here touches the host but OUT. Each KIND, and what a safe
importer must do with it ("reject" = refuse the whole archive, naming the entry shown):

  dotdot              ok, ../ajail-evil-dotdot, a/../../ajail-evil-dotdot2        reject '../ajail-evil-dotdot'
  absolute            /tmp/ajail-evil-absolute, //etc/ajail-evil-absolute2         handled: written inside as tmp/…, etc/…
  symlink-then-write  link -> /tmp/ajail-evil-target, link/file                   reject 'link/file'
  symlink-dotdot      up -> .., up/ajail-evil-up                                   reject 'up/ajail-evil-up'
  hardlink-outside    hard -> /etc/passwd (hard link), hard2 -> ../../etc/passwd  reject 'hard' (/etc/passwd is not in the archive)
  hardlink-dotdot     hard -> ../../etc/passwd                                     reject 'hard'
  hardlink-symlink    s -> /etc/passwd (symlink), h hard link to s                 reject 'h' (not a regular file)
  hardlink-ok         f, dir/g hard link to f, then g2 hard link to dir/g          handled: one inode, three names
  trailing-slash      file a, dir a/, file a/b                                     handled: a is a directory holding b
  trailing-slash-rev  dir a/, symlink a -> /tmp, file a/b                          reject 'a/b'
  symlink-dir-replace dir d/, symlink d -> /tmp, file d/x                          reject 'd/x'
  replace             file f, symlink f -> /etc/passwd, file f again ("new")       handled: f is a regular file "new",
                                                                                    /etc/passwd untouched
  nonempty-dir        dir d/, file d/x, file d                                     reject 'd' (non-empty directory)
  sparse-1g           sparse (1 GiB apparent, 9 bytes of data; pax 1.0 sparse)   handled: stays sparse
  many-files          100 000 empty files in 100 directories                       handled, quickly
  device              dev/null char device 1,3; fifo; block device                 handled: skipped and counted
  setuid              suid 04755, sgid 02755, dir sgd 02775                         handled: 0755 0755 0775
  readonly-dir        dir ro/ 0555 then ro/f                                        handled: ro ends up 0555 holding f
"""
import io
import sys
import tarfile


def reg(name, data=b"", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.mtime = 1700000000
    return ti, io.BytesIO(data)


def dirent(name, mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.mtime = 1700000000
    return ti, None


def sym(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    ti.mode = 0o777
    return ti, None


def hard(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE
    ti.linkname = target
    ti.mode = 0o644
    return ti, None


def dev(name, kind, major=0, minor=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.devmajor, ti.devminor = major, minor
    ti.mode = 0o666
    return ti, None


def sparse_1g():
    """A pax 1.0 sparse file (what GNU tar --sparse --format=pax writes), built by hand since tarfile
    cannot write sparse members: the data area starts with the map in decimal lines, padded to 512."""
    size = 1 << 30
    regions = [(0, b"start"), (size - 4, b"end!")]
    text = "%d\n" % len(regions) + "".join("%d\n%d\n" % (off, len(d)) for off, d in regions)
    mapblock = text.encode().ljust(512, b"\0")
    data = mapblock + b"".join(d for _, d in regions)
    ti = tarfile.TarInfo("GNUSparseFile.0/sparse")
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = 1700000000
    ti.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "sparse",
        "GNU.sparse.realsize": str(size),
    }
    return [(ti, io.BytesIO(data))]


def many_files():
    out = []
    for d in range(100):
        out.append(dirent("d%03d" % d))
        for f in range(1000):
            out.append(reg("d%03d/f%04d" % (d, f)))
    return out


KINDS = {
    "dotdot": lambda: [reg("ok", b"ok\n"), reg("../ajail-evil-dotdot", b"evil\n"),
                       reg("a/../../ajail-evil-dotdot2", b"evil\n")],
    "absolute": lambda: [reg("/tmp/ajail-evil-absolute", b"evil\n"), reg("//etc/ajail-evil-absolute2", b"evil\n")],
    "symlink-then-write": lambda: [sym("link", "/tmp/ajail-evil-target"), reg("link/file", b"evil\n")],
    "symlink-dotdot": lambda: [sym("up", ".."), reg("up/ajail-evil-up", b"evil\n")],
    "hardlink-outside": lambda: [hard("hard", "/etc/passwd"), hard("hard2", "../../etc/passwd")],
    "hardlink-dotdot": lambda: [hard("hard", "../../etc/passwd")],
    "hardlink-symlink": lambda: [sym("s", "/etc/passwd"), hard("h", "s")],
    "hardlink-ok": lambda: [reg("f", b"shared\n"), dirent("dir"), hard("dir/g", "f"), hard("g2", "dir/g")],
    "trailing-slash": lambda: [reg("a", b"file\n"), dirent("a/"), reg("a/b", b"b\n")],
    "trailing-slash-rev": lambda: [dirent("a/"), sym("a", "/tmp"), reg("a/b", b"evil\n")],
    "symlink-dir-replace": lambda: [dirent("d"), sym("d", "/tmp"), reg("d/x", b"evil\n")],
    "replace": lambda: [reg("f", b"old\n"), sym("f", "/etc/passwd"), reg("f", b"new\n")],
    "nonempty-dir": lambda: [dirent("d"), reg("d/x", b"x\n"), reg("d", b"evil\n")],
    "sparse-1g": sparse_1g,
    "many-files": many_files,
    "device": lambda: [dirent("dev"), dev("dev/null", tarfile.CHRTYPE, 1, 3), dev("fifo", tarfile.FIFOTYPE),
                       dev("dev/sda", tarfile.BLKTYPE, 8, 0), reg("ok", b"ok\n")],
    "setuid": lambda: [reg("suid", b"#!/bin/sh\n", 0o4755), reg("sgid", b"#!/bin/sh\n", 0o2755),
                       dirent("sgd", 0o2775)],
    "readonly-dir": lambda: [dirent("ro", 0o555), reg("ro/f", b"f\n")],
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.stderr.write("usage: mkevil.py KIND OUT.tar\nkinds: %s\n" % " ".join(KINDS))
        return 2
    members = KINDS[sys.argv[1]]()
    # PAX keeps long and odd names verbatim; tarfile writes ustar headers when nothing needs pax.
    with tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as tar:
        for ti, data in members:
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            tar.addfile(ti, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
