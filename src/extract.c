/* extract.c — the safe writer beneath a directory fd. See extract.h and archive.h for the rules; the
 * comments here say why.
 *
 * We do not use libarchive's archive_write_disk: its checks are per-call and path-based, and it
 * would chown and mknod. Ours resolve every parent with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so a symlink made by an earlier entry can never be written through, and we
 * keep the resolved parent fd across consecutive entries of the same directory (what makes 100 000
 * tiny files fast).
 *
 * Worker threads. Creating a file is most of what an import of small files costs, and it is the
 * kernel's time: allocating an inode. On ext4 without a journal that is slow for minutes after a big
 * delete (ialloc skips the inodes freed recently, one by one), and the reading thread cannot overlap
 * it with anything. So a small regular file whose data comes as blocks is copied into a job and
 * created by one of a few workers (one per CPU, at most WORKERS_MAX), while the reading thread goes
 * on; the kernel serialises creations in one directory, but creates files of different directories
 * in parallel, and overlaps the writes, times and closes with the next creation.
 *
 * Everything else stays with the reading thread ("the main thread" below): parents are resolved
 * and directories, symlinks, hard links and big files are made there, in order. A worker only
 * creates its file with openat(parent fd, leaf, O_CREAT | O_EXCL | O_NOFOLLOW) and writes it through
 * that fd: it never resolves a name, so it never follows anything either, and the parent fd is one
 * the main thread opened with the checks above. What keeps the entries in archive order:
 *
 * - a job's path stays in the pending set until the main thread retires it; an entry whose path is
 *   pending, or lies beneath a pending path, or a hard link whose target is (or lies beneath) one,
 *   first waits for every job (pending_wait): the same name twice, a file and then "name/x", a hard
 *   link to a file just queued all behave as in order;
 * - nothing removes a directory while a job may still create a file inside it (make_room waits for
 *   the workers first), so "not empty" is decided as in order;
 * - a worker that finds its name taken (EEXIST: a directory, or a file written in place, by an
 *   earlier entry) leaves the job to the main thread, which makes room and writes it when it
 *   retires it, in entry order, once no worker runs; whatever a later entry could have seen of that
 *   name went through pending_wait first;
 * - errors: the first failed job in entry order is reported, with its entry's name; an error of the
 *   main thread gives way to an earlier job's.
 *
 * Memory stays bounded: at most QUEUE_JOBS jobs and QUEUE_BYTES of them (data included) wait to be
 * retired; a file bigger than JOB_FILE_MAX is written directly by the main thread. */
