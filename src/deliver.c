/* deliver.c — reading a clone workspace from outside and delivering its branch (see deliver.h for
 * the threat and the design: the staging directory, the reader child, the limits). */
#include "deliver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "git_boundary.h"
#include "harden.h"
#include "hostpath.h"
#include "lazy_git2.h"
#include "store.h"
#include "util.h"

static void dir_closep(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define cleanup_dir __attribute__((cleanup(dir_closep)))

/* readdir over a duplicate of fd, so that the caller keeps its fd; NULL with errno set. */
static DIR *dir_of_fd(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d < 0)
		return NULL;
	DIR *dir = fdopendir(d);
	if (!dir)
		close(d);
	return dir;
}

static bool is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

static bool all_hex(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") == n && s[n] == '\0';
}



/* ---- limits ---- */

struct limits {
	uint64_t max_object; /* bytes an object may declare */
	uint64_t max_memory; /* the reader's RLIMIT_DATA */
	uint64_t max_files;  /* files in git/objects, objects in it, entries walked in upper/ */
	unsigned timeout;    /* seconds, of wall clock and of CPU */
};

/* A number with an optional K, M or G suffix (powers of 1024); false when it is not one. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'm' || *end == 'M')
		shift = 20, end++;
	else if (*end == 'g' || *end == 'G')
		shift = 30, end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* An environment variable holding a number (sizes: with an optional suffix), or dflt when unset. */
static int env_number(const char *name, bool size, uint64_t dflt, uint64_t min, uint64_t *out, struct aj_err *err)
{
	const char *v = getenv(name);
	*out = dflt;
	if (!v || !*v)
		return 0;
	if (!parse_size(v, out) || *out < min || (!size && strspn(v, "0123456789") != strlen(v)))
		return aj_usage(err, "%s='%s': not a number of at least %" PRIu64 "%s", name, v, min,
				size ? " (bytes, or with a K, M or G suffix)" : "");
	return 0;
}

static int limits_load(struct limits *l, struct aj_err *err)
{
	uint64_t t;
	if (env_number("AJAIL_CLONE_MAX_OBJECT", true, 256u << 20, 1024, &l->max_object, err) < 0 ||
	    env_number("AJAIL_CLONE_MAX_FILES", false, 1000000, 100, &l->max_files, err) < 0 ||
	    env_number("AJAIL_CLONE_TIMEOUT", false, 60, 1, &t, err) < 0)
		return -1;
	if (t > 86400)
		return aj_usage(err, "AJAIL_CLONE_TIMEOUT=%" PRIu64 ": at most a day (86400 s)", t);
	l->timeout = (unsigned)t;
	/* The reader holds an object and what is made of it (a delta's result, its deflated copy in a
	 * pack) at once, so the memory limit follows a raised object cap. */
	uint64_t dflt = l->max_object > (1u << 28) ? l->max_object * 4 : 1u << 30;
	return env_number("AJAIL_CLONE_MAX_MEMORY", true, dflt, 64u << 20, &l->max_memory, err);
}

int deliver_env_check(const char **prefix, struct aj_err *err)
{
	struct limits l;
	if (limits_load(&l, err) < 0)
		return -1;
	const char *p = getenv("AJAIL_CLONE_PREFIX");
	if (!p)
		p = "ajail/";
	cleanup_free char *test = xasprintf("refs/heads/%sx", p);
	if (!git_refname_valid(test))
		return aj_usage(err, "AJAIL_CLONE_PREFIX='%s' does not make valid branch names", p);
	*prefix = p;
	return 0;
}

/* ---- the clone's ref ---- */

/* Why a file of the clone could not be read, in words (errno of read_file_untrusted). */
static const char *unreadable_why(int e)
{
	switch (e) {
	case ELOOP:
		return "a symlink is on its path, and ajail follows none in a clone's git directory";
	case EXDEV:
		return "it leads out of the git directory";
	case EINVAL:
		return "not a regular file (a fifo, a socket, a device)";
	case EFBIG:
		return "too large";
	default:
		return strerror(e);
	}
}

/* The branch tip from the clone's ref files, read by ajail itself: the loose ref, else packed-refs.
 * Never through libgit2's refdb, which would read the clone's config and follow its symlinks; never
 * a symbolic ref, which would be one more name to follow. */
static int read_tip(int gitfd, const char *branch, char out[41], struct aj_err *err)
{
	out[0] = '\0';
	cleanup_free char *ref = xasprintf("refs/heads/%s", branch);
	if (!git_refname_valid(ref))
		return aj_fail(err, 0, "the record names an invalid branch '%s'", branch);
	cleanup_free char *loose = read_file_untrusted(gitfd, ref, 4096);
	if (loose) {
		loose[strcspn(loose, "\r\n")] = '\0';
		if (!git_hex_oid_valid(loose))
			return aj_fail(err, 0, "git/%s is not a commit id%s", ref,
				       str_has_prefix(loose, "ref:") ? " (a symbolic ref; ajail follows none)" : "");
		memcpy(out, loose, 41);
		return 0;
	}
	/* ENOENT, ENOTDIR: no loose ref; EISDIR: a directory of refs in its place, as git reads it. */
	if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
		return aj_fail(err, 0, "git/%s: %s", ref, unreadable_why(errno));
	cleanup_free char *packed = read_file_untrusted(gitfd, "packed-refs", 64u << 20);
	if (!packed && errno != ENOENT)
		return aj_fail(err, 0, "git/packed-refs: %s", unreadable_why(errno));
	for (char *line = packed, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (strlen(line) > 41 && line[40] == ' ' && strcmp(line + 41, ref) == 0) {
			line[40] = '\0';
			if (!git_hex_oid_valid(line))
				return aj_fail(err, 0, "git/packed-refs: a bad id for %s", ref);
			memcpy(out, line, 41);
			return 0;
		}
	}
	return aj_fail(err, 0, "the workspace's branch %s no longer exists", branch);
}

/* ---- staging: a view of git/objects with nothing but directories and regular files ---- */

struct stage {
	const struct limits *lim;
	uint64_t files; /* directory entries seen in git/objects */
};

static const char *kind_of(mode_t m)
{
	if (S_ISLNK(m))
		return "a symlink (ajail follows none in a clone's git directory)";
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISDIR(m))
		return "a directory";
	return "something else";
}

