/* oci_import.c — container images into the store. oci.h says what is accepted and the rules; the
 * comments here say why.
 *
 *   source ─detect─▶ (a tar: its image members copied once into fs/.tmp/NAME@oci, each blob hashed
 *          on the way) ─▶ layout dir fd ─▶ index.json / manifest.json ─▶ manifest ─▶ config ─▶ layers,
 *          each read twice (the first one once: nothing lies below it to white out):
 *             pass 1: headers only, whiteout markers collected, digest checked, markers applied
 *             pass 2: every other entry through the safe writer (extract.h), digest checked again
 *          A blob is hashed on every read of it from a directory the user gave (which a jail may be
 *          able to change between two reads), once only when it comes from our scratch copy.
 *
 * Everything beneath the layout is opened with open_untrusted (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV, O_NONBLOCK) and must be a regular file; everything beneath
 * the new rootfs is removed the same way, through a parent fd resolved beneath the root. */
#include <archive.h> /* libarchive's (this file is compiled without -Isrc) */
#include <archive_entry.h>
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "extract.h"
#include "json.h"
#include "lazy_archive.h"
#include "oci.h"
#include "output.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

#define READ_BUF	((size_t)1 << 20)  /* bytes per read of a blob or an image tar */
#define JSON_VALUES_MAX ((size_t)1 << 18)  /* values in one index/manifest/config: memory, not time */
#define CONFIG_META_MAX ((size_t)32 << 10) /* bytes of Env/Cmd/... kept (the metadata file is read with 64 KiB) */
#define HEAD_SIZE	512

static const struct json_limits json_lim = {.max_depth = 32, .max_values = JSON_VALUES_MAX};

/* The media types of what we read. Docker's schema 2 types are what `docker save` (newer) and
 * registries still write; OCI's are the standard. */
#define MT_OCI_INDEX	   "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	   "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG	   "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST	   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"

static const char *const layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",	    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",  "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
};

/* ---------------------------------------------------------------------------------------------- */
/* Names and digests.                                                                               */

