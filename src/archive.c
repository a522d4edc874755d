/* archive.c — rootfs import: an archive (any format and compression, from a file or a pipe) or a
 * directory, written into the new rootfs by the safe writer of extract.c. See archive.h for the
 * rules; the comments here say why.
 *
 * Archive pipeline: input fd ─▶ [decoder thread: libzstd, or libarchive's own filters in "raw" mode,
 * or a plain copy] ─▶ bounded ring of 1 MiB slots ─▶ libarchive's format reader (main thread) ─▶ the
 * extractor, which writes with *at() calls beneath the target dirfd (small files: by its worker
 * threads, from a copy of their data; see extract.c). The decoder runs in its own thread because
 * that is what makes GNU tar fast (it runs zstd/gzip in a separate process): on two cores,
 * decompression and file creation overlap. A regular uncompressed file is mmap()ed instead and
 * handed to libarchive in big blocks, so a big file's data is copied once, from the page cache into
 * the new file. File data comes to the extractor as blocks (archive_blocks), pulled, not pushed:
 * that is what lets it keep a small file's data for a worker.
 *
 * Directory source: the fd walker of walk.c (never libarchive's disk reader, which looks at a path
 * with lstat and opens it again by name later: a jail exchanging a file for a symlink in between
 * had the import copy whatever the symlink pointed at) ─▶ the same extractor, each file's data
 * copied from the very inode the walker looked at, holes kept (SEEK_DATA/SEEK_HOLE), in the kernel
 * where it can (copy_file_range). */
#define AJAIL_ARCHIVE_IMPL
#include <archive.h> /* libarchive's; see the note at the top of our archive.h */
#include "archive.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "extract.h"
#include "lazy_archive.h"
#include "output.h"
#include "util.h"
#include "walk.h"