/* A directory of the clone's git directory, opened beneath dirfd through no symlink. */
static int open_dir_untrusted(int dirfd, const char *name, const char *what, struct aj_err *err)
{
	int fd = open_untrusted(dirfd, name, O_RDONLY | O_DIRECTORY);
	if (fd >= 0)
		return fd;
	int e = errno;
	/* O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR: look at what is there to say it. */
	cleanup_close int pfd = e == ENOTDIR || e == ELOOP ? open_untrusted(dirfd, name, O_PATH) : -1;
	struct stat st;
	if (pfd >= 0 && fstat(pfd, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return aj_fail(err, 0, "%s is a symlink; ajail follows none in a clone's git directory", what);
		return aj_fail(err, 0, "%s is %s, not a directory", what, kind_of(st.st_mode));
	}
	if (e == ELOOP)
		return aj_fail(err, 0, "%s: a symlink is on its path; ajail follows none in a clone's git directory",
			       what);
	return aj_fail(err, e, "open %s", what);
}

/* The inode an O_PATH fd holds, opened again for reading through /proc/self/fd: that very inode,
 * never a name that may have changed meanwhile. */
static int reopen_fd(int pathfd)
{
	char proc[32];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", pathfd);
	return open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

/* Hard-link sdir/name into ddir when it is a regular file of at most max bytes; what names it in
 * messages. The link is made from the opened fd, so it is exactly the inode that was checked (the
 * store and the workspace are one filesystem). Returns 1 when the file vanished meanwhile (a gc in
 * a jail still running), 0 when staged, -1 when refused. */
static int stage_file(int sdir, int ddir, const char *name, const char *what, uint64_t max, struct aj_err *err)
{
	cleanup_close int fd = open_untrusted(sdir, name, O_PATH);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			return aj_fail(err, 0,
				       "%s: a symlink is on its path; ajail follows none in a clone's git directory",
				       what);
		return aj_fail(err, errno, "open %s", what);
	}
	if (!S_ISREG(st.st_mode))
		return aj_fail(err, 0, "%s is %s, not a regular file", what, kind_of(st.st_mode));
	if ((uint64_t)st.st_size > max)
		return aj_fail(err, 0,
			       "%s is %" PRIu64 " bytes, over the limit of %" PRIu64 " (AJAIL_CLONE_MAX_OBJECT)", what,
			       (uint64_t)st.st_size, max);
	char proc[32];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, ddir, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	/* protected_hardlinks (a file of another user) or the inode's link count at its maximum: a copy
	 * of the same bounded bytes instead. */
	if (errno != EPERM && errno != EMLINK)
		return aj_fail(err, errno, "link %s into the staging directory", what);
	cleanup_close int in = reopen_fd(fd);
	cleanup_close int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
	if (in < 0 || out < 0)
		return aj_fail(err, errno, "copy %s into the staging directory", what);
	char buf[65536];
	uint64_t total = 0;
	ssize_t r;
	while ((r = read(in, buf, sizeof buf)) > 0) {
		total += (uint64_t)r;
		if (total > max)
			return aj_fail(err, 0, "%s grew over the limit of %" PRIu64 " bytes (AJAIL_CLONE_MAX_OBJECT)",
				       what, max);
		if (write_all(out, buf, (size_t)r) < 0)
			return aj_fail(err, errno, "copy %s into the staging directory", what);
	}
	if (r < 0)
		return aj_fail(err, errno, "read %s", what);
	return 0;
}

static int stage_count(struct stage *s, struct aj_err *err)
{
	if (++s->files > s->lim->max_files)
		return aj_fail(err, 0, "more than %" PRIu64 " files in git/objects (AJAIL_CLONE_MAX_FILES)",
			       s->lim->max_files);
	return 0;
}

/* How large a loose object's file may be: deflate grows incompressible data by a little. */
static uint64_t loose_file_max(const struct limits *l)
{
	return l->max_object + (l->max_object >> 4) + 4096;
}

/* Is buf (a loose object's file) a well-formed git object with this id? Checked here, with zlib
 * alone, before libgit2 reads any: libgit2 1.5 overruns a buffer on some truncated objects (found by
 * tests/fuzz/fuzz_deliver). One zlib stream, nothing after it; "<type> <size>\0" with a type git has
 * and a size within the cap, exactly size bytes of content; and the content hashes to the file's
 * name, so that what libgit2 reads later is exactly what was checked. */
static int check_loose(const uint8_t *buf, size_t len, const char *hex, const char *what, const struct limits *l,
		       struct aj_err *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (LZ(inflateInit_)(&zs, ZLIB_VERSION, (int)sizeof zs) != Z_OK)
		return aj_fail(err, ENOMEM, "check %s", what);
	char head[64];
	zs.next_in = (Bytef *)buf;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)head;
	zs.avail_out = sizeof head - 1;
	int zr = LZ(inflate)(&zs, Z_SYNC_FLUSH);
	size_t hn = sizeof head - 1 - zs.avail_out;
	head[hn] = '\0';
	const char *nul = memchr(head, '\0', hn);
	const char *sp = memchr(head, ' ', hn);
	static const char *const types[] = { "blob", "tree", "commit", "tag" };
	static const git_object_t kinds[] = { GIT_OBJECT_BLOB, GIT_OBJECT_TREE, GIT_OBJECT_COMMIT, GIT_OBJECT_TAG };
	git_object_t kind = GIT_OBJECT_INVALID;
	for (size_t k = 0; sp && k < 4; k++)
		if ((size_t)(sp - head) == strlen(types[k]) && !memcmp(head, types[k], (size_t)(sp - head)))
			kind = kinds[k];
	char *end = NULL;
	unsigned long long size = sp && nul && nul > sp + 1 && sp[1] != '0' ? strtoull(sp + 1, &end, 10) : 0;
	if ((zr != Z_OK && zr != Z_STREAM_END) || !nul || kind == GIT_OBJECT_INVALID || end != nul ||
	    (size == 0 && !(sp && nul == sp + 2 && sp[1] == '0'))) {
		LZ(inflateEnd)(&zs);
		return aj_fail(err, 0, "%s is not a git object (its header does not say a type and a size)", what);
	}
	if (size > l->max_object) {
		LZ(inflateEnd)(&zs);
		return aj_fail(err, 0, "%s declares a %s of %llu bytes, over the limit of %" PRIu64 " (AJAIL_CLONE_MAX_OBJECT)",
			       what, types[kind == GIT_OBJECT_BLOB ? 0 : kind == GIT_OBJECT_TREE ? 1 : kind == GIT_OBJECT_COMMIT ? 2 : 3],
			       size, l->max_object);
	}
	/* The content: what the header's inflate already gave past the NUL, then the rest. One byte of
	 * room more than declared, so that an object longer than it says is seen. */
	size_t have = hn - (size_t)(nul + 1 - head);
	cleanup_free uint8_t *content = xmalloc((size_t)size + 1);
	memcpy(content, nul + 1, have < size + 1 ? have : (size_t)size + 1);
	size_t got = have;
	if (zr == Z_OK && got <= size) {
		zs.next_out = content + got;
		zs.avail_out = (uInt)(size + 1 - got);
		zr = LZ(inflate)(&zs, Z_FINISH);
		got = size + 1 - zs.avail_out;
	}
	bool tail = zs.avail_in != 0;
	LZ(inflateEnd)(&zs);
	if (zr != Z_STREAM_END || got != size || tail)
		return aj_fail(err, 0, "%s is not a git object (%s)", what,
			       zr != Z_STREAM_END && got <= size ? "its data ends early or is corrupt"
			       : got != size			 ? "its content is longer than its header says"
								 : "bytes follow its data");
	git_oid oid, want;
	if (LG(git_oid_fromstr)(&want, hex) < 0 || LG(git_odb_hash)(&oid, content, (size_t)size, kind) < 0 ||
	    !LG(git_oid_equal)(&oid, &want))
		return aj_fail(err, 0, "%s is not the object its name says (its content hashes to another id)", what);
	return 0;
}

/* A loose object, copied into the staging directory after check_loose: the bytes checked are the
 * bytes staged, whatever a jail still running does to the file meanwhile. 1 when it vanished. */
static int stage_loose(int sdir, int ddir, const char *xx, const char *name, const char *what, const struct limits *l,
		       struct aj_err *err)
{
	cleanup_close int fd = open_untrusted(sdir, name, O_PATH);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			return aj_fail(err, 0, "%s: a symlink is on its path; ajail follows none in a clone's git directory",
				       what);
		return aj_fail(err, errno, "open %s", what);
	}
	if (!S_ISREG(st.st_mode))
		return aj_fail(err, 0, "%s is %s, not a regular file", what, kind_of(st.st_mode));
	uint64_t max = loose_file_max(l);
	if ((uint64_t)st.st_size > max)
		return aj_fail(err, 0, "%s is %" PRIu64 " bytes, over the limit of %" PRIu64 " (AJAIL_CLONE_MAX_OBJECT)", what,
			       (uint64_t)st.st_size, max);
	cleanup_close int in = reopen_fd(fd);
	if (in < 0)
		return aj_fail(err, errno, "open %s", what);
	/* Read to the end, but never past max + 1: a file that grew since fstat is refused. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	cleanup_free uint8_t *buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > max)
				return aj_fail(err, 0, "%s grew over the limit of %" PRIu64 " bytes (AJAIL_CLONE_MAX_OBJECT)",
					       what, max);
			cap = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(in, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return aj_fail(err, errno, "read %s", what);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	/* xx is two hex digits and name 38 more (stage_loose_dir takes no other). */
	char hex[GIT_OID_HEXSZ + 1];
	memcpy(hex, xx, 2);
	memcpy(hex + 2, name, GIT_OID_HEXSZ - 2);
	hex[GIT_OID_HEXSZ] = '\0';
	if (check_loose(buf, len, hex, what, l, err) < 0)
		return -1;
	cleanup_close int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
	if (out < 0 || write_all(out, buf, len) < 0)
		return aj_fail(err, errno, "copy %s into the staging directory", what);
	return 0;
}