#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* Resolution rules for every path we open beneath the rootfs: no "..", no absolute jump, no symlink
 * (not even one inside the tree: an entry's parent must be a real directory), no /proc magic link,
 * no mount crossing. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* A regular file's leaf: created, never opened if something is there, never followed. */
#define FILE_FLAGS (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)

#define WORKERS_MAX  4
#define JOB_FILE_MAX ((int64_t)256 << 10) /* bigger files are written by the main thread */
#define QUEUE_BYTES  ((size_t)4 << 20)	  /* jobs (data included) not yet retired */
#define QUEUE_JOBS   1024
#define PENDING_SLOTS (2 * QUEUE_JOBS) /* the pending set: open addressing, at most half full */

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

/* A resolved parent directory. The cache holds a reference, and so does each job created in it, so
 * that its fd stays open until the job is retired, whatever the cache does meanwhile. Only the main
 * thread counts. */
struct xdir {
	int fd;
	unsigned refs;
	char path[]; /* normalised */
};

static void xdir_unref(struct xdir *d)
{
	if (d && --d->refs == 0) {
		close(d->fd);
		free(d);
	}
}

struct xext {
	int64_t off;
	size_t len;
};

enum job_state {
	JOB_QUEUED,   /* waiting for a worker, or being written */
	JOB_DONE,     /* written (or dropped, after a failure) */
	JOB_CONFLICT, /* its name was taken: the main thread settles it */
	JOB_FAILED,   /* errnum and what say why */
};

/* A small regular file, in one allocation: the struct, the data (at their offsets in the file),
 * the normalised path and the entry's name. */
struct xjob {
	struct xjob *next;	/* the next job in entry order (main thread) */
	struct xjob *next_todo; /* the next job for a worker (under the pool's lock) */
	enum job_state state;	/* set by the worker under the pool's lock; read atomically */
	struct xdir *dir;	/* the parent, referenced; NULL: the root */
	int dfd;		/* its fd */
	char *path, *name;	/* normalised; as the source names it (for messages) */
	const char *leaf;	/* in path */
	size_t pathlen;
	uint64_t hash; /* of path */
	mode_t mode;
	bool has_times;
	struct timespec ts[2];
	int64_t size, end;  /* the size the header gives; just past the last byte of data */
	struct xext *ext;   /* the data's extents (holes between them): &ext0, or allocated */
	size_t n_ext, ext_cap;
	struct xext ext0;
	size_t bytes;	  /* what it holds, charged to the queue */
	int errnum;	  /* JOB_FAILED */
	const char *what; /* JOB_FAILED: the step that failed ("create", "write", ...) */
	uint8_t data[];
};

struct xpool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a job was queued, or stop */
	pthread_cond_t done; /* a job finished */
	pthread_t thread[WORKERS_MAX];
	unsigned nthreads;
	mode_t umask;
	/* Under mu. */
	bool stop, abort;		/* abort: drop what is still queued */
	struct xjob *todo, **todo_tail; /* the workers' queue, oldest first */
	size_t unfinished;		/* jobs queued or being written */
	/* The main thread's. */
	struct xjob *head, **tail; /* every job not retired yet, in entry order */
	size_t njobs, bytes;
	bool failed; /* a job failed: x->err says which; the pool takes nothing more */
	struct xjob *set[PENDING_SLOTS]; /* the pending set: the jobs not retired yet, by path */
};

struct fixup {
	char *path; /* normalised, "" = the root */
	mode_t mode;
	bool has_times;
	struct timespec ts[2];
	unsigned depth; /* number of components: deeper directories are finished first */
	size_t seq;	/* entry order: for the same directory, the last entry wins */
};

uint64_t xtract_entries(const struct archive_stats *st)
{
	return st->files + st->dirs + st->symlinks + st->hardlinks;
}

void xtract_progress(struct xtract *x)
{
	if (x->prog.on)
		output_progress_update(&x->prog, __atomic_load_n(x->in_bytes, __ATOMIC_RELAXED), x->in_total,
				       xtract_entries(x->st));
}

int xtract_write_fail(struct xtract *x, int errnum, const char *name, const char *what)
{
	if (errnum == ENOSPC || errnum == EDQUOT)
		return aj_fail(x->err, errnum, "disk full while writing entry '%s'", name);
	return aj_fail(x->err, errnum, "entry '%s': %s", name, what);
}

void xtract_init(struct xtract *x, int root, struct archive_stats *st, struct aj_err *err)
{
	memset(x, 0, sizeof *x);
	x->root = root;
	x->st = st;
	x->err = err;
	x->own_uid = x->own_gid = -1;
	x->in_bytes = &st->input_bytes;
	/* Read the umask without keeping it changed: files whose mode it would cut get an fchmod. */
	x->umask = umask(022);
	umask(x->umask);
}

static void xtract_cache_drop(struct xtract *x)
{
	xdir_unref(x->cache);
	x->cache = NULL;
}

static void pool_stop(struct xtract *x, bool drop);