static bool is_hex64(const char *s, size_t n)
{
	if (n != SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* "sha256:" and 64 lowercase hex digits, nothing else: only then does a digest become a file name
 * (blobs/sha256/<hex>), so "sha256:../../etc" never reaches a path. */
static int digest_parse(const char *digest, char hex[SHA256_HEX_LEN + 1], const char *what, struct aj_err *err)
{
	if (!digest)
		return aj_fail(err, 0, "%s has no digest", what);
	if (str_has_prefix(digest, "sha256:") && is_hex64(digest + 7, strlen(digest + 7))) {
		memcpy(hex, digest + 7, SHA256_HEX_LEN + 1);
		return 0;
	}
	cleanup_free char *esc = util_escape(digest);
	const char *colon = strchr(digest, ':');
	if (colon && !str_has_prefix(digest, "sha256:") && colon - digest <= 16)
		return aj_fail(err, 0, "%s: digest '%.100s' is not sha256, the only algorithm ajail checks", what, esc);
	return aj_fail(err, 0,
		       "%s: '%.100s' is not a digest ('sha256:' and 64 lowercase hex digits): the image is corrupt",
		       what, esc);
}

/* "sha256:0123456789ab…", for messages and the recorded source. */
static void short_digest(const char *hex, char out[32])
{
	snprintf(out, 32, "sha256:%.12s\u2026", hex);
}

/* This machine's architecture, as OCI names it (GOARCH). */
static const char *machine_arch(void)
{
	static char buf[sizeof(((struct utsname *)0)->machine)];
	static const struct {
		const char *uname, *oci;
	} map[] = {{"x86_64", "amd64"}, {"aarch64", "arm64"},	{"armv7l", "arm"},     {"armv6l", "arm"},
		   {"i686", "386"},	{"i586", "386"},	{"i386", "386"},       {"ppc64le", "ppc64le"},
		   {"s390x", "s390x"},	{"riscv64", "riscv64"}, {"mips64", "mips64le"}};
	struct utsname u;
	if (uname(&u) < 0)
		return "unknown";
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(u.machine, map[i].uname) == 0)
			return map[i].oci;
	snprintf(buf, sizeof buf, "%s", u.machine);
	return buf;
}

/* ---------------------------------------------------------------------------------------------- */
/* Reading a file through libarchive, hashing what is read.                                         */

struct fdsrc {
	int fd;
	uint8_t *buf;
	struct sha256 *hash; /* every byte read, when not NULL */
	uint64_t n;	     /* bytes read */
	uint64_t *counter;   /* progress: bytes read are added here too, when not NULL */
};

static la_ssize_t fdsrc_read(struct archive *a, void *data, const void **buf)
{
	struct fdsrc *s = data;
	for (;;) {
		ssize_t r = read(s->fd, s->buf, READ_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			LA(archive_set_error)(a, errno, "read");
			return -1;
		}
		if (s->hash)
			sha256_update(s->hash, s->buf, (size_t)r);
		s->n += (uint64_t)r;
		if (s->counter)
			__atomic_fetch_add(s->counter, (uint64_t)r, __ATOMIC_RELAXED);
		*buf = s->buf;
		return r;
	}
}

/* Lets libarchive skip the data of entries it is not asked for (an image tar's blobs, while only
 * its names are looked at) without reading them. */
static la_int64_t fdsrc_seek(struct archive *a, void *data, la_int64_t off, int whence)
{
	struct fdsrc *s = data;
	off_t r = lseek(s->fd, off, whence);
	if (r < 0) {
		LA(archive_set_error)(a, errno, "seek");
		return ARCHIVE_FATAL;
	}
	return r;
}

/* The rest of the file after libarchive saw the end of the archive: the digest covers all of it. */
static int fdsrc_drain(struct fdsrc *s)
{
	for (;;) {
		ssize_t r = read(s->fd, s->buf, READ_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (s->hash)
			sha256_update(s->hash, s->buf, (size_t)r);
		s->n += (uint64_t)r;
		if (s->counter)
			__atomic_fetch_add(s->counter, (uint64_t)r, __ATOMIC_RELAXED);
	}
}

/* A tar reader (possibly compressed: the caller checked which compression) on src from its fd's
 * current position. NULL with err set. */
static struct archive *tar_open(struct fdsrc *src, bool seekable, struct aj_err *err)
{
	struct archive *a = LA(archive_read_new)();
	if (!a) {
		aj_fail(err, ENOMEM, "libarchive");
		return NULL;
	}
	LA(archive_read_support_filter_all)(a);
	LA(archive_read_support_format_tar)(a);
	/* An empty layer is a layer that adds nothing. */
	LA(archive_read_support_format_empty)(a);
	LA(archive_read_set_callback_data)(a, src);
	LA(archive_read_set_read_callback)(a, fdsrc_read);
	if (seekable)
		LA(archive_read_set_seek_callback)(a, fdsrc_seek);
	if (LA(archive_read_open1)(a) != ARCHIVE_OK) {
		lazy_archive_fail(err, a, "not a tar archive");
		LA(archive_read_free)(a);
		return NULL;
	}
	return a;
}

/* ---------------------------------------------------------------------------------------------- */
/* What is an image: the member names of image archives, and the look of a root tree.               */

enum member {
	MEMBER_FOREIGN = -1, /* no image archive has this: the tar is something else (a rootfs) */
	MEMBER_SKIP = 0,     /* an image archive's, not needed (directories, symlinks, other algorithms) */
	MEMBER_COPY = 1,     /* an image archive's file, copied into the scratch directory */
};

static bool is_meta_name(const char *n)
{
	return strcmp(n, "oci-layout") == 0 || strcmp(n, "index.json") == 0 || strcmp(n, "manifest.json") == 0 ||
	       strcmp(n, "repositories") == 0;
}

/* n: a cleaned entry name (archive_path_clean); regular: a regular file that is no hard link. */
static enum member member_kind(const char *n, bool regular, bool dir)
{
	if (!*n)
		return MEMBER_SKIP; /* "./" */
	if (is_meta_name(n))
		return regular ? MEMBER_COPY : MEMBER_SKIP;
	if (strcmp(n, "blobs") == 0)
		return MEMBER_SKIP;
	if (str_has_prefix(n, "blobs/")) {
		const char *alg = n + 6, *slash = strchr(alg, '/');
		if (!slash)
			return MEMBER_SKIP; /* blobs/<algorithm> */
		if (strchr(slash + 1, '/'))
			return MEMBER_FOREIGN;
		if (slash - alg == 6 && strncmp(alg, "sha256", 6) == 0 && is_hex64(slash + 1, strlen(slash + 1)))
			return regular ? MEMBER_COPY : MEMBER_SKIP;
		return MEMBER_SKIP; /* another algorithm, or not a digest: never read */
	}
	const char *slash = strchr(n, '/');
	size_t len = strlen(n);
	if (!slash) {
		if (is_hex64(n, len))
			return dir ? MEMBER_SKIP : MEMBER_FOREIGN; /* docker's <id>/ */
		if ((len == 69 && strcmp(n + 64, ".json") == 0) || (len == 68 && strcmp(n + 64, ".tar") == 0))
			return is_hex64(n, 64) ? (regular ? MEMBER_COPY : MEMBER_SKIP) : MEMBER_FOREIGN;
		return MEMBER_FOREIGN;
	}
	const char *leaf = slash + 1;
	if (is_hex64(n, (size_t)(slash - n)) &&
	    (strcmp(leaf, "layer.tar") == 0 || strcmp(leaf, "json") == 0 || strcmp(leaf, "VERSION") == 0))
		return regular ? MEMBER_COPY : MEMBER_SKIP;
	return MEMBER_FOREIGN;
}

/* A docker-archive manifest.json: a non-empty array of objects, each with a Config and Layers. */
static bool docker_manifest_ok(const struct json *j)
{
	if (!j || j->type != JSON_ARRAY || j->n == 0)
		return false;
	for (size_t i = 0; i < j->n; i++) {
		const struct json *e = &j->items[i];
		if (!json_get_string(e, "Config") || !json_get(e, "Layers") ||
		    json_get(e, "Layers")->type != JSON_ARRAY)
			return false;
	}
	return true;
}

static bool docker_manifest_text_ok(const char *text, size_t len)
{
	struct aj_err ignored = {0};
	struct json *j = json_parse(text, len, &json_lim, &ignored);
	bool ok = docker_manifest_ok(j);
	json_free(j);
	return ok;
}

enum kind {
	KIND_NONE,
	KIND_OCI,    /* oci-layout: read through index.json */
	KIND_DOCKER, /* manifest.json of docker save */
};

/* Directories at the top of a root tree, which no image layout has. */
static const char *const rootfs_dirs[] = {"etc", "bin", "sbin", "usr", "lib", "var", "dev", "proc", "root", "tmp"};

static enum kind detect_dir(int dfd)
{
	struct stat st;
	for (size_t i = 0; i < sizeof rootfs_dirs / sizeof rootfs_dirs[0]; i++)
		if (fstatat(dfd, rootfs_dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			return KIND_NONE;
	if (fstatat(dfd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return KIND_OCI;
	cleanup_free char *text = read_file_untrusted(dfd, "manifest.json", OCI_JSON_MAX);
	if ((text && docker_manifest_text_ok(text, strlen(text))) || (!text && errno == EFBIG))
		return KIND_DOCKER;
	return KIND_NONE;
}

/* A tar is an image when every member has an image archive's name, with an oci-layout or a valid
 * manifest.json among them. Only headers are read (the blobs are skipped, by seeking when the tar
 * is not compressed); the first foreign name ends the look. Anything libarchive cannot read is no
 * image either: archive_import then says what is wrong with it. */
static enum kind detect_tar(int fd)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return KIND_NONE;
	struct aj_err ignored = {0};
	cleanup_free uint8_t *buf = xmalloc(READ_BUF);
	struct fdsrc src = {.fd = fd, .buf = buf};
	struct archive *a = tar_open(&src, true, &ignored);
	if (!a)
		return KIND_NONE;
	bool layout = false, manifest_ok = false, manifest_big = false, any = false;
	enum kind kind = KIND_NONE;
	cleanup_free char *clean = NULL;
	for (;;) {
		struct archive_entry *e;
		int r = LA(archive_read_next_header)(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN)
			goto out;
		const char *name = LA(archive_entry_pathname)(e);
		if (!name)
			goto out;
		free(clean);
		clean = xmalloc(strlen(name) + 1);
		if (!archive_path_clean(name, clean))
			goto out;
		mode_t type = LA(archive_entry_filetype)(e);
		bool regular = type == AE_IFREG && !LA(archive_entry_hardlink)(e);
		enum member m = member_kind(clean, regular, type == AE_IFDIR);
		if (m == MEMBER_FOREIGN)
			goto out;
		any = true;
		if (strcmp(clean, "oci-layout") == 0)
			layout = true;
		if (strcmp(clean, "manifest.json") == 0 && regular && !manifest_ok) {
			int64_t size = LA(archive_entry_size)(e);
			/* Too big to be read: an image all the same (every name is an image's), which
			 * the import then refuses for it. */
			manifest_big |= size > 0 && (uint64_t)size > OCI_JSON_MAX;
			if (size <= 0 || (uint64_t)size > OCI_JSON_MAX)
				continue;
			cleanup_free char *text = xmalloc((size_t)size);
			size_t got = 0;
			while (got < (size_t)size) {
				la_ssize_t r1 = LA(archive_read_data)(a, text + got, (size_t)size - got);
				if (r1 <= 0)
					break;
				got += (size_t)r1;
			}
			if (got == (size_t)size)
				manifest_ok = docker_manifest_text_ok(text, (size_t)size);
		}
	}
	if (any && layout)
		kind = KIND_OCI;
	else if (any && (manifest_ok || manifest_big))
		kind = KIND_DOCKER;
out:
	LA(archive_read_free)(a);
	return kind;
}

/* ---------------------------------------------------------------------------------------------- */
/* A tar image: its members, once, into a private scratch directory.                               */

static int copy_fail(int e, struct aj_err *err)
{
	if (e == ENOSPC || e == EDQUOT)
		return aj_fail(err, e,
			       "disk full while copying the image into the store (this needs the image's size "
			       "again, for a while)");
	return aj_fail(err, e, "copy the image into the store's scratch directory");
}

/* The digest a member's name gives ("blobs/sha256/<hex>", "<hex>.tar", "<hex>.json"), or NULL. */
static const char *name_digest(const char *clean)
{
	if (str_has_prefix(clean, "blobs/sha256/"))
		return clean + 13;
	if (!strchr(clean, '/') && strlen(clean) > 64 && clean[64] == '.')
		return clean;
	return NULL;
}

/* One member (clean: its cleaned name, which member_kind copies) into scratch. Hashed on the way:
 * a member whose bytes have the digest its name gives goes into *verified, and is not hashed again
 * when it is read from the scratch copy (private to this import, in the store). */
static int copy_one(struct archive *a, struct archive_entry *e, int scratch, char *clean, struct output_progress *prog,
		    const uint64_t *done, uint64_t total, char ***verified, struct aj_err *err)
{
	struct sha256 h;
	sha256_init(&h);
	bool contiguous = true;
	/* The one level of directory a member may have: blobs/sha256/ or docker's <id>/. */
	cleanup_close int dfd = -1;
	const char *leaf = clean;
	char *slash = strrchr(clean, '/');
	if (slash) {
		*slash = '\0';
		leaf = slash + 1;
		int r = 0;
		if (str_has_prefix(clean, "blobs/") && mkdirat(scratch, "blobs", 0700) < 0 && errno != EEXIST)
			r = -1;
		if (r == 0 && mkdirat(scratch, clean, 0700) < 0 && errno != EEXIST)
			r = -1;
		if (r == 0)
			dfd = open_untrusted(scratch, clean, O_PATH | O_DIRECTORY);
		int e0 = errno;
		*slash = '/';
		if (r < 0 || dfd < 0)
			return copy_fail(e0, err);
	}
	cleanup_close int out =
	    openat(slash ? dfd : scratch, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0 && errno == EEXIST) {
		cleanup_free char *esc = util_escape(clean);
		return aj_fail(err, 0, "the image holds '%s' twice: it is corrupt", esc);
	}
	if (out < 0)
		return copy_fail(errno, err);
	int64_t end = 0;
	for (;;) {
		const void *blk;
		size_t size;
		la_int64_t off;
		int r = LA(archive_read_data_block)(a, &blk, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			cleanup_free char *esc = util_escape(clean);
			return lazy_archive_fail(err, a, "read '%s' of the image", esc);
		}
		if (size && pwrite_all(out, blk, size, off) < 0)
			return copy_fail(errno, err);
		/* A sparse member (none of the tools that write images makes one) is simply not hashed
		 * here: its reader does it. */
		if (off != end)
			contiguous = false;
		if (contiguous)
			sha256_update(&h, blk, size);
		if (off + (int64_t)size > end)
			end = off + (int64_t)size;
		output_progress_update(prog, __atomic_load_n(done, __ATOMIC_RELAXED), total, 0);
	}
	int64_t want = LA(archive_entry_size)(e);
	if (want > end && ftruncate(out, want) < 0)
		return copy_fail(errno, err);
	int r = close(out);
	out = -1;
	if (r < 0 && errno != EINTR)
		return copy_fail(errno, err);
	const char *named = name_digest(clean);
	if (named && contiguous && want <= end) {
		uint8_t md[SHA256_LEN];
		char got[SHA256_HEX_LEN + 1];
		sha256_final(&h, md);
		for (int i = 0; i < SHA256_LEN; i++)
			snprintf(got + 2 * i, 3, "%02x", md[i]);
		if (strncmp(got, named, SHA256_HEX_LEN) == 0)
			strv_push(verified, xstrdup(clean));
	}
	return 0;
}

/* Copy the image members of the tar at fd into scratch (an empty directory). Only regular files of
 * the names member_kind copies; their names are fixed forms (hex digests, a few words), so no member
 * can name a path outside scratch, and each is created new (O_EXCL: a member given twice is refused,
 * so which copy counts is never a question). */
static int copy_members(int fd, int scratch, const char *label, bool progress, char ***verified, struct aj_err *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return aj_fail(err, errno, "seek");
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return aj_fail(err, errno, "stat");
	uint64_t done = 0;
	cleanup_free uint8_t *buf = xmalloc(READ_BUF);
	struct fdsrc src = {.fd = fd, .buf = buf, .counter = &done};
	struct archive *a = tar_open(&src, false, err);
	if (!a)
		return -1;
	struct output_progress prog;
	output_progress_start(&prog, progress, "reading", label);
	int ret = -1;
	cleanup_free char *clean = NULL;
	for (;;) {
		struct archive_entry *e;
		int r = LA(archive_read_next_header)(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN) {
			lazy_archive_fail(err, a, "read the image");
			goto out;
		}
		const char *name = LA(archive_entry_pathname)(e);
		if (!name)
			continue;
		free(clean);
		clean = xmalloc(strlen(name) + 1);
		if (!archive_path_clean(name, clean))
			continue;
		mode_t type = LA(archive_entry_filetype)(e);
		bool regular = type == AE_IFREG && !LA(archive_entry_hardlink)(e);
		if (member_kind(clean, regular, type == AE_IFDIR) != MEMBER_COPY)
			continue;
		if (copy_one(a, e, scratch, clean, &prog, &done, (uint64_t)sb.st_size, verified, err) < 0)
			goto out;
	}
	ret = 0;
out:
	output_progress_done(&prog);
	LA(archive_read_free)(a);
	return ret;
}

/* ---------------------------------------------------------------------------------------------- */
/* The image: which manifest, which layers, which config.                                           */

struct layer_ref {
	char *path;		      /* beneath the layout directory */
	char hex[SHA256_HEX_LEN + 1]; /* the sha256 the file must have */
	int64_t size;		      /* its size, -1 when nothing says */
	char *media;		      /* its media type; NULL when nothing says (docker-archive) */
	bool verified;		      /* hashed already, when the image's tar was copied (copy_one) */
};

struct image {
	int dirfd; /* the layout (a user's directory, or our scratch copy of a tar) */
	struct layer_ref *layers;
	size_t n;
	struct json *config;
	char digest[SHA256_HEX_LEN + 1]; /* the manifest's (OCI) or the config's (docker: the image ID) */
	char *ref;			 /* a name it was saved under, or NULL */
	char **verified;		 /* members of a tar image whose digest was checked as they were copied */
};

static void image_release(struct image *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->layers[i].path);
		free(im->layers[i].media);
	}
	free(im->layers);
	json_free(im->config);
	free(im->ref);
	strv_free(im->verified);
	memset(im, 0, sizeof *im);
}

/* "what (rel)" for messages, or rel alone when what is rel. */
static const char *describe(const char *what, const char *rel, char *buf, size_t n)
{
	if (strcmp(what, rel) == 0)
		return rel;
	snprintf(buf, n, "%s (%s)", what, rel);
	return buf;
}

/* Why rel (what) could not be opened, errno set by open_untrusted. */
static int open_fail(const char *what, const char *rel, struct aj_err *err)
{
	int e = errno;
	char buf[256];
	const char *d = describe(what, rel, buf, sizeof buf);
	if (e == ENOENT)
		return aj_fail(err, 0, "%s is missing from the image", d);
	if (e == ELOOP)
		return aj_fail(err, 0, "%s is a symbolic link or lies beneath one; ajail reads only regular files", d);
	if (e == EXDEV)
		return aj_fail(err, 0, "%s is on another filesystem or leaves the image's directory", d);
	if (e == ENOTDIR)
		return aj_fail(err, 0, "%s lies beneath something that is not a directory", d);
	return aj_fail(err, e, "%s", d);
}

/* Open rel beneath the layout: a regular file, of size bytes when size >= 0. */
static int blob_open(int dirfd, const char *rel, const char *what, int64_t size, struct aj_err *err)
{
	int fd = open_untrusted(dirfd, rel, O_RDONLY);
	if (fd < 0)
		return open_fail(what, rel, err);
	struct stat st;
	char buf[256];
	const char *d = describe(what, rel, buf, sizeof buf);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return aj_fail(err, errno, "%s", d);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return aj_fail(err, 0, "%s is not a regular file", d);
	}
	if (size >= 0 && st.st_size != size) {
		close(fd);
		return aj_fail(err, 0,
			       "%s has %lld bytes where the image says %lld: the image is corrupt; fetch it again", d,
			       (long long)st.st_size, (long long)size);
	}
	return fd;
}

/* A JSON file of the image, at most OCI_JSON_MAX bytes, checked against hex when given. */
static struct json *read_json(int dirfd, const char *rel, const char *what, const char *hex, int64_t size,
			      struct aj_err *err)
{
	char buf[256];
	const char *d = describe(what, rel, buf, sizeof buf);
	if (size > (int64_t)OCI_JSON_MAX) {
		aj_fail(err, 0, "%s is larger than %zu MiB, more than ajail reads", d, OCI_JSON_MAX >> 20);
		return NULL;
	}
	cleanup_close int fd = blob_open(dirfd, rel, what, size, err);
	if (fd < 0)
		return NULL;
	size_t len;
	cleanup_free char *text = read_open_file(fd, OCI_JSON_MAX, &len);
	if (!text) {
		if (errno == EFBIG)
			aj_fail(err, 0, "%s is larger than %zu MiB, more than ajail reads", d, OCI_JSON_MAX >> 20);
		else
			aj_fail(err, errno, "%s: read", d);
		return NULL;
	}
	if (hex) {
		char got[SHA256_HEX_LEN + 1];
		sha256_hex(text, len, got);
		if (strcmp(got, hex) != 0) {
			aj_fail(err, 0, "%s: digest mismatch: the image is corrupt; fetch it again", d);
			return NULL;
		}
	}
	struct json *j = json_parse(text, len, &json_lim, err);
	if (!j) {
		aj_err_wrap(err, "%s is not valid JSON", d);
		return NULL;
	}
	if (j->type != JSON_OBJECT && j->type != JSON_ARRAY) {
		aj_fail(err, 0, "%s is a JSON %s, not an object", d, json_type_name(j->type));
		json_free(j);
		return NULL;
	}
	return j;
}

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

static bool is_manifest_type(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0);
}

/* The "os/architecture[/variant]" of a descriptor's platform, or NULL. Caller frees. */
static char *platform_of(const struct json *desc)
{
	const struct json *p = json_get(desc, "platform");
	const char *os = json_get_string(p, "os"), *arch = json_get_string(p, "architecture");
	if (!os || !arch)
		return NULL;
	const char *variant = json_get_string(p, "variant");
	return variant ? xasprintf("%s/%s/%s", os, arch, variant) : xasprintf("%s/%s", os, arch);
}

static const char *ref_name(const struct json *desc)
{
	const struct json *ann = json_get(desc, "annotations");
	const char *r = json_get_string(ann, "org.opencontainers.image.ref.name");
	return r ? r : json_get_string(ann, "io.containerd.image.name");
}

/* Not an image of its own: buildx's attestation manifests, which sit beside the images in an index
 * with the platform unknown/unknown. */
static bool is_attestation(const struct json *desc)
{
	const char *t = json_get_string(json_get(desc, "annotations"), "vnd.docker.reference.type");
	if (t && strcmp(t, "attestation-manifest") == 0)
		return true;
	const struct json *p = json_get(desc, "platform");
	const char *os = json_get_string(p, "os"), *arch = json_get_string(p, "architecture");
	return os && arch && strcmp(os, "unknown") == 0 && strcmp(arch, "unknown") == 0;
}

/* Which of an index's manifests: the only one, else the one for this machine (linux and its
 * architecture); several images that are not the platforms of one are refused, naming them. */
static int pick_manifest(const struct json *idx, const char *what, const struct json **out, struct aj_err *err)
{
	int64_t v;
	if (idx->type != JSON_OBJECT)
		return aj_fail(err, 0, "%s is not a JSON object: not an image index", what);
	if (!json_int(json_get(idx, "schemaVersion"), &v) || v != 2)
		return aj_fail(err, 0, "%s: schemaVersion is not 2: not an image index ajail reads", what);
	const struct json *ms = json_get(idx, "manifests");
	if (!ms || ms->type != JSON_ARRAY)
		return aj_fail(err, 0, "%s has no list of manifests: not an image index", what);
	size_t n = json_len(ms), cand = 0;
	const struct json *only = NULL, *match = NULL;
	const char *arch = machine_arch();
	bool differ = false;
	for (size_t i = 0; i < n; i++) {
		const struct json *d = json_at(ms, i);
		if (d->type != JSON_OBJECT)
			return aj_fail(err, 0, "%s: manifest %zu is not an object: the image is corrupt", what, i + 1);
		if (is_attestation(d))
			continue;
		cand++;
		only = d;
		const struct json *p = json_get(d, "platform");
		const char *os = json_get_string(p, "os"), *a = json_get_string(p, "architecture");
		if (os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0) {
			if (!match)
				match = d;
			else if (json_get_string(d, "digest") && json_get_string(match, "digest") &&
				 strcmp(json_get_string(d, "digest"), json_get_string(match, "digest")) != 0 &&
				 !json_get_string(p, "variant"))
				differ = true;
		}
	}
	if (cand == 0)
		return aj_fail(err, 0, "%s lists no image", what);
	if (cand == 1) {
		*out = only;
		return 0;
	}
	if (match && !differ) {
		*out = match;
		return 0;
	}
	/* Say what there is: platforms, else names. */
	cleanup_strv char **list = NULL;
	bool platforms = false;
	for (size_t i = 0; i < n && strv_len(list) < 16; i++) {
		const struct json *d = json_at(ms, i);
		if (is_attestation(d))
			continue;
		char *p = platform_of(d);
		const char *r = ref_name(d);
		platforms |= p != NULL;
		char *item = p && r ? xasprintf("%s (%s)", r, p) : p ? p : xstrdup(r ? r : "unnamed");
		if (item != p)
			free(p);
		char *esc = util_escape(item);
		free(item);
		strv_push(&list, esc);
	}
	cleanup_free char *joined = strv_join(list, ", ");
	if (platforms && !match)
		return aj_fail(err, 0, "%s has no image for this machine (linux/%s), only for %s%s", what, arch, joined,
			       cand > 16 ? ", ..." : "");
	return aj_fail(err, 0,
		       "%s lists %zu images (%s%s); ajail imports an image archive or layout of one: save or copy just "
		       "the one you want",
		       what, cand, joined, cand > 16 ? ", ..." : "");
}

static int layer_type_check(const char *mt, size_t i, size_t n, struct aj_err *err)
{
	for (size_t k = 0; k < sizeof layer_types / sizeof layer_types[0]; k++)
		if (strcmp(mt, layer_types[k]) == 0)
			return 0;
	cleanup_free char *esc = util_escape(mt);
	const char *why =
	    strstr(mt, "foreign") || strstr(mt, "nondistributable")
		? "a foreign layer, which is not in the image; ajail imports images that hold all their layers"
	    : strstr(mt, "encrypted") ? "an encrypted layer: decrypt the image first (skopeo copy --decryption-key)"
				      : "not a layer ajail knows";
	return aj_fail(err, 0, "layer %zu of %zu has media type '%.200s': %s", i + 1, n, esc, why);
}

/* An OCI image layout: oci-layout, index.json, then (through nested indexes, at most
 * OCI_MAX_NESTING) one manifest and its config. */
static int read_oci(struct image *im, struct aj_err *err)
{
	struct json *lay = read_json(im->dirfd, "oci-layout", "the oci-layout file", NULL, -1, err);
	if (!lay)
		return -1;
	const char *ver = json_get_string(lay, "imageLayoutVersion");
	bool ok = ver && str_has_prefix(ver, "1.");
	cleanup_free char *ever = ver ? util_escape(ver) : NULL;
	json_free(lay);
	if (!ok)
		return aj_fail(
		    err, 0, "oci-layout: imageLayoutVersion %s%.40s%s is not 1.x: not an OCI image layout ajail reads",
		    ever ? "'" : "", ever ? ever : "(missing)", ever ? "'" : "");

	struct json *idx[OCI_MAX_NESTING + 1] = {0};
	struct json *man = NULL;
	int ret = -1;
	const struct json *desc;
	cleanup_free char *cpath = NULL;
	char what[160], hex[SHA256_HEX_LEN + 1], sd[32];
	idx[0] = read_json(im->dirfd, "index.json", "index.json", NULL, -1, err);
	if (!idx[0] || pick_manifest(idx[0], "index.json", &desc, err) < 0)
		goto out;
	const char *ref = ref_name(desc);
	if (ref)
		im->ref = xstrdup(ref);
	for (int depth = 0;; depth++) {
		const char *mt = json_get_string(desc, "mediaType");
		int64_t size;
		if (!json_int(json_get(desc, "size"), &size) || size < 0) {
			aj_fail(err, 0, "%s: a descriptor without a valid size: the image is corrupt",
				depth ? what : "index.json");
			goto out;
		}
		if (digest_parse(json_get_string(desc, "digest"), hex, depth ? what : "index.json", err) < 0)
			goto out;
		short_digest(hex, sd);
		cleanup_free char *path = xasprintf("blobs/sha256/%s", hex);
		if (is_index_type(mt)) {
			if (depth == OCI_MAX_NESTING) {
				aj_fail(err, 0, "image indexes nested deeper than %d levels: not an image ajail reads",
					OCI_MAX_NESTING);
				goto out;
			}
			snprintf(what, sizeof what, "the image index %s", sd);
			idx[depth + 1] = read_json(im->dirfd, path, what, hex, size, err);
			if (!idx[depth + 1] || pick_manifest(idx[depth + 1], what, &desc, err) < 0)
				goto out;
			if (!im->ref && ref_name(desc))
				im->ref = xstrdup(ref_name(desc));
			continue;
		}
		if (!is_manifest_type(mt)) {
			cleanup_free char *emt = mt ? util_escape(mt) : NULL;
			aj_fail(err, 0,
				"the image's manifest %s has media type %s%.200s%s, not an image manifest ajail reads",
				sd, emt ? "'" : "", emt ? emt : "(none)", emt ? "'" : "");
			goto out;
		}
		snprintf(what, sizeof what, "the manifest %s", sd);
		memcpy(im->digest, hex, sizeof hex);
		man = read_json(im->dirfd, path, what, hex, size, err);
		if (!man)
			goto out;
		break;
	}

	int64_t v;
	if (man->type != JSON_OBJECT || !json_int(json_get(man, "schemaVersion"), &v) || v != 2) {
		aj_fail(err, 0, "%s: schemaVersion is not 2: not an image manifest ajail reads", what);
		goto out;
	}
	const char *mmt = json_get_string(man, "mediaType");
	if (mmt && !is_manifest_type(mmt)) {
		cleanup_free char *e = util_escape(mmt);
		aj_fail(err, 0, "%s has media type '%.200s', not an image manifest", what, e);
		goto out;
	}
	const struct json *cfg = json_get(man, "config");
	const char *cmt = json_get_string(cfg, "mediaType");
	if (!cmt || (strcmp(cmt, MT_OCI_CONFIG) != 0 && strcmp(cmt, MT_DOCKER_CONFIG) != 0)) {
		cleanup_free char *e = cmt ? util_escape(cmt) : NULL;
		aj_fail(err, 0, "%s: its config has media type %s%.200s%s: not a container image (an artifact?)", what,
			e ? "'" : "", e ? e : "(none)", e ? "'" : "");
		goto out;
	}
	int64_t csize;
	if (!json_int(json_get(cfg, "size"), &csize) || csize < 0) {
		aj_fail(err, 0, "%s: the config's descriptor has no valid size: the image is corrupt", what);
		goto out;
	}
	char chex[SHA256_HEX_LEN + 1];
	if (digest_parse(json_get_string(cfg, "digest"), chex, "the image's config", err) < 0)
		goto out;
	cpath = xasprintf("blobs/sha256/%s", chex);
	im->config = read_json(im->dirfd, cpath, "the image's config", chex, csize, err);
	if (!im->config)
		goto out;

	const struct json *layers = json_get(man, "layers");
	if (!layers || layers->type != JSON_ARRAY) {
		aj_fail(err, 0, "%s has no list of layers: the image is corrupt", what);
		goto out;
	}
	size_t n = layers->n;
	if (n == 0) {
		aj_fail(err, 0, "the image has no layers: there is nothing to import");
		goto out;
	}
	if (n > OCI_MAX_LAYERS) {
		aj_fail(err, 0, "the image has %zu layers, more than the %d ajail imports", n, OCI_MAX_LAYERS);
		goto out;
	}
	im->layers = xcalloc(n, sizeof *im->layers);
	for (size_t i = 0; i < n; i++) {
		const struct json *l = &layers->items[i];
		const char *mt = json_get_string(l, "mediaType");
		if (!mt) {
			aj_fail(err, 0, "layer %zu of %zu has no media type: the image is corrupt", i + 1, n);
			goto out;
		}
		if (layer_type_check(mt, i, n, err) < 0)
			goto out;
		struct layer_ref *L = &im->layers[im->n];
		char lwhat[64];
		snprintf(lwhat, sizeof lwhat, "layer %zu of %zu", i + 1, n);
		if (digest_parse(json_get_string(l, "digest"), L->hex, lwhat, err) < 0)
			goto out;
		if (!json_int(json_get(l, "size"), &L->size) || L->size < 0) {
			aj_fail(err, 0, "%s has no valid size: the image is corrupt", lwhat);
			goto out;
		}
		L->path = xasprintf("blobs/sha256/%s", L->hex);
		L->media = xstrdup(mt);
		im->n++;
	}
	ret = 0;
out:
	for (int i = 0; i <= OCI_MAX_NESTING; i++)
		json_free(idx[i]);
	json_free(man);
	return ret;
}

/* Where docker archives keep a file, from manifest.json's name for it: "blobs/sha256/<hex>"
 * (docker 25 and later), "<hex>.json"/"<hex>.tar" (podman's and older docker's), "<id>/layer.tar"
 * (docker before 25; its <id> is no digest of the file). *hex gets the digest the name gives, ""
 * for <id>/layer.tar. Anything else is refused: a name in manifest.json never becomes an arbitrary
 * path. */
static bool docker_path(const char *p, const char *ext, char hex[SHA256_HEX_LEN + 1], bool *legacy)
{
	size_t n = strlen(p), e = strlen(ext);
	*legacy = false;
	hex[0] = '\0';
	if (str_has_prefix(p, "blobs/sha256/") && is_hex64(p + 13, n - 13)) {
		memcpy(hex, p + 13, SHA256_HEX_LEN + 1);
		return true;
	}
	if (n == 64 + e && strcmp(p + 64, ext) == 0 && is_hex64(p, 64)) {
		memcpy(hex, p, 64);
		hex[64] = '\0';
		return true;
	}
	if (strcmp(ext, ".tar") == 0 && n == 64 + 10 && strcmp(p + 64, "/layer.tar") == 0 && is_hex64(p, 64)) {
		*legacy = true;
		return true;
	}
	return false;
}

static int read_docker(struct image *im, struct aj_err *err)
{
	struct json *mf = read_json(im->dirfd, "manifest.json", "manifest.json", NULL, -1, err);
	if (!mf)
		return -1;
	int ret = -1;
	if (!docker_manifest_ok(mf)) {
		aj_fail(err, 0,
			"manifest.json is not a docker-archive manifest (a list of images with Config and Layers)");
		goto out;
	}
	if (mf->n > 1) {
		cleanup_strv char **names = NULL;
		for (size_t i = 0; i < mf->n && i < 16; i++) {
			const char *t = json_string(json_at(json_get(&mf->items[i], "RepoTags"), 0));
			strv_push(&names, util_escape(t ? t : "untagged"));
		}
		cleanup_free char *joined = strv_join(names, ", ");
		aj_fail(err, 0,
			"manifest.json lists %zu images (%s%s); ajail imports an archive of one: save just the one you "
			"want",
			mf->n, joined, mf->n > 16 ? ", ..." : "");
		goto out;
	}
	const struct json *e = &mf->items[0];
	const char *t = json_string(json_at(json_get(e, "RepoTags"), 0));
	if (t)
		im->ref = xstrdup(t);
	const char *cpath = json_get_string(e, "Config");
	bool legacy;
	char chex[SHA256_HEX_LEN + 1];
	if (!docker_path(cpath, ".json", chex, &legacy)) {
		cleanup_free char *esc = util_escape(cpath);
		aj_fail(err, 0, "manifest.json names the config '%.200s', which is not where a docker archive keeps it",
			esc);
		goto out;
	}
	memcpy(im->digest, chex, sizeof chex);
	im->config = read_json(im->dirfd, cpath, "the image's config", chex, -1, err);
	if (!im->config)
		goto out;
	const struct json *diff_ids = json_get(json_get(im->config, "rootfs"), "diff_ids");
	const struct json *layers = json_get(e, "Layers");
	size_t n = layers->n;
	if (n == 0) {
		aj_fail(err, 0, "the image has no layers: there is nothing to import");
		goto out;
	}
	if (n > OCI_MAX_LAYERS) {
		aj_fail(err, 0, "the image has %zu layers, more than the %d ajail imports", n, OCI_MAX_LAYERS);
		goto out;
	}
	im->layers = xcalloc(n, sizeof *im->layers);
	for (size_t i = 0; i < n; i++) {
		const char *p = json_string(&layers->items[i]);
		struct layer_ref *L = &im->layers[im->n];
		if (!p || !docker_path(p, ".tar", L->hex, &legacy)) {
			cleanup_free char *esc = p ? util_escape(p) : xstrdup("(not a string)");
			aj_fail(
			    err, 0,
			    "manifest.json names layer %zu '%.200s', which is not where a docker archive keeps layers",
			    i + 1, esc);
			goto out;
		}
		if (legacy) {
			/* <id>/layer.tar: the config's diff_ids say what the (uncompressed) file is. */
			char lwhat[64];
			snprintf(lwhat, sizeof lwhat, "the config's diff_id of layer %zu of %zu", i + 1, n);
			if (json_len(diff_ids) != n) {
				aj_fail(err, 0,
					"the image's config lists %zu diff_ids for %zu layers: the image is corrupt",
					json_len(diff_ids), n);
				goto out;
			}
			if (digest_parse(json_string(json_at(diff_ids, i)), L->hex, lwhat, err) < 0)
				goto out;
		}
		L->path = xstrdup(p);
		L->size = -1;
		im->n++;
	}
	ret = 0;
out:
	json_free(mf);
	return ret;
}

/* ---------------------------------------------------------------------------------------------- */
/* The image's config into the rootfs's metadata.                                                   */

static int config_strv(const struct json *c, const char *key, char ***out, size_t *total, struct aj_err *err)
{
	const struct json *v = json_get(c, key);
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_ARRAY)
		return aj_fail(err, 0, "the image's config: %s is a %s, not a list of strings", key,
			       json_type_name(v->type));
	char **list = xcalloc(1, sizeof *list);
	for (size_t i = 0; i < v->n; i++) {
		const char *s = json_string(&v->items[i]);
		if (!s) {
			strv_free(list);
			return aj_fail(err, 0, "the image's config: %s holds a %s, not only strings", key,
				       json_type_name(v->items[i].type));
		}
		*total += strlen(s) + 1;
		strv_push(&list, xstrdup(s));
	}
	*out = list;
	return 0;
}