#define SLOT_SIZE  ((size_t)1 << 20)   /* one ring slot; big blocks mean few lock round trips */
#define SLOTS	   4		       /* 4 MiB in flight between decoder and extractor */
#define MAP_CHUNK  ((size_t)8 << 20)   /* block size handed to libarchive from an mmap()ed file */
#define HEAD_SIZE  512		       /* bytes looked at to recognise the compression */
#define COPY_CHUNK ((int64_t)64 << 20) /* a directory import's file data per copy_file_range call */

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
		return pipeline_finish(p, 0, "%s", lazy_archive_msg(a));
	for (;;) {
		uint8_t *s = pipeline_get_free(p);
		if (!s)
			return pipeline_finish(p, 0, NULL);
		size_t n = 0;
		bool eof = false;
		while (n < SLOT_SIZE) {
			la_ssize_t got = LA(archive_read_data)(a, s + n, SLOT_SIZE - n);
			if (got < 0)
				return pipeline_finish(p, 0, "%s", lazy_archive_msg(a));
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
/* Archives: libarchive's entries, described to the extractor.                                      */

int archive_blocks(struct xtract *x, void *ctx, const void **buf, size_t *len, int64_t *off, const char *name)
{
	struct archive *a = ctx;
	for (;;) {
		la_int64_t o;
		int r = LA(archive_read_data_block)(a, buf, len, &o);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return lazy_archive_fail(x->err, a, "entry '%s'", name);
		if (*len == 0)
			continue;
		*off = o;
		return 1;
	}
}

static int archive_entry_extract(struct xtract *x, struct archive *a, struct archive_entry *e)
{
	struct xtract_entry xe = {
	    .type = LA(archive_entry_filetype)(e),
	    .perm = LA(archive_entry_perm)(e),
	    .uid = LA(archive_entry_uid)(e),
	    .gid = LA(archive_entry_gid)(e),
	    .size = LA(archive_entry_size_is_set)(e) ? LA(archive_entry_size)(e) : -1,
	    .hardlink = LA(archive_entry_hardlink)(e),
	    .blocks = archive_blocks,
	    .data_ctx = a,
	};
	xe.name = LA(archive_entry_pathname)(e);
	if (!xe.name)
		xe.name = LA(archive_entry_pathname_utf8)(e);
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
	return xtract_entry(x, &xe);
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
			lazy_archive_fail(x->err, a, "'%s'", source);
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
				lazy_archive_fail(x->err, a, "'%s'", source);
			goto out;
		}
		if (archive_entry_extract(x, a, e) < 0) {
			/* A data error may really be the decoder's (a corrupt zstd frame). */
			struct aj_err perr = {0};
			if (pipeline_error(&pl, &perr, source))
				*x->err = perr;
			goto out;
		}
		xtract_progress(x);
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

/* ---------------------------------------------------------------------------------------------- */
/* Directories: the fd walker's entries, described to the extractor.                                */

static bool copy_in_kernel = true; /* until copy_file_range says it cannot here */

/* [off, off + len) of src into dst at the same offsets. Stops early, without an error, when src
 * turns out shorter: the file is being changed, and the size it had when it was looked at wins. */
static int copy_range(struct xtract *x, int src, int dst, int64_t off, int64_t len, const char *name, int64_t *end)
{
	static char buf[256 * 1024];
	while (len > 0) {
		size_t want = len > COPY_CHUNK ? (size_t)COPY_CHUNK : (size_t)len;
		ssize_t n;
		if (copy_in_kernel) {
			loff_t in = off, out = off;
			n = copy_file_range(src, &in, dst, &out, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS ||
				      errno == EBADF || errno == EPERM)) {
				/* Not between these filesystems (or not at all): the plain way, from now on. */
				copy_in_kernel = false;
				continue;
			}
			if (n < 0 && errno != EINTR)
				return xtract_write_fail(x, errno, name, "copy");
		} else {
			n = pread(src, buf, want > sizeof buf ? sizeof buf : want, off);
			if (n < 0 && errno != EINTR)
				return aj_fail(x->err, errno, "entry '%s': read", name);
			if (n > 0 && pwrite_all(dst, buf, (size_t)n, off) < 0)
				return xtract_write_fail(x, errno, name, "write");
		}
		if (n < 0)
			continue; /* EINTR */
		if (n == 0)
			return 0;
		off += n;
		len -= n;
		if (off > *end)
			*end = off;
		x->st->input_bytes += (uint64_t)n;
		xtract_progress(x);
	}
	return 0;
}

struct dir_source {
	struct walk *w;
	const struct walk_entry *e;
};

/* A regular file's data, read through the inode the walker looked at, never through its name. */
static int walk_data(struct xtract *x, void *ctx, int fd, const char *name, int64_t *end)
{
	struct dir_source *ds = ctx;
	int64_t size = ds->e->st.st_size;
	if (size <= 0)
		return 0;
	cleanup_close int src = walk_open_data(ds->w, ds->e, x->err);
	if (src < 0)
		return -1;
	/* Fewer blocks than the size says: holes, worth asking where they are. */
	if ((int64_t)ds->e->st.st_blocks * 512 >= size)
		return copy_range(x, src, fd, 0, size, name, end);
	int64_t off = 0, len;
	for (;;) {
		int r = walk_data_extent(src, size, &off, &len);
		if (r < 0)
			return aj_fail(x->err, errno, "entry '%s': find its holes", name);
		if (r == 0)
			return 0;
		if (copy_range(x, src, fd, off, len, name, end) < 0)
			return -1;
		off += len;
	}
}

static int import_directory(struct xtract *x, int topfd, const char *source, dev_t skip_dev, ino_t skip_ino)
{
	/* Never copy the new rootfs into itself (a store inside SOURCE). */
	struct walk_opts o = {.label = source, .skip = true, .skip_dev = skip_dev, .skip_ino = skip_ino};
	struct walk *w = walk_open(topfd, &o, x->err);
	if (!w)
		return -1;
	struct dir_source ds = {.w = w};
	int r;
	while ((r = walk_next(w, &ds.e, x->err)) > 0) {
		const struct walk_entry *e = ds.e;
		struct xtract_entry xe = {
		    .name = e->path,
		    .type = e->st.st_mode & S_IFMT,
		    .perm = e->st.st_mode & 07777,
		    .uid = e->st.st_uid,
		    .gid = e->st.st_gid,
		    .has_mtime = true,
		    .mtime = e->st.st_mtim,
		    .has_atime = true,
		    .atime = e->st.st_atim,
		    .size = S_ISREG(e->st.st_mode) && !e->hardlink ? e->st.st_size : -1,
		    .symlink = e->link,
		    .hardlink = e->hardlink,
		    .data = S_ISREG(e->st.st_mode) && !e->hardlink ? walk_data : NULL,
		    .data_ctx = &ds,
		};
		if ((r = xtract_entry(x, &xe)) < 0)
			break;
		xtract_progress(x);
	}
	walk_close(w);
	return r;
}

int archive_import(const char *source, int dirfd, const char *label, bool progress, struct archive_stats *st,
		   struct aj_err *err)
{
	memset(st, 0, sizeof *st);
	struct xtract x;
	xtract_init(&x, dirfd, st, err);
	struct stat rs;
	if (fstat(dirfd, &rs) < 0)
		return aj_fail(err, errno, "target directory");

	int r;
	cleanup_close int fd = -1;
	output_progress_start(&x.prog, progress, "importing", label);
	if (strcmp(source, "-") == 0) {
		r = lazy_archive_load(err) < 0 ? -1 : import_stream(&x, STDIN_FILENO, "standard input");
	} else {
		fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0) {
			r = aj_fail(err, errno, "open '%s'", source);
		} else if (S_ISDIR(sb.st_mode)) {
			/* The user's own files are simply copied: not "flattened" for being theirs. */
			x.own_uid = geteuid();
			x.own_gid = getegid();
			r = import_directory(&x, fd, source, rs.st_dev, rs.st_ino);
		} else {
			r = lazy_archive_load(err) < 0 ? -1 : import_stream(&x, fd, source);
		}
	}
	if (r < 0) {
		/* A small file that a worker still writes may have failed first (a full disk): in archive
		 * order its error came first, and it is the one that says what went wrong. */
		struct aj_err mine = *err;
		if (xtract_sync(&x) == 0)
			*err = mine;
	}
	if (r == 0 && xtract_entries(st) == 0 && st->skipped_devices == 0)
		r = aj_fail(err, 0, "'%s' holds no files: not a rootfs",
			    strcmp(source, "-") ? source : "standard input");
	if (r == 0)
		r = xtract_finish(&x);
	output_progress_done(&x.prog);
	xtract_release(&x);
	return r;
}