void xtract_release(struct xtract *x)
{
	pool_stop(x, true);
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
	x->path_cap = x->tpath_cap = 0;
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

static bool entry_times(const struct xtract_entry *e, struct timespec ts[2])
{
	if (!e->has_mtime)
		return false;
	ts[1] = e->mtime;
	if (e->has_atime) {
		ts[0] = e->atime;
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
				return xtract_write_fail(x, e, name, "create parent directory");
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

/* The fd of the parent directory of the current entry (borrowed: do not close): the root's, or the
 * cache's (x->cache). */
static int xtract_parent(struct xtract *x, const char *parent, const char *name)
{
	if (!*parent)
		return x->root;
	if (x->cache && strcmp(x->cache->path, parent) == 0)
		return x->cache->fd;
	xtract_cache_drop(x);
	int fd = openat2_beneath(x->root, parent, O_PATH | O_DIRECTORY);
	if (fd < 0)
		fd = resolve_walk(x, parent, name, true);
	if (fd < 0)
		return -1;
	size_t n = strlen(parent) + 1;
	struct xdir *d = xmalloc(sizeof *d + n);
	d->fd = fd;
	d->refs = 1;
	memcpy(d->path, parent, n);
	x->cache = d;
	return fd;
}

/* ---------------------------------------------------------------------------------------------- */
/* The workers and their jobs.                                                                      */

static unsigned cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int job_err(struct xjob *j, int errnum, const char *what)
{
	j->errnum = errnum;
	j->what = what;
	return -1;
}

/* The job's data into fd, at their offsets. */
static int job_write(const struct xjob *j, int fd)
{
	for (size_t i = 0; i < j->n_ext; i++)
		if (pwrite_all(fd, j->data + j->ext[i].off, j->ext[i].len, j->ext[i].off) < 0)
			return -1;
	return 0;
}

/* The job's data, size, mode and times into fd, a new file. -1 with j->errnum and j->what. Only
 * syscalls on fd: workers run it. */
static int job_fill(struct xjob *j, int fd, mode_t umask)
{
	if (job_write(j, fd) < 0)
		return job_err(j, errno, "write");
	if (j->size > j->end && ftruncate(fd, j->size) < 0)
		return job_err(j, errno, "extend");
	/* openat applied the umask: put back what it took (the common 0644/0755 need no syscall). */
	if ((j->mode & umask) && fchmod(fd, j->mode) < 0)
		return job_err(j, errno, "chmod");
	if (j->has_times && futimens(fd, j->ts) < 0)
		return job_err(j, errno, "set times");
	return 0;
}

/* A worker's part: create the file beneath the parent fd the main thread resolved, never following
 * anything, and fill it. A taken name is the main thread's to settle (make_room). */
static enum job_state job_run(struct xjob *j, mode_t umask)
{
	int fd = openat(j->dfd, j->leaf, FILE_FLAGS, j->mode);
	if (fd < 0)
		return errno == EEXIST ? JOB_CONFLICT : (job_err(j, errno, "create"), JOB_FAILED);
	int r = job_fill(j, fd, umask);
	if (close(fd) < 0 && errno != EINTR && r == 0)
		r = job_err(j, errno, "close");
	return r < 0 ? JOB_FAILED : JOB_DONE;
}

static void *worker_main(void *arg)
{
	struct xpool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		struct xjob *j = p->todo;
		if (!j)
			break;
		p->todo = j->next_todo;
		if (!p->todo)
			p->todo_tail = &p->todo;
		bool drop = p->abort;
		pthread_mutex_unlock(&p->mu);
		enum job_state s = drop ? JOB_DONE : job_run(j, p->umask);
		pthread_mutex_lock(&p->mu);
		__atomic_store_n(&j->state, s, __ATOMIC_RELEASE);
		p->unfinished--;
		pthread_cond_signal(&p->done); /* only the main thread waits on it */
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The pool, started at the first small file; NULL: write everything in place (one CPU, or no
 * thread could be started). */
static struct xpool *pool_get(struct xtract *x)
{
	if (x->pool || x->no_pool)
		return x->pool;
	unsigned n = cpu_count();
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	if (n < 2) {
		x->no_pool = true; /* the main thread would only wait for the worker */
		return NULL;
	}
	struct xpool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->todo_tail = &p->todo;
	p->tail = &p->head;
	p->umask = x->umask;
	/* Signals are for the main thread, whose handlers expect them: workers block them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (p->nthreads < n && pthread_create(&p->thread[p->nthreads], NULL, worker_main, p) == 0)
		p->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	x->pool = p;
	if (!p->nthreads) {
		pool_stop(x, true);
		return NULL;
	}
	return p;
}

static void job_free(struct xpool *p, struct xjob *j)
{
	if (p) {
		p->njobs--;
		p->bytes -= j->bytes;
	}
	xdir_unref(j->dir);
	if (j->ext != &j->ext0)
		free(j->ext);
	free(j);
}

/* The pending set: the jobs not retired yet, by normalised path (the main thread's alone). */
static uint64_t path_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

static bool pending_has(const struct xpool *p, const char *s, size_t n)
{
	uint64_t h = path_hash(s, n);
	for (size_t i = h & (PENDING_SLOTS - 1);; i = (i + 1) & (PENDING_SLOTS - 1)) {
		const struct xjob *j = p->set[i];
		if (!j)
			return false;
		if (j->hash == h && j->pathlen == n && memcmp(j->path, s, n) == 0)
			return true;
	}
}

static void pending_add(struct xpool *p, struct xjob *j)
{
	size_t i = j->hash & (PENDING_SLOTS - 1);
	while (p->set[i])
		i = (i + 1) & (PENDING_SLOTS - 1);
	p->set[i] = j;
}

static void pending_del(struct xpool *p, const struct xjob *j)
{
	size_t i = j->hash & (PENDING_SLOTS - 1);
	while (p->set[i] != j)
		i = (i + 1) & (PENDING_SLOTS - 1);
	/* Linear probing: move up whatever the hole would cut off from its home slot. */
	p->set[i] = NULL;
	for (size_t k = (i + 1) & (PENDING_SLOTS - 1); p->set[k]; k = (k + 1) & (PENDING_SLOTS - 1)) {
		size_t home = p->set[k]->hash & (PENDING_SLOTS - 1);
		if (((k - home) & (PENDING_SLOTS - 1)) >= ((k - i) & (PENDING_SLOTS - 1))) {
			p->set[i] = p->set[k];
			p->set[k] = NULL;
			i = k;
		}
	}
}

/* Wait until no worker writes: what a directory holds is then what it holds in entry order. */
static void pool_quiesce(struct xpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->unfinished)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* After a failure: the workers drop what is left (the caller deletes the tree), and are waited for,
 * so that nothing is still written beneath the root once we return. */
static void pool_abandon(struct xpool *p)
{
	pthread_mutex_lock(&p->mu);
	p->abort = true;
	while (p->unfinished)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	while (p->head) {
		struct xjob *j = p->head;
		p->head = j->next;
		job_free(p, j);
	}
	p->tail = &p->head;
	memset(p->set, 0, sizeof p->set);
	p->failed = true;
}

/* Stop the workers (drop: what they have not written yet is dropped) and free the pool. */
static void pool_stop(struct xtract *x, bool drop)
{
	struct xpool *p = x->pool;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	p->abort = p->abort || drop;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->thread[i], NULL);
	while (p->head) {
		struct xjob *j = p->head;
		p->head = j->next;
		job_free(p, j);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p);
	x->pool = NULL;
	x->no_pool = true;
}

static int make_room(struct xtract *x, int pfd, const char *leaf, const char *path, const char *name,
		     bool want_dir);

/* A job whose name was taken (by an earlier entry written in place, or a directory): what
 * extract_file does in place, now that it is this job's turn and no worker runs. */
static int job_settle(struct xtract *x, struct xjob *j)
{
	if (make_room(x, j->dfd, j->leaf, j->path, j->name, false) < 0)
		return -1;
	int fd = openat(j->dfd, j->leaf, FILE_FLAGS, j->mode);
	if (fd < 0)
		return xtract_write_fail(x, errno, j->name, "create");
	int r = job_fill(j, fd, x->umask);
	if (close(fd) < 0 && errno != EINTR && r == 0)
		r = job_err(j, errno, "close");
	return r < 0 ? xtract_write_fail(x, j->errnum, j->name, j->what) : 0;
}

/* Retire the finished jobs at the head, in entry order; with all, every job (waiting for the
 * workers). Returns -1 with x->err for the first job that failed (and the pool takes no more). */
static int pool_retire(struct xtract *x, bool all)
{
	struct xpool *p = x->pool;
	if (!p)
		return 0;
	if (p->failed)
		return -1;
	for (;;) {
		struct xjob *j = p->head;
		if (!j)
			return 0;
		/* Without the lock in the common case: the worker stores the state last, with release. */
		enum job_state s = __atomic_load_n(&j->state, __ATOMIC_ACQUIRE);
		if (s == JOB_QUEUED) {
			if (!all)
				return 0;
			pthread_mutex_lock(&p->mu);
			while ((s = __atomic_load_n(&j->state, __ATOMIC_ACQUIRE)) == JOB_QUEUED)
				pthread_cond_wait(&p->done, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		/* A conflict is settled as in its turn: later jobs may only have done what cannot matter
		 * to it (pending_wait saw to that), and none may run while it is. */
		if (s == JOB_CONFLICT || s == JOB_FAILED)
			pool_quiesce(p);
		p->head = j->next;
		if (!p->head)
			p->tail = &p->head;
		pending_del(p, j);
		int r = 0;
		if (s == JOB_CONFLICT)
			r = job_settle(x, j);
		else if (s == JOB_FAILED)
			r = xtract_write_fail(x, j->errnum, j->name, j->what);
		job_free(p, j);
		if (r < 0) {
			pool_abandon(p);
			return -1;
		}
	}
}

/* Before an entry at path (or a hard link to it) is written: when it, or a directory on its way, is
 * a file a worker may not have written yet, wait for every job, as if they had been written in
 * place. */
static int pending_wait(struct xtract *x, const char *path)
{
	struct xpool *p = x->pool;
	if (!p || !p->njobs)
		return 0;
	for (const char *s = path;; s++) {
		if ((*s == '/' || !*s) && s > path && pending_has(p, path, (size_t)(s - path)))
			return pool_retire(x, true);
		if (!*s)
			return 0;
	}
}

/* Make room for the entry at pfd/leaf (path, normalised), as tar does: an existing non-directory is
 * unlinked (never followed), an empty directory removed, a non-empty one refused. Returns 1 when
 * want_dir and a directory is already there (keep it), 0 when the name is free, -1 on error. */
static int make_room(struct xtract *x, int pfd, const char *leaf, const char *path, const char *name,
		     bool want_dir)
{
	struct stat sb;
	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : aj_fail(x->err, errno, "entry '%s': stat", name);
	if (S_ISDIR(sb.st_mode)) {
		if (want_dir)
			return 1;
		/* A file a worker has yet to create inside would make it non-empty. */
		pool_quiesce(x->pool);
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) < 0) {
			if (errno == ENOTEMPTY || errno == EEXIST)
				return aj_fail(x->err, 0, "entry '%s' would replace a non-empty directory", name);
			return aj_fail(x->err, errno, "entry '%s': remove the directory in its way", name);
		}
		/* The cached parent may be the directory just removed (or below it): forget it. */
		size_t n = strlen(path);
		if (x->cache && strncmp(x->cache->path, path, n) == 0 &&
		    (x->cache->path[n] == '\0' || x->cache->path[n] == '/'))
			xtract_cache_drop(x);
		return 0;
	}
	if (unlinkat(pfd, leaf, 0) < 0)
		return aj_fail(x->err, errno, "entry '%s': remove the file in its way", name);
	return 0;
}

/* The entry's blocks into fd, at their offsets (holes stay holes). */
static int write_blocks(struct xtract *x, const struct xtract_entry *e, int fd, const char *name, int64_t *end)
{
	for (;;) {
		const void *buf;
		size_t len;
		int64_t off;
		int r = e->blocks(x, e->data_ctx, &buf, &len, &off, name);
		if (r <= 0)
			return r;
		if (pwrite_all(fd, buf, len, off) < 0)
			return xtract_write_fail(x, errno, name, "write");
		if (off + (int64_t)len > *end)
			*end = off + (int64_t)len;
		xtract_progress(x);
	}
}

/* The entry's data into fd (end: what is already there), then the size reached with a trailing
 * hole. */
static int write_data(struct xtract *x, const struct xtract_entry *e, int fd, const char *name, int64_t end)
{
	if (e->data && e->data(x, e->data_ctx, fd, name, &end) < 0)
		return -1;
	if (e->blocks && write_blocks(x, e, fd, name, &end) < 0)
		return -1;
	if (e->size > end) {
		if (ftruncate(fd, e->size) < 0)
			return xtract_write_fail(x, errno, name, "extend");
		end = e->size;
	}
	x->st->bytes += (uint64_t)end;
	return 0;
}

/* A job for the current entry, a small file (its data still to come), in parent pfd. */
static struct xjob *job_new(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf,
			    const char *name, mode_t mode)
{
	size_t size = (size_t)e->size, plen = strlen(x->path), nlen = strlen(name);
	size_t bytes = sizeof(struct xjob) + size + plen + 1 + nlen + 1;
	struct xjob *j = xmalloc(bytes);
	memset(j, 0, sizeof *j);
	j->bytes = bytes;
	j->path = (char *)j->data + size;
	memcpy(j->path, x->path, plen + 1);
	j->name = j->path + plen + 1;
	memcpy(j->name, name, nlen + 1);
	j->leaf = j->path + (leaf - x->path);
	j->pathlen = plen;
	j->hash = path_hash(j->path, plen);
	j->dfd = pfd;
	if (pfd != x->root) {
		j->dir = x->cache; /* xtract_parent's */
		j->dir->refs++;
	}
	j->mode = mode;
	j->has_times = entry_times(e, j->ts);
	j->size = e->size;
	j->ext = &j->ext0;
	j->ext_cap = 1;
	return j;
}

/* Copy the entry's blocks into j. 1: all of them; 0: *buf/len/off is a block beyond the size the
 * header gave, which the file does not hold (the caller writes it directly after all); -1: error. */
static int job_collect(struct xtract *x, const struct xtract_entry *e, struct xjob *j, const void **buf,
		       size_t *len, int64_t *off)
{
	for (;;) {
		int r = e->blocks(x, e->data_ctx, buf, len, off, j->name);
		if (r <= 0)
			return r < 0 ? -1 : 1;
		xtract_progress(x);
		if (*off < 0 || *len > (uint64_t)j->size || *off > j->size - (int64_t)*len)
			return 0;
		memcpy(j->data + *off, *buf, *len);
		struct xext *last = j->n_ext ? &j->ext[j->n_ext - 1] : NULL;
		if (last && last->off + (int64_t)last->len == *off) {
			last->len += *len;
		} else {
			if (j->n_ext == j->ext_cap) {
				j->ext_cap *= 2;
				struct xext *n = xmalloc(j->ext_cap * sizeof *n);
				memcpy(n, j->ext, j->n_ext * sizeof *n);
				if (j->ext != &j->ext0)
					free(j->ext);
				j->ext = n;
			}
			j->ext[j->n_ext++] = (struct xext){*off, *len};
		}
		if (*off + (int64_t)*len > j->end)
			j->end = *off + (int64_t)*len;
	}
}

/* Hand j to the workers, once there is room for it. It counts as written from here. */
static int job_submit(struct xtract *x, struct xjob *j)
{
	struct xpool *p = x->pool;
	for (;;) {
		if (pool_retire(x, false) < 0) {
			job_free(NULL, j);
			return -1;
		}
		if (p->njobs < QUEUE_JOBS && (!p->njobs || p->bytes + j->bytes <= QUEUE_BYTES))
			break;
		pthread_mutex_lock(&p->mu);
		while (__atomic_load_n(&p->head->state, __ATOMIC_ACQUIRE) == JOB_QUEUED)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	x->st->files++;
	x->st->bytes += (uint64_t)(j->size > j->end ? j->size : j->end);
	p->njobs++;
	p->bytes += j->bytes;
	j->next = NULL;
	*p->tail = j;
	p->tail = &j->next;
	pending_add(p, j);
	j->state = JOB_QUEUED;
	j->next_todo = NULL;
	pthread_mutex_lock(&p->mu);
	*p->todo_tail = j;
	p->todo_tail = &j->next_todo;
	p->unfinished++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int extract_file(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf, const char *name,
			mode_t mode)
{
	struct xjob *j = NULL;
	const void *buf = NULL;
	size_t len = 0;
	int64_t off = 0, end = 0;
	if (e->blocks && !e->data && e->size >= 0 && e->size <= JOB_FILE_MAX && pool_get(x)) {
		j = job_new(x, e, pfd, leaf, name, mode);
		int r = job_collect(x, e, j, &buf, &len, &off);
		if (r != 0) {
			if (r > 0)
				return job_submit(x, j);
			job_free(NULL, j);
			return -1;
		}
	}
	cleanup_close int fd = openat(pfd, leaf, FILE_FLAGS, mode);
	if (fd < 0 && errno == EEXIST) {
		if (make_room(x, pfd, leaf, x->path, name, false) < 0)
			goto fail;
		fd = openat(pfd, leaf, FILE_FLAGS, mode);
	}
	if (fd < 0) {
		xtract_write_fail(x, errno, name, "create");
		goto fail;
	}
	if (j) {
		/* A block did not fit: what was collected, that block, and the rest, written here. */
		if (job_write(j, fd) < 0 || pwrite_all(fd, buf, len, off) < 0) {
			xtract_write_fail(x, errno, name, "write");
			goto fail;
		}
		end = j->end > off + (int64_t)len ? j->end : off + (int64_t)len;
		job_free(NULL, j);
		j = NULL;
	}
	if (write_data(x, e, fd, name, end) < 0)
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
		return xtract_write_fail(x, errno, name, "close");
	x->st->files++;
	return 0;
fail:
	if (j)
		job_free(NULL, j);
	return -1;
}

static int extract_dir(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf, const char *name,
		       mode_t mode)
{
	/* 0700 until the end: a 0555 directory must still take its contents. */
	if (mkdirat(pfd, leaf, 0700) < 0) {
		if (errno != EEXIST)
			return xtract_write_fail(x, errno, name, "mkdir");
		int r = make_room(x, pfd, leaf, x->path, name, true);
		if (r < 0)
			return -1;
		if (r == 0 && mkdirat(pfd, leaf, 0700) < 0)
			return xtract_write_fail(x, errno, name, "mkdir");
	}
	struct timespec ts[2];
	bool t = entry_times(e, ts);
	fixup_add(x, x->path, mode, t ? ts : NULL);
	x->st->dirs++;
	return 0;
}

static int extract_symlink(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf, const char *name)
{
	const char *target = e->symlink;
	if (!target || !*target)
		return aj_fail(x->err, 0, "entry '%s': symbolic link without a target", name);
	/* Stored as given: a symlink is only ever resolved inside the jail, and we never follow one. */
	if (symlinkat(target, pfd, leaf) < 0) {
		if (errno != EEXIST)
			return xtract_write_fail(x, errno, name, "symlink");
		if (make_room(x, pfd, leaf, x->path, name, false) < 0)
			return -1;
		if (symlinkat(target, pfd, leaf) < 0)
			return xtract_write_fail(x, errno, name, "symlink");
	}
	struct timespec ts[2];
	if (entry_times(e, ts) && utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return aj_fail(x->err, errno, "entry '%s': set times", name);
	x->st->symlinks++;
	return 0;
}

static int extract_hardlink(struct xtract *x, const struct xtract_entry *e, const char *parent, const char *leaf,
			    const char *name)
{
	const char *target = e->hardlink;
	size_t n = strlen(target) + 1;
	if (n > x->tpath_cap) {
		x->tpath = xrealloc(x->tpath, n);
		x->tpath_cap = n;
	}
	if (!archive_path_clean(target, x->tpath))
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' leaves the rootfs", name, target);
	if (!*x->tpath)
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' is not a regular file", name, target);
	/* The target must be there as in order: not a job still to be written. */
	if (pending_wait(x, x->tpath) < 0)
		return -1;
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
		if (tfd < 0 && errno == ENAMETOOLONG) {
			/* Longer than PATH_MAX: a component at a time, with the same checks. */
			tfd = resolve_walk(x, x->tpath, name, false);
			*slash = '/';
			if (tfd < 0)
				return -1;
		}
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
		if (make_room(x, pfd, leaf, x->path, name, false) < 0) {
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
		return xtract_write_fail(x, e1, name, "hard link");
	/* pax and cpio may carry data with a link: it belongs to the (shared) file. */
	if ((e->data || e->blocks) && e->size > 0) {
		cleanup_close int fd = openat(pfd, leaf, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return xtract_write_fail(x, errno, name, "open");
		if (write_data(x, e, fd, name, 0) < 0)
			return -1;
	}
	x->st->hardlinks++;
	return 0;
}

static int entry_write(struct xtract *x, const struct xtract_entry *e)
{
	const char *name = e->name;
	if (!name)
		return aj_fail(x->err, 0, "an entry without a name");
	size_t n = strlen(name) + 1;
	if (n > x->path_cap) {
		x->path = xrealloc(x->path, n);
		x->path_cap = n;
	}
	if (!archive_path_clean(name, x->path))
		return aj_fail(x->err, 0, "entry '%s' leaves the rootfs", name);

	mode_t type = e->type & S_IFMT;
	const char *hardlink = e->hardlink;
	if (!hardlink && (type == S_IFCHR || type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK)) {
		/* Unprivileged, mknod fails; the jail mounts its own /dev anyway. */
		x->st->skipped_devices++;
		strv_push(&x->skipped, xstrdup(x->path));
		return 0;
	}
	if ((e->uid != 0 && e->uid != x->own_uid) || (e->gid != 0 && e->gid != x->own_gid))
		x->st->owners_flattened++;
	mode_t mode = e->perm & 07777;
	if (mode & (S_ISUID | S_ISGID)) {
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
		x->st->setid_dropped++;
	}
	/* The same name as a pending file, or a name beneath one: as if that were written already. */
	if (pending_wait(x, x->path) < 0)
		return -1;

	if (!*x->path) {
		/* "./": the root itself. It keeps u+rwx so the store can rename and delete it. */
		if (type != S_IFDIR || hardlink)
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
		r = extract_hardlink(x, e, par, leaf, name);
		free(par);
		return r;
	}
	int pfd = xtract_parent(x, parent, name);
	if (slash)
		*slash = '/';
	if (pfd < 0)
		return -1;
	switch (type) {
	case S_IFREG:
		return extract_file(x, e, pfd, leaf, name, mode);
	case S_IFDIR:
		return extract_dir(x, e, pfd, leaf, name, mode);
	case S_IFLNK:
		return extract_symlink(x, e, pfd, leaf, name);
	default:
		return aj_fail(x->err, 0, "entry '%s' has an unsupported type (0%o)", name, (unsigned)type);
	}
}

int xtract_entry(struct xtract *x, const struct xtract_entry *e)
{
	/* What the workers finished is retired: memory comes back, and a failure of theirs stops the
	 * import here. */
	if (pool_retire(x, false) < 0)
		return -1;
	int r = entry_write(x, e);
	if (r < 0 && x->pool && !x->pool->failed) {
		/* A job of an earlier entry may have failed too: in order, its error came first. */
		struct aj_err mine = *x->err;
		if (pool_retire(x, true) == 0)
			*x->err = mine;
	}
	return r;
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

/* Open the directory path (normalised) beneath the root for fchmod/futimens. A path longer than
 * PATH_MAX is resolved a component at a time. */
static int open_dir_beneath(struct xtract *x, const char *path)
{
	if (!*path)
		return openat(x->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = openat2_beneath(x->root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd >= 0 || errno != ENAMETOOLONG)
		return fd;
	const char *slash = strrchr(path, '/');
	if (!slash)
		return -1;
	cleanup_free char *parent = xstrndup(path, (size_t)(slash - path));
	struct aj_err ignored = {0}, *saved = x->err;
	x->err = &ignored;
	int pfd = resolve_walk(x, parent, path, false);
	x->err = saved;
	if (pfd < 0) {
		errno = ignored.errnum ? ignored.errnum : ENOENT;
		return -1;
	}
	fd = openat(pfd, slash + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(pfd);
	errno = e;
	return fd;
}

int xtract_sync(struct xtract *x)
{
	int r = pool_retire(x, true);
	/* The caller may now remove what the cached fd points at. */
	xtract_cache_drop(x);
	return r;
}

/* Give directories their final modes and mtimes, deepest first: a parent that loses its x bit must
 * come after everything beneath it, and creating entries inside a directory changes its mtime. */
int xtract_finish(struct xtract *x)
{
	if (xtract_sync(x) < 0)
		return -1;
	pool_stop(x, false);
	if (x->nfix)
		qsort(x->fix, x->nfix, sizeof *x->fix, fixup_cmp);
	for (size_t i = 0; i < x->nfix; i++) {
		struct fixup *f = &x->fix[i];
		if (i > 0 && strcmp(f->path, x->fix[i - 1].path) == 0)
			continue; /* an earlier entry for the same directory: the later one won */
		int fd = open_dir_beneath(x, f->path);
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
