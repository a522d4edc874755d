/* export.c — a rootfs written out as a tarball: the fd walker of walk.c feeds libarchive's pax
 * writer, whose output goes through libzstd (multi-threaded) or libarchive's own filters. See
 * archive.h for what the tarball holds; the comments here say why.
 *
 * The rootfs may be one a jail runs on with --fs-edit, changing it while we read: every entry is
 * what the walker opened (a file's data comes from the inode it looked at, never from what its name
 * leads to by now), a file's size is the one it had when it was looked at (a file that grows is cut
 * there, one that shrinks is padded with zeros: a tar header promises the size), and fifos and
 * devices are never opened. */
#include <archive.h> /* libarchive's (this file is compiled without -Isrc) */
#include <archive_entry.h>
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zstd.h>

#include "extract.h"
#include "lazy_archive.h"
#include "oci_export.h"
#include "output.h"
#include "sha256.h"
#include "store.h"
#include "util.h"
#include "walk.h"

#define READ_CHUNK  ((size_t)256 << 10) /* file data read per call */
#define MAX_EXTENTS 65536		/* a sparse map longer than this: the file is written out whole */


enum out_kind { OUT_TAR, OUT_ZSTD, OUT_GZIP, OUT_XZ, OUT_BZIP2 };

struct out {
	int fd;
	ZSTD_CCtx *z;
	uint8_t *zbuf;
	size_t zcap;
	uint64_t written;
	struct sha256 *hash; /* when set: of every byte written (an OCI blob's digest) */
	int errnum; /* first write error, to report ENOSPC plainly */
};

static int out_raw(struct out *o, const void *buf, size_t n)
{
	if (write_all(o->fd, buf, n) < 0) {
		if (!o->errnum)
			o->errnum = errno;
		return -1;
	}
	o->written += n;
	if (o->hash)
		sha256_update(o->hash, buf, n);
	return 0;
}