/* A directory of the clone (name beneath src, what names it in messages) opened for reading, and its
 * twin made in the staging directory: *twin gets an O_PATH fd of the twin, *d a stream over the
 * original. Both are the caller's to close. */
static int open_pair(int src, int stage, const char *name, const char *what, int *twin, DIR **d, struct aj_err *err)
{
	*twin = -1;
	*d = NULL;
	int fd = open_dir_untrusted(src, name, what, err);
	if (fd < 0)
		return -1;
	if (mkdirat(stage, name, 0700) < 0) {
		int e = errno;
		close(fd);
		return aj_fail(err, e, "create the staging directory for %s", what);
	}
	*twin = openat(stage, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	*d = *twin >= 0 ? dir_of_fd(fd) : NULL;
	close(fd);
	if (!*d)
		return aj_fail(err, errno, "read %s", what);
	return 0;
}

/* objects/xx: the files named as loose objects (38 hex digits); git's temporary files are left out. */
static int stage_loose_dir(struct stage *s, int ofd, int sofd, const char *xx, struct aj_err *err)
{
	cleanup_free char *what = xasprintf("git/objects/%s", xx);
	cleanup_close int sdfd = -1;
	cleanup_dir DIR *d = NULL;
	if (open_pair(ofd, sofd, xx, what, &sdfd, &d, err) < 0)
		return -1;
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (is_dot(e->d_name))
			continue;
		if (stage_count(s, err) < 0)
			return -1;
		if (!all_hex(e->d_name, GIT_OID_HEXSZ - 2))
			continue;
		cleanup_free char *fwhat = xasprintf("%s/%s", what, e->d_name);
		if (stage_loose(dfd, sdfd, xx, e->d_name, fwhat, s->lim, err) < 0)
			return -1;
	}
	return 0;
}

/* objects/pack: each pack-<id>.pack with its pack-<id>.idx, both or neither (git ignores a lone one). */
static int stage_packs(struct stage *s, int ofd, int sofd, struct aj_err *err)
{
	cleanup_close int spfd = -1;
	cleanup_dir DIR *d = NULL;
	if (open_pair(ofd, sofd, "pack", "git/objects/pack", &spfd, &d, err) < 0)
		return -1;
	int pfd = dirfd(d);
	cleanup_strv char **idx = NULL;
	cleanup_strv char **packs = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (is_dot(e->d_name))
			continue;
		if (stage_count(s, err) < 0)
			return -1;
		size_t n = strlen(e->d_name);
		bool is_idx = n == 5 + GIT_OID_HEXSZ + 4 && !strcmp(e->d_name + n - 4, ".idx");
		bool is_pack = n == 5 + GIT_OID_HEXSZ + 5 && !strcmp(e->d_name + n - 5, ".pack");
		if ((is_idx || is_pack) && str_has_prefix(e->d_name, "pack-") &&
		    strspn(e->d_name + 5, "0123456789abcdef") == GIT_OID_HEXSZ)
			strv_push(is_idx ? &idx : &packs, xstrdup(e->d_name));
	}
	for (size_t k = 0; idx && idx[k]; k++) {
		cleanup_free char *pack = xasprintf("%.*s.pack", 5 + GIT_OID_HEXSZ, idx[k]);
		if (!strv_contains(packs, pack))
			continue;
		/* No size cap: a pack is mapped, never read whole, and what bounds the reader is what
		 * its objects declare (check_headers) and the reader's limits. */
		cleanup_free char *iw = xasprintf("git/objects/pack/%s", idx[k]);
		cleanup_free char *pw = xasprintf("git/objects/pack/%s", pack);
		int r1 = stage_file(pfd, spfd, idx[k], iw, UINT64_MAX, err);
		int r2 = r1 < 0 ? -1 : stage_file(pfd, spfd, pack, pw, UINT64_MAX, err);
		if (r2 < 0)
			return -1;
		if (r1 != r2) /* one of the two vanished (a repack inside): neither, or libgit2 fails on it */
			unlinkat(spfd, r1 ? pack : idx[k], 0);
	}
	return 0;
}

/* Fill stagefd/objects from gitfd/objects. */
static int stage_objects(int gitfd, int stagefd, const struct limits *l, struct aj_err *err)
{
	struct stage s = { .lim = l };
	cleanup_close int sofd = -1;
	cleanup_dir DIR *d = NULL;
	if (open_pair(gitfd, stagefd, "objects", "git/objects", &sofd, &d, err) < 0)
		return -1;
	int ofd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (is_dot(e->d_name))
			continue;
		if (stage_count(&s, err) < 0)
			return -1;
		/* info/ (alternates, commit-graph), incoming-* and tmp_* are never looked at. */
		if (all_hex(e->d_name, 2)) {
			if (stage_loose_dir(&s, ofd, sofd, e->d_name, err) < 0)
				return -1;
		} else if (!strcmp(e->d_name, "pack")) {
			if (stage_packs(&s, ofd, sofd, err) < 0)
				return -1;
		}
	}
	return 0;
}

struct scan {
	git_oid *ids;
	size_t n, cap;
	uint64_t max;
};

static int scan_cb(const git_oid *id, void *payload)
{
	struct scan *s = payload;
	if (s->n >= s->max)
		return 1;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->ids = xrealloc(s->ids, s->cap * sizeof *s->ids);
	}
	LG(git_oid_cpy)(&s->ids[s->n++], id);
	return 0;
}

/* Every staged object's header, before any object is read: libgit2 reads the first KiB of a loose
 * object and the entry header of a packed one (for a delta, the size it makes), so an object that
 * declares gigabytes is refused before anything is allocated for it. */
static int check_headers(git_odb *odb, const struct limits *l, struct aj_err *err)
{
	struct scan s = { .max = l->max_files };
	int rc = LG(git_odb_foreach)(odb, scan_cb, &s);
	cleanup_free git_oid *ids = s.ids;
	if (s.n >= s.max)
		return aj_fail(err, 0, "more than %" PRIu64 " objects in git/objects (AJAIL_CLONE_MAX_FILES)",
			       l->max_files);
	if (rc < 0)
		return git_fail(err, "list the objects of git/objects");
	for (size_t k = 0; k < s.n; k++) {
		size_t len = 0;
		git_object_t type = GIT_OBJECT_INVALID;
		char hex[GIT_OID_HEXSZ + 1];
		LG(git_oid_tostr)(hex, sizeof hex, &ids[k]);
		if (LG(git_odb_read_header)(&len, &type, odb, &ids[k]) < 0)
			return git_fail(err, "read object %s of git/objects", hex);
		const char *tn = type == GIT_OBJECT_BLOB     ? "blob"
				 : type == GIT_OBJECT_TREE   ? "tree"
				 : type == GIT_OBJECT_COMMIT ? "commit"
				 : type == GIT_OBJECT_TAG    ? "tag"
							     : NULL;
		if (!tn)
			return aj_fail(err, 0, "object %s of git/objects is of no known type", hex);
		if ((uint64_t)len > l->max_object)
			return aj_fail(err, 0,
				       "object %s of git/objects declares a %s of %zu bytes, over the limit of %" PRIu64
				       " bytes (AJAIL_CLONE_MAX_OBJECT)",
				       hex, tn, len, l->max_object);
	}
	return 0;
}

/* ---- the reader: a child process that does all of libgit2's work on one workspace ---- */

enum reader_op { READ_STATE, READ_DELIVER };

struct reader {
	enum reader_op op;
	const struct workspace_info *i;
	const struct limits *lim;
	const char *prefix;
	int wsfd;       /* the workspace directory: ajail's own */
	char stage[32]; /* stage.<pid>, below wsfd */
	bool staged;    /* stage_workspace ran (before the reader confined itself) */
};

