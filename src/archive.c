/* archive.c — rootfs import and export. See archive.h for the rules; the comments here say why.
 *
 * Import pipeline: input fd ─▶ [decoder thread: libzstd, or libarchive's own filters in "raw" mode,
 * or a plain copy] ─▶ bounded ring of 1 MiB slots ─▶ libarchive's format reader (main thread) ─▶ our
 * extractor, which writes with *at() calls beneath the target dirfd. The decoder runs in its own
 * thread because that is what makes GNU tar fast (it runs zstd/gzip in a separate process): on two
 * cores, decompression and file creation overlap. A regular uncompressed file is mmap()ed instead
 * and handed to libarchive in big blocks, so file data is copied once, from the page cache into the
 * new files.
 *
 * We do not use archive_write_disk: its checks are per-call and path-based, and it would chown and
 * mknod. Ours resolve every parent with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a symlink
 * made by an earlier entry can never be written through, and we keep the resolved parent fd across
 * consecutive entries of the same directory (what makes 100 000 tiny files fast). */
#define AJAIL_ARCHIVE_IMPL
#include <archive.h> /* libarchive's; see the note at the top of our archive.h */
#include "archive.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include "lazy_archive.h"
#include "output.h"
#include "util.h"

#define SLOT_SIZE ((size_t)1 << 20) /* one ring slot; big blocks mean few lock round trips */
#define SLOTS	  4		    /* 4 MiB in flight between decoder and extractor */
#define MAP_CHUNK ((size_t)8 << 20) /* block size handed to libarchive from an mmap()ed file */
#define HEAD_SIZE 512		    /* bytes looked at to recognise the compression */

/* Resolution rules for every path we open beneath the rootfs: no "..", no absolute jump, no symlink
 * (not even one inside the tree: an entry's parent must be a real directory), no /proc magic link,
 * no mount crossing. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = BENEATH};
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		/* EAGAIN: a concurrent rename somewhere on the system made the kernel unsure; retry. */
		if (fd < 0 && errno == EAGAIN && tries < 16)
			continue;
		return (int)fd;
	}
}

static void archive_read_freep(struct archive **a)
{
	if (*a)
		LA(archive_read_free)(*a);
}
#define cleanup_archive_read __attribute__((cleanup(archive_read_freep)))

static void archive_write_freep(struct archive **a)
{
	if (*a)
		LA(archive_write_free)(*a);
}
#define cleanup_archive_write __attribute__((cleanup(archive_write_freep)))

static void archive_entry_freep(struct archive_entry **e)
{
	if (*e)
		LA(archive_entry_free)(*e);
}
#define cleanup_archive_entry __attribute__((cleanup(archive_entry_freep)))

static void linkresolver_freep(struct archive_entry_linkresolver **r)
{
	if (*r)
		LA(archive_entry_linkresolver_free)(*r);
}
#define cleanup_linkresolver __attribute__((cleanup(linkresolver_freep)))

static const char *la_msg(struct archive *a)
{
	const char *m = LA(archive_error_string)(a);
	return m ? m : "unknown libarchive error";
}