static int out_zstd(struct archive *a, struct out *o, const void *buf, size_t n, ZSTD_EndDirective how)
{
	ZSTD_inBuffer in = {buf, n, 0};
	for (;;) {
		ZSTD_outBuffer zo = {o->zbuf, o->zcap, 0};
		size_t left = ZSTD_compressStream2(o->z, &zo, &in, how);
		if (ZSTD_isError(left)) {
			LA(archive_set_error)(a, EIO, "zstd: %s", ZSTD_getErrorName(left));
			return -1;
		}
		if (zo.pos && out_raw(o, o->zbuf, zo.pos) < 0) {
			LA(archive_set_error)(a, o->errnum, "write");
			return -1;
		}
		if (how == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static la_ssize_t out_write_cb(struct archive *a, void *data, const void *buf, size_t n)
{
	struct out *o = data;
	if (o->z)
		return out_zstd(a, o, buf, n, ZSTD_e_continue) < 0 ? -1 : (la_ssize_t)n;
	if (out_raw(o, buf, n) < 0) {
		LA(archive_set_error)(a, o->errnum, "write");
		return -1;
	}
	return (la_ssize_t)n;
}

static int out_close_cb(struct archive *a, void *data)
{
	struct out *o = data;
	if (o->z && out_zstd(a, o, NULL, 0, ZSTD_e_end) < 0)
		return ARCHIVE_FATAL;
	return ARCHIVE_OK;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

struct extent {
	int64_t off, len;
};

struct exporter {
	enum export_flavor flavor;
	uint64_t base_bytes, base_files; /* what earlier streams of the same export showed on the progress line */
	struct archive *w;
	struct archive_entry *entry;
	struct walk *walk;
	struct out *o;
	struct output_progress *prog;
	struct archive_stats *st;
	struct aj_err *err;
	uint8_t *buf;
	struct extent *ext;
	size_t next, cap;
	uint64_t holes; /* OCI: bytes of holes written out as zeros so far */
};

/* An OCI layer has no holes: a sparse file is written whole. A jail can make a 64 GiB file that
 * takes 4 KiB (dd seek=), so past this many bytes of holes in one layer the export stops, naming
 * the file, before it fills the disk. */
#define EXPORT_OCI_MAX_HOLES (UINT64_C(1) << 30)

static void progress(struct exporter *x)
{
	x->st->input_bytes = x->o->written;
	output_progress_update(x->prog, x->base_bytes + x->o->written, 0, x->base_files + xtract_entries(x->st));
}

/* n bytes of zeros: what a hole reads as. The pax writer drops them again for a sparse entry
 * (it wants the whole stream, holes included); for a plain one they are the file's contents. */
static int put_zeros(struct exporter *x, int64_t n, const char *name)
{
	static const uint8_t zeros[65536];
	while (n > 0) {
		size_t k = n > (int64_t)sizeof zeros ? sizeof zeros : (size_t)n;
		if (LA(archive_write_data)(x->w, zeros, k) < 0)
			return lazy_archive_fail(x->err, x->w, "entry '%s'", name);
		n -= (int64_t)k;
	}
	return 0;
}

/* Where the data of the file is: x->ext[0 .. x->next). Only asked when it has fewer blocks than its
 * size says; false when it is to be written whole (no holes, or too many of them). */
static bool find_extents(struct exporter *x, int fd, int64_t size, const struct stat *st)
{
	x->next = 0;
	if ((int64_t)st->st_blocks * 512 >= size)
		return false;
	int64_t off = 0, len;
	int r;
	while ((r = walk_data_extent(fd, size, &off, &len)) > 0) {
		if (x->next == MAX_EXTENTS)
			return false;
		if (x->next == x->cap) {
			x->cap = x->cap ? x->cap * 2 : 64;
			x->ext = xrealloc(x->ext, x->cap * sizeof *x->ext);
		}
		x->ext[x->next++] = (struct extent){off, len};
		off += len;
	}
	if (r < 0)
		return false;
	return !(x->next == 1 && x->ext[0].off == 0 && x->ext[0].len == size);
}

/* The file's data: its extents read from fd, zeros across holes and past an early end. */
static int put_data(struct exporter *x, int fd, int64_t size, bool sparse, const char *name)
{
	int64_t pos = 0;
	size_t n = sparse ? x->next : 1;
	for (size_t i = 0; i < n; i++) {
		int64_t off = sparse ? x->ext[i].off : 0, end = sparse ? off + x->ext[i].len : size;
		if (put_zeros(x, off - pos, name) < 0)
			return -1;
		pos = off;
		while (pos < end) {
			size_t want = end - pos > (int64_t)READ_CHUNK ? READ_CHUNK : (size_t)(end - pos);
			ssize_t r = pread(fd, x->buf, want, pos);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return aj_fail(x->err, errno, "entry '%s': read", name);
			if (r == 0)
				break; /* shorter than it was: the rest reads as zeros */
			if (LA(archive_write_data)(x->w, x->buf, (size_t)r) < 0)
				return lazy_archive_fail(x->err, x->w, "entry '%s'", name);
			pos += r;
			progress(x);
		}
	}
	return put_zeros(x, size - pos, name);
}

/* An empty regular file: an OCI layer's whiteout or opaque marker. */
static int put_marker(struct exporter *x, const char *name, const struct stat *st)
{
	struct archive_entry *a = x->entry;
	LA(archive_entry_clear)(a);
	LA(archive_entry_copy_pathname)(a, name);
	LA(archive_entry_set_filetype)(a, S_IFREG);
	LA(archive_entry_set_perm)(a, 0644);
	LA(archive_entry_set_uid)(a, 0);
	LA(archive_entry_set_gid)(a, 0);
	LA(archive_entry_copy_uname)(a, "root");
	LA(archive_entry_copy_gname)(a, "root");
	LA(archive_entry_set_mtime)(a, st->st_mtim.tv_sec, 0);
	LA(archive_entry_set_size)(a, 0);
	if (LA(archive_write_header)(x->w, a) < ARCHIVE_WARN || LA(archive_write_finish_entry)(x->w) < ARCHIVE_WARN)
		return lazy_archive_fail(x->err, x->w, "entry '%s'", name);
	x->st->files++;
	return 0;
}

/* "dir/" + prefix + "name" for the entry at path "dir/name". */
static char *sibling_name(const char *path, const char *prefix)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xasprintf("%s%s", prefix, path);
	return xasprintf("%.*s/%s%s", (int)(slash - path), path, prefix, slash + 1);
}

/* A directory of a layer that hides whatever a base has beneath the same name. The walker lists a
 * directory through an O_RDONLY fd (an O_PATH one, a mount point left unentered, cannot be asked:
 * it is not exported as a directory tree anyway). */
static bool is_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, STORE_OPAQUE_XATTR, v, sizeof v);
	return n == 1 && v[0] == 'y';
}

static int export_entry(struct exporter *x, const struct walk_entry *e)
{
	mode_t type = e->st.st_mode & S_IFMT;
	bool oci = x->flavor != EXPORT_PLAIN;
	const char *base = strrchr(e->path, '/');
	base = base ? base + 1 : e->path;
	/* OCI's whiteouts are names: a name of the tree that looks like one would delete something
	 * beneath it in whatever applies the image. Nothing ajail makes has such a name. */
	if (oci && strncmp(base, ".wh.", 4) == 0) {
		cleanup_free char *p = walk_shorten(e->path);
		return aj_fail(x->err, 0,
			       "'%s': an OCI image cannot hold this name (a '.wh.' name means a deleted file there); "
			       "rename or remove it, or export a plain tarball",
			       p);
	}
	if (x->flavor == EXPORT_OCI_LAYER && type == S_IFCHR && e->st.st_rdev == makedev(0, 0)) {
		/* overlayfs's whiteout: the path is deleted in this layer. */
		cleanup_free char *name = sibling_name(e->path, ".wh.");
		return put_marker(x, name, &e->st);
	}
	if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK) {
		x->st->skipped_devices++;
		return 0;
	}
	/* OCI layers: "etc/passwd", without the root itself (its owner and mode are the engine's). */
	if (oci && !*e->path) {
		if (x->flavor == EXPORT_OCI_LAYER && is_opaque(e->fd))
			return put_marker(x, ".wh..wh..opq", &e->st);
		return 0;
	}
	cleanup_free char *name = oci ? xstrdup(e->path) : xasprintf("./%s", e->path);
	struct archive_entry *a = x->entry;
	LA(archive_entry_clear)(a);
	LA(archive_entry_copy_pathname)(a, name);
	LA(archive_entry_set_filetype)(a, type);
	mode_t perm = e->st.st_mode & 07777;
	if (perm & (S_ISUID | S_ISGID)) {
		perm &= ~(mode_t)(S_ISUID | S_ISGID);
		x->st->setid_dropped++;
	}
	LA(archive_entry_set_perm)(a, perm);
	/* Every entry is root's, as the jail sees it. */
	LA(archive_entry_set_uid)(a, 0);
	LA(archive_entry_set_gid)(a, 0);
	LA(archive_entry_copy_uname)(a, "root");
	LA(archive_entry_copy_gname)(a, "root");
	if (oci) {
		/* Whole seconds, no atime or ctime: the same tree gives the same layer digest, whoever
		 * read it meanwhile. */
		LA(archive_entry_set_mtime)(a, e->st.st_mtim.tv_sec, 0);
	} else {
		LA(archive_entry_set_mtime)(a, e->st.st_mtim.tv_sec, e->st.st_mtim.tv_nsec);
		LA(archive_entry_set_atime)(a, e->st.st_atim.tv_sec, e->st.st_atim.tv_nsec);
		LA(archive_entry_set_ctime)(a, e->st.st_ctim.tv_sec, e->st.st_ctim.tv_nsec);
	}
	LA(archive_entry_set_size)(a, 0);

	cleanup_close int fd = -1;
	int64_t size = 0;
	bool sparse = false;
	if (type == S_IFLNK) {
		LA(archive_entry_copy_symlink)(a, e->link);
	} else if (type == S_IFREG && e->hardlink) {
		/* A later name of a file already written: a link entry, without data. */
		cleanup_free char *target = oci ? xstrdup(e->hardlink) : xasprintf("./%s", e->hardlink);
		LA(archive_entry_copy_hardlink)(a, target);
	} else if (type == S_IFREG) {
		size = e->st.st_size;
		LA(archive_entry_set_size)(a, size);
		if (size > 0) {
			uint64_t used = (uint64_t)e->st.st_blocks * 512;
			if (oci && (uint64_t)size > used) {
				x->holes += (uint64_t)size - used;
				if (x->holes > EXPORT_OCI_MAX_HOLES) {
					cleanup_free char *esc = util_escape_controls(name);
					return aj_fail(x->err, 0, "'%s' is a sparse file of %lld bytes that takes %llu on disk, and an "
								  "OCI layer would hold every byte (with the holes before it, more than "
								  "1 GiB of zeros); remove it, or export a plain tarball, which keeps holes",
						       esc, (long long)size, (unsigned long long)used);
				}
			}
			fd = walk_open_data(x->walk, e, x->err);
			if (fd < 0)
				return -1;
			/* Sparse entries (pax GNU.sparse) are left to plain tarballs: what reads an
			 * OCI layer need not know them. */
			sparse = !oci && find_extents(x, fd, size, &e->st);
			for (size_t i = 0; sparse && i < x->next; i++)
				LA(archive_entry_sparse_add_entry)(a, x->ext[i].off, x->ext[i].len);
			if (sparse && x->next == 0)
				LA(archive_entry_sparse_add_entry)(a, 0, 0); /* nothing but a hole */
		}
	}
	if (LA(archive_write_header)(x->w, a) < ARCHIVE_WARN)
		return lazy_archive_fail(x->err, x->w, "entry '%s'", name);
	if (fd >= 0 && put_data(x, fd, size, sparse, name) < 0)
		return -1;
	if (LA(archive_write_finish_entry)(x->w) < ARCHIVE_WARN)
		return lazy_archive_fail(x->err, x->w, "entry '%s'", name);
	/* OCI: the marker of an opaque directory comes right after the directory. */
	if (type == S_IFDIR && x->flavor == EXPORT_OCI_LAYER && !e->other_fs && is_opaque(e->fd)) {
		cleanup_free char *opq = xasprintf("%s/.wh..wh..opq", e->path);
		if (put_marker(x, opq, &e->st) < 0)
			return -1;
	}
	if (type == S_IFDIR)
		x->st->dirs++;
	else if (type == S_IFLNK)
		x->st->symlinks++;
	else if (e->hardlink)
		x->st->hardlinks++;
	else {
		x->st->files++;
		x->st->bytes += (uint64_t)size;
	}
	return 0;
}