/* What the reader sends back: fixed-size, so that ajail reads it bounded and checks nothing but
 * its size and the strings' ends. */
struct reply {
	int32_t rc; /* 0, or -1 with kind, errnum and msg */
	int32_t kind, errnum;
	int32_t count; /* deliver: commits; state: ahead (-1 unknown) */
	int32_t dirty, delivered;
	char tip[41];
	char ref[512];
	char why[1024];
	char msg[sizeof ((struct aj_err *)0)->msg]; /* with rc 0: why something is unknown */
};

/* The workspace as libgit2 sees it: its staged objects, each header checked, plus the user's objects
 * (added by ajail, never taken from the clone's alternates file, which the jail may point anywhere),
 * wrapped as a repository with no config. index: also stage git/index, as stage/index. */
/* The clone's objects (and its index, for the state) into the staging directory: ajail's own code,
 * no libgit2, so the reader does it before it confines itself (a hard link out of git/ needs a right
 * that landlock then takes away). */
static int stage_workspace(struct reader *rd, bool index, struct aj_err *err)
{
	if (mkdirat(rd->wsfd, rd->stage, 0700) < 0 && errno != EEXIST)
		return aj_fail(err, errno, "create the staging directory %s", rd->stage);
	cleanup_close int stagefd = openat(rd->wsfd, rd->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (stagefd < 0)
		return aj_fail(err, errno, "open the staging directory %s", rd->stage);
	cleanup_close int gitfd = open_dir_untrusted(rd->wsfd, "git", "git", err);
	if (gitfd < 0 || stage_objects(gitfd, stagefd, rd->lim, err) < 0)
		return -1;
	if (index && stage_file(gitfd, stagefd, "index", "git/index", rd->lim->max_object, err) < 0)
		return -1;
	rd->staged = true;
	return 0;
}

static int open_ws_repo(struct reader *rd, int gitfd, bool index, git_repository **out, struct aj_err *err)
{
	(void)gitfd;
	if (!rd->staged && stage_workspace(rd, index, err) < 0)
		return -1;
	cleanup_free char *objs = xasprintf("%s/%s/objects", rd->i->dir, rd->stage);
	cleanup_free char *uobjs = path_join(rd->i->commondir, "objects");
	cleanup_odb git_odb *odb = NULL;
	git_odb_backend *b = NULL;
	if (LG(git_odb_new)(&odb) < 0)
		return git_fail(err, "create an object database");
	if (LG(git_odb_backend_pack)(&b, objs) < 0 || LG(git_odb_add_backend)(odb, b, 2) < 0)
		return git_fail(err, "open the staged objects");
	if (LG(git_odb_backend_loose)(&b, objs, -1, 0, 0, 0) < 0 || LG(git_odb_add_backend)(odb, b, 1) < 0)
		return git_fail(err, "open the staged objects");
	if (check_headers(odb, rd->lim, err) < 0)
		return -1;
	if (LG(git_odb_add_disk_alternate)(odb, uobjs) < 0)
		return git_fail(err, "open %s", uobjs);
	if (LG(git_repository_wrap_odb)(out, odb) < 0)
		return git_fail(err, "open the staged objects");
	return 0;
}

static int open_user_repo(const char *commondir, git_repository **out, struct aj_err *err)
{
	if (LG(git_repository_open_ext)(out, commondir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return git_fail(err, "open the repository %s", commondir);
	return 0;
}

/* Commits on tip not on base (a revwalk tip ^base); -1 on error. */
static int count_ahead(git_repository *repo, const git_oid *tip, const git_oid *base, git_revwalk **walk_out,
		       struct aj_err *err)
{
	cleanup_revwalk git_revwalk *walk = NULL;
	if (LG(git_revwalk_new)(&walk, repo) < 0 || LG(git_revwalk_push)(walk, tip) < 0 ||
	    LG(git_revwalk_hide)(walk, base) < 0)
		return git_fail(err, "walk the workspace's commits");
	int n = 0;
	git_oid oid;
	int rc;
	while ((rc = LG(git_revwalk_next)(&oid, walk)) == 0)
		n++;
	if (rc != GIT_ITEROVER)
		return git_fail(err, "walk the workspace's commits");
	if (walk_out) {
		/* A fresh walk for the packbuilder: this one is used up. */
		if (LG(git_revwalk_new)(walk_out, repo) < 0 || LG(git_revwalk_push)(*walk_out, tip) < 0 ||
		    LG(git_revwalk_hide)(*walk_out, base) < 0)
			return git_fail(err, "walk the workspace's commits");
	}
	return n;
}

/* Does a HEAD file say "ref: <ref>"? */
static bool head_is(const char *content, const char *want)
{
	size_t n = strcspn(content, "\r\n");
	return n == strlen(want) && !strncmp(content, want, n);
}

/* Is ref (a full name) checked out in the main work tree or in a linked one? 1 yes, 0 no, -1 cannot
 * tell. Read from the HEAD files themselves, so that every worktree is seen whatever libgit2 thinks
 * of it; beneath the common directory through no symlink, bounded: a linked worktree's jail writes
 * its own worktrees/<name>/. */
static int ref_checked_out(const char *commondir, const char *ref, struct aj_err *err)
{
	cleanup_free char *want = xasprintf("ref: %s", ref);
	cleanup_close int cfd = hostpath_open(commondir, O_RDONLY | O_DIRECTORY);
	if (cfd < 0)
		return aj_fail(err, errno, "open %s", commondir);
	cleanup_free char *h = read_file_untrusted(cfd, "HEAD", 4096);
	if (h && head_is(h, want))
		return 1;
	cleanup_close int wfd = open_untrusted(cfd, "worktrees", O_RDONLY | O_DIRECTORY);
	if (wfd < 0)
		return errno == ENOENT ? 0 : aj_fail(err, 0, "%s/worktrees: %s", commondir, unreadable_why(errno));
	cleanup_dir DIR *d = dir_of_fd(wfd);
	struct dirent *e;
	for (int k = 0; d && (e = readdir(d)); k++) {
		if (e->d_name[0] == '.')
			continue;
		if (k > 10000)
			return aj_fail(err, 0, "%s/worktrees: more than 10000 entries", commondir);
		cleanup_free char *rel = xasprintf("%s/HEAD", e->d_name);
		cleanup_free char *c = read_file_untrusted(wfd, rel, 4096);
		if (c && head_is(c, want))
			return 1;
		/* A HEAD that cannot be read (a fifo, a symlink) might name the ref: not moved then. */
		if (!c && errno != ENOENT && errno != ENOTDIR)
			return aj_fail(err, 0, "cannot tell whether %s is checked out: %s/worktrees/%s: %s", ref,
				       commondir, rel, unreadable_why(errno));
	}
	return 0;
}

/* Move the pack and index written in outfd (the staging directory) into the user's objects/pack,
 * the pack first, as git does, so that an index is never seen without its pack. libgit2 writes its
 * temporary files beside the pack: written here, a reader killed half-way (its deadline, its memory
 * limit) leaves nothing in the user's repository. Across filesystems (a store elsewhere) each file
 * is copied to a temporary name there and renamed. */
static int install_pack(int outfd, const char *commondir, struct aj_err *err)
{
	cleanup_close int cfd = hostpath_open(commondir, O_RDONLY | O_DIRECTORY);
	cleanup_close int pfd = cfd < 0 ? -1 : open_untrusted(cfd, "objects/pack", O_RDONLY | O_DIRECTORY);
	if (pfd < 0)
		return aj_fail(err, errno, "open %s/objects/pack", commondir);
	cleanup_strv char **names = NULL;
	cleanup_dir DIR *d = dir_of_fd(outfd);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (str_has_prefix(e->d_name, "pack-"))
			strv_push(&names, xstrdup(e->d_name));
	static const char *const exts[] = { ".pack", ".idx" };
	for (size_t x = 0; x < 2; x++) {
		for (size_t k = 0; names && names[k]; k++) {
			const char *n = names[k];
			size_t nl = strlen(n), el = strlen(exts[x]);
			if (nl <= el || strcmp(n + nl - el, exts[x]) != 0)
				continue;
			if (renameat(outfd, n, pfd, n) == 0)
				continue;
			if (errno != EXDEV)
				return aj_fail(err, errno, "move %s into %s/objects/pack", n, commondir);
			cleanup_free char *tmp = xasprintf("tmp_ajail_%d_%s", (int)getpid(), n);
			cleanup_close int in = openat(outfd, n, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			cleanup_close int out =
			    openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
			char buf[65536];
			ssize_t r = in < 0 || out < 0 ? -1 : 0;
			while (r == 0 && (r = read(in, buf, sizeof buf)) > 0)
				r = write_all(out, buf, (size_t)r) < 0 ? -1 : 0;
			if (r < 0 || fsync(out) < 0 || renameat(pfd, tmp, pfd, n) < 0) {
				int en = errno;
				unlinkat(pfd, tmp, 0);
				return aj_fail(err, en, "copy %s into %s/objects/pack", n, commondir);
			}
		}
	}
	return 0;
}

static int reader_deliver(struct reader *rd, struct reply *r, struct aj_err *err)
{
	const struct workspace_info *i = rd->i;
	cleanup_close int gitfd = open_dir_untrusted(rd->wsfd, "git", "git", err);
	if (gitfd < 0 || read_tip(gitfd, i->branch, r->tip, err) < 0)
		return -1;
	cleanup_repo git_repository *wrepo = NULL;
	if (open_ws_repo(rd, gitfd, false, &wrepo, err) < 0)
		return -1;
	git_oid tip, base;
	LG(git_oid_fromstr)(&tip, r->tip);
	LG(git_oid_fromstr)(&base, i->base);
	cleanup_revwalk git_revwalk *walk = NULL;
	int n = count_ahead(wrepo, &tip, &base, &walk, err);
	if (n < 0)
		return -1;
	r->count = n;
	if (n == 0)
		return 0;
	cleanup_free char *refname = xasprintf("refs/heads/%s%s", rd->prefix, i->id);
	if (!git_refname_valid(refname) || strlen(refname) >= sizeof r->ref)
		return aj_fail(err, 0, "%s is not a valid ref name", refname);
	cleanup_repo git_repository *urepo = NULL;
	if (open_user_repo(i->commondir, &urepo, err) < 0)
		return -1;
	git_oid cur;
	if (LG(git_reference_name_to_id)(&cur, urepo, refname) == 0 && LG(git_oid_equal)(&cur, &tip)) {
		strcpy(r->ref, refname); /* delivered already: nothing to write */
		return 0;
	}
	/* Moving a checked-out branch would leave that work tree's index and files behind its HEAD. */
	int co = ref_checked_out(i->commondir, refname, err);
	if (co < 0)
		return -1;
	if (co)
		return aj_fail(err, 0, "%s is checked out in %s; switch to another branch to let ajail update it",
			       refname, i->repo ? i->repo : i->commondir);
	cleanup_odb git_odb *uodb = NULL;
	if (LG(git_repository_odb)(&uodb, urepo) < 0)
		return git_fail(err, "open the objects of %s", i->commondir);
	/* The tip there means its history is there too (git's connectivity invariant): no new pack. */
	if (!LG(git_odb_exists)(uodb, &tip)) {
		cleanup_packbuilder git_packbuilder *pb = NULL;
		cleanup_free char *outrel = xasprintf("%s/pack", rd->stage);
		cleanup_free char *outdir = path_join(i->dir, outrel);
		if (mkdirat(rd->wsfd, outrel, 0700) < 0)
			return aj_fail(err, errno, "create %s", outdir);
		cleanup_close int outfd = openat(rd->wsfd, outrel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (outfd < 0)
			return aj_fail(err, errno, "open %s", outdir);
		if (LG(git_packbuilder_new)(&pb, wrepo) < 0 || LG(git_packbuilder_insert_walk)(pb, walk) < 0)
			return git_fail(err, "collect the workspace's new objects");
		if (LG(git_packbuilder_write)(pb, outdir, 0, NULL, NULL) < 0)
			return git_fail(err, "write a pack of the workspace's new objects");
		if (install_pack(outfd, i->commondir, err) < 0)
			return -1;
		/* The new pack must be seen by the ref update's object check. */
		LG(git_odb_refresh)(uodb);
	}
	cleanup_free char *msg = xasprintf("ajail: deliver workspace %s", i->id);
	cleanup_ref git_reference *newref = NULL;
	if (LG(git_reference_create)(&newref, urepo, refname, &tip, 1, msg) < 0)
		return git_fail(err, "update %s in %s", refname, i->commondir);
	strcpy(r->ref, refname);
	return 0;
}

/* ---- uncommitted work: upper/ against the tip ---- */

#define UPPER_MAX_DEPTH 256

struct dirty_ctx {
	git_repository *wrepo;
	git_repository *urepo; /* for ignore rules; may be NULL */
	git_odb *odb;          /* wrepo's */
	git_tree *tip;
	char **deleted;
	char *why;
	uint64_t entries, max_entries;
};

static int dirty_note(struct dirty_ctx *c, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Remember the first finding (shown by clone show and rm) and return ret: 1 dirty, -1 unknown. */
static int dirty_note(struct dirty_ctx *c, int ret, const char *fmt, ...)
{
	if (!c->why) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&c->why, fmt, ap) < 0)
			c->why = NULL;
		va_end(ap);
	}
	return ret;
}

static bool path_ignored(struct dirty_ctx *c, const char *path)
{
	int ign = 0;
	return c->urepo && LG(git_ignore_path_is_ignored)(&ign, c->urepo, path) == 0 && ign;
}

/* An overlay whiteout: the kernel's char device 0/0, or an empty file marked with the xattr (read
 * from the entry itself, never through a symlink). */
static bool is_whiteout(int dirfd, const char *name, const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return true;
	if (!S_ISREG(st->st_mode) || st->st_size != 0)
		return false;
	cleanup_free char *p = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
	return lgetxattr(p, "user.overlay.whiteout", NULL, 0) >= 0 ||
	       lgetxattr(p, "trusted.overlay.whiteout", NULL, 0) >= 0;
}

static bool is_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, "user.overlay.opaque", v, sizeof v);
	if (n < 0)
		n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v);
	return n > 0 && v[0] == 'y';
}