static int config_str(const struct json *c, const char *key, char **out, size_t *total, struct aj_err *err)
{
	const struct json *v = json_get(c, key);
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STRING)
		return aj_fail(err, 0, "the image's config: %s is a %s, not a string", key, json_type_name(v->type));
	if (*v->str) {
		*out = xstrdup(v->str);
		*total += v->len;
	}
	return 0;
}

static int config_meta(const struct json *config, struct store_meta *m, char **platform, struct aj_err *err)
{
	if (config->type != JSON_OBJECT)
		return aj_fail(err, 0, "the image's config is not a JSON object: the image is corrupt");
	const char *os = json_get_string(config, "os"), *arch = json_get_string(config, "architecture");
	const char *variant = json_get_string(config, "variant");
	if (os && arch) {
		cleanup_free char *p =
		    variant ? xasprintf("%s/%s/%s", os, arch, variant) : xasprintf("%s/%s", os, arch);
		*platform = util_escape(p);
	}
	const struct json *c = json_get(config, "config");
	if (!c || c->type == JSON_NULL)
		return 0;
	if (c->type != JSON_OBJECT)
		return aj_fail(err, 0, "the image's config: config is a %s, not an object", json_type_name(c->type));
	size_t total = 0;
	if (config_strv(c, "Env", &m->env, &total, err) < 0 ||
	    config_strv(c, "Entrypoint", &m->entrypoint, &total, err) < 0 ||
	    config_strv(c, "Cmd", &m->cmd, &total, err) < 0 ||
	    config_str(c, "WorkingDir", &m->workdir, &total, err) < 0 ||
	    config_str(c, "User", &m->user, &total, err) < 0)
		return -1;
	if (total > CONFIG_META_MAX)
		return aj_fail(err, 0,
			       "the image's config (Env, Entrypoint, Cmd, WorkingDir, User) holds %zu bytes, more than "
			       "the %zu KiB ajail keeps",
			       total, CONFIG_META_MAX >> 10);
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Applying the layers: whiteouts, replacements, entries.                                           */

struct apply {
	struct xtract x;
	int root;
	struct aj_err *err;
	uint64_t whiteouts;
	uint64_t in_bytes; /* layer bytes read in pass 2, for the progress bar */
	char *clean;	   /* the current entry's name, cleaned */
	size_t clean_cap;
	char *wpath; /* a whiteout's target, cleaned */
	size_t wpath_cap;
	char *cache_path; /* make_way's last parent directory, and its fd */
	int cache_fd;
};

static void cache_drop(struct apply *ap)
{
	if (ap->cache_fd >= 0)
		close(ap->cache_fd);
	ap->cache_fd = -1;
	free(ap->cache_path);
	ap->cache_path = NULL;
}

/* Clean name into buf (grown as needed). false: a ".." component, it would leave the rootfs. */
static bool clean_into(const char *name, char **buf, size_t *cap)
{
	size_t n = strlen(name) + 1;
	if (n > *cap) {
		*buf = xrealloc(*buf, n);
		*cap = n;
	}
	return archive_path_clean(name, *buf);
}

/* Remove parent's entry leaf (a file, a symlink or a whole tree), never following anything. Nothing
 * there is fine: a whiteout may name what no lower layer has. */
static int remove_leaf(struct apply *ap, int pfd, const char *leaf, const char *path)
{
	struct stat st;
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : aj_fail(ap->err, errno, "'%s': stat", path);
	int r = S_ISDIR(st.st_mode) ? store_remove_tree(pfd, leaf) : unlinkat(pfd, leaf, 0);
	if (r < 0 && errno != ENOENT)
		return aj_fail(ap->err, errno, "remove '%s'", path);
	return 0;
}

/* The directory dir (cleaned; "" is the root) beneath the root, with flags; -1 with errno. Resolved
 * by openat2 from the root fd without following any symlink, "..", or mount: what a lower layer made
 * a symlink (ELOOP) holds nothing of this path. */
static int open_beneath(struct apply *ap, const char *dir, int flags)
{
	if (!*dir)
		return openat(ap->root, ".", flags | O_DIRECTORY | O_CLOEXEC);
	return open_untrusted(ap->root, dir, flags | O_DIRECTORY);
}

static bool nothing_there(int e)
{
	return e == ENOENT || e == ENOTDIR || e == ELOOP;
}

/* .wh.NAME: path (cleaned) goes, whatever it is. */
static int whiteout_path(struct apply *ap, char *path)
{
	char *slash = strrchr(path, '/');
	const char *leaf = path, *parent = "";
	if (slash) {
		*slash = '\0';
		parent = path;
		leaf = slash + 1;
	}
	int pfd = open_beneath(ap, parent, O_PATH);
	int e = errno;
	if (slash)
		*slash = '/';
	if (pfd < 0)
		return nothing_there(e) ? 0 : aj_fail(ap->err, e, "whiteout of '%s'", path);
	int r = remove_leaf(ap, pfd, leaf, path);
	close(pfd);
	return r;
}

/* .wh..wh..opq: everything the lower layers have in dir goes; dir stays. */
static int whiteout_opaque(struct apply *ap, const char *dir)
{
	int fd = open_beneath(ap, dir, O_RDONLY);
	if (fd < 0)
		return nothing_there(errno) ? 0 : aj_fail(ap->err, errno, "opaque directory '%s'", dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return aj_fail(ap->err, e, "opaque directory '%s'", dir);
	}
	/* The names first, then the removals: a directory is not changed while it is being read. */
	cleanup_strv char **names = NULL;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			strv_push(&names, xstrdup(de->d_name));
	int ret = 0;
	if (errno)
		ret = aj_fail(ap->err, errno, "opaque directory '%s': read", dir);
	for (size_t i = 0; ret == 0 && names && names[i]; i++) {
		cleanup_free char *path = *dir ? xasprintf("%s/%s", dir, names[i]) : xstrdup(names[i]);
		ret = remove_leaf(ap, dirfd(d), names[i], path);
	}
	closedir(d);
	return ret;
}

enum wh {
	WH_NONE,
	WH_FILE,   /* dir/.wh.NAME: *target = dir/NAME */
	WH_OPAQUE, /* dir/.wh..wh..opq: *target = dir */
	WH_META,   /* aufs's own .wh..wh.* (.wh..wh.plnk, .wh..wh.aufs): not part of the tree */
	WH_BAD,	   /* a whiteout that names nothing */
	WH_INSIDE, /* ".wh." inside a path */
};

/* What the cleaned entry name says; the target into ap->wpath. */
static enum wh whiteout_kind(struct apply *ap, const char *clean)
{
	const char *base = strrchr(clean, '/');
	base = base ? base + 1 : clean;
	/* A whiteout is a file: a name beneath one is no name an image has. */
	for (const char *p = clean; p < base; p = strchr(p, '/') + 1)
		if (str_has_prefix(p, ".wh."))
			return WH_INSIDE;
	if (!str_has_prefix(base, ".wh."))
		return WH_NONE;
	size_t dirlen = base > clean ? (size_t)(base - clean - 1) : 0;
	if (strcmp(base, ".wh..wh..opq") == 0) {
		cleanup_free char *dir = xstrndup(clean, dirlen);
		clean_into(dir, &ap->wpath, &ap->wpath_cap);
		return WH_OPAQUE;
	}
	if (str_has_prefix(base, ".wh..wh."))
		return WH_META;
	const char *victim = base + 4;
	if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return WH_BAD;
	cleanup_free char *t = dirlen ? xasprintf("%.*s/%s", (int)dirlen, clean, victim) : xstrdup(victim);
	if (!clean_into(t, &ap->wpath, &ap->wpath_cap) || !*ap->wpath)
		return WH_BAD;
	return WH_FILE;
}

/* Before a non-directory entry of an upper layer: a directory of the layers below in its place goes
 * first, whole (the writer itself replaces only empty ones, as tar does). */
static int make_way(struct apply *ap, const char *clean)
{
	const char *slash = strrchr(clean, '/');
	const char *leaf = slash ? slash + 1 : clean;
	size_t plen = slash ? (size_t)(slash - clean) : 0;
	int pfd = ap->root;
	if (plen) {
		if (!ap->cache_path || strlen(ap->cache_path) != plen || strncmp(ap->cache_path, clean, plen) != 0) {
			cache_drop(ap);
			ap->cache_path = xstrndup(clean, plen);
			ap->cache_fd = open_untrusted(ap->root, ap->cache_path, O_PATH | O_DIRECTORY);
		}
		if (ap->cache_fd < 0)
			return 0; /* no such directory yet (or not one): the writer makes it, or says what is wrong */
		pfd = ap->cache_fd;
	}
	struct stat st;
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (xtract_sync(&ap->x) < 0)
		return -1;
	if (store_remove_tree(pfd, leaf) < 0 && errno != ENOENT)
		return aj_fail(ap->err, errno, "entry '%s': remove the directory of a lower layer in its place", clean);
	return 0;
}

static int layer_entry(struct apply *ap, struct archive *a, struct archive_entry *e, const char *name)
{
	struct xtract_entry xe = {
	    .name = name,
	    .type = LA(archive_entry_filetype)(e),
	    .perm = LA(archive_entry_perm)(e),
	    .uid = LA(archive_entry_uid)(e),
	    .gid = LA(archive_entry_gid)(e),
	    .size = LA(archive_entry_size_is_set)(e) ? LA(archive_entry_size)(e) : -1,
	    .hardlink = LA(archive_entry_hardlink)(e),
	    .blocks = archive_blocks, /* pulled by the writer, which may hand a small file to a worker */
	    .data_ctx = a,
	};
	if (xe.type == AE_IFLNK) {
		xe.symlink = LA(archive_entry_symlink)(e);
		if (!xe.symlink)
			xe.symlink = LA(archive_entry_symlink_utf8)(e);
	}
	if (LA(archive_entry_mtime_is_set)(e)) {
		xe.has_mtime = true;
		xe.mtime.tv_sec = LA(archive_entry_mtime)(e);
		xe.mtime.tv_nsec = LA(archive_entry_mtime_nsec)(e);
	}
	if (LA(archive_entry_atime_is_set)(e)) {
		xe.has_atime = true;
		xe.atime.tv_sec = LA(archive_entry_atime)(e);
		xe.atime.tv_nsec = LA(archive_entry_atime_nsec)(e);
	}
	return xtract_entry(&ap->x, &xe);
}

/* A layer must be a tar, plain or compressed with gzip or zstd (whatever its media type says: the
 * bytes decide). Only these reach libarchive's filters, so no other decoder (nor an external
 * program libarchive would run for some) ever sees a layer. */
static int layer_check_format(int fd, struct aj_err *err)
{
	uint8_t h[HEAD_SIZE];
	ssize_t n = pread(fd, h, sizeof h, 0);
	if (n < 0)
		return aj_fail(err, errno, "read");
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return 0;
	if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
		return 0;
	if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
		return 0;
	bool zero = true;
	for (ssize_t i = 0; i < n && zero; i++)
		zero = h[i] == 0;
	if (zero)
		return 0; /* empty, or the end-of-archive blocks of an empty tar */
	return aj_fail(err, 0, "neither a tar nor a gzip- or zstd-compressed tar");
}

/* One pass over layer L (fd at any position). markers: pass 1, collect the whiteout markers
 * ("w" or "o" + the target) and write nothing; NULL: pass 2, write every other entry. Either way the
 * whole file is hashed and compared with the layer's digest. */
static int layer_pass(struct apply *ap, const struct layer_ref *L, int fd, bool upper, char ***markers)
{
	struct aj_err *err = ap->err;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return aj_fail(err, errno, "seek");
	struct sha256 h;
	sha256_init(&h);
	cleanup_free uint8_t *buf = xmalloc(READ_BUF);
	struct fdsrc src = {
	    .fd = fd, .buf = buf, .hash = L->verified ? NULL : &h, .counter = markers ? NULL : &ap->in_bytes};
	struct archive *a = tar_open(&src, false, err);
	if (!a)
		return -1;
	int ret = -1;
	/* A directory of the layers below that make_way looked at may be gone since (whiteouts). */
	cache_drop(ap);
	for (;;) {
		struct archive_entry *e;
		int r = LA(archive_read_next_header)(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN) {
			lazy_archive_fail(err, a, "not a valid tar");
			goto out;
		}
		const char *name = LA(archive_entry_pathname)(e);
		if (!name)
			name = LA(archive_entry_pathname_utf8)(e);
		if (!name) {
			aj_fail(err, 0, "an entry without a name");
			goto out;
		}
		if (!clean_into(name, &ap->clean, &ap->clean_cap)) {
			cleanup_free char *esc = util_escape(name);
			aj_fail(err, 0, "entry '%s' leaves the rootfs", esc);
			goto out;
		}
		enum wh w = whiteout_kind(ap, ap->clean);
		if (w == WH_BAD || w == WH_INSIDE) {
			cleanup_free char *esc = util_escape(name);
			aj_fail(err, 0,
				w == WH_BAD ? "entry '%s' is a whiteout that names no file"
					    : "entry '%s' lies beneath a whiteout (.wh.): the image is corrupt",
				esc);
			goto out;
		}
		if (markers) {
			if (w == WH_FILE || w == WH_OPAQUE)
				strv_push(markers, xasprintf("%c%s", w == WH_FILE ? 'w' : 'o', ap->wpath));
			continue;
		}
		if (w != WH_NONE)
			continue; /* markers never appear in the rootfs */
		bool dir = LA(archive_entry_filetype)(e) == AE_IFDIR && !LA(archive_entry_hardlink)(e);
		if (upper && !dir && *ap->clean && make_way(ap, ap->clean) < 0)
			goto out;
		if (layer_entry(ap, a, e, name) < 0)
			goto out;
		xtract_progress(&ap->x);
	}
	/* The rest of the file (what follows the tar's end) counts for its digest and size. */
	if (!L->verified && fdsrc_drain(&src) < 0) {
		aj_fail(err, errno, "read");
		goto out;
	}
	uint8_t md[SHA256_LEN];
	sha256_final(&h, md);
	char got[SHA256_HEX_LEN + 1];
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(got + 2 * i, 3, "%02x", md[i]);
	if (!L->verified && strcmp(got, L->hex) != 0) {
		aj_fail(err, 0, "digest mismatch: the image is corrupt; fetch it again");
		goto out;
	}
	if (!L->verified && L->size >= 0 && src.n != (uint64_t)L->size) {
		aj_fail(err, 0, "%llu bytes where the manifest says %lld: the image is corrupt; fetch it again",
			(unsigned long long)src.n, (long long)L->size);
		goto out;
	}
	ret = 0;
out:
	LA(archive_read_free)(a);
	return ret;
}

static int apply_markers(struct apply *ap, char **markers)
{
	if (!markers)
		return 0;
	/* Deferred writes of the layers below must have landed before anything of theirs is removed. */
	if (xtract_sync(&ap->x) < 0)
		return -1;
	cache_drop(ap);
	for (size_t i = 0; markers[i]; i++) {
		int r = markers[i][0] == 'o' ? whiteout_opaque(ap, markers[i] + 1) : whiteout_path(ap, markers[i] + 1);
		if (r < 0)
			return -1;
		ap->whiteouts++;
	}
	return 0;
}

/* Layer i of the image: its whiteouts (not in the first layer: nothing lies below it), then its
 * entries. */
static int apply_layer(struct apply *ap, struct image *im, size_t i)
{
	struct layer_ref *L = &im->layers[i];
	/* Checked while the image's tar was copied: the member of its very name had its digest. */
	L->verified = strv_contains(im->verified, L->path) && strstr(L->path, L->hex);
	cleanup_close int fd = blob_open(im->dirfd, L->path, "its blob", L->size, ap->err);
	if (fd < 0)
		return -1;
	if (layer_check_format(fd, ap->err) < 0)
		return -1;
	if (i > 0) {
		cleanup_strv char **markers = NULL;
		if (layer_pass(ap, L, fd, true, &markers) < 0 || apply_markers(ap, markers) < 0)
			return -1;
	}
	return layer_pass(ap, L, fd, i > 0, NULL);
}

/* ---------------------------------------------------------------------------------------------- */

void oci_import_result_release(struct oci_import_result *r)
{
	free(r->platform);
	r->platform = NULL;
}

enum from {
	FROM_DIR,      /* srcfd: the layout directory itself */
	FROM_TAR,      /* srcfd: a tar of it, copied into the scratch directory first */
	FROM_UNPACKED, /* t's directory holds the image, unpacked from standard input by archive_import */
};

/* Everything after detection, with the transaction open: -1 leaves the caller to abort it. */
static int import_image(struct store *s, struct store_txn *t, int srcfd, enum from from, enum kind kind,
			const char *real, bool progress, struct oci_import_result *res, struct aj_err *err)
{
	int ret = -1;
	cleanup_close int tmpfd = -1, scratch = -1;
	cleanup_free char *scratch_name = NULL, *eref = NULL;
	struct image im = {.dirfd = srcfd};
	struct store_meta m = {0};
	struct apply ap = {.root = t->dirfd, .err = err, .cache_fd = -1};
	bool xinit = false;

	if (from != FROM_DIR) {
		/* The image's members, copied once into a scratch directory beside the new rootfs, and read
		 * from there as a layout: blobs are then opened by name (each layer twice, in order),
		 * which one pass over a tar cannot do. This costs the image's size again on disk, for
		 * the duration of the import. fs/.tmp/NAME@oci is ours under the import's lock; a killed
		 * import leaves it to the next sweep (store_tmp_sweep_name). */
		tmpfd = openat(s->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (tmpfd < 0) {
			aj_fail(err, errno, "open the store's .tmp");
			goto out;
		}
		scratch_name = xasprintf("%s%s", t->name, STORE_OCI_SUFFIX);
		store_remove_tree(tmpfd, scratch_name);
		if (from == FROM_UNPACKED) {
			/* Already unpacked where the rootfs goes: that tree becomes the scratch copy, and the
			 * rootfs starts again, empty, under the same fd number (t->dirfd). */
			cleanup_close int fresh = -1;
			if (renameat(tmpfd, t->name, tmpfd, scratch_name) < 0 || mkdirat(tmpfd, t->name, 0755) < 0 ||
			    (fresh = openat(tmpfd, t->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
			    dup3(fresh, t->dirfd, O_CLOEXEC) < 0) {
				aj_fail(err, errno, "move the unpacked image aside to fs/.tmp/%s", scratch_name);
				goto out;
			}
		} else if (mkdirat(tmpfd, scratch_name, 0700) < 0) {
			aj_fail(err, errno, "create the scratch directory fs/.tmp/%s", scratch_name);
			goto out;
		}
		scratch = openat(tmpfd, scratch_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (scratch < 0) {
			aj_fail(err, errno, "open the scratch directory fs/.tmp/%s", scratch_name);
			goto out;
		}
		if (from == FROM_TAR && copy_members(srcfd, scratch, t->name, progress, &im.verified, err) < 0)
			goto out;
		im.dirfd = scratch;
	}
	if ((kind == KIND_OCI ? read_oci(&im, err) : read_docker(&im, err)) < 0)
		goto out;
	if (config_meta(im.config, &m, &res->platform, err) < 0)
		goto out;

	const char *arch = machine_arch();
	const char *carch = json_get_string(im.config, "architecture");
	if (carch && strcmp(carch, arch) != 0)
		output_note("the image is for %.40s, this machine is %s: its programs may not run here", carch, arch);

	uint64_t total = 0;
	for (size_t i = 0; i < im.n; i++)
		total += im.layers[i].size > 0 ? (uint64_t)im.layers[i].size : 0;
	xtract_init(&ap.x, t->dirfd, &res->st, err);
	xinit = true;
	ap.x.in_bytes = &ap.in_bytes;
	ap.x.in_total = total;
	output_progress_start(&ap.x.prog, progress, "importing", t->name);
	for (size_t i = 0; i < im.n; i++) {
		if (apply_layer(&ap, &im, i) < 0) {
			char sd[32];
			short_digest(im.layers[i].hex, sd);
			aj_err_wrap(err, "layer %zu of %zu (%s)", i + 1, im.n, sd);
			goto out;
		}
		res->layers++;
	}
	res->whiteouts = ap.whiteouts;
	if (xtract_entries(&res->st) == 0 && res->st.skipped_devices == 0) {
		aj_fail(err, 0, "the image's layers hold no files: not a rootfs");
		goto out;
	}
	if (xtract_finish(&ap.x) < 0)
		goto out;
	output_progress_done(&ap.x.prog);

	/* The scratch copy goes before the rootfs appears: a finished import leaves nothing beside it. */
	if (scratch_name) {
		close(scratch);
		scratch = -1;
		im.dirfd = -1;
		store_remove_tree(tmpfd, scratch_name);
	}
	char sd[32];
	short_digest(im.digest, sd);
	eref = im.ref ? util_escape(im.ref) : NULL;
	const char *prefix = kind == KIND_OCI ? (from == FROM_DIR ? "oci" : "oci-archive") : "docker-archive";
	m.source = xasprintf("%s:%s (%s%s%s%s%s)", prefix, real, eref ? eref : "", eref ? ", " : "", sd,
			     res->platform ? ", " : "", res->platform ? res->platform : "");
	if (store_txn_commit_meta(t, &m, err) < 0)
		goto out;
	ret = 0;
out:
	if (xinit) {
		output_progress_done(&ap.x.prog);
		xtract_release(&ap.x);
	}
	cache_drop(&ap);
	free(ap.clean);
	free(ap.wpath);
	image_release(&im);
	store_meta_release(&m);
	if (ret < 0 && scratch_name && tmpfd >= 0) {
		if (scratch >= 0)
			close(scratch);
		scratch = -1;
		store_remove_tree(tmpfd, scratch_name);
	}
	return ret;
}

int oci_import(struct store *s, const char *name, const char *source, const char *real, bool progress,
	       struct oci_import_result *res, struct aj_err *err)
{
	memset(res, 0, sizeof *res);
	cleanup_close int fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return 0; /* archive_import says why */
	enum kind kind = KIND_NONE;
	bool is_tar = false;
	if (S_ISDIR(sb.st_mode)) {
		kind = detect_dir(fd);
	} else if (S_ISREG(sb.st_mode)) {
		struct aj_err ignored = {0};
		if (lazy_archive_load(&ignored) < 0)
			return 0;
		kind = detect_tar(fd);
		is_tar = true;
	}
	if (kind == KIND_NONE)
		return 0;
	/* Layers are tars, read with libarchive whatever the image came in. */
	if (lazy_archive_load(err) < 0)
		return -1;
	res->format = kind == KIND_OCI ? (is_tar ? "an OCI image archive" : "an OCI image layout")
				       : (is_tar ? "a docker-archive" : "an unpacked docker-archive");
	struct store_txn t;
	if (store_txn_begin(s, name, &t, err) < 0)
		return -1;
	if (import_image(s, &t, fd, is_tar ? FROM_TAR : FROM_DIR, kind, real, progress, res, err) < 0) {
		store_txn_abort(&t);
		cleanup_free char *esc = util_escape(source);
		return aj_err_wrap(err, "import '%s' from '%s'", name, esc);
	}
	return 1;
}

int oci_import_unpacked(struct store *s, struct store_txn *t, bool progress, struct oci_import_result *res,
			struct aj_err *err)
{
	memset(res, 0, sizeof *res);
	enum kind kind = detect_dir(t->dirfd);
	if (kind == KIND_NONE)
		return 0;
	if (lazy_archive_load(err) < 0)
		return -1;
	res->format = kind == KIND_OCI ? "an OCI image archive" : "a docker-archive";
	cleanup_free char *name = xstrdup(t->name);
	if (import_image(s, t, t->dirfd, FROM_UNPACKED, kind, "stdin", progress, res, err) < 0)
		return aj_err_wrap(err, "import '%s' from standard input", name);
	return 1;
}