static int export_walk(struct exporter *tmpl, struct archive *w, int dirfd, struct output_progress *prog,
		       struct out *o, struct archive_stats *st, struct aj_err *err)
{
	struct walk_opts wo = {.label = "."};
	struct exporter x = *tmpl;
	x.w = w, x.o = o, x.prog = prog, x.st = st, x.err = err;
	x.walk = walk_open(dirfd, &wo, err);
	if (!x.walk)
		return -1;
	x.entry = LA(archive_entry_new)();
	x.buf = xmalloc(READ_CHUNK);
	int r = x.entry ? 0 : aj_fail(err, ENOMEM, "libarchive");
	const struct walk_entry *e;
	while (r == 0 && (r = walk_next(x.walk, &e, err)) > 0) {
		r = export_entry(&x, e);
		progress(&x);
	}
	if (x.entry)
		LA(archive_entry_free)(x.entry);
	walk_close(x.walk);
	free(x.buf);
	free(x.ext);
	return r;
}

int archive_export(int dirfd, const char *path, const char *label, bool progress, struct archive_stats *st,
		   struct aj_err *err)
{
	memset(st, 0, sizeof *st);
	if (lazy_archive_load(err) < 0)
		return -1;
	bool to_stdout = strcmp(path, "-") == 0;
	enum out_kind kind;
	if (to_stdout || has_suffix(path, ".tar"))
		kind = OUT_TAR;
	else if (has_suffix(path, ".tar.zst") || has_suffix(path, ".tzst"))
		kind = OUT_ZSTD;
	else if (has_suffix(path, ".tar.gz") || has_suffix(path, ".tgz"))
		kind = OUT_GZIP;
	else if (has_suffix(path, ".tar.xz") || has_suffix(path, ".txz"))
		kind = OUT_XZ;
	else if (has_suffix(path, ".tar.bz2") || has_suffix(path, ".tbz2"))
		kind = OUT_BZIP2;
	else
		return aj_usage(
		    err, "export to '%s': the name must end in .tar, .tar.zst, .tar.gz, .tar.xz or .tar.bz2 (or be -)",
		    path);

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	struct out o = {.fd = STDOUT_FILENO};
	cleanup_close int dfd = -1;
	cleanup_free char *base = NULL, *part = NULL;
	if (!to_stdout) {
		/* The .part file and the final name in one directory, held by fd: the rename at the
		 * end is atomic and lands where the .part was made. */
		const char *slash = strrchr(path, '/');
		cleanup_free char *dir =
		    slash ? xstrndup(path, (size_t)(slash - path) + (slash == path)) : xstrdup(".");
		base = xstrdup(slash ? slash + 1 : path);
		part = xasprintf("%s.part", base);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return aj_fail(err, errno, "export to '%s'", path);
		struct stat dst;
		if (fstatat(dfd, base, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst.st_mode))
			return aj_fail(err, EISDIR, "export to '%s'", path);
		o.fd = openat(dfd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (o.fd < 0)
			return aj_fail(err, errno, "export to '%s': create '%s.part'", path, path);
	}

	int ret = -1;
	struct output_progress prog;
	output_progress_start(&prog, progress, "exporting", label);
	/* pax headers carry names in UTF-8, converted from the current locale. In the C locale a
	 * non-ASCII name cannot be converted and libarchive falls back to "hdrcharset=BINARY", which GNU
	 * tar warns about. File names on Linux are bytes, almost always UTF-8: treat them so, for this
	 * thread only (uselocale), so the rest of the program keeps its locale. */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old_locale = utf8 ? uselocale(utf8) : (locale_t)0;
	cleanup_archive_write struct archive *w = LA(archive_write_new)();
	if (!w) {
		aj_fail(err, ENOMEM, "libarchive");
		goto out;
	}
	LA(archive_write_set_format_pax_restricted)(w);
	/* Fewer, bigger writes than tar's 10 KiB records; the end is still padded to a 10 KiB record,
	 * as readers of tapes expect. */
	LA(archive_write_set_bytes_per_block)(w, 256 * 1024);
	LA(archive_write_set_bytes_in_last_block)(w, 10240);
	char threads[32];
	snprintf(threads, sizeof threads, "%ld", ncpu);
	switch (kind) {
	case OUT_TAR:
		break;
	case OUT_ZSTD:
		o.z = ZSTD_createCCtx();
		o.zcap = ZSTD_CStreamOutSize() * 4;
		o.zbuf = xmalloc(o.zcap);
		if (!o.z) {
			aj_fail(err, ENOMEM, "zstd");
			goto out;
		}
		ZSTD_CCtx_setParameter(o.z, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
		ZSTD_CCtx_setParameter(o.z, ZSTD_c_checksumFlag, 1);
		/* Fails harmlessly (single-threaded) with a libzstd built without threads. */
		ZSTD_CCtx_setParameter(o.z, ZSTD_c_nbWorkers, (int)ncpu);
		break;
	case OUT_GZIP:
		LA(archive_write_add_filter_gzip)(w);
		break;
	case OUT_XZ:
		LA(archive_write_add_filter_xz)(w);
		LA(archive_write_set_filter_option)(w, "xz", "threads", threads);
		break;
	case OUT_BZIP2:
		LA(archive_write_add_filter_bzip2)(w);
		break;
	}
	if (LA(archive_write_open)(w, &o, NULL, out_write_cb, out_close_cb) != ARCHIVE_OK) {
		lazy_archive_fail(err, w, "export to '%s'", path);
		goto out;
	}
	struct exporter tmpl = {.flavor = EXPORT_PLAIN};
	if (export_walk(&tmpl, w, dirfd, &prog, &o, st, err) < 0)
		goto out;
	if (LA(archive_write_close)(w) != ARCHIVE_OK) {
		lazy_archive_fail(err, w, "export to '%s'", path);
		goto out;
	}
	st->input_bytes = o.written;
	if (!to_stdout) {
		int fd = o.fd;
		o.fd = -1;
		if (close(fd) < 0) {
			aj_fail(err, errno, "export to '%s'", path);
			goto out;
		}
		if (renameat(dfd, part, dfd, base) < 0) {
			aj_fail(err, errno, "export to '%s': rename", path);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0 && (o.errnum == ENOSPC || o.errnum == EDQUOT))
		aj_fail(err, o.errnum, "export to '%s': disk full", path);
	output_progress_done(&prog);
	if (!to_stdout) {
		if (o.fd >= 0)
			close(o.fd);
		if (ret < 0)
			unlinkat(dfd, part, 0);
	}
	ZSTD_freeCCtx(o.z);
	free(o.zbuf);
	if (utf8) {
		uselocale(old_locale);
		freelocale(utf8);
	}
	return ret;
}

int export_tar_fd(int dirfd, int fd, enum export_flavor flavor, struct sha256 *hash, struct output_progress *prog,
		  uint64_t prog_bytes, uint64_t prog_files, uint64_t *size, struct archive_stats *st, struct aj_err *err)
{
	memset(st, 0, sizeof *st);
	*size = 0;
	if (lazy_archive_load(err) < 0)
		return -1;
	struct out o = {.fd = fd, .hash = hash};
	int ret = -1;
	/* UTF-8 names in the pax headers: see archive_export. */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old_locale = utf8 ? uselocale(utf8) : (locale_t)0;
	cleanup_archive_write struct archive *w = LA(archive_write_new)();
	if (!w) {
		aj_fail(err, ENOMEM, "libarchive");
		goto out;
	}
	LA(archive_write_set_format_pax_restricted)(w);
	LA(archive_write_set_bytes_per_block)(w, 256 * 1024);
	/* The end of the stream is its own: no padding to a tape record. */
	LA(archive_write_set_bytes_in_last_block)(w, 1);
	if (LA(archive_write_open)(w, &o, NULL, out_write_cb, out_close_cb) != ARCHIVE_OK) {
		lazy_archive_fail(err, w, "write");
		goto out;
	}
	struct exporter tmpl = {.flavor = flavor, .base_bytes = prog_bytes, .base_files = prog_files};
	if (export_walk(&tmpl, w, dirfd, prog, &o, st, err) < 0)
		goto out;
	if (LA(archive_write_close)(w) != ARCHIVE_OK) {
		lazy_archive_fail(err, w, "write");
		goto out;
	}
	st->input_bytes = *size = o.written;
	ret = 0;
out:
	if (ret < 0 && (o.errnum == ENOSPC || o.errnum == EDQUOT))
		aj_fail(err, o.errnum, "disk full");
	if (utf8) {
		uselocale(old_locale);
		freelocale(utf8);
	}
	return ret;
}