/* Is there an entry at rel in upper/ (a whiteout included)? Looked up through no symlink; one on the
 * way counts as an entry, which the walk of upper/ has judged already. */
static bool upper_has(int ufd, const char *rel)
{
	cleanup_close int fd = open_untrusted(ufd, rel, O_PATH);
	return fd >= 0 || errno == ELOOP || errno == EXDEV;
}

/* Does the regular file dirfd/name (st) hold the blob te names? Its size is compared with the blob's
 * first (so a huge sparse file costs nothing), then its bytes are hashed through an fd of that very
 * file: never a name a jail could swap for a fifo or a symlink meanwhile. */
static bool file_matches(struct dirty_ctx *c, int dirfd, const char *name, const struct stat *st,
			 const git_tree_entry *te)
{
	size_t blen = 0;
	git_object_t bt;
	if (LG(git_odb_read_header)(&blen, &bt, c->odb, LG(git_tree_entry_id)(te)) < 0 || (uint64_t)st->st_size != blen)
		return false;
	cleanup_close int fd = open_untrusted(dirfd, name, O_PATH);
	struct stat st2;
	if (fd < 0 || fstat(fd, &st2) < 0 || !S_ISREG(st2.st_mode) || st2.st_size != st->st_size)
		return false;
	char proc[32];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	git_oid oid;
	return LG(git_odb_hashfile)(&oid, proc, GIT_OBJECT_BLOB) == 0 &&
	       LG(git_oid_equal)(&oid, LG(git_tree_entry_id)(te));
}

/* Does upper/<rel> (dirfd) hold a change against the tip tree? 1 yes, 0 no, -1 cannot tell (a cap);
 * stops at the first finding. */