/* The one boundary where libarchive's errors become ours. */
static int la_fail(struct aj_err *err, struct archive *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int la_fail(struct aj_err *err, struct archive *a, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return aj_fail(err, 0, "%s: %s", what, la_msg(a));
}

/* A full disk must say so plainly: it is the one failure a user can fix on the spot. */
static int sys_fail(struct aj_err *err, int errnum, const char *name, const char *what)
{
	if (errnum == ENOSPC || errnum == EDQUOT)
		return aj_fail(err, errnum, "disk full while writing entry '%s'", name);
	return aj_fail(err, errnum, "entry '%s': %s", name, what);
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = pwrite(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Input: the source fd, with the bytes already looked at for recognition replayed first.          */

struct input {
	int fd;
	bool regular;  /* a regular file: reads never block, its size is known */
	uint64_t size; /* bytes from the start position to the end (regular files), else 0 */
	uint8_t head[HEAD_SIZE];
	size_t head_len, head_off; /* bytes of head still to hand out (pipes only) */
	int cancel_fd;		   /* read end of a pipe that becomes readable when the import is abandoned */
	uint64_t nread;		   /* bytes consumed, read by the progress bar (atomic) */
};

static ssize_t input_read(struct input *in, void *buf, size_t n)
{
	if (in->head_off < in->head_len) {
		size_t k = in->head_len - in->head_off;
		if (k > n)
			k = n;
		memcpy(buf, in->head + in->head_off, k);
		in->head_off += k;
		__atomic_fetch_add(&in->nread, k, __ATOMIC_RELAXED);
		return (ssize_t)k;
	}
	for (;;) {
		/* A pipe may block forever (an idle writer); wait on the cancel pipe too, so an
		 * abandoned import can always stop its decoder thread. */
		if (!in->regular && in->cancel_fd >= 0) {
			struct pollfd pf[2] = {{.fd = in->fd, .events = POLLIN},
					       {.fd = in->cancel_fd, .events = POLLIN}};
			if (poll(pf, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (pf[1].revents) {
				errno = ECANCELED;
				return -1;
			}
		}
		ssize_t r = read(in->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0)
			__atomic_fetch_add(&in->nread, (uint64_t)r, __ATOMIC_RELAXED);
		return r;
	}
}

enum codec {
	CODEC_COPY,	  /* not compressed, from a pipe: read in the other thread all the same */
	CODEC_ZSTD,	  /* libzstd streaming decompression */
	CODEC_LIBARCHIVE, /* gzip, xz, bzip2, lz4, ...: libarchive's filters with its "raw" format */
};

static enum codec input_codec(const uint8_t *b, size_t n, bool *compressed)
{
	*compressed = true;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return CODEC_ZSTD;
	/* A zstd skippable frame (0x184D2A5?) may come first, as pzstd writes. */
	if (n >= 4 && (b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18)
		return CODEC_ZSTD;
	if (n >= 2 && b[0] == 0x1f && (b[1] == 0x8b || b[1] == 0x9d)) /* gzip, compress */
		return CODEC_LIBARCHIVE;
	if (n >= 3 && memcmp(b, "BZh", 3) == 0)
		return CODEC_LIBARCHIVE;
	if (n >= 6 && memcmp(b,
			     "\xfd"
			     "7zXZ\0",
			     6) == 0)
		return CODEC_LIBARCHIVE;
	if (n >= 4 && (memcmp(b, "\x04\x22\x4d\x18", 4) == 0 || memcmp(b, "LZIP", 4) == 0))
		return CODEC_LIBARCHIVE;
	*compressed = false;
	return CODEC_COPY;
}

/* ---------------------------------------------------------------------------------------------- */
/* The decoder thread and the bounded ring between it and libarchive's reader.                      */

struct pipeline {
	struct input *in;
	enum codec codec;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t can_fill, can_drain;
	uint8_t *slot[SLOTS];
	size_t len[SLOTS];
	unsigned head, tail; /* slots head..tail-1 hold data; head is handed to libarchive ("held") */
	bool holding;	     /* libarchive still uses slot[head] until its next read callback */
	bool done, cancel;
	int errnum; /* decoder's failure: errno, or -1 for a message-only error */
	char errmsg[512];
	int cancel_pipe[2];
};

/* A free slot for the decoder to fill, or NULL when the import was abandoned. */
static uint8_t *pipeline_get_free(struct pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->tail - p->head == SLOTS && !p->cancel)
		pthread_cond_wait(&p->can_fill, &p->mu);
	uint8_t *s = p->cancel ? NULL : p->slot[p->tail % SLOTS];
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void pipeline_put(struct pipeline *p, size_t n)
{
	pthread_mutex_lock(&p->mu);
	p->len[p->tail % SLOTS] = n;
	p->tail++;
	pthread_cond_signal(&p->can_drain);
	pthread_mutex_unlock(&p->mu);
}

static void *pipeline_finish(struct pipeline *p, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *pipeline_finish(struct pipeline *p, int errnum, const char *fmt, ...)
{
	pthread_mutex_lock(&p->mu);
	p->done = true;
	if (fmt && !p->cancel) {
		p->errnum = errnum ? errnum : -1;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
		va_end(ap);
	}
	pthread_cond_signal(&p->can_drain);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *decode_copy(struct pipeline *p)
{
	for (;;) {
		uint8_t *s = pipeline_get_free(p);
		if (!s)
			return pipeline_finish(p, 0, NULL);
		size_t n = 0;
		bool eof = false;
		while (n < SLOT_SIZE) {
			ssize_t r = input_read(p->in, s + n, SLOT_SIZE - n);
			if (r < 0)
				return pipeline_finish(p, errno, "read");
			if (r == 0) {
				eof = true;
				break;
			}
			n += (size_t)r;
			/* From a pipe, pass on what came: the next read may wait for a slow writer. */
			if (!p->in->regular)
				break;
		}
		if (n > 0)
			pipeline_put(p, n);
		if (eof)
			return pipeline_finish(p, 0, NULL);
	}
}

static void *decode_zstd(struct pipeline *p)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	size_t insz = ZSTD_DStreamInSize() * 4;
	cleanup_free uint8_t *inbuf = xmalloc(insz);
	ZSTD_inBuffer zin = {inbuf, 0, 0};
	size_t last = 0;
	bool eof = false;
	void *ret = NULL;
	if (!z)
		return pipeline_finish(p, ENOMEM, "zstd");
	for (;;) {
		uint8_t *s = pipeline_get_free(p);
		if (!s) {
			ret = pipeline_finish(p, 0, NULL);
			goto out;
		}
		ZSTD_outBuffer zout = {s, SLOT_SIZE, 0};
		bool stuck = false;
		while (zout.pos < zout.size) {
			if (zin.pos == zin.size && !eof) {
				/* About to read, which may block on a pipe: hand over what is decoded first. */
				if (!p->in->regular && zout.pos > 0)
					break;
				ssize_t r = input_read(p->in, inbuf, insz);
				if (r < 0) {
					ret = pipeline_finish(p, errno, "read");
					goto out;
				}
				zin.size = (size_t)r;
				zin.pos = 0;
				eof = r == 0;
			}
			size_t out_before = zout.pos, in_before = zin.pos;
			size_t hint = ZSTD_decompressStream(z, &zout, &zin);
			if (ZSTD_isError(hint)) {
				ret = pipeline_finish(p, 0, "zstd: %s", ZSTD_getErrorName(hint));
				goto out;
			}
			/* Only a call that did something tells where we are: 0 = at a frame boundary. An
			 * idle call after the last frame would say "want a new frame header". */
			if (zout.pos != out_before || zin.pos != in_before)
				last = hint;
			else if (eof && zin.pos == zin.size) {
				/* The input is over and the decoder has nothing more to give. */
				stuck = true;
				break;
			}
		}
		if (zout.pos > 0)
			pipeline_put(p, zout.pos);
		if (stuck) {
			/* last != 0: the input ended inside a frame. */
			ret = last ? pipeline_finish(p, 0, "zstd: truncated input") : pipeline_finish(p, 0, NULL);
			goto out;
		}
	}
out:
	ZSTD_freeDCtx(z);
	return ret;
}

/* libarchive's read callback for the decoder's own archive object (the compressed input). */
struct raw_client {
	struct input *in;
	uint8_t *buf;
};

static la_ssize_t raw_read_cb(struct archive *a, void *data, const void **buf)
{
	struct raw_client *c = data;
	ssize_t r = input_read(c->in, c->buf, SLOT_SIZE);
	if (r < 0) {
		LA(archive_set_error)(a, errno, "read");
		return -1;
	}
	*buf = c->buf;
	return r;
}

static void *decode_libarchive(struct pipeline *p)
{
	cleanup_free uint8_t *buf = xmalloc(SLOT_SIZE);
	struct raw_client c = {p->in, buf};
	cleanup_archive_read struct archive *a = LA(archive_read_new)();
	struct archive_entry *e;
	if (!a)
		return pipeline_finish(p, ENOMEM, "libarchive");
	LA(archive_read_support_filter_all)(a);
	LA(archive_read_support_format_raw)(a);
	/* "empty": a compressed empty stream is an empty archive (refused later with a clear message),
	 * not an "unrecognized format". */
	LA(archive_read_support_format_empty)(a);
	int r = LA(archive_read_open)(a, &c, NULL, raw_read_cb, NULL);
	if (r == ARCHIVE_OK)
		r = LA(archive_read_next_header)(a, &e);
	if (r == ARCHIVE_EOF)
		return pipeline_finish(p, 0, NULL);
	if (r < ARCHIVE_WARN)
		return pipeline_finish(p, 0, "%s", la_msg(a));
	for (;;) {
		uint8_t *s = pipeline_get_free(p);
		if (!s)
			return pipeline_finish(p, 0, NULL);
		size_t n = 0;
		bool eof = false;
		while (n < SLOT_SIZE) {
			la_ssize_t got = LA(archive_read_data)(a, s + n, SLOT_SIZE - n);
			if (got < 0)
				return pipeline_finish(p, 0, "%s", la_msg(a));
			if (got == 0) {
				eof = true;
				break;
			}
			n += (size_t)got;
			if (!p->in->regular)
				break; /* as in decode_copy: do not sit on data while a pipe is slow */
		}
		if (n > 0)
			pipeline_put(p, n);
		if (eof)
			return pipeline_finish(p, 0, NULL);
	}
}

static void *pipeline_thread(void *arg)
{
	struct pipeline *p = arg;
	switch (p->codec) {
	case CODEC_COPY:
		return decode_copy(p);
	case CODEC_ZSTD:
		return decode_zstd(p);
	case CODEC_LIBARCHIVE:
		return decode_libarchive(p);
	}
	return pipeline_finish(p, 0, "unknown codec");
}

/* libarchive's read callback for the format reader: the next filled slot. */
static la_ssize_t pipeline_read_cb(struct archive *a, void *data, const void **buf)
{
	struct pipeline *p = data;
	pthread_mutex_lock(&p->mu);
	/* libarchive promises it is done with the previous block when it asks for the next. */
	if (p->holding) {
		p->head++;
		p->holding = false;
		pthread_cond_signal(&p->can_fill);
	}
	while (p->head == p->tail && !p->done)
		pthread_cond_wait(&p->can_drain, &p->mu);
	if (p->head == p->tail) {
		int e = p->errnum;
		pthread_mutex_unlock(&p->mu);
		if (e) {
			LA(archive_set_error)(a, e > 0 ? e : EIO, "decoder failed");
			return -1;
		}
		return 0;
	}
	*buf = p->slot[p->head % SLOTS];
	size_t n = p->len[p->head % SLOTS];
	p->holding = true;
	pthread_mutex_unlock(&p->mu);
	return (la_ssize_t)n;
}

static int pipeline_start(struct pipeline *p, struct input *in, enum codec codec, struct aj_err *err)
{
	memset(p, 0, sizeof *p);
	p->in = in;
	p->codec = codec;
	p->cancel_pipe[0] = p->cancel_pipe[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->can_fill, NULL);
	pthread_cond_init(&p->can_drain, NULL);
	for (int i = 0; i < SLOTS; i++)
		p->slot[i] = xmalloc(SLOT_SIZE);
	if (pipe2(p->cancel_pipe, O_CLOEXEC) < 0)
		return aj_fail(err, errno, "pipe");
	in->cancel_fd = p->cancel_pipe[0];
	int r = pthread_create(&p->thread, NULL, pipeline_thread, p);
	if (r != 0)
		return aj_fail(err, r, "start the decompression thread");
	p->started = true;
	return 0;
}

/* Stop (if still running) and join the decoder, then free everything. Safe on a zeroed struct. */
static void pipeline_stop(struct pipeline *p)
{
	if (!p->in)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->cancel = true;
		pthread_cond_broadcast(&p->can_fill);
		pthread_mutex_unlock(&p->mu);
		if (p->cancel_pipe[1] >= 0 && write(p->cancel_pipe[1], "x", 1) < 0) {
			/* cannot happen with an empty pipe; the thread then stops at its next slot */
		}
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	for (int i = 0; i < SLOTS; i++) {
		free(p->slot[i]);
		p->slot[i] = NULL;
	}
	p->in->cancel_fd = -1;
	for (int i = 0; i < 2; i++)
		if (p->cancel_pipe[i] >= 0)
			close(p->cancel_pipe[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->can_fill);
	pthread_cond_destroy(&p->can_drain);
	p->in = NULL;
}

/* The decoder's own error, if it failed: more useful than libarchive's "truncated archive". */
static bool pipeline_error(struct pipeline *p, struct aj_err *err, const char *source)
{
	if (!p->in)
		return false;
	pthread_mutex_lock(&p->mu);
	int e = p->errnum;
	char msg[sizeof p->errmsg];
	memcpy(msg, p->errmsg, sizeof msg);
	pthread_mutex_unlock(&p->mu);
	if (!e)
		return false;
	aj_fail(err, e > 0 ? e : 0, "'%s': %s", source, msg);
	return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* A regular uncompressed file, mmap()ed: libarchive reads it in place.                             */

struct mapped {
	const uint8_t *base;
	size_t size, pos;
	struct input *in;
};

static la_ssize_t mapped_read_cb(struct archive *a, void *data, const void **buf)
{
	struct mapped *m = data;
	size_t n = m->size - m->pos;
	if (n > MAP_CHUNK)
		n = MAP_CHUNK;
	*buf = m->base + m->pos;
	m->pos += n;
	__atomic_store_n(&m->in->nread, (uint64_t)m->pos, __ATOMIC_RELAXED);
	return (la_ssize_t)n;
}

/* Seeking lets libarchive read formats with a central directory (zip, 7z, iso) from a file. */
static la_int64_t mapped_seek_cb(struct archive *a, void *data, la_int64_t off, int whence)
{
	struct mapped *m = data;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)m->pos : (int64_t)m->size;
	int64_t np = base + off;
	if (np < 0 || np > (int64_t)m->size) {
		LA(archive_set_error)(a, EINVAL, "seek outside the file");
		return ARCHIVE_FATAL;
	}
	m->pos = (size_t)np;
	return np;
}

/* ---------------------------------------------------------------------------------------------- */
/* The extractor.                                                                                   */

struct fixup {
	char *path; /* normalised, "" = the root */
	mode_t mode;
	bool has_times;
	struct timespec ts[2];
	unsigned depth; /* number of components: deeper directories are finished first */
	size_t seq;	/* entry order: for the same directory, the last entry wins */
};

struct xtract {
	int root;
	struct archive_stats *st;
	struct aj_err *err;
	mode_t umask;
	char *path, *tpath; /* normalised names of the current entry and of its hard link target */
	size_t path_cap, tpath_cap;
	char *cache_path; /* the parent directory whose fd is cached, normalised */
	int cache_fd;
	struct fixup *fix;
	size_t nfix, capfix;
	int64_t own_uid, own_gid; /* owners that are not "flattened" besides 0: the user's own, for a
				   * directory source (an archive's ids are the archive's, not ours) */
	char **skipped;		  /* device nodes not written: a hard link to one is skipped too */
	dev_t skip_dev;		  /* directory source: the target itself, never copied into itself */
	ino_t skip_ino;
	struct output_progress prog;
	const uint64_t *in_bytes;
	uint64_t in_total;
};

static void xtract_cache_drop(struct xtract *x)
{
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	x->cache_fd = -1;
	free(x->cache_path);
	x->cache_path = NULL;
}

static void xtract_release(struct xtract *x)
{
	xtract_cache_drop(x);
	for (size_t i = 0; i < x->nfix; i++)
		free(x->fix[i].path);
	free(x->fix);
	strv_free(x->skipped);
	x->skipped = NULL;
	free(x->path);
	free(x->tpath);
	x->fix = NULL;
	x->path = x->tpath = NULL;
	x->nfix = x->capfix = 0;
}

static unsigned path_depth(const char *p)
{
	if (!*p)
		return 0;
	unsigned d = 1;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

static void fixup_add(struct xtract *x, const char *path, mode_t mode, const struct timespec *ts)
{
	if (x->nfix == x->capfix) {
		x->capfix = x->capfix ? x->capfix * 2 : 256;
		x->fix = xrealloc(x->fix, x->capfix * sizeof *x->fix);
	}
	struct fixup *f = &x->fix[x->nfix];
	f->path = xstrdup(path);
	f->mode = mode;
	f->has_times = ts != NULL;
	if (ts) {
		f->ts[0] = ts[0];
		f->ts[1] = ts[1];
	}
	f->depth = path_depth(path);
	f->seq = x->nfix++;
}

static bool entry_times(struct archive_entry *e, struct timespec ts[2])
{
	if (!LA(archive_entry_mtime_is_set)(e))
		return false;
	ts[1].tv_sec = LA(archive_entry_mtime)(e);
	ts[1].tv_nsec = LA(archive_entry_mtime_nsec)(e);
	if (LA(archive_entry_atime_is_set)(e)) {
		ts[0].tv_sec = LA(archive_entry_atime)(e);
		ts[0].tv_nsec = LA(archive_entry_atime_nsec)(e);
	} else {
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
	}
	return true;
}

/* Open the directory rel (normalised, non-empty) beneath the root, one component at a time, so the
 * error can name the component that is a symlink or not a directory. With create, missing
 * directories are made (tar archives may omit them), mode 0755 in the end, like tar. */
static int resolve_walk(struct xtract *x, const char *rel, const char *name, bool create)
{
	cleanup_free char *buf = xstrdup(rel);
	int cur = x->root;
	char *p = buf;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		int fd = openat2_beneath(cur, p, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, p, 0700) < 0 && errno != EEXIST) {
				int e = errno;
				if (cur != x->root)
					close(cur);
				return sys_fail(x->err, e, name, "create parent directory");
			}
			fixup_add(x, buf, 0755, NULL);
			fd = openat2_beneath(cur, p, O_PATH | O_DIRECTORY);
		}
		int e = errno;
		if (cur != x->root)
			close(cur);
		if (fd < 0) {
			/* buf now ends at the failing component: it names what is wrong. */
			if (e == ELOOP)
				return aj_fail(x->err, 0,
					       "entry '%s': '%s' is a symbolic link; refusing to write through it",
					       name, buf);
			if (e == ENOTDIR)
				return aj_fail(x->err, 0, "entry '%s': '%s' is not a directory", name, buf);
			if (e == EXDEV)
				return aj_fail(x->err, 0, "entry '%s' leaves the rootfs", name);
			if (e == ENOENT)
				return aj_fail(x->err, 0, "entry '%s': '%s' does not exist", name, buf);
			return aj_fail(x->err, e, "entry '%s': open '%s'", name, buf);
		}
		cur = fd;
		if (!slash)
			return cur;
		*slash = '/';
		p = slash + 1;
	}
}

/* The fd of the parent directory of the current entry (borrowed: do not close). */
static int xtract_parent(struct xtract *x, const char *parent, const char *name)
{
	if (!*parent)
		return x->root;
	if (x->cache_path && strcmp(x->cache_path, parent) == 0)
		return x->cache_fd;
	xtract_cache_drop(x);
	int fd = openat2_beneath(x->root, parent, O_PATH | O_DIRECTORY);
	if (fd < 0)
		fd = resolve_walk(x, parent, name, true);
	if (fd < 0)
		return -1;
	x->cache_fd = fd;
	x->cache_path = xstrdup(parent);
	return fd;
}

/* Make room for the current entry at pfd/leaf, as tar does: an existing non-directory is unlinked
 * (never followed), an empty directory removed, a non-empty one refused. Returns 1 when want_dir
 * and a directory is already there (keep it), 0 when the name is free, -1 on error. */
static int make_room(struct xtract *x, int pfd, const char *leaf, const char *name, bool want_dir)
{
	struct stat sb;
	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : aj_fail(x->err, errno, "entry '%s': stat", name);
	if (S_ISDIR(sb.st_mode)) {
		if (want_dir)
			return 1;
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) < 0) {
			if (errno == ENOTEMPTY || errno == EEXIST)
				return aj_fail(x->err, 0, "entry '%s' would replace a non-empty directory", name);
			return aj_fail(x->err, errno, "entry '%s': remove the directory in its way", name);
		}
		/* The cached parent may be the directory just removed (or below it): forget it. */
		size_t n = strlen(x->path);
		if (x->cache_path && strncmp(x->cache_path, x->path, n) == 0 &&
		    (x->cache_path[n] == '\0' || x->cache_path[n] == '/'))
			xtract_cache_drop(x);
		return 0;
	}
	if (unlinkat(pfd, leaf, 0) < 0)
		return aj_fail(x->err, errno, "entry '%s': remove the file in its way", name);
	return 0;
}

/* Copy the entry's data into fd at the offsets libarchive gives (holes stay holes), then extend to
 * the full size for a trailing hole. */
static int write_data(struct xtract *x, struct archive *a, struct archive_entry *e, int fd, const char *name)
{
	int64_t end = 0;
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = LA(archive_read_data_block)(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return la_fail(x->err, a, "entry '%s'", name);
		if (size == 0)
			continue;
		if (pwrite_all(fd, buf, size, off) < 0)
			return sys_fail(x->err, errno, name, "write");
		if (off + (int64_t)size > end)
			end = off + (int64_t)size;
		if (x->prog.on)
			output_progress_update(&x->prog, __atomic_load_n(x->in_bytes, __ATOMIC_RELAXED), x->in_total,
					       x->st->files + x->st->dirs + x->st->symlinks + x->st->hardlinks);
	}
	int64_t size = LA(archive_entry_size_is_set)(e) ? LA(archive_entry_size)(e) : 0;
	if (size > end) {
		if (ftruncate(fd, size) < 0)
			return sys_fail(x->err, errno, name, "extend");
		end = size;
	}
	x->st->bytes += (uint64_t)end;
	return 0;
}

static int extract_file(struct xtract *x, struct archive *a, struct archive_entry *e, int pfd, const char *leaf,
			const char *name, mode_t mode)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	cleanup_close int fd = openat(pfd, leaf, flags, mode);
	if (fd < 0 && errno == EEXIST) {
		if (make_room(x, pfd, leaf, name, false) < 0)
			return -1;
		fd = openat(pfd, leaf, flags, mode);
	}
	if (fd < 0)
		return sys_fail(x->err, errno, name, "create");
	if (write_data(x, a, e, fd, name) < 0)
		return -1;
	/* openat applied the umask: put back what it took (the common 0644/0755 need no syscall). */
	if ((mode & x->umask) && fchmod(fd, mode) < 0)
		return aj_fail(x->err, errno, "entry '%s': chmod", name);
	struct timespec ts[2];
	if (entry_times(e, ts) && futimens(fd, ts) < 0)
		return aj_fail(x->err, errno, "entry '%s': set times", name);
	int r = close(fd);
	fd = -1;
	if (r < 0 && errno != EINTR)
		return sys_fail(x->err, errno, name, "close");
	x->st->files++;
	return 0;
}

static int extract_dir(struct xtract *x, struct archive_entry *e, int pfd, const char *leaf, const char *name,
		       mode_t mode)
{
	/* 0700 until the end: a 0555 directory must still take its contents. */
	if (mkdirat(pfd, leaf, 0700) < 0) {
		if (errno != EEXIST)
			return sys_fail(x->err, errno, name, "mkdir");
		int r = make_room(x, pfd, leaf, name, true);
		if (r < 0)
			return -1;
		if (r == 0 && mkdirat(pfd, leaf, 0700) < 0)
			return sys_fail(x->err, errno, name, "mkdir");
	}
	struct timespec ts[2];
	bool t = entry_times(e, ts);
	fixup_add(x, x->path, mode, t ? ts : NULL);
	x->st->dirs++;
	return 0;
}

static int extract_symlink(struct xtract *x, struct archive_entry *e, int pfd, const char *leaf, const char *name)
{
	const char *target = LA(archive_entry_symlink)(e);
	if (!target)
		target = LA(archive_entry_symlink_utf8)(e);
	if (!target || !*target)
		return aj_fail(x->err, 0, "entry '%s': symbolic link without a target", name);
	/* Stored as given: a symlink is only ever resolved inside the jail, and we never follow one. */
	if (symlinkat(target, pfd, leaf) < 0) {
		if (errno != EEXIST)
			return sys_fail(x->err, errno, name, "symlink");
		if (make_room(x, pfd, leaf, name, false) < 0)
			return -1;
		if (symlinkat(target, pfd, leaf) < 0)
			return sys_fail(x->err, errno, name, "symlink");
	}
	struct timespec ts[2];
	if (entry_times(e, ts) && utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return aj_fail(x->err, errno, "entry '%s': set times", name);
	x->st->symlinks++;
	return 0;
}

static int extract_hardlink(struct xtract *x, struct archive *a, struct archive_entry *e, const char *parent,
			    const char *leaf, const char *name)
{
	const char *target = LA(archive_entry_hardlink)(e);
	size_t n = strlen(target) + 1;
	if (n > x->tpath_cap) {
		x->tpath = xrealloc(x->tpath, n);
		x->tpath_cap = n;
	}
	if (!archive_path_clean(target, x->tpath))
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' leaves the rootfs", name, target);
	if (!*x->tpath)
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' is not a regular file", name, target);
	if (strcmp(x->tpath, x->path) == 0) {
		/* A link to itself (some archivers write these): it already is what it should be. */
		x->st->hardlinks++;
		return 0;
	}
	char *slash = strrchr(x->tpath, '/');
	const char *tleaf = slash ? slash + 1 : x->tpath;
	int tfd = x->root;
	if (slash) {
		*slash = '\0';
		tfd = openat2_beneath(x->root, x->tpath, O_PATH | O_DIRECTORY);
		int e0 = errno;
		*slash = '/';
		if (tfd < 0) {
			if (e0 == ENOENT || e0 == ENOTDIR)
				return aj_fail(x->err, 0,
					       "entry '%s': hard link target '%s' does not exist in the archive", name,
					       target);
			if (e0 == ELOOP)
				return aj_fail(x->err, 0,
					       "entry '%s': hard link target '%s' goes through a symbolic link", name,
					       target);
			if (e0 == EXDEV)
				return aj_fail(x->err, 0, "entry '%s': hard link target '%s' leaves the rootfs", name,
					       target);
			return aj_fail(x->err, e0, "entry '%s': hard link target '%s'", name, target);
		}
	}
	struct stat sb;
	int r = fstatat(tfd, tleaf, &sb, AT_SYMLINK_NOFOLLOW);
	int e1 = errno;
	if (r < 0 || !S_ISREG(sb.st_mode)) {
		if (tfd != x->root)
			close(tfd);
		if (r < 0 && e1 == ENOENT && strv_contains(x->skipped, x->tpath)) {
			x->st->skipped_devices++;
			return 0;
		}
		if (r < 0 && e1 == ENOENT)
			return aj_fail(x->err, 0, "entry '%s': hard link target '%s' does not exist in the archive",
				       name, target);
		if (r < 0)
			return aj_fail(x->err, e1, "entry '%s': hard link target '%s'", name, target);
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' is not a regular file", name, target);
	}
	int pfd = xtract_parent(x, parent, name);
	if (pfd < 0) {
		if (tfd != x->root)
			close(tfd);
		return -1;
	}
	/* flags 0: never follow; the target was just checked to be a regular file. */
	r = linkat(tfd, tleaf, pfd, leaf, 0);
	if (r < 0 && errno == EEXIST) {
		if (make_room(x, pfd, leaf, name, false) < 0) {
			if (tfd != x->root)
				close(tfd);
			return -1;
		}
		r = linkat(tfd, tleaf, pfd, leaf, 0);
	}
	e1 = errno;
	if (tfd != x->root)
		close(tfd);
	if (r < 0)
		return sys_fail(x->err, e1, name, "hard link");
	/* pax and cpio may carry data with a link: it belongs to the (shared) file. */
	if (LA(archive_entry_size_is_set)(e) && LA(archive_entry_size)(e) > 0) {
		cleanup_close int fd = openat(pfd, leaf, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return sys_fail(x->err, errno, name, "open");
		if (write_data(x, a, e, fd, name) < 0)
			return -1;
	}
	x->st->hardlinks++;
	return 0;
}

static int extract_entry(struct xtract *x, struct archive *a, struct archive_entry *e)
{
	const char *name = LA(archive_entry_pathname)(e);
	if (!name)
		name = LA(archive_entry_pathname_utf8)(e);
	if (!name)
		return aj_fail(x->err, 0, "an entry without a name");
	size_t n = strlen(name) + 1;
	if (n > x->path_cap) {
		x->path = xrealloc(x->path, n);
		x->path_cap = n;
	}
	if (!archive_path_clean(name, x->path))
		return aj_fail(x->err, 0, "entry '%s' leaves the rootfs", name);

	mode_t type = LA(archive_entry_filetype)(e);
	const char *hardlink = LA(archive_entry_hardlink)(e);
	if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK)) {
		/* Unprivileged, mknod fails; the jail mounts its own /dev anyway. */
		x->st->skipped_devices++;
		strv_push(&x->skipped, xstrdup(x->path));
		return 0;
	}
	int64_t uid = LA(archive_entry_uid)(e), gid = LA(archive_entry_gid)(e);
	if ((uid != 0 && uid != x->own_uid) || (gid != 0 && gid != x->own_gid))
		x->st->owners_flattened++;
	mode_t mode = LA(archive_entry_perm)(e) & 07777;
	if (mode & (S_ISUID | S_ISGID)) {
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
		x->st->setid_dropped++;
	}

	if (!*x->path) {
		/* "./": the root itself. It keeps u+rwx so the store can rename and delete it. */
		if (type != AE_IFDIR || hardlink)
			return aj_fail(x->err, 0, "entry '%s' would replace the root directory", name);
		struct timespec ts[2];
		bool t = entry_times(e, ts);
		fixup_add(x, "", mode | S_IRWXU, t ? ts : NULL);
		x->st->dirs++;
		return 0;
	}

	/* Split into parent and leaf in place; put the '/' back before returning. */
	char *slash = strrchr(x->path, '/');
	const char *parent = "", *leaf = x->path;
	if (slash) {
		*slash = '\0';
		parent = x->path;
		leaf = slash + 1;
	}
	int r;
	if (hardlink) {
		/* make_room compares against the full path: restore it for the duration. */
		if (slash)
			*slash = '/';
		char *par = slash ? xstrndup(x->path, (size_t)(slash - x->path)) : xstrdup("");
		r = extract_hardlink(x, a, e, par, leaf, name);
		free(par);
		return r;
	}
	int pfd = xtract_parent(x, parent, name);
	if (slash)
		*slash = '/';
	if (pfd < 0)
		return -1;
	switch (type) {
	case AE_IFREG:
		return extract_file(x, a, e, pfd, leaf, name, mode);
	case AE_IFDIR:
		return extract_dir(x, e, pfd, leaf, name, mode);
	case AE_IFLNK:
		return extract_symlink(x, e, pfd, leaf, name);
	default:
		return aj_fail(x->err, 0, "entry '%s' has an unsupported type (0%o)", name, (unsigned)type);
	}
}

static int fixup_cmp(const void *pa, const void *pb)
{
	const struct fixup *a = pa, *b = pb;
	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	return a->seq > b->seq ? -1 : a->seq < b->seq ? 1 : 0;
}

/* Give directories their final modes and mtimes, deepest first: a parent that loses its x bit must
 * come after everything beneath it, and creating entries inside a directory changes its mtime. */
static int xtract_fixups(struct xtract *x)
{
	xtract_cache_drop(x);
	qsort(x->fix, x->nfix, sizeof *x->fix, fixup_cmp);
	for (size_t i = 0; i < x->nfix; i++) {
		struct fixup *f = &x->fix[i];
		if (i > 0 && strcmp(f->path, x->fix[i - 1].path) == 0)
			continue; /* an earlier entry for the same directory: the later one won */
		int fd = *f->path ? openat2_beneath(x->root, f->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
				  : openat(x->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			/* Replaced by a later non-directory entry: nothing to finish. */
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			return aj_fail(x->err, errno, "directory '%s': open", f->path);
		}
		int r = fchmod(fd, f->mode);
		if (r == 0 && f->has_times)
			r = futimens(fd, f->ts);
		int e = errno;
		close(fd);
		if (r < 0)
			return aj_fail(x->err, e, "directory '%s': set mode and times", *f->path ? f->path : ".");
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Import.                                                                                          */

static uint64_t entries(const struct archive_stats *st)
{
	return st->files + st->dirs + st->symlinks + st->hardlinks;
}

static void progress_tick(struct xtract *x)
{
	if (x->prog.on)
		output_progress_update(&x->prog, __atomic_load_n(x->in_bytes, __ATOMIC_RELAXED), x->in_total,
				       entries(x->st));
}

static int import_directory(struct xtract *x, const char *source)
{
	cleanup_archive_read struct archive *disk = LA(archive_read_disk_new)();
	cleanup_archive_entry struct archive_entry *entry = LA(archive_entry_new)();
	cleanup_linkresolver struct archive_entry_linkresolver *res = LA(archive_entry_linkresolver_new)();
	if (!disk || !entry || !res)
		return aj_fail(x->err, ENOMEM, "libarchive");
	LA(archive_entry_linkresolver_set_strategy)(res, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	/* Hybrid: follow SOURCE itself if it is a symlink to a directory, nothing beneath it. Other
	 * filesystems mounted inside (a chroot's /proc) are not ours to copy. */
	LA(archive_read_disk_set_symlink_hybrid)(disk);
	LA(archive_read_disk_set_behavior)(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_XATTR |
						 ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS);
	if (LA(archive_read_disk_open)(disk, source) != ARCHIVE_OK)
		return la_fail(x->err, disk, "'%s'", source);
	/* libarchive reports SOURCE without its trailing '/'s: "dir/" walks as "dir", "dir/etc". */
	size_t plen = strlen(source);
	while (plen > 0 && source[plen - 1] == '/')
		plen--;
	for (;;) {
		int r = LA(archive_read_next_header2)(disk, entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN)
			return la_fail(x->err, disk, "'%s'", source);
		const char *p = LA(archive_entry_pathname)(entry);
		if (!p || strncmp(p, source, plen) != 0 || (p[plen] != '\0' && p[plen] != '/'))
			return aj_fail(x->err, 0, "'%s': unexpected path '%s' while walking", source, p ? p : "");
		if (LA(archive_entry_filetype)(entry) == AE_IFDIR) {
			/* Never copy the new rootfs into itself (a store inside SOURCE). */
			if ((dev_t)LA(archive_entry_dev)(entry) == x->skip_dev &&
			    (ino_t)LA(archive_entry_ino)(entry) == x->skip_ino)
				continue;
			if (LA(archive_read_disk_descend)(disk) < ARCHIVE_WARN)
				return la_fail(x->err, disk, "'%s'", p);
		}
		cleanup_free char *rel = xstrdup(p + plen);
		LA(archive_entry_copy_pathname)(entry, rel);
		struct archive_entry *le = entry, *spare = NULL;
		LA(archive_entry_linkify)(res, &le, &spare);
		if (le && extract_entry(x, disk, le) < 0)
			return -1;
		x->st->input_bytes = x->st->bytes;
		progress_tick(x);
	}
	return 0;
}

static int import_stream(struct xtract *x, int fd, const char *source)
{
	struct input in = {.fd = fd, .cancel_fd = -1};
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return aj_fail(x->err, errno, "'%s'", source);
	in.regular = S_ISREG(sb.st_mode);
	off_t start = 0;
	if (in.regular) {
		start = lseek(fd, 0, SEEK_CUR);
		if (start < 0)
			start = 0;
		in.size = sb.st_size > start ? (uint64_t)(sb.st_size - start) : 0;
		ssize_t r = pread(fd, in.head, HEAD_SIZE, start);
		if (r < 0)
			return aj_fail(x->err, errno, "read '%s'", source);
		in.head_len = (size_t)r;
	} else {
		/* A pipe: what is read to recognise it must be replayed. Six bytes tell the compression;
		 * waiting for more could wait for a slow writer (or forever, for a short input). */
		while (in.head_len < 6) {
			ssize_t r = read(fd, in.head + in.head_len, HEAD_SIZE - in.head_len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return aj_fail(x->err, errno, "read '%s'", source);
			if (r == 0)
				break;
			in.head_len += (size_t)r;
		}
	}
	bool compressed;
	enum codec codec = input_codec(in.head, in.head_len, &compressed);
	x->in_bytes = &in.nread;
	x->in_total = in.size;

	struct pipeline pl;
	memset(&pl, 0, sizeof pl);
	struct mapped map = {.in = &in};
	cleanup_archive_read struct archive *a = LA(archive_read_new)();
	if (!a)
		return aj_fail(x->err, ENOMEM, "libarchive");
	LA(archive_read_support_filter_all)(a);
	/* Archive formats a rootfs comes in, and no more. Not format_all: its mtree reader takes a text
	 * file as a list of paths and reads their contents from the host's disk (a "tarball" could
	 * copy ~/.ssh into the rootfs), and raw/ar/rar/warc are not file trees. "empty" makes an empty
	 * input an empty archive, which is then refused with a clear message. */
	LA(archive_read_support_format_tar)(a); /* ustar, pax, GNU, v7 */
	LA(archive_read_support_format_cpio)(a);
	LA(archive_read_support_format_zip)(a);
	LA(archive_read_support_format_7zip)(a);
	LA(archive_read_support_format_iso9660)(a);
	LA(archive_read_support_format_empty)(a);
	int ret = -1;
	if (in.regular && !compressed && in.size > 0) {
		void *base = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (base == MAP_FAILED)
			return aj_fail(x->err, errno, "mmap '%s'", source);
		madvise(base, (size_t)sb.st_size, MADV_SEQUENTIAL);
		map.base = (const uint8_t *)base + start;
		map.size = in.size;
		LA(archive_read_set_callback_data)(a, &map);
		LA(archive_read_set_read_callback)(a, mapped_read_cb);
		LA(archive_read_set_seek_callback)(a, mapped_seek_cb);
	} else {
		if (in.regular)
			in.head_len = 0; /* pread did not consume: the decoder reads from the start */
		if (pipeline_start(&pl, &in, codec, x->err) < 0)
			goto out;
		LA(archive_read_set_callback_data)(a, &pl);
		LA(archive_read_set_read_callback)(a, pipeline_read_cb);
	}
	if (LA(archive_read_open1)(a) != ARCHIVE_OK) {
		if (!pipeline_error(&pl, x->err, source))
			la_fail(x->err, a, "'%s'", source);
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = LA(archive_read_next_header)(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN) {
			if (!pipeline_error(&pl, x->err, source))
				la_fail(x->err, a, "'%s'", source);
			goto out;
		}
		if (extract_entry(x, a, e) < 0) {
			/* A data error may really be the decoder's (a corrupt zstd frame). */
			struct aj_err perr = {0};
			if (pipeline_error(&pl, &perr, source))
				*x->err = perr;
			goto out;
		}
		progress_tick(x);
	}
	ret = 0;
out:
	/* Stop the decoder before libarchive's object goes: its read callback points at the ring. */
	LA(archive_read_close)(a);
	pipeline_stop(&pl);
	x->st->input_bytes = __atomic_load_n(&in.nread, __ATOMIC_RELAXED);
	x->in_bytes = &x->st->input_bytes;
	if (map.base)
		munmap((void *)(map.base - start), (size_t)sb.st_size);
	return ret;
}

int archive_import(const char *source, int dirfd, const char *label, bool progress, struct archive_stats *st,
		   struct aj_err *err)
{
	memset(st, 0, sizeof *st);
	if (lazy_archive_load(err) < 0)
		return -1;
	struct xtract x = {.root = dirfd, .st = st, .err = err, .cache_fd = -1};
	x.in_bytes = &st->input_bytes;
	/* Read the umask without keeping it changed: files whose mode it would cut get an fchmod. */
	x.umask = umask(022);
	umask(x.umask);
	struct stat rs;
	if (fstat(dirfd, &rs) < 0)
		return aj_fail(err, errno, "target directory");
	x.skip_dev = rs.st_dev;
	x.skip_ino = rs.st_ino;

	int r;
	cleanup_close int fd = -1;
	output_progress_start(&x.prog, progress, "importing", label);
	if (strcmp(source, "-") == 0) {
		r = import_stream(&x, STDIN_FILENO, "standard input");
	} else {
		fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0)
			r = aj_fail(err, errno, "open '%s'", source);
		else if (S_ISDIR(sb.st_mode)) {
			x.own_uid = geteuid();
			x.own_gid = getegid();
			r = import_directory(&x, source);
		} else
			r = import_stream(&x, fd, source);
	}
	if (r == 0 && entries(st) == 0 && st->skipped_devices == 0)
		r = aj_fail(err, 0, "'%s' holds no files: not a rootfs",
			    strcmp(source, "-") ? source : "standard input");
	if (r == 0)
		r = xtract_fixups(&x);
	output_progress_done(&x.prog);
	xtract_release(&x);
	return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* Export.                                                                                          */

enum out_kind { OUT_TAR, OUT_ZSTD, OUT_GZIP, OUT_XZ, OUT_BZIP2 };

struct out {
	int fd;
	ZSTD_CCtx *z;
	uint8_t *zbuf;
	size_t zcap;
	uint64_t written;
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

static int export_walk(struct archive *w, int dirfd, struct output_progress *prog, struct out *o,
		       struct archive_stats *st, struct aj_err *err)
{
	char root[64];
	snprintf(root, sizeof root, "/proc/self/fd/%d", dirfd);
	cleanup_archive_read struct archive *disk = LA(archive_read_disk_new)();
	cleanup_archive_entry struct archive_entry *entry = LA(archive_entry_new)();
	cleanup_linkresolver struct archive_entry_linkresolver *res = LA(archive_entry_linkresolver_new)();
	if (!disk || !entry || !res)
		return aj_fail(err, ENOMEM, "libarchive");
	LA(archive_entry_linkresolver_set_strategy)(res, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	/* Hybrid follows only the starting point (our /proc magic link to dirfd). */
	LA(archive_read_disk_set_symlink_hybrid)(disk);
	LA(archive_read_disk_set_behavior)(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_XATTR |
						 ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS);
	if (LA(archive_read_disk_open)(disk, root) != ARCHIVE_OK)
		return la_fail(err, disk, "%s", "open the rootfs");
	size_t plen = strlen(root);
	static const char zeros[65536];
	for (;;) {
		int r = LA(archive_read_next_header2)(disk, entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN)
			return la_fail(err, disk, "%s", "walk the rootfs");
		const char *p = LA(archive_entry_pathname)(entry);
		if (!p || strncmp(p, root, plen) != 0)
			return aj_fail(err, 0, "unexpected path '%s' while walking the rootfs", p ? p : "");
		const char *rel = p + plen;
		while (*rel == '/')
			rel++;
		cleanup_free char *name = xasprintf("./%s", rel);
		mode_t type = LA(archive_entry_filetype)(entry);
		if (type == AE_IFDIR && LA(archive_read_disk_descend)(disk) < ARCHIVE_WARN)
			return la_fail(err, disk, "entry '%s'", name);
		if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
			st->skipped_devices++;
			continue;
		}
		LA(archive_entry_copy_pathname)(entry, name);
		LA(archive_entry_set_uid)(entry, 0);
		LA(archive_entry_set_gid)(entry, 0);
		LA(archive_entry_copy_uname)(entry, "root");
		LA(archive_entry_copy_gname)(entry, "root");
		mode_t perm = LA(archive_entry_perm)(entry);
		if (perm & (S_ISUID | S_ISGID)) {
			LA(archive_entry_set_perm)(entry, perm & ~(mode_t)(S_ISUID | S_ISGID));
			st->setid_dropped++;
		}
		struct archive_entry *le = entry, *spare = NULL;
		LA(archive_entry_linkify)(res, &le, &spare);
		if (!le)
			continue;
		r = LA(archive_write_header)(w, le);
		if (r < ARCHIVE_WARN)
			return la_fail(err, w, "entry '%s'", name);
		if (LA(archive_entry_hardlink)(le)) {
			st->hardlinks++;
		} else if (type == AE_IFREG) {
			st->files++;
			int64_t size = LA(archive_entry_size)(le), pos = 0;
			while (size > 0) {
				const void *buf;
				size_t n;
				la_int64_t off;
				r = LA(archive_read_data_block)(disk, &buf, &n, &off);
				if (r == ARCHIVE_EOF)
					break;
				if (r < ARCHIVE_WARN)
					return la_fail(err, disk, "entry '%s'", name);
				/* The pax writer skips what falls in the entry's holes, but wants the
				 * stream whole: feed zeros across them. */
				while (pos < off) {
					size_t k =
					    off - pos > (int64_t)sizeof zeros ? sizeof zeros : (size_t)(off - pos);
					if (LA(archive_write_data)(w, zeros, k) < 0)
						return la_fail(err, w, "entry '%s'", name);
					pos += (int64_t)k;
				}
				if (n > 0 && LA(archive_write_data)(w, buf, n) < 0)
					return la_fail(err, w, "entry '%s'", name);
				pos += (int64_t)n;
			}
			while (pos < size) {
				size_t k = size - pos > (int64_t)sizeof zeros ? sizeof zeros : (size_t)(size - pos);
				if (LA(archive_write_data)(w, zeros, k) < 0)
					return la_fail(err, w, "entry '%s'", name);
				pos += (int64_t)k;
			}
			st->bytes += (uint64_t)(size > 0 ? size : 0);
		} else if (type == AE_IFDIR) {
			st->dirs++;
		} else {
			st->symlinks++;
		}
		if (LA(archive_write_finish_entry)(w) < ARCHIVE_WARN)
			return la_fail(err, w, "entry '%s'", name);
		st->input_bytes = o->written;
		output_progress_update(prog, o->written, 0, entries(st));
	}
	return 0;
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
		/* Work beneath the destination's directory fd: libarchive's disk walker changes the
		 * working directory while it runs. */
		const char *slash = strrchr(path, '/');
		cleanup_free char *dir =
		    slash ? xstrndup(path, (size_t)(slash - path) + (slash == path)) : xstrdup(".");
		base = xstrdup(slash ? slash + 1 : path);
		part = xasprintf("%s.part", base);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return aj_fail(err, errno, "export to '%s'", path);
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
		la_fail(err, w, "export to '%s'", path);
		goto out;
	}
	if (export_walk(w, dirfd, &prog, &o, st, err) < 0)
		goto out;
	if (LA(archive_write_close)(w) != ARCHIVE_OK) {
		la_fail(err, w, "export to '%s'", path);
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