static int upper_dirty(struct dirty_ctx *c, int dirfd, const char *rel, int depth)
{
	if (depth > UPPER_MAX_DEPTH)
		return dirty_note(c, -1, "upper/%s is nested more than %d directories deep", rel, UPPER_MAX_DEPTH);
	cleanup_dir DIR *d = dir_of_fd(dirfd);
	if (!d)
		return dirty_note(c, -1, "cannot read upper/%s", rel);
	if (*rel && is_opaque(dirfd)) {
		/* An opaque directory hides the lower one: every tip entry missing from it is deleted. */
		cleanup_tree_entry git_tree_entry *te = NULL;
		if (LG(git_tree_entry_bypath)(&te, c->tip, rel) == 0 &&
		    LG(git_tree_entry_type)(te) == GIT_OBJECT_TREE) {
			cleanup_tree git_tree *sub = NULL;
			if (LG(git_tree_lookup)(&sub, c->wrepo, LG(git_tree_entry_id)(te)) == 0) {
				for (size_t k = 0; k < LG(git_tree_entrycount)(sub); k++) {
					struct stat st;
					const char *nm = LG(git_tree_entry_name)(LG(git_tree_entry_byindex)(sub, k));
					if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
						return dirty_note(c, 1, "%s: deleted files", rel);
				}
			}
		}
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (is_dot(e->d_name))
			continue;
		/* The mount point of the clone's git directory, made by ajail: not the agent's. */
		if (!*rel && !strcmp(e->d_name, ".git"))
			continue;
		if (++c->entries > c->max_entries)
			return dirty_note(c, -1, "more than %" PRIu64 " files in upper/ (AJAIL_CLONE_MAX_FILES)",
					  c->max_entries);
		cleanup_free char *path = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return dirty_note(c, -1, "cannot stat upper/%s", path);
		cleanup_tree_entry git_tree_entry *te = NULL;
		bool in_tip = LG(git_tree_entry_bypath)(&te, c->tip, path) == 0;
		git_filemode_t tm = in_tip ? LG(git_tree_entry_filemode)(te) : 0;
		if (is_whiteout(dirfd, e->d_name, &st)) {
			if (in_tip)
				return dirty_note(c, 1, "%s: deleted", path);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (in_tip && tm != GIT_FILEMODE_TREE && tm != GIT_FILEMODE_COMMIT)
				return dirty_note(c, 1, "%s: a file became a directory", path);
			if (tm == GIT_FILEMODE_COMMIT)
				continue; /* a submodule's own changes are its own */
			if (!in_tip) {
				/* Nothing of the tip beneath: an ignored directory (node_modules/) is skipped
				 * whole, as git status skips it. */
				cleanup_free char *dslash = xasprintf("%s/", path);
				if (path_ignored(c, dslash))
					continue;
			}
			cleanup_close int sfd = open_untrusted(dirfd, e->d_name, O_RDONLY | O_DIRECTORY);
			if (sfd < 0)
				return dirty_note(c, 1, "%s: modified", path); /* swapped meanwhile */
			int r = upper_dirty(c, sfd, path, depth + 1);
			if (r)
				return r;
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		if (!in_tip) {
			if (path_ignored(c, path))
				continue;
			return dirty_note(c, 1, "%s: untracked", path);
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			git_oid oid;
			ssize_t n = readlinkat(dirfd, e->d_name, target, sizeof target);
			if (tm != GIT_FILEMODE_LINK || n < 0 ||
			    LG(git_odb_hash)(&oid, target, (size_t)n, GIT_OBJECT_BLOB) < 0 ||
			    !LG(git_oid_equal)(&oid, LG(git_tree_entry_id)(te)))
				return dirty_note(c, 1, "%s: modified", path);
			continue;
		}
		git_filemode_t want = (st.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		if (tm != want || !file_matches(c, dirfd, e->d_name, &st, te))
			return dirty_note(c, 1, "%s: modified", path);
	}
	return 0;
}

/* Whether the workspace has uncommitted work, as `git status` inside would say (close to it): the
 * upper layer against the tip's tree, the lower layer where base and tip differ, the files the jail
 * was told to delete, and the index against the tip's tree. 1 dirty, 0 clean, -1 cannot tell; *why
 * says what was found. */
static int ws_dirty(struct reader *rd, const git_oid *tip, git_repository *wrepo, git_repository *urepo, char **why)
{
	git_oid base;
	LG(git_oid_fromstr)(&base, rd->i->base);
	cleanup_commit git_commit *tc = NULL;
	cleanup_commit git_commit *bc = NULL;
	cleanup_tree git_tree *tt = NULL;
	cleanup_tree git_tree *bt = NULL;
	cleanup_odb git_odb *odb = NULL;
	if (LG(git_commit_lookup)(&tc, wrepo, tip) < 0 || LG(git_commit_tree)(&tt, tc) < 0 ||
	    LG(git_commit_lookup)(&bc, wrepo, &base) < 0 || LG(git_commit_tree)(&bt, bc) < 0 ||
	    LG(git_repository_odb)(&odb, wrepo) < 0) {
		*why = xstrdup("cannot read the tip or base commit");
		return -1;
	}
	struct dirty_ctx c = {
		.wrepo = wrepo, .urepo = urepo, .odb = odb, .tip = tt, .max_entries = rd->lim->max_files
	};
	/* ajail's own list, never mounted in the jail. */
	cleanup_free char *dl = read_file_at(rd->wsfd, "deleted", 64u << 20);
	for (char *line = dl, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line)
			strv_push(&c.deleted, xstrdup(line));
	}
	cleanup_close int ufd = open_untrusted(rd->wsfd, "upper", O_RDONLY | O_DIRECTORY);
	int ret = 0;
	if (ufd < 0) {
		ret = dirty_note(&c, -1, "cannot read upper/");
		goto out;
	}
	ret = upper_dirty(&c, ufd, "", 0);
	if (ret)
		goto out;
	/* Paths listed as deleted that the tip still has, and nothing in upper replaced. */
	for (size_t k = 0; c.deleted && c.deleted[k]; k++) {
		cleanup_tree_entry git_tree_entry *te = NULL;
		if (!upper_has(ufd, c.deleted[k]) && LG(git_tree_entry_bypath)(&te, tt, c.deleted[k]) == 0) {
			ret = dirty_note(&c, 1, "%s: deleted", c.deleted[k]);
			goto out;
		}
	}
	/* Where tip and base differ, the lower layer (the base) shows through unless upper covers it. */
	{
		cleanup_diff git_diff *diff = NULL;
		if (LG(git_diff_tree_to_tree)(&diff, wrepo, bt, tt, NULL) < 0) {
			ret = dirty_note(&c, -1, "cannot compare base and tip");
			goto out;
		}
		size_t nd = LG(git_diff_num_deltas)(diff);
		for (size_t k = 0; k < nd; k++) {
			const git_diff_delta *d = LG(git_diff_get_delta)(diff, k);
			const char *p = d->new_file.path ? d->new_file.path : d->old_file.path;
			if (upper_has(ufd, p))
				continue; /* judged by the walk of upper */
			bool gone = strv_contains(c.deleted, p);
			if (d->status == GIT_DELTA_DELETED && (gone || path_ignored(&c, p)))
				continue;
			ret = dirty_note(&c, 1, "%s: differs from the branch", p);
			goto out;
		}
	}
	/* Staged changes: the index (staged beside the objects) against the tip's tree. */
	{
		cleanup_free char *ipath = xasprintf("%s/%s/index", rd->i->dir, rd->stage);
		cleanup_index git_index *idx = NULL;
		cleanup_diff git_diff *diff = NULL;
		if (LG(git_index_open)(&idx, ipath) < 0) {
			ret = dirty_note(&c, -1, "cannot read the index");
			goto out;
		}
		if (LG(git_index_has_conflicts)(idx)) {
			ret = dirty_note(&c, 1, "merge conflicts in the index");
			goto out;
		}
		if (LG(git_diff_tree_to_index)(&diff, wrepo, tt, idx, NULL) < 0) {
			ret = dirty_note(&c, -1, "cannot compare the index");
			goto out;
		}
		if (LG(git_diff_num_deltas)(diff) > 0) {
			const git_diff_delta *d = LG(git_diff_get_delta)(diff, 0);
			ret = dirty_note(&c, 1, "%s: staged", d->new_file.path ? d->new_file.path : d->old_file.path);
		}
	}
out:
	strv_free(c.deleted);
	*why = c.why;
	return ret;
}

/* Is the tip delivered (the user's ref is it), merged (in one of the user's branches), or neither? */
static enum deliver_status delivered_state(git_repository *urepo, const char *refname, const git_oid *tip)
{
	git_oid cur;
	if (LG(git_reference_name_to_id)(&cur, urepo, refname) == 0 && LG(git_oid_equal)(&cur, tip))
		return DELIVER_YES;
	cleanup_odb git_odb *uodb = NULL;
	if (LG(git_repository_odb)(&uodb, urepo) < 0 || !LG(git_odb_exists)(uodb, tip))
		return DELIVER_NO;
	git_branch_iterator *it = NULL;
	if (LG(git_branch_iterator_new)(&it, urepo, GIT_BRANCH_LOCAL) < 0)
		return DELIVER_NO;
	enum deliver_status ret = DELIVER_NO;
	git_reference *br;
	git_branch_t bt;
	while (ret == DELIVER_NO && LG(git_branch_next)(&br, &bt, it) == 0) {
		/* The workspace's own delivered ref does not count as merging it. */
		if (strcmp(LG(git_reference_name)(br), refname) != 0) {
			git_oid bo;
			if (LG(git_reference_name_to_id)(&bo, urepo, LG(git_reference_name)(br)) == 0 &&
			    (LG(git_oid_equal)(&bo, tip) || LG(git_graph_descendant_of)(urepo, &bo, tip) == 1))
				ret = DELIVER_MERGED;
		}
		LG(git_reference_free)(br);
	}
	LG(git_branch_iterator_free)(it);
	return ret;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Everything list/show/rm/gc need. rc -1: nothing is known (msg says why); with rc 0 msg may still
 * say why one part is unknown. */
static int reader_state(struct reader *rd, struct reply *r, struct aj_err *err)
{
	const struct workspace_info *i = rd->i;
	r->count = -1;
	r->dirty = -1;
	r->delivered = DELIVER_UNKNOWN;
	cleanup_close int gitfd = open_dir_untrusted(rd->wsfd, "git", "git", err);
	if (gitfd < 0 || read_tip(gitfd, i->branch, r->tip, err) < 0)
		return -1;
	cleanup_repo git_repository *wrepo = NULL;
	cleanup_repo git_repository *urepo = NULL;
	if (open_ws_repo(rd, gitfd, true, &wrepo, err) < 0)
		return -1;
	struct aj_err uerr = { 0 };
	open_user_repo(i->commondir, &urepo, &uerr);
	git_oid tip, base;
	LG(git_oid_fromstr)(&tip, r->tip);
	LG(git_oid_fromstr)(&base, i->base);
	r->count = count_ahead(wrepo, &tip, &base, NULL, err);
	if (r->count < 0)
		copy_str(r->msg, sizeof r->msg, err->msg);
	cleanup_free char *why = NULL;
	r->dirty = ws_dirty(rd, &tip, wrepo, urepo, &why);
	copy_str(r->why, sizeof r->why, why);
	if (r->count == 0) {
		r->delivered = DELIVER_NOTHING;
	} else if (r->count > 0 && urepo) {
		cleanup_free char *refname = xasprintf("refs/heads/%s%s", rd->prefix, i->id);
		r->delivered = delivered_state(urepo, refname, &tip);
	} else if (!urepo && !r->msg[0]) {
		copy_str(r->msg, sizeof r->msg, uerr.msg);
	}
	return 0;
}

/* Lower a resource limit (never raise one: the hard limit may be below what we ask). */
static void lower_limit(int resource, uint64_t soft, uint64_t hard)
{
	struct rlimit cur;
	if (getrlimit(resource, &cur) < 0)
		return;
	struct rlimit want = { .rlim_cur = soft < cur.rlim_cur ? soft : cur.rlim_cur,
			       .rlim_max = hard < cur.rlim_max ? hard : cur.rlim_max };
	if (want.rlim_cur > want.rlim_max)
		want.rlim_cur = want.rlim_max;
	setrlimit(resource, &want);
}

static _Noreturn void reader_main(struct reader *rd, int fd, pid_t parent)
{
	/* Dies with ajail: a reader must never outlive the deadline its parent enforces. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* RLIMIT_DATA bounds every allocation (packs are mapped read-only and do not count);
	 * RLIMIT_CPU stops a spinning reader even if ajail could not kill it; no core of hostile data. */
	lower_limit(RLIMIT_DATA, rd->lim->max_memory, rd->lim->max_memory);
	lower_limit(RLIMIT_CPU, rd->lim->timeout + 1, rd->lim->timeout + 5);
	lower_limit(RLIMIT_CORE, 0, 0);
	lower_limit(RLIMIT_NOFILE, 4096, RLIM_INFINITY);
	struct reply r;
	memset(&r, 0, sizeof r);
	struct aj_err err = { 0 };
	/* libgit2 parses what the jail wrote, and a parser bug is more than a crash: from here on the
	 * reader may write only its staging directory and, to deliver, the user's objects, refs and
	 * reflogs (never their config or hooks), and reach no network or other process. */
	int dirs[4] = { -1, -1, -1, -1 };
	if (stage_workspace(rd, rd->op == READ_STATE, &err) < 0) {
		r.rc = -1;
		r.kind = err.kind;
		r.errnum = err.errnum;
		copy_str(r.msg, sizeof r.msg, err.msg);
		_exit(write_all(fd, &r, sizeof r) < 0 ? 1 : 0);
	}
	dirs[0] = openat(rd->wsfd, rd->stage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rd->op == READ_DELIVER) {
		static const char *const sub[] = { "objects", "refs", "logs" };
		cleanup_close int cfd = hostpath_open(rd->i->commondir, O_PATH | O_DIRECTORY);
		for (size_t k = 0; cfd >= 0 && k < 3; k++) {
			/* git makes logs/ on the first reflog: made now, or the ref update could not log. */
			if (k == 2) {
				cleanup_close int dfd = hostpath_open(rd->i->commondir, O_RDONLY | O_DIRECTORY);
				if (dfd >= 0)
					mkdirat(dfd, "logs", 0755);
			}
			dirs[k + 1] = openat(cfd, sub[k], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
	}
	if (dirs[0] < 0 || harden_confine(dirs, 4, &err) < 0) {
		if (!err.msg[0])
			aj_fail(&err, errno, "create the staging directory %s", rd->stage);
		r.rc = -1;
		r.kind = err.kind;
		r.errnum = err.errnum;
		copy_str(r.msg, sizeof r.msg, err.msg);
		_exit(write_all(fd, &r, sizeof r) < 0 ? 1 : 0);
	}
	for (size_t k = 0; k < 4; k++)
		if (dirs[k] >= 0)
			close(dirs[k]);
	r.rc = rd->op == READ_DELIVER ? reader_deliver(rd, &r, &err) : reader_state(rd, &r, &err);
	if (r.rc < 0) {
		r.kind = err.kind;
		r.errnum = err.errnum;
		/* libgit2 says only "out of memory": say which limit it met. */
		cleanup_free char *m = strcasestr(err.msg, "out of memory")
					   ? xasprintf("%s (over the reader's %" PRIu64 " MiB, AJAIL_CLONE_MAX_MEMORY)",
						       err.msg, rd->lim->max_memory >> 20)
					   : NULL;
		copy_str(r.msg, sizeof r.msg, m ? m : err.msg);
	}
	_exit(write_all(fd, &r, sizeof r) < 0 ? 1 : 0);
}

/* Staging directories of readers that died with their ajail (a stage.<pid> whose pid is gone). */
static void sweep_stages(int wsfd)
{
	cleanup_dir DIR *d = dir_of_fd(wsfd);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!str_has_prefix(e->d_name, "stage."))
			continue;
		char *end;
		long pid = strtol(e->d_name + 6, &end, 10);
		if (*end || pid <= 0 || (pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
			continue;
		store_remove_tree(wsfd, e->d_name);
	}
}

static const char *signal_why(int sig, const struct limits *l, char *buf, size_t len)
{
	if (sig == SIGXCPU || sig == SIGKILL)
		snprintf(buf, len, "it used more than %u s of CPU (AJAIL_CLONE_TIMEOUT)", l->timeout);
	else if (sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS)
		snprintf(buf, len,
			 "it died of signal %d: out of memory (over %" PRIu64
			 " MiB, AJAIL_CLONE_MAX_MEMORY) or a malformed object",
			 sig, l->max_memory >> 20);
	else
		snprintf(buf, len, "it died of signal %d", sig);
	return buf;
}

/* Run the reader for i in a child, enforce its deadline, and bring back its reply. -1 when the
 * child gave none (timed out, died, killed): err says so in one line. */
static int reader_run(const struct workspace_info *i, const struct limits *l, const char *prefix, enum reader_op op,
		      struct reply *r, struct aj_err *err)
{
	struct reader rd = { .op = op, .i = i, .lim = l, .prefix = prefix };
	cleanup_close int wsfd = open(i->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (wsfd < 0)
		return aj_fail(err, errno, "open %s", i->dir);
	rd.wsfd = wsfd;
	sweep_stages(wsfd);
	snprintf(rd.stage, sizeof rd.stage, "stage.%d", (int)getpid());
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return aj_fail(err, errno, "pipe");
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return aj_fail(err, e, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		reader_main(&rd, p[1], parent);
	}
	close(p[1]);
	memset(r, 0, sizeof *r);
	size_t got = 0;
	bool timed_out = false, extra = false;
	uint64_t deadline = util_now_ms() + (uint64_t)l->timeout * 1000;
	for (;;) {
		uint64_t t = util_now_ms();
		if (t >= deadline) {
			timed_out = true;
			break;
		}
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		uint64_t left = deadline - t;
		int pr = poll(&pf, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			timed_out = true;
		if (pr <= 0)
			break;
		char scratch[256];
		ssize_t n = got < sizeof *r ? read(p[0], (char *)r + got, sizeof *r - got)
					    : read(p[0], scratch, sizeof scratch);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* end of file: the reader is done */
		if (got < sizeof *r)
			got += (size_t)n;
		else
			extra = true;
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	store_remove_tree(wsfd, rd.stage);
	if (timed_out)
		return aj_fail(
		    err, 0,
		    "reading its git directory took longer than %u s (AJAIL_CLONE_TIMEOUT); a fifo or a huge object? "
		    "it stays in %s",
		    l->timeout, i->dir);
	char why[256];
	if (WIFSIGNALED(st))
		return aj_fail(err, 0, "reading its git directory failed: %s; it stays in %s",
			       signal_why(WTERMSIG(st), l, why, sizeof why), i->dir);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || got != sizeof *r || extra)
		return aj_fail(err, 0, "reading its git directory failed without an answer; it stays in %s", i->dir);
	/* The strings are the child's: make sure each ends inside its buffer. */
	r->tip[sizeof r->tip - 1] = r->ref[sizeof r->ref - 1] = r->why[sizeof r->why - 1] = r->msg[sizeof r->msg - 1] =
	    '\0';
	return 0;
}

/* The reader's work in this process: no child, no limits, no deadline. For the fuzzer, which bounds
 * the process itself (libFuzzer's -rss_limit_mb and -timeout) and needs the coverage a child would
 * keep to itself. */
static int reader_inprocess(const struct workspace_info *i, const struct limits *l, const char *prefix,
			    enum reader_op op, struct reply *r, struct aj_err *err)
{
	struct reader rd = { .op = op, .i = i, .lim = l, .prefix = prefix };
	cleanup_close int wsfd = open(i->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (wsfd < 0)
		return aj_fail(err, errno, "open %s", i->dir);
	rd.wsfd = wsfd;
	snprintf(rd.stage, sizeof rd.stage, "stage.%d", (int)getpid());
	memset(r, 0, sizeof *r);
	struct aj_err rerr = { 0 };
	r->rc = op == READ_DELIVER ? reader_deliver(&rd, r, &rerr) : reader_state(&rd, r, &rerr);
	if (r->rc < 0) {
		r->kind = rerr.kind;
		r->errnum = rerr.errnum;
		copy_str(r->msg, sizeof r->msg, rerr.msg);
	}
	store_remove_tree(wsfd, rd.stage);
	return 0;
}

/* ---- the API ---- */

void deliver_state_release(struct deliver_state *s)
{
	free(s->why_dirty);
	free(s->error);
	memset(s, 0, sizeof *s);
}

static void state_load(const struct workspace_info *i, const char *prefix, struct deliver_state *s, bool bounded)
{
	memset(s, 0, sizeof *s);
	s->ahead = -1;
	s->dirty = -1;
	s->delivered = DELIVER_UNKNOWN;
	struct aj_err err = { 0 };
	struct limits l;
	struct reply r;
	if (limits_load(&l, &err) < 0 ||
	    (bounded ? reader_run : reader_inprocess)(i, &l, prefix, READ_STATE, &r, &err) < 0) {
		s->error = xstrdup(err.msg);
		return;
	}
	if (r.rc < 0) {
		s->error = xstrdup(r.msg);
		return;
	}
	if (git_hex_oid_valid(r.tip))
		memcpy(s->tip, r.tip, sizeof s->tip);
	s->ahead = r.count >= 0 ? r.count : -1;
	s->dirty = r.dirty == 0 || r.dirty == 1 ? r.dirty : -1;
	s->delivered = r.delivered >= DELIVER_NOTHING && r.delivered <= DELIVER_UNKNOWN
			   ? (enum deliver_status)r.delivered
			   : DELIVER_UNKNOWN;
	if (r.why[0])
		s->why_dirty = xstrdup(r.why);
	if (r.msg[0])
		s->error = xstrdup(r.msg);
}

void deliver_state_load(const struct workspace_info *i, const char *prefix, struct deliver_state *s)
{
	state_load(i, prefix, s, true);
}

void deliver_state_load_unbounded(const struct workspace_info *i, const char *prefix, struct deliver_state *s)
{
	state_load(i, prefix, s, false);
}

static int deliver(const char *ws_dir, int *commits, char **ref, bool bounded, struct aj_err *err)
{
	*commits = 0;
	if (ref)
		*ref = NULL;
	const char *prefix;
	struct limits l;
	if (lazy_git2_load(err) < 0 || deliver_env_check(&prefix, err) < 0 || limits_load(&l, err) < 0)
		return -1;
	const char *slash = strrchr(ws_dir, '/');
	struct workspace_info i;
	struct reply r = { 0 };
	int ret = workspace_info_load(ws_dir, slash ? slash + 1 : ws_dir, &i, err);
	if (ret == 0)
		ret = (bounded ? reader_run : reader_inprocess)(&i, &l, prefix, READ_DELIVER, &r, err);
	if (ret == 0 && r.rc < 0) {
		err->kind = r.kind == AJ_ERR_USAGE ? AJ_ERR_USAGE : AJ_ERR_FAIL;
		err->errnum = r.errnum;
		copy_str(err->msg, sizeof err->msg, r.msg);
		ret = -1;
	}
	if (ret < 0) {
		aj_err_wrap(err, "deliver workspace %s", i.id ? i.id : ws_dir);
	} else {
		*commits = r.count;
		if (ref && r.ref[0])
			*ref = xstrdup(r.ref);
	}
	workspace_info_release(&i);
	return ret;
}

int deliver_workspace(const char *ws_dir, int *commits, char **ref, struct aj_err *err)
{
	return deliver(ws_dir, commits, ref, true, err);
}

int deliver_workspace_unbounded(const char *ws_dir, int *commits, char **ref, struct aj_err *err)
{
	return deliver(ws_dir, commits, ref, false, err);
}
