/* workspace.c — clone workspaces (see workspace.h for the layout and the contract). */
#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lazy_git2.h"
#include "output.h"
#include "store.h"
#include "util.h"

/* ---- libgit2 boundary: errors and cleanup ---- */

/* The one place a libgit2 error becomes ours: "<context>: <libgit2's message>". */
static int git_fail(struct aj_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int git_fail(struct aj_err *err, const char *fmt, ...)
{
	char ctx[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	const git_error *ge = LG(git_error_last)();
	return aj_fail(err, 0, "%s: %s", ctx, ge && ge->message ? ge->message : "unknown libgit2 error");
}

#define GIT_CLEANUP(type, fn)                                                                           \
	static void fn##p(type **p)                                                                     \
	{                                                                                               \
		if (*p)                                                                                 \
			LG(fn)(*p);                                                                     \
	}
GIT_CLEANUP(git_repository, git_repository_free)
GIT_CLEANUP(git_reference, git_reference_free)
GIT_CLEANUP(git_commit, git_commit_free)
GIT_CLEANUP(git_tree, git_tree_free)
GIT_CLEANUP(git_tree_entry, git_tree_entry_free)
GIT_CLEANUP(git_blob, git_blob_free)
GIT_CLEANUP(git_odb, git_odb_free)
GIT_CLEANUP(git_index, git_index_free)
GIT_CLEANUP(git_revwalk, git_revwalk_free)
GIT_CLEANUP(git_packbuilder, git_packbuilder_free)
GIT_CLEANUP(git_status_list, git_status_list_free)
GIT_CLEANUP(git_diff, git_diff_free)
GIT_CLEANUP(git_reference_iterator, git_reference_iterator_free)
#define cleanup_repo __attribute__((cleanup(git_repository_freep)))
#define cleanup_ref __attribute__((cleanup(git_reference_freep)))
#define cleanup_commit __attribute__((cleanup(git_commit_freep)))
#define cleanup_tree __attribute__((cleanup(git_tree_freep)))
#define cleanup_tree_entry __attribute__((cleanup(git_tree_entry_freep)))
#define cleanup_blob __attribute__((cleanup(git_blob_freep)))
#define cleanup_odb __attribute__((cleanup(git_odb_freep)))
#define cleanup_index __attribute__((cleanup(git_index_freep)))
#define cleanup_revwalk __attribute__((cleanup(git_revwalk_freep)))
#define cleanup_packbuilder __attribute__((cleanup(git_packbuilder_freep)))
#define cleanup_status __attribute__((cleanup(git_status_list_freep)))
#define cleanup_diff __attribute__((cleanup(git_diff_freep)))
#define cleanup_refiter __attribute__((cleanup(git_reference_iterator_freep)))

static void dir_closep(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define cleanup_dir __attribute__((cleanup(dir_closep)))

/* ---- small file helpers ---- */

static char *strip_slash(char *s)
{
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* realpath, without the trailing slash libgit2 puts on directories. */
static char *canonical(const char *path)
{
	char buf[PATH_MAX];
	if (realpath(path, buf))
		return xstrdup(buf);
	return strip_slash(xstrdup(path));
}

static bool valid_hex_oid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == GIT_OID_HEXSZ && s[n] == '\0';
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write a whole file below dirfd (creating or truncating it). */
static int write_file_at(int dirfd, const char *name, const char *content, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	if (write_all(fd, content, strlen(content)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Atomic replacement: readers (clone list, a concurrent sync) never see half a file. */
static int write_file_atomic_at(int dirfd, const char *name, const char *content)
{
	cleanup_free char *tmp = xasprintf("%s.tmp.%d", name, (int)getpid());
	if (write_file_at(dirfd, tmp, content, 0644) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

static char *read_file(const char *path, size_t max)
{
	return read_file_at(AT_FDCWD, path, max);
}

/* mkdir -p of the parents of rel below dirfd. */
static int mkparents_at(int dirfd, const char *rel, mode_t mode)
{
	cleanup_free char *p = xstrdup(rel);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, p, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

/* Copy a regular file (its own inode: a reflink where the filesystem can, else copy_file_range). */
static int copy_file_at(int sdir, const char *src, int ddir, const char *dst, mode_t mode)
{
	cleanup_close int in = openat(sdir, src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -1;
	cleanup_close int out = openat(ddir, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
	if (out < 0)
		return -1;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			/* Older kernels across filesystems: plain read/write. */
			char buf[65536];
			ssize_t r;
			while ((r = read(in, buf, sizeof buf)) > 0)
				if (write_all(out, buf, (size_t)r) < 0)
					return -1;
			if (r < 0)
				return -1;
			break;
		}
		if (n < 0)
			return -1;
		if (n == 0)
			break;
	}
	/* open() honoured the umask; the copy must keep the source's permissions exactly. */
	if (fchmod(out, mode & 07777) < 0)
		return -1;
	return 0;
}

static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* $store/clone, created on demand with its .base. Returns an fd. */
static int open_clone_dir(const char *store_dir, bool create, struct aj_err *err)
{
	cleanup_free char *dir = path_join(store_dir, "clone");
	if (create) {
		if (mkdir(store_dir, 0700) < 0 && errno != EEXIST)
			return aj_fail(err, errno, "create %s", store_dir);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return aj_fail(err, errno, "create %s", dir);
	}
	int fd = open_dir(dir);
	if (fd < 0)
		return aj_fail(err, errno, "open %s", dir);
	if (create && mkdirat(fd, ".base", 0755) < 0 && errno != EEXIST) {
		int e = errno;
		close(fd);
		return aj_fail(err, e, "create %s/.base", dir);
	}
	return fd;
}

/* ---- the user's repository ---- */

void workspace_repo_release(struct ws_repo *r)
{
	free(r->toplevel);
	free(r->gitdir);
	free(r->commondir);
	free(r->head);
	free(r->head_ref);
	free(r->name);
	memset(r, 0, sizeof *r);
}

int workspace_find_repo(const char *dir, struct ws_repo *r, struct aj_err *err)
{
	memset(r, 0, sizeof *r);
	if (lazy_git2_load(err) < 0)
		return -1;
	cleanup_repo git_repository *repo = NULL;
	int rc = LG(git_repository_open_ext)(&repo, dir, 0, NULL);
	if (rc == GIT_ENOTFOUND)
		return aj_usage(err, "--clone needs a git repository: %s is not in one", dir);
	if (rc < 0)
		return git_fail(err, "open the git repository of %s", dir);
	if (LG(git_repository_is_bare)(repo)) {
		cleanup_free char *gd = canonical(LG(git_repository_path)(repo));
		return aj_usage(err, "%s is a bare repository; --clone needs a work tree", gd);
	}
	if (LG(git_repository_head_unborn)(repo) == 1)
		return aj_usage(err, "the repository of %s has no commit yet (unborn HEAD); commit something first", dir);
	cleanup_ref git_reference *head = NULL;
	if (LG(git_repository_head)(&head, repo) < 0)
		return git_fail(err, "read HEAD of %s", dir);
	cleanup_commit git_commit *commit = NULL;
	if (LG(git_commit_lookup)(&commit, repo, LG(git_reference_target)(head)) < 0)
		return git_fail(err, "read HEAD's commit in %s", dir);
	cleanup_tree git_tree *tree = NULL;
	if (LG(git_commit_tree)(&tree, commit) < 0)
		return git_fail(err, "read HEAD's tree in %s", dir);

	char hex[GIT_OID_HEXSZ + 1];
	LG(git_oid_tostr)(hex, sizeof hex, LG(git_commit_id)(commit));
	r->head = xstrdup(hex);
	/* git_repository_head resolved the symbolic ref: a branch name here means HEAD points at it. */
	if (LG(git_reference_is_branch)(head))
		r->head_ref = xstrdup(LG(git_reference_name)(head));
	r->toplevel = canonical(LG(git_repository_workdir)(repo));
	r->gitdir = canonical(LG(git_repository_path)(repo));
	r->commondir = canonical(LG(git_repository_commondir)(repo));
	r->linked = LG(git_repository_is_worktree)(repo) == 1;
	const char *slash = strrchr(r->toplevel, '/');
	r->name = xstrdup(slash && slash[1] ? slash + 1 : "repo");

	const git_tree_entry *ga = LG(git_tree_entry_byname)(tree, ".gitattributes");
	if (ga && LG(git_tree_entry_type)(ga) == GIT_OBJECT_BLOB) {
		cleanup_blob git_blob *blob = NULL;
		if (LG(git_blob_lookup)(&blob, repo, LG(git_tree_entry_id)(ga)) == 0)
			r->has_lfs = memmem(LG(git_blob_rawcontent)(blob), (size_t)LG(git_blob_rawsize)(blob), "filter=lfs",
					    10) != NULL;
	}
	r->has_submodules = LG(git_tree_entry_byname)(tree, ".gitmodules") != NULL;
	return 0;
}

/* ---- the shared base checkout ---- */

struct co_file {
	char *path;
	git_oid oid;
	uint32_t mode; /* git's: 0100644, 0100755, 0120000, 0160000 */
	struct stat st;
};

struct checkout {
	struct co_file *files;
	size_t n, cap;
	int treefd;
	const char *gitdir;
	struct timespec times[2]; /* atime, mtime: the commit's time */
	mode_t umask;
	atomic_size_t next;
	pthread_mutex_t mu;
	struct aj_err err; /* the first failure of any thread */
	atomic_bool failed;
};

static void co_fail(struct checkout *co, int errnum, const char *what, const char *path)
{
	pthread_mutex_lock(&co->mu);
	if (!atomic_load(&co->failed))
		aj_fail(&co->err, errnum, "%s %s", what, path);
	atomic_store(&co->failed, true);
	pthread_mutex_unlock(&co->mu);
}

static int co_walk(const char *root, const git_tree_entry *e, void *payload)
{
	struct checkout *co = payload;
	git_filemode_t mode = LG(git_tree_entry_filemode)(e);
	cleanup_free char *path = xasprintf("%s%s", root, LG(git_tree_entry_name)(e));
	if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
		/* Directories are made here, in walk order, so that the writers never race for a parent;
		 * a submodule is an empty directory, as git leaves one it did not initialise. */
		if (mkdirat(co->treefd, path, 0755) < 0) {
			co_fail(co, errno, "create", path);
			return -1;
		}
		if (mode == GIT_FILEMODE_TREE)
			return 0;
	} else if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE && mode != GIT_FILEMODE_LINK) {
		return 0;
	}
	if (co->n == co->cap) {
		co->cap = co->cap ? co->cap * 2 : 1024;
		co->files = xrealloc(co->files, co->cap * sizeof *co->files);
	}
	struct co_file *f = &co->files[co->n++];
	memset(f, 0, sizeof *f);
	f->path = steal_pointer(&path);
	LG(git_oid_cpy)(&f->oid, LG(git_tree_entry_id)(e));
	f->mode = (uint32_t)mode;
	return 0;
}

static int co_write_one(struct checkout *co, git_repository *repo, struct co_file *f)
{
	if (f->mode == GIT_FILEMODE_COMMIT) {
		if (utimensat(co->treefd, f->path, co->times, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(co->treefd, f->path, &f->st, AT_SYMLINK_NOFOLLOW) < 0)
			return co_fail(co, errno, "stat", f->path), -1;
		return 0;
	}
	cleanup_blob git_blob *blob = NULL;
	if (LG(git_blob_lookup)(&blob, repo, &f->oid) < 0) {
		const git_error *ge = LG(git_error_last)();
		pthread_mutex_lock(&co->mu);
		if (!atomic_load(&co->failed))
			aj_fail(&co->err, 0, "read %s: %s", f->path, ge ? ge->message : "?");
		atomic_store(&co->failed, true);
		pthread_mutex_unlock(&co->mu);
		return -1;
	}
	const void *data = LG(git_blob_rawcontent)(blob);
	size_t len = (size_t)LG(git_blob_rawsize)(blob);
	if (f->mode == GIT_FILEMODE_LINK) {
		cleanup_free char *target = xstrndup(data, len);
		if (symlinkat(target, co->treefd, f->path) < 0)
			return co_fail(co, errno, "create symlink", f->path), -1;
		if (utimensat(co->treefd, f->path, co->times, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(co->treefd, f->path, &f->st, AT_SYMLINK_NOFOLLOW) < 0)
			return co_fail(co, errno, "stat", f->path), -1;
		return 0;
	}
	mode_t mode = f->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
	cleanup_close int fd = openat(co->treefd, f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return co_fail(co, errno, "create", f->path), -1;
	if (write_all(fd, data, len) < 0)
		return co_fail(co, errno, "write", f->path), -1;
	/* Exactly 0644/0755 whatever the umask: the overlay shows these modes to the agent, and git's
	 * index records them. */
	if ((mode & co->umask) && fchmod(fd, mode) < 0)
		return co_fail(co, errno, "chmod", f->path), -1;
	/* The commit's time, so that no entry is newer than the index (racily clean) and every
	 * workspace's first `git status` trusts the stat data instead of rehashing. */
	if (futimens(fd, co->times) < 0 || fstat(fd, &f->st) < 0)
		return co_fail(co, errno, "stat", f->path), -1;
	return 0;
}

static void *co_thread(void *arg)
{
	struct checkout *co = arg;
	/* Each thread its own repository: libgit2 objects are not shared between threads. */
	git_repository *repo = NULL;
	if (LG(git_repository_open_bare)(&repo, co->gitdir) < 0) {
		const git_error *ge = LG(git_error_last)();
		pthread_mutex_lock(&co->mu);
		if (!atomic_load(&co->failed))
			aj_fail(&co->err, 0, "open %s: %s", co->gitdir, ge ? ge->message : "?");
		atomic_store(&co->failed, true);
		pthread_mutex_unlock(&co->mu);
		return NULL;
	}
	const size_t chunk = 64;
	while (!atomic_load(&co->failed)) {
		size_t start = atomic_fetch_add(&co->next, chunk);
		if (start >= co->n)
			break;
		size_t end = start + chunk < co->n ? start + chunk : co->n;
		for (size_t i = start; i < end; i++)
			if (co_write_one(co, repo, &co->files[i]) < 0)
				break;
	}
	LG(git_repository_free)(repo);
	return NULL;
}

static void co_release(struct checkout *co)
{
	for (size_t i = 0; i < co->n; i++)
		free(co->files[i].path);
	free(co->files);
	pthread_mutex_destroy(&co->mu);
}

/* Write commit `oid` of the repository at gitdir into dirfd/name/{tree,index}. */
static int base_build(const char *gitdir, const git_oid *oid, int dirfd, const char *name, struct aj_err *err)
{
	cleanup_repo git_repository *repo = NULL;
	if (LG(git_repository_open_bare)(&repo, gitdir) < 0)
		return git_fail(err, "open %s", gitdir);
	cleanup_commit git_commit *commit = NULL;
	cleanup_tree git_tree *tree = NULL;
	if (LG(git_commit_lookup)(&commit, repo, oid) < 0 || LG(git_commit_tree)(&tree, commit) < 0)
		return git_fail(err, "read the base commit");
	cleanup_close int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || mkdirat(dfd, "tree", 0755) < 0)
		return aj_fail(err, errno, "create %s/tree", name);

	/* Declared before the first goto: cleanup attributes must never see an uninitialised value. */
	cleanup_free char *idxpath = NULL;
	cleanup_index git_index *idx = NULL;
	struct checkout co = { 0 };
	pthread_mutex_init(&co.mu, NULL);
	co.gitdir = gitdir;
	co.treefd = openat(dfd, "tree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	co.umask = umask(022);
	umask(co.umask);
	co.times[0].tv_nsec = UTIME_OMIT;
	co.times[1].tv_sec = (time_t)LG(git_commit_time)(commit);
	int ret = -1;
	if (co.treefd < 0) {
		aj_fail(err, errno, "open %s/tree", name);
		goto out;
	}
	if (LG(git_tree_walk)(tree, GIT_TREEWALK_PRE, co_walk, &co) < 0) {
		if (atomic_load(&co.failed))
			*err = co.err;
		else
			git_fail(err, "walk the base tree");
		goto out;
	}

	/* Two writers: inflating blobs and creating files overlap, and that beats libgit2's own
	 * single-threaded checkout by a wide margin on a large tree. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = ncpu >= 4 ? 4 : ncpu >= 2 ? (int)ncpu : 1;
	pthread_t th[4];
	int started = 0;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[started], NULL, co_thread, &co) == 0)
			started++;
	if (started == 0)
		co_thread(&co);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&co.failed)) {
		*err = co.err;
		goto out;
	}

	/* The index: every entry with the stat data the file has, so git sees it clean. */
	/* libgit2 wants a path: the directory we hold open, by its name (ours, under the lock). */
	{
		char real[PATH_MAX];
		cleanup_free char *dpath = xasprintf("/proc/self/fd/%d", dfd);
		ssize_t n = readlink(dpath, real, sizeof real - 1);
		if (n < 0) {
			aj_fail(err, errno, "readlink %s", dpath);
			goto out;
		}
		real[n] = '\0';
		idxpath = path_join(real, "index");
	}
	if (LG(git_index_open)(&idx, idxpath) < 0) {
		git_fail(err, "create %s", idxpath);
		goto out;
	}
	for (size_t i = 0; i < co.n; i++) {
		const struct co_file *f = &co.files[i];
		git_index_entry e;
		memset(&e, 0, sizeof e);
		e.ctime.seconds = (int32_t)f->st.st_ctim.tv_sec;
		e.ctime.nanoseconds = (uint32_t)f->st.st_ctim.tv_nsec;
		e.mtime.seconds = (int32_t)f->st.st_mtim.tv_sec;
		e.mtime.nanoseconds = (uint32_t)f->st.st_mtim.tv_nsec;
		e.dev = (uint32_t)f->st.st_dev;
		e.ino = (uint32_t)f->st.st_ino;
		e.mode = f->mode;
		e.uid = f->st.st_uid;
		e.gid = f->st.st_gid;
		e.file_size = f->mode == GIT_FILEMODE_COMMIT ? 0 : (uint32_t)f->st.st_size;
		e.id = f->oid;
		e.path = f->path;
		if (LG(git_index_add)(idx, &e) < 0) {
			git_fail(err, "index %s", f->path);
			goto out;
		}
	}
	/* Fills the index's tree cache (git's TREE extension), which lets git compare the index with
	 * HEAD without walking every tree; the trees exist already, so nothing is written. */
	git_oid treeid;
	if (LG(git_index_write_tree_to)(&treeid, idx, repo) < 0) {
		git_fail(err, "compute the index's tree");
		goto out;
	}
	if (!LG(git_oid_equal)(&treeid, LG(git_tree_id)(tree))) {
		aj_fail(err, 0, "the base index does not match its commit's tree (a path git cannot represent?)");
		goto out;
	}
	if (LG(git_index_write)(idx) < 0) {
		git_fail(err, "write %s", idxpath);
		goto out;
	}
	ret = 0;
out:
	if (co.treefd >= 0)
		close(co.treefd);
	co_release(&co);
	return ret;
}

/* Make sure .base/<oid> exists; returns the fd of .base/<oid>.lock held shared (so that gc keeps
 * the base while a workspace on it is being made), or -1. */
static int base_ensure(int clonefd, const struct ws_repo *r, struct aj_err *err)
{
	cleanup_close int basefd = openat(clonefd, ".base", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return aj_fail(err, errno, "open the base cache");
	cleanup_free char *lockname = xasprintf("%s.lock", r->head);
	/* Blocking: a concurrent creator of the same base makes it once, the others wait and share it. */
	int lockfd = store_lock_at(basefd, lockname, LOCK_EX);
	if (lockfd < 0)
		return aj_fail(err, errno, "lock the base %s", r->head);
	struct stat st;
	if (fstatat(basefd, r->head, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		/* Leftovers of killed creators: we hold the lock, so nobody is writing them. */
		DIR *d = fdopendir(dup(basefd));
		struct dirent *de;
		cleanup_free char *prefix = xasprintf("%s.tmp.", r->head);
		while (d && (de = readdir(d)))
			if (str_has_prefix(de->d_name, prefix))
				store_remove_tree(basefd, de->d_name);
		if (d)
			closedir(d);

		cleanup_free char *tmp = xasprintf("%s.tmp.%d", r->head, (int)getpid());
		if (mkdirat(basefd, tmp, 0755) < 0) {
			int e = errno;
			close(lockfd);
			return aj_fail(err, e, "create the base %s", tmp);
		}
		git_oid oid;
		LG(git_oid_fromstr)(&oid, r->head);
		if (base_build(r->commondir, &oid, basefd, tmp, err) < 0 ||
		    (renameat(basefd, tmp, basefd, r->head) < 0 && aj_fail(err, errno, "install the base %s", r->head))) {
			store_remove_tree(basefd, tmp);
			close(lockfd);
			return aj_err_wrap(err, "check out %.12s", r->head);
		}
	}
	flock(lockfd, LOCK_SH);
	return lockfd;
}

/* ---- workspace creation ---- */

static char *sanitize_name(const char *s)
{
	char *out = xstrdup(*s ? s : "repo");
	for (char *p = out; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			*p = '_';
	if (out[0] == '.')
		out[0] = '_'; /* never a hidden name: .base and friends are ours */
	return out;
}

static bool refname_valid(const char *name)
{
	int valid = 0;
	return LG(git_reference_name_is_valid)(&valid, name) == 0 && valid;
}

/* Subsection names of git config are quoted: escape '"' and '\'. */
static void config_quote(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* packed-refs lines ("<oid> <name>\n[^<peeled>\n]") in the order git requires: by ref name. */
static int cmp_packed_line(const void *a, const void *b)
{
	return strcmp(strchr(*(char *const *)a, ' ') + 1, strchr(*(char *const *)b, ' ') + 1);
}

/* packed-refs of the clone: the user's branches as origin's, and its tags (git clone does both). */
static int clone_refs(git_repository *urepo, int gitfd, const struct ws_repo *r, struct aj_err *err)
{
	cleanup_refiter git_reference_iterator *it = NULL;
	if (LG(git_reference_iterator_new)(&it, urepo) < 0)
		return git_fail(err, "list the refs of %s", r->toplevel);
	cleanup_strv char **lines = NULL;
	git_reference *ref;
	int rc;
	while ((rc = LG(git_reference_next)(&ref, it)) == 0) {
		const char *name = LG(git_reference_name)(ref);
		git_oid oid;
		bool branch = str_has_prefix(name, "refs/heads/"), tag = str_has_prefix(name, "refs/tags/");
		if ((branch || tag) && LG(git_reference_name_to_id)(&oid, urepo, name) == 0) {
			char hex[GIT_OID_HEXSZ + 1];
			LG(git_oid_tostr)(hex, sizeof hex, &oid);
			char *line = branch ? xasprintf("%s refs/remotes/origin/%s\n", hex, name + 11)
					    : xasprintf("%s %s\n", hex, name);
			if (tag) {
				/* fully-peeled: an annotated tag's line is followed by what it points at. */
				git_object *obj = NULL;
				if (LG(git_reference_peel)(&obj, ref, GIT_OBJECT_ANY) == 0) {
					if (!LG(git_oid_equal)(LG(git_object_id)(obj), &oid)) {
						char phex[GIT_OID_HEXSZ + 1];
						LG(git_oid_tostr)(phex, sizeof phex, LG(git_object_id)(obj));
						char *l2 = xasprintf("%s^%s\n", line, phex);
						free(line);
						line = l2;
					}
					LG(git_object_free)(obj);
				}
			}
			strv_push(&lines, line);
		}
		LG(git_reference_free)(ref);
	}
	if (rc != GIT_ITEROVER)
		return git_fail(err, "list the refs of %s", r->toplevel);
	size_t n = strv_len(lines);
	if (n)
		qsort(lines, n, sizeof *lines, cmp_packed_line);
	size_t cap = 64;
	for (size_t i = 0; i < n; i++)
		cap += strlen(lines[i]);
	char *buf = xmalloc(cap);
	size_t len = (size_t)sprintf(buf, "# pack-refs with: peeled fully-peeled sorted \n");
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		memcpy(buf + len, lines[i], l);
		len += l;
	}
	buf[len] = '\0';
	int ret = write_file_at(gitfd, "packed-refs", buf, 0644);
	free(buf);
	if (ret < 0)
		return aj_fail(err, errno, "write packed-refs");
	return 0;
}

/* The clone's git directory, made by hand: nothing here comes from the user's config or hooks. */
static int make_gitdir(int wsfd, git_repository *urepo, const struct ws_repo *r, const char *branch,
		       const char *lower_index, struct aj_err *err)
{
	static const char *const dirs[] = { "git", "git/objects", "git/objects/info", "git/objects/pack", "git/refs",
					    "git/refs/heads", "git/refs/tags", "git/refs/remotes", "git/refs/remotes/origin",
					    "git/info", "git/hooks" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		if (mkdirat(wsfd, dirs[i], 0755) < 0)
			return aj_fail(err, errno, "create %s", dirs[i]);
	cleanup_close int gitfd = openat(wsfd, "git", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gitfd < 0)
		return aj_fail(err, errno, "open git");
	cleanup_free char *head = xasprintf("ref: refs/heads/%s\n", branch);
	cleanup_free char *bref = xasprintf("refs/heads/%s", branch);
	cleanup_free char *tip = xasprintf("%s\n", r->head);
	if (write_file_at(gitfd, "HEAD", head, 0644) < 0 || mkparents_at(gitfd, bref, 0755) < 0 ||
	    write_file_at(gitfd, bref, tip, 0644) < 0)
		return aj_fail(err, errno, "write the branch %s", branch);
	/* The user's objects as the jail sees them; outside the jail this path does not exist and
	 * libgit2 skips it silently; we add the real one at run time when we read the clone. */
	if (write_file_at(gitfd, "objects/info/alternates", "/ajail/origin/objects\n", 0644) < 0)
		return aj_fail(err, errno, "write objects/info/alternates");
	if (r->head_ref && str_has_prefix(r->head_ref, "refs/heads/")) {
		cleanup_free char *oh = xasprintf("ref: refs/remotes/origin/%s\n", r->head_ref + 11);
		if (write_file_at(gitfd, "refs/remotes/origin/HEAD", oh, 0644) < 0)
			return aj_fail(err, errno, "write refs/remotes/origin/HEAD");
	}
	char *cbuf = NULL;
	size_t clen = 0;
	FILE *f = open_memstream(&cbuf, &clen);
	fputs("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
	      "\tlogallrefupdates = true\n\tcheckStat = minimal\n"
	      "[remote \"origin\"]\n\turl = /ajail/origin\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
	      f);
	fputs("[branch \"", f);
	config_quote(f, branch);
	fputs("\"]\n\tremote = origin\n", f);
	if (r->head_ref)
		fprintf(f, "\tmerge = %s\n", r->head_ref);
	fclose(f);
	int rc = write_file_at(gitfd, "config", cbuf, 0644);
	free(cbuf);
	if (rc < 0)
		return aj_fail(err, errno, "write config");
	if (clone_refs(urepo, gitfd, r, err) < 0)
		return -1;
	/* The user's own exclusions still apply inside (they are not in any .gitignore). */
	cleanup_free char *excl = path_join(r->commondir, "info/exclude");
	cleanup_free char *ex = read_file(excl, 1 << 20);
	if (write_file_at(gitfd, "info/exclude", ex ? ex : "", 0644) < 0)
		return aj_fail(err, errno, "write info/exclude");
	/* The workspace's own copy of the base index: git inside rewrites it as it likes. */
	if (copy_file_at(AT_FDCWD, lower_index, gitfd, "index", 0644) < 0)
		return aj_fail(err, errno, "copy %s", lower_index);
	return 0;
}

/* Copy one path of the user's work tree into upper/ (regular file or symlink; parents made). */
static int copy_dirty_path(int topfd, int upperfd, const char *path, struct aj_err *err)
{
	struct stat st;
	if (fstatat(topfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return aj_fail(err, errno, "stat %s", path);
	if (mkparents_at(upperfd, path, 0755) < 0)
		return aj_fail(err, errno, "create the parents of %s", path);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(topfd, path, target, sizeof target - 1);
		if (n < 0)
			return aj_fail(err, errno, "readlink %s", path);
		target[n] = '\0';
		if (symlinkat(target, upperfd, path) < 0)
			return aj_fail(err, errno, "copy %s", path);
	} else if (S_ISREG(st.st_mode)) {
		if (copy_file_at(topfd, path, upperfd, path, st.st_mode) < 0)
			return aj_fail(err, errno, "copy %s", path);
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		utimensat(upperfd, path, ts, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

/* The user's uncommitted changes: modified and untracked files into upper/, deletions listed in
 * dir/deleted (an unprivileged process cannot make overlay whiteouts; the jail removes them). */
static int carry_dirty(git_repository *urepo, const struct ws_repo *r, int wsfd, struct aj_err *err)
{
	git_status_options so;
	LG(git_status_options_init)(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		   GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	cleanup_status git_status_list *sl = NULL;
	if (LG(git_status_list_new)(&sl, urepo, &so) < 0)
		return git_fail(err, "read the status of %s", r->toplevel);
	cleanup_close int topfd = open_dir(r->toplevel);
	cleanup_close int upperfd = openat(wsfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (topfd < 0 || upperfd < 0)
		return aj_fail(err, errno, "open %s", topfd < 0 ? r->toplevel : "upper");
	char *dbuf = NULL;
	size_t dlen = 0;
	FILE *deleted = open_memstream(&dbuf, &dlen);
	int ret = 0;
	size_t n = LG(git_status_list_entrycount)(sl);
	for (size_t i = 0; i < n && ret == 0; i++) {
		const git_status_entry *e = LG(git_status_byindex)(sl, i);
		if (e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
			continue;
		const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
		const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
		struct stat st;
		if (fstatat(topfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				ret = aj_fail(err, errno, "stat %s", path);
				break;
			}
			/* Only paths of the base tree need deleting: the index-only ones are not in it. */
			if (e->head_to_index && e->head_to_index->status == GIT_DELTA_ADDED)
				continue;
			fprintf(deleted, "%s\n", path);
			continue;
		}
		ret = copy_dirty_path(topfd, upperfd, path, err);
	}
	fclose(deleted);
	if (ret == 0 && dlen && write_file_at(wsfd, "deleted", dbuf, 0644) < 0)
		ret = aj_fail(err, errno, "write the list of deleted files");
	free(dbuf);
	return ret;
}

static char *record_get(const char *rec, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = rec; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=')
			return xstrndup(p + kl + 1, ll - kl - 1);
		p = nl ? nl + 1 : p + ll;
	}
	return NULL;
}

/* rec with key set to value (NULL: removed); a new string. Values have no newline. */
static char *record_set(const char *rec, const char *key, const char *value)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t kl = strlen(key);
	bool done = false;
	for (const char *p = rec; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			if (value && !done)
				fprintf(f, "%s=%s\n", key, value);
			done = true;
		} else {
			fprintf(f, "%.*s\n", (int)ll, p);
		}
		p = nl ? nl + 1 : p + ll;
	}
	if (value && !done)
		fprintf(f, "%s=%s\n", key, value);
	fclose(f);
	return buf;
}

int workspace_create(const char *store_dir, const struct ws_repo *r, const char *branch, bool dirty,
		     struct workspace *w, struct aj_err *err)
{
	memset(w, 0, sizeof *w);
	w->lockfd = -1;
	if (lazy_git2_load(err) < 0)
		return -1;
	uint32_t rnd;
	if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
		return aj_fail(err, errno, "getrandom");
	char id[9];
	snprintf(id, sizeof id, "%08x", rnd);
	cleanup_free char *br = branch ? xstrdup(branch) : xasprintf("ajail/%s", id);
	cleanup_free char *full = xasprintf("refs/heads/%s", br);
	if (!refname_valid(full) || strcmp(br, "HEAD") == 0)
		return aj_usage(err, "--clone=%s: not a valid branch name", br);

	cleanup_close int clonefd = open_clone_dir(store_dir, true, err);
	if (clonefd < 0)
		return -1;
	cleanup_repo git_repository *urepo = NULL;
	if (LG(git_repository_open_ext)(&urepo, r->toplevel, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return git_fail(err, "open %s", r->toplevel);

	cleanup_close int baselock = base_ensure(clonefd, r, err);
	if (baselock < 0)
		return -1;

	time_t now = time(NULL);
	struct tm tm;
	char date[16];
	strftime(date, sizeof date, "%Y%m%d", localtime_r(&now, &tm));
	cleanup_free char *sname = sanitize_name(r->name);
	cleanup_free char *name = xasprintf("%s-%s-%s", sname, date, id);
	cleanup_free char *clone_dir = path_join(store_dir, "clone");
	cleanup_free char *basedir = xasprintf("%s/.base/%s", clone_dir, r->head);
	cleanup_free char *lower_index = path_join(basedir, "index");
	cleanup_free char *rec = NULL;
	if (mkdirat(clonefd, name, 0755) < 0)
		return aj_fail(err, errno, "create the workspace %s", name);
	int wsfd = openat(clonefd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = -1;
	if (wsfd < 0) {
		aj_fail(err, errno, "open the workspace %s", name);
		goto fail;
	}
	/* Locked from the start: gc leaves alone a workspace still being made. */
	w->lockfd = store_lock_at(wsfd, "lock", LOCK_EX);
	if (w->lockfd < 0) {
		aj_fail(err, errno, "lock the workspace %s", name);
		goto fail;
	}
	/* upper/.git: the mount point of the clone's git directory, made here so that the jail need not
	 * create it (the base tree has no .git). */
	if (mkdirat(wsfd, "upper", 0755) < 0 || mkdirat(wsfd, "upper/.git", 0755) < 0 || mkdirat(wsfd, "work", 0700) < 0) {
		aj_fail(err, errno, "create the workspace %s", name);
		goto fail;
	}
	if (make_gitdir(wsfd, urepo, r, br, lower_index, err) < 0)
		goto fail;
	if (dirty && carry_dirty(urepo, r, wsfd, err) < 0)
		goto fail;

	{
		char created[32];
		snprintf(created, sizeof created, "%lld", (long long)now);
		const char *kv[][2] = { { "id", id },	   { "repo", r->toplevel }, { "commondir", r->commondir },
					{ "branch", br },  { "base", r->head },	    { "upstream", r->head_ref },
					{ "created", created } };
		for (size_t i = 0; i < sizeof kv / sizeof *kv; i++) {
			if (!kv[i][1])
				continue;
			char *n2 = record_set(rec, kv[i][0], kv[i][1]);
			free(rec);
			rec = n2;
		}
	}
	if (write_file_atomic_at(wsfd, "record", rec) < 0) {
		aj_fail(err, errno, "write the record");
		goto fail;
	}
	close(wsfd);
	w->id = xstrdup(id);
	w->dir = path_join(clone_dir, name);
	w->branch = steal_pointer(&br);
	w->base = xstrdup(r->head);
	w->lower = path_join(basedir, "tree");
	w->upper = path_join(w->dir, "upper");
	w->work = path_join(w->dir, "work");
	w->gitdir = path_join(w->dir, "git");
	return 0;
fail:
	ret = -1;
	if (wsfd >= 0)
		close(wsfd);
	store_remove_tree(clonefd, name);
	if (w->lockfd >= 0)
		close(w->lockfd);
	w->lockfd = -1;
	aj_err_wrap(err, "make a workspace of %s", r->toplevel);
	return ret;
}

void workspace_release(struct workspace *w)
{
	free(w->id);
	free(w->dir);
	free(w->branch);
	free(w->base);
	free(w->lower);
	free(w->upper);
	free(w->work);
	free(w->gitdir);
	if (w->lockfd >= 0)
		close(w->lockfd);
	memset(w, 0, sizeof *w);
	w->lockfd = -1;
}

void workspace_discard(struct workspace *w)
{
	if (w->dir) {
		cleanup_free char *parent = xstrdup(w->dir);
		char *slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			cleanup_close int pfd = open_dir(parent);
			if (pfd >= 0)
				store_remove_tree(pfd, slash + 1);
		}
	}
	workspace_release(w);
}

/* ---- the record ---- */

static int record_update(const char *dir, const char *const kv[][2], size_t n, struct aj_err *err)
{
	cleanup_close int dfd = open_dir(dir);
	if (dfd < 0)
		return aj_fail(err, errno, "open %s", dir);
	cleanup_free char *rec = read_file_at(dfd, "record", 1 << 20);
	if (!rec)
		return aj_fail(err, errno, "read %s/record", dir);
	for (size_t i = 0; i < n; i++) {
		char *r2 = record_set(rec, kv[i][0], kv[i][1]);
		free(rec);
		rec = r2;
	}
	if (write_file_atomic_at(dfd, "record", rec) < 0)
		return aj_fail(err, errno, "write %s/record", dir);
	return 0;
}

int workspace_record_start(struct workspace *w, char *const argv[], const char *rootfs, struct aj_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	for (size_t i = 0; argv && argv[i]; i++) {
		/* One line, readable: words with spaces are quoted, newlines flattened. */
		bool q = argv[i][0] == '\0' || strpbrk(argv[i], " \t'\"\\$") != NULL;
		fputs(i ? " " : "", f);
		if (q)
			fputc('\'', f);
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\n')
				fputc(' ', f);
			else if (*p == '\'')
				fputs("'\\''", f);
			else
				fputc(*p, f);
		}
		if (q)
			fputc('\'', f);
	}
	fclose(f);
	char start[32];
	snprintf(start, sizeof start, "%lld", (long long)time(NULL));
	const char *kv[][2] = { { "argv", buf }, { "rootfs", rootfs ? rootfs : "host" }, { "start", start },
				{ "end", NULL }, { "exit", NULL } };
	int r = record_update(w->dir, kv, 5, err);
	free(buf);
	return r;
}

int workspace_record_end(struct workspace *w, int exit_status, struct aj_err *err)
{
	char end[32], ex[16];
	snprintf(end, sizeof end, "%lld", (long long)time(NULL));
	snprintf(ex, sizeof ex, "%d", exit_status);
	const char *kv[][2] = { { "end", end }, { "exit", ex } };
	return record_update(w->dir, kv, 2, err);
}

/* ---- reading a workspace from outside ---- */

struct ws_info {
	char *name, *dir, *id, *repo, *commondir, *branch, *base, *rec;
	int64_t created;
	char tip[GIT_OID_HEXSZ + 1]; /* "" when the branch is gone */
};

static void ws_info_release(struct ws_info *i)
{
	free(i->name);
	free(i->dir);
	free(i->id);
	free(i->repo);
	free(i->commondir);
	free(i->branch);
	free(i->base);
	free(i->rec);
	memset(i, 0, sizeof *i);
}

/* The branch tip read from the clone's ref files ourselves: loose ref, else packed-refs. Never
 * through libgit2's refdb, which would read the clone's config. */
static int read_tip(const char *gitdir, const char *branch, char out[GIT_OID_HEXSZ + 1], struct aj_err *err)
{
	cleanup_free char *ref = xasprintf("refs/heads/%s", branch);
	if (!refname_valid(ref))
		return aj_fail(err, 0, "the record names an invalid branch '%s'", branch);
	cleanup_close int gfd = open_dir(gitdir);
	if (gfd < 0)
		return aj_fail(err, errno, "open %s", gitdir);
	cleanup_free char *loose = read_file_at(gfd, ref, 4096);
	if (loose) {
		loose[strcspn(loose, "\r\n")] = '\0';
		if (!valid_hex_oid(loose))
			return aj_fail(err, 0, "%s/%s is not a commit id", gitdir, ref);
		memcpy(out, loose, GIT_OID_HEXSZ + 1);
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
		return aj_fail(err, errno, "read %s/%s", gitdir, ref);
	cleanup_free char *packed = read_file_at(gfd, "packed-refs", 256u << 20);
	for (char *line = packed, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (strlen(line) > GIT_OID_HEXSZ + 1 && line[GIT_OID_HEXSZ] == ' ' &&
		    strcmp(line + GIT_OID_HEXSZ + 1, ref) == 0) {
			line[GIT_OID_HEXSZ] = '\0';
			if (!valid_hex_oid(line))
				return aj_fail(err, 0, "%s/packed-refs: bad id for %s", gitdir, ref);
			memcpy(out, line, GIT_OID_HEXSZ + 1);
			return 0;
		}
	}
	out[0] = '\0';
	return aj_fail(err, 0, "the workspace's branch %s no longer exists", branch);
}

static int ws_info_load(const char *dir, const char *name, struct ws_info *i, struct aj_err *err)
{
	memset(i, 0, sizeof *i);
	i->dir = xstrdup(dir);
	i->name = xstrdup(name);
	cleanup_free char *recpath = path_join(dir, "record");
	i->rec = read_file(recpath, 1 << 20);
	if (!i->rec)
		return aj_fail(err, errno, "read %s", recpath);
	i->id = record_get(i->rec, "id");
	i->repo = record_get(i->rec, "repo");
	i->commondir = record_get(i->rec, "commondir");
	i->branch = record_get(i->rec, "branch");
	i->base = record_get(i->rec, "base");
	cleanup_free char *created = record_get(i->rec, "created");
	i->created = created ? strtoll(created, NULL, 10) : 0;
	if (!i->id || !i->commondir || !i->branch || !i->base || !valid_hex_oid(i->base))
		return aj_fail(err, 0, "%s: incomplete record", recpath);
	return 0;
}

/* The clone's objects (its own loose and packed ones, not its alternates file, which the jail could
 * point anywhere) plus the user's, wrapped as a repository with no config. */
static int open_ws_repo(const struct ws_info *i, git_repository **out, struct aj_err *err)
{
	cleanup_odb git_odb *odb = NULL;
	cleanup_free char *objs = xasprintf("%s/git/objects", i->dir);
	cleanup_free char *uobjs = path_join(i->commondir, "objects");
	git_odb_backend *b = NULL;
	if (LG(git_odb_new)(&odb) < 0)
		return git_fail(err, "create an object database");
	if (LG(git_odb_backend_pack)(&b, objs) < 0 || LG(git_odb_add_backend)(odb, b, 2) < 0)
		return git_fail(err, "open %s", objs);
	if (LG(git_odb_backend_loose)(&b, objs, -1, 0, 0, 0) < 0 || LG(git_odb_add_backend)(odb, b, 1) < 0)
		return git_fail(err, "open %s", objs);
	if (LG(git_odb_add_disk_alternate)(odb, uobjs) < 0)
		return git_fail(err, "open %s", uobjs);
	if (LG(git_repository_wrap_odb)(out, odb) < 0)
		return git_fail(err, "wrap %s", objs);
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

/* Is ref (full name) checked out in the main work tree or in any linked one? Read from the HEAD
 * files themselves, so that every worktree is seen whatever libgit2 thinks of it. */
static bool ref_checked_out(const char *commondir, const char *ref)
{
	cleanup_free char *want = xasprintf("ref: %s", ref);
	cleanup_free char *head = path_join(commondir, "HEAD");
	cleanup_free char *h = read_file(head, 4096);
	if (h) {
		h[strcspn(h, "\r\n")] = '\0';
		if (strcmp(h, want) == 0)
			return true;
	}
	cleanup_free char *wt = path_join(commondir, "worktrees");
	cleanup_dir DIR *d = opendir(wt);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *p = xasprintf("%s/%s/HEAD", wt, e->d_name);
		cleanup_free char *c = read_file(p, 4096);
		if (c) {
			c[strcspn(c, "\r\n")] = '\0';
			if (strcmp(c, want) == 0)
				return true;
		}
	}
	return false;
}

static int deliver_prefix(const char **out, struct aj_err *err)
{
	const char *p = getenv("AJAIL_CLONE_PREFIX");
	if (!p)
		p = "ajail/";
	cleanup_free char *test = xasprintf("refs/heads/%sx", p);
	if (!refname_valid(test))
		return aj_usage(err, "AJAIL_CLONE_PREFIX='%s' does not make valid branch names", p);
	*out = p;
	return 0;
}

/* The body of workspace_deliver, once the record is read: returns straight out, cleanups do the rest. */
static int deliver_ws(struct ws_info *i, const char *prefix, int *commits, char **ref, struct aj_err *err)
{
	cleanup_free char *gitdir = path_join(i->dir, "git");
	if (read_tip(gitdir, i->branch, i->tip, err) < 0)
		return -1;
	cleanup_repo git_repository *wrepo = NULL;
	if (open_ws_repo(i, &wrepo, err) < 0)
		return -1;
	git_oid tip, base;
	LG(git_oid_fromstr)(&tip, i->tip);
	LG(git_oid_fromstr)(&base, i->base);
	cleanup_revwalk git_revwalk *walk = NULL;
	int n = count_ahead(wrepo, &tip, &base, &walk, err);
	if (n < 0)
		return -1;
	*commits = n;
	if (n == 0)
		return 0;
	cleanup_free char *refname = xasprintf("refs/heads/%s%s", prefix, i->id);
	if (!refname_valid(refname))
		return aj_fail(err, 0, "%s is not a valid ref name", refname);
	cleanup_repo git_repository *urepo = NULL;
	if (open_user_repo(i->commondir, &urepo, err) < 0)
		return -1;
	git_oid cur;
	if (LG(git_reference_name_to_id)(&cur, urepo, refname) == 0 && LG(git_oid_equal)(&cur, &tip)) {
		*ref = steal_pointer(&refname); /* delivered already: nothing to write */
		return 0;
	}
	/* Moving a checked-out branch would leave that work tree's index and files behind its HEAD. */
	if (ref_checked_out(i->commondir, refname))
		return aj_fail(err, 0, "%s is checked out in %s; switch to another branch to let ajail update it", refname,
			       i->repo ? i->repo : i->commondir);
	cleanup_odb git_odb *uodb = NULL;
	if (LG(git_repository_odb)(&uodb, urepo) < 0)
		return git_fail(err, "open the objects of %s", i->commondir);
	/* The tip there means its history is there too (git's connectivity invariant): no new pack. */
	if (!LG(git_odb_exists)(uodb, &tip)) {
		cleanup_packbuilder git_packbuilder *pb = NULL;
		cleanup_free char *packdir = xasprintf("%s/objects/pack", i->commondir);
		if (LG(git_packbuilder_new)(&pb, wrepo) < 0 || LG(git_packbuilder_insert_walk)(pb, walk) < 0)
			return git_fail(err, "collect the workspace's new objects");
		if (LG(git_packbuilder_write)(pb, packdir, 0, NULL, NULL) < 0)
			return git_fail(err, "write a pack into %s", packdir);
		/* The new pack must be seen by the ref update's object check. */
		LG(git_odb_refresh)(uodb);
	}
	cleanup_free char *msg = xasprintf("ajail: deliver workspace %s", i->id);
	cleanup_ref git_reference *newref = NULL;
	if (LG(git_reference_create)(&newref, urepo, refname, &tip, 1, msg) < 0)
		return git_fail(err, "update %s in %s", refname, i->commondir);
	*ref = steal_pointer(&refname);
	return 0;
}

int workspace_deliver(const char *ws_dir, int *commits, char **ref, struct aj_err *err)
{
	*commits = 0;
	cleanup_free char *written = NULL;
	if (lazy_git2_load(err) < 0)
		return -1;
	const char *prefix;
	if (deliver_prefix(&prefix, err) < 0)
		return -1;
	struct ws_info i;
	const char *slash = strrchr(ws_dir, '/');
	int ret = ws_info_load(ws_dir, slash ? slash + 1 : ws_dir, &i, err);
	if (ret == 0)
		ret = deliver_ws(&i, prefix, commits, &written, err);
	if (ret < 0)
		aj_err_wrap(err, "deliver %s", i.name ? i.name : ws_dir);
	ws_info_release(&i);
	if (ref)
		*ref = steal_pointer(&written);
	return ret;
}

/* ---- clone list / show / rm / gc / sync ---- */

enum delivered {
	DELIV_NOTHING, /* no commits ahead */
	DELIV_YES,     /* the user's ref equals the tip */
	DELIV_MERGED,  /* the tip is in one of the user's branches */
	DELIV_NO,
	DELIV_UNKNOWN,
};

struct ws_state {
	int ahead;  /* -1 unknown */
	int dirty;  /* 1 dirty, 0 clean, -1 unknown */
	bool in_use;
	uint64_t size;
	enum delivered deliv;
	char *why_dirty; /* the first change found */
	char *error;     /* why something is unknown */
};

static void ws_state_release(struct ws_state *s)
{
	free(s->why_dirty);
	free(s->error);
	memset(s, 0, sizeof *s);
}

static uint64_t du_at(int parent, const char *name)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	uint64_t total = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return total;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return total;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return total;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			total += du_at(dirfd(d), e->d_name);
	closedir(d);
	return total;
}

static bool lock_held(const char *dir)
{
	cleanup_free char *p = path_join(dir, "lock");
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return false;
}

/* An overlay whiteout: the kernel's char device 0/0, or a file marked with the xattr. */
static bool is_whiteout(int dirfd, const char *name, const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return true;
	if (!S_ISREG(st->st_mode) || st->st_size != 0)
		return false;
	cleanup_free char *p = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
	return getxattr(p, "user.overlay.whiteout", NULL, 0) >= 0 || getxattr(p, "trusted.overlay.whiteout", NULL, 0) >= 0;
}

static bool is_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, "user.overlay.opaque", v, sizeof v);
	if (n < 0)
		n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v);
	return n > 0 && v[0] == 'y';
}

struct dirty_ctx {
	git_repository *wrepo;
	git_repository *urepo; /* for ignore rules; may be NULL */
	git_tree *tip;
	char **deleted;
	char *why;
};

static bool dirty_note(struct dirty_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remember the first change found (shown by clone show and rm); returns true: dirty. */
static bool dirty_note(struct dirty_ctx *c, const char *fmt, ...)
{
	if (!c->why) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&c->why, fmt, ap) < 0)
			c->why = NULL;
		va_end(ap);
	}
	return true;
}

static bool path_ignored(struct dirty_ctx *c, const char *path)
{
	int ign = 0;
	return c->urepo && LG(git_ignore_path_is_ignored)(&ign, c->urepo, path) == 0 && ign;
}

/* Does upper/<rel> (dirfd) hold a change against the tip tree? Stops at the first one. */
static bool upper_dirty(struct dirty_ctx *c, int dirfd, const char *rel)
{
	cleanup_dir DIR *d = fdopendir(dup(dirfd));
	if (!d)
		return dirty_note(c, "cannot read upper/%s", rel);
	if (*rel && is_opaque(dirfd)) {
		/* An opaque directory hides the lower one: every tip entry missing from it is deleted. */
		cleanup_tree_entry git_tree_entry *te = NULL;
		if (LG(git_tree_entry_bypath)(&te, c->tip, rel) == 0 && LG(git_tree_entry_type)(te) == GIT_OBJECT_TREE) {
			cleanup_tree git_tree *sub = NULL;
			if (LG(git_tree_lookup)(&sub, c->wrepo, LG(git_tree_entry_id)(te)) == 0) {
				for (size_t k = 0; k < LG(git_tree_entrycount)(sub); k++) {
					struct stat st;
					const char *nm = LG(git_tree_entry_name)(LG(git_tree_entry_byindex)(sub, k));
					if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
						return dirty_note(c, "%s: deleted files", rel);
				}
			}
		}
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* The mount point of the clone's git directory, made by the overlay: not the agent's. */
		if (!*rel && !strcmp(e->d_name, ".git"))
			continue;
		cleanup_free char *path = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return dirty_note(c, "cannot stat upper/%s", path);
		cleanup_tree_entry git_tree_entry *te = NULL;
		bool in_tip = LG(git_tree_entry_bypath)(&te, c->tip, path) == 0;
		git_filemode_t tm = in_tip ? LG(git_tree_entry_filemode)(te) : 0;
		if (is_whiteout(dirfd, e->d_name, &st)) {
			if (in_tip)
				return dirty_note(c, "%s: deleted", path);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (in_tip && tm != GIT_FILEMODE_TREE && tm != GIT_FILEMODE_COMMIT)
				return dirty_note(c, "%s: a file became a directory", path);
			if (tm == GIT_FILEMODE_COMMIT)
				continue; /* a submodule's own changes are its own */
			cleanup_close int sfd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sfd < 0 || upper_dirty(c, sfd, path))
				return sfd < 0 ? dirty_note(c, "cannot read upper/%s", path) : true;
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		if (!in_tip) {
			if (path_ignored(c, path))
				continue;
			return dirty_note(c, "%s: untracked", path);
		}
		git_oid oid;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd, e->d_name, target, sizeof target);
			if (tm != GIT_FILEMODE_LINK || n < 0 || LG(git_odb_hash)(&oid, target, (size_t)n, GIT_OBJECT_BLOB) < 0 ||
			    !LG(git_oid_equal)(&oid, LG(git_tree_entry_id)(te)))
				return dirty_note(c, "%s: modified", path);
			continue;
		}
		git_filemode_t want = (st.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		cleanup_free char *full = xasprintf("/proc/self/fd/%d/%s", dirfd, e->d_name);
		if (tm != want || LG(git_odb_hashfile)(&oid, full, GIT_OBJECT_BLOB) < 0 ||
		    !LG(git_oid_equal)(&oid, LG(git_tree_entry_id)(te)))
			return dirty_note(c, "%s: modified", path);
	}
	return false;
}

/* Whether the workspace has uncommitted work, as `git status` inside would say (close to it):
 * the upper layer against the tip's tree, the lower layer where base and tip differ, the files the
 * jail was told to delete, and the index against the tip's tree. -1: cannot tell. */
static int ws_dirty(const struct ws_info *i, git_repository *wrepo, git_repository *urepo, char **why)
{
	git_oid tip, base;
	LG(git_oid_fromstr)(&tip, i->tip);
	LG(git_oid_fromstr)(&base, i->base);
	cleanup_commit git_commit *tc = NULL, *bc = NULL;
	cleanup_tree git_tree *tt = NULL, *bt = NULL;
	if (LG(git_commit_lookup)(&tc, wrepo, &tip) < 0 || LG(git_commit_tree)(&tt, tc) < 0 ||
	    LG(git_commit_lookup)(&bc, wrepo, &base) < 0 || LG(git_commit_tree)(&bt, bc) < 0) {
		*why = xstrdup("cannot read the tip or base commit");
		return -1;
	}
	struct dirty_ctx c = { .wrepo = wrepo, .urepo = urepo, .tip = tt };
	cleanup_free char *dpath = path_join(i->dir, "deleted");
	cleanup_free char *dl = read_file(dpath, 64u << 20);
	for (char *line = dl, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line)
			strv_push(&c.deleted, xstrdup(line));
	}
	cleanup_free char *upper = path_join(i->dir, "upper");
	cleanup_close int ufd = open_dir(upper);
	int ret = 0;
	if (ufd < 0) {
		c.why = xstrdup("cannot read upper/");
		ret = -1;
		goto out;
	}
	if (upper_dirty(&c, ufd, "")) {
		ret = 1;
		goto out;
	}
	/* Paths listed as deleted that the tip still has, and nothing in upper replaced. */
	for (size_t k = 0; c.deleted && c.deleted[k]; k++) {
		struct stat st;
		cleanup_tree_entry git_tree_entry *te = NULL;
		if (fstatat(ufd, c.deleted[k], &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    LG(git_tree_entry_bypath)(&te, tt, c.deleted[k]) == 0) {
			dirty_note(&c, "%s: deleted", c.deleted[k]);
			ret = 1;
			goto out;
		}
	}
	/* Where tip and base differ, the lower layer (the base) shows through unless upper covers it. */
	{
		cleanup_diff git_diff *diff = NULL;
		if (LG(git_diff_tree_to_tree)(&diff, wrepo, bt, tt, NULL) < 0) {
			c.why = xstrdup("cannot compare base and tip");
			ret = -1;
			goto out;
		}
		size_t nd = LG(git_diff_num_deltas)(diff);
		for (size_t k = 0; k < nd; k++) {
			const git_diff_delta *d = LG(git_diff_get_delta)(diff, k);
			const char *p = d->new_file.path ? d->new_file.path : d->old_file.path;
			struct stat st;
			if (fstatat(ufd, p, &st, AT_SYMLINK_NOFOLLOW) == 0)
				continue; /* judged by the walk of upper */
			bool gone = strv_contains(c.deleted, p);
			if (d->status == GIT_DELTA_DELETED && (gone || path_ignored(&c, p)))
				continue;
			dirty_note(&c, "%s: differs from the branch", p);
			ret = 1;
			goto out;
		}
	}
	/* Staged changes: the index against the tip's tree. */
	{
		cleanup_free char *ipath = xasprintf("%s/git/index", i->dir);
		cleanup_index git_index *idx = NULL;
		cleanup_diff git_diff *diff = NULL;
		if (LG(git_index_open)(&idx, ipath) < 0) {
			c.why = xstrdup("cannot read the index");
			ret = -1;
			goto out;
		}
		if (LG(git_index_has_conflicts)(idx)) {
			c.why = xstrdup("merge conflicts in the index");
			ret = 1;
			goto out;
		}
		if (LG(git_diff_tree_to_index)(&diff, wrepo, tt, idx, NULL) < 0) {
			c.why = xstrdup("cannot compare the index");
			ret = -1;
			goto out;
		}
		if (LG(git_diff_num_deltas)(diff) > 0) {
			const git_diff_delta *d = LG(git_diff_get_delta)(diff, 0);
			dirty_note(&c, "%s: staged", d->new_file.path ? d->new_file.path : d->old_file.path);
			ret = 1;
		}
	}
out:
	strv_free(c.deleted);
	*why = c.why;
	return ret;
}

/* Everything list/rm/gc need to know about one workspace. Never fails: unknowns are marked. */
static void ws_state_load(struct ws_info *i, struct ws_state *s, const char *prefix)
{
	memset(s, 0, sizeof *s);
	s->ahead = -1;
	s->dirty = -1;
	s->deliv = DELIV_UNKNOWN;
	s->in_use = lock_held(i->dir);
	s->size = du_at(AT_FDCWD, i->dir);
	struct aj_err err = { 0 };
	cleanup_free char *gitdir = path_join(i->dir, "git");
	if (read_tip(gitdir, i->branch, i->tip, &err) < 0) {
		s->error = xstrdup(err.msg);
		return;
	}
	cleanup_repo git_repository *wrepo = NULL, *urepo = NULL;
	if (open_ws_repo(i, &wrepo, &err) < 0) {
		s->error = xstrdup(err.msg);
		return;
	}
	open_user_repo(i->commondir, &urepo, &err);
	git_oid tip, base;
	LG(git_oid_fromstr)(&tip, i->tip);
	LG(git_oid_fromstr)(&base, i->base);
	s->ahead = count_ahead(wrepo, &tip, &base, NULL, &err);
	if (s->ahead < 0)
		s->error = xstrdup(err.msg);
	s->dirty = ws_dirty(i, wrepo, urepo, &s->why_dirty);
	if (s->ahead == 0) {
		s->deliv = DELIV_NOTHING;
	} else if (urepo && prefix) {
		cleanup_free char *refname = xasprintf("refs/heads/%s%s", prefix, i->id);
		git_oid cur;
		if (LG(git_reference_name_to_id)(&cur, urepo, refname) == 0 && LG(git_oid_equal)(&cur, &tip)) {
			s->deliv = DELIV_YES;
			return;
		}
		s->deliv = DELIV_NO;
		cleanup_odb git_odb *uodb = NULL;
		if (LG(git_repository_odb)(&uodb, urepo) < 0 || !LG(git_odb_exists)(uodb, &tip))
			return;
		git_branch_iterator *it = NULL;
		if (LG(git_branch_iterator_new)(&it, urepo, GIT_BRANCH_LOCAL) < 0)
			return;
		git_reference *br;
		git_branch_t bt;
		while (s->deliv == DELIV_NO && LG(git_branch_next)(&br, &bt, it) == 0) {
			/* The workspace's own delivered ref does not count as merging it. */
			if (strcmp(LG(git_reference_name)(br), refname) != 0) {
				git_oid bo;
				if (LG(git_reference_name_to_id)(&bo, urepo, LG(git_reference_name)(br)) == 0 &&
				    (LG(git_oid_equal)(&bo, &tip) || LG(git_graph_descendant_of)(urepo, &bo, &tip) == 1))
					s->deliv = DELIV_MERGED;
			}
			LG(git_reference_free)(br);
		}
		LG(git_branch_iterator_free)(it);
	}
}

struct ws_entry {
	struct ws_info info;
	struct ws_state state;
	bool loaded;
};

static int cmp_ws_entry(const void *a, const void *b)
{
	const struct ws_entry *x = a, *y = b;
	if (x->info.created != y->info.created)
		return x->info.created < y->info.created ? -1 : 1;
	return strcmp(x->info.name, y->info.name);
}

/* Every workspace under clone/ with a readable record. */
static int ws_scan(const char *clone_dir, struct ws_entry **out, size_t *n, struct aj_err *err)
{
	*out = NULL;
	*n = 0;
	cleanup_dir DIR *d = opendir(clone_dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return aj_fail(err, errno, "open %s", clone_dir);
	}
	struct dirent *e;
	size_t cap = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *dir = path_join(clone_dir, e->d_name);
		struct ws_info i;
		struct aj_err ig = { 0 };
		if (ws_info_load(dir, e->d_name, &i, &ig) < 0) {
			ws_info_release(&i);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		memset(&(*out)[*n], 0, sizeof **out);
		(*out)[(*n)++].info = i;
	}
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_ws_entry);
	return 0;
}

static void ws_entries_free(struct ws_entry *e, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		ws_info_release(&e[k].info);
		ws_state_release(&e[k].state);
	}
	free(e);
}

static const char *deliv_word(enum delivered d)
{
	switch (d) {
	case DELIV_NOTHING:
		return "-";
	case DELIV_YES:
		return "yes";
	case DELIV_MERGED:
		return "merged";
	case DELIV_NO:
		return "no";
	case DELIV_UNKNOWN:
		return "?";
	}
	return "?";
}

static const char *dirty_word(int dirty)
{
	return dirty == 1 ? "dirty" : dirty == 0 ? "clean" : "?";
}

static void fmt_time(char *buf, size_t len, int64_t t, bool iso)
{
	time_t tt = (time_t)t;
	struct tm tm;
	strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M", iso ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm));
}

static struct ws_entry *ws_find(struct ws_entry *e, size_t n, const char *id)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(e[k].info.id, id) == 0 || strcmp(e[k].info.name, id) == 0)
			return &e[k];
	return NULL;
}

static const char clone_usage[] =
	"Usage: ajail clone list [--json]        workspaces: ahead, dirty, in use, delivered\n"
	"       ajail clone show ID              one workspace's record\n"
	"       ajail clone rm [--force] ID...   refuses in-use, dirty or undelivered ones unless --force\n"
	"       ajail clone gc                   removes every clean, delivered (or merged, or empty) one\n"
	"       ajail clone sync [ID...]         deliver workspaces (all when none given) as refs/heads/ajail/<id>\n"
	"ID: the 8-digit id or the directory name. Workspaces live in $AJAIL_HOME/clone.\n";

static int cmd_list(struct ws_entry *e, size_t n, bool json)
{
	if (json) {
		fputc('[', stdout);
		for (size_t k = 0; k < n; k++) {
			const struct ws_info *i = &e[k].info;
			const struct ws_state *s = &e[k].state;
			char created[64];
			fmt_time(created, sizeof created, i->created, true);
			printf("%s{\"id\": ", k ? ", " : "");
			output_json_string(stdout, i->id);
			fputs(", \"dir\": ", stdout);
			output_json_string(stdout, i->dir);
			fputs(", \"repo\": ", stdout);
			output_json_string(stdout, i->repo ? i->repo : i->commondir);
			fputs(", \"branch\": ", stdout);
			output_json_string(stdout, i->branch);
			fputs(", \"base\": ", stdout);
			output_json_string(stdout, i->base);
			/* The keys workspace.h promises scripts: delivered and merged as booleans. */
			printf(", \"ahead\": %d, \"dirty\": %s, \"size\": %llu, \"created\": \"%s\", \"in_use\": %s, "
			       "\"delivered\": %s, \"merged\": %s",
			       s->ahead, s->dirty < 0 ? "null" : s->dirty ? "true" : "false", (unsigned long long)s->size,
			       created, s->in_use ? "true" : "false", s->deliv == DELIV_YES ? "true" : "false",
			       s->deliv == DELIV_MERGED ? "true" : "false");
			if (s->error) {
				fputs(", \"error\": ", stdout);
				output_json_string(stdout, s->error);
			}
			fputc('}', stdout);
		}
		puts("]");
		return 0;
	}
	if (n == 0) {
		fputs("ajail: no workspaces; make one with 'ajail --clone CMD' in a git repository\n", stderr);
		return 0;
	}
	printf("%-8s  %-24s  %-20s  %-8s  %5s  %-5s  %8s  %-16s  %-6s  %s\n", "ID", "REPO", "BRANCH", "BASE", "AHEAD",
	       "STATE", "SIZE", "CREATED", "IN-USE", "DELIVERED");
	for (size_t k = 0; k < n; k++) {
		const struct ws_info *i = &e[k].info;
		const struct ws_state *s = &e[k].state;
		char created[64], ahead[16];
		fmt_time(created, sizeof created, i->created, false);
		cleanup_free char *size = util_human_size(s->size);
		const char *repo = i->repo ? i->repo : i->commondir;
		const char *slash = strrchr(repo, '/');
		if (s->ahead < 0)
			snprintf(ahead, sizeof ahead, "?");
		else
			snprintf(ahead, sizeof ahead, "%d", s->ahead);
		printf("%-8s  %-24s  %-20s  %-8.8s  %5s  %-5s  %8s  %-16s  %-6s  %s\n", i->id,
		       slash && slash[1] ? slash + 1 : repo, i->branch, i->base, ahead, dirty_word(s->dirty), size, created,
		       s->in_use ? "yes" : "no", deliv_word(s->deliv));
	}
	for (size_t k = 0; k < n; k++)
		if (e[k].state.error)
			fprintf(stderr, "ajail: %s: %s\n", e[k].info.id, e[k].state.error);
	return 0;
}

static void cmd_show(const struct ws_entry *e)
{
	const struct ws_info *i = &e->info;
	const struct ws_state *s = &e->state;
	printf("%-10s %s\n", "dir", i->dir);
	for (const char *p = i->rec; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', ll);
		if (eq) {
			int kl = (int)(eq - p);
			cleanup_free char *v = xstrndup(eq + 1, ll - (size_t)kl - 1);
			bool is_time = (kl == 7 && !strncmp(p, "created", 7)) || (kl == 5 && !strncmp(p, "start", 5)) ||
				       (kl == 3 && !strncmp(p, "end", 3));
			if (is_time) {
				char t[64];
				fmt_time(t, sizeof t, strtoll(v, NULL, 10), false);
				printf("%-10.*s %s\n", kl, p, t);
			} else {
				printf("%-10.*s %s\n", kl, p, v);
			}
		}
		p = nl ? nl + 1 : p + ll;
	}
	printf("%-10s %s\n", "tip", *i->tip ? i->tip : "?");
	if (s->ahead < 0)
		printf("%-10s ?\n", "ahead");
	else
		printf("%-10s %d\n", "ahead", s->ahead);
	printf("%-10s %s%s%s%s\n", "state", dirty_word(s->dirty), s->why_dirty ? " (" : "", s->why_dirty ? s->why_dirty : "",
	       s->why_dirty ? ")" : "");
	printf("%-10s %s\n", "in use", s->in_use ? "yes" : "no");
	printf("%-10s %s\n", "delivered", deliv_word(s->deliv));
	if (s->error)
		printf("%-10s %s\n", "error", s->error);
}

/* Rename into clone/.trash-<name>.<pid> first, so that a half-removed workspace never looks like one. */
static int ws_remove(const char *clone_dir, const char *name, struct aj_err *err)
{
	cleanup_close int cfd = open_dir(clone_dir);
	if (cfd < 0)
		return aj_fail(err, errno, "open %s", clone_dir);
	cleanup_free char *trash = xasprintf(".trash-%s.%d", name, (int)getpid());
	if (renameat(cfd, name, cfd, trash) < 0)
		return aj_fail(err, errno, "remove %s", name);
	if (store_remove_tree(cfd, trash) < 0)
		return aj_fail(err, errno, "remove %s", name);
	return 0;
}

/* Why rm (without --force) and gc must keep a workspace; NULL when it may go. */
static const char *keep_reason(const struct ws_state *s)
{
	if (s->in_use)
		return "a jail is using it";
	if (s->dirty != 0)
		return s->dirty < 0 ? "its state is unknown" : "it has uncommitted changes";
	if (s->ahead < 0 || s->deliv == DELIV_UNKNOWN)
		return "its commits cannot be read";
	if (s->deliv == DELIV_NO)
		return "it has commits neither delivered nor merged (run 'ajail clone sync' first)";
	return NULL;
}

static bool base_in_use(const struct ws_entry *e, size_t n, const char *oid, const char *clone_dir)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(e[k].info.base, oid) == 0) {
			struct stat st;
			if (stat(e[k].info.dir, &st) == 0)
				return true;
		}
	(void)clone_dir;
	return false;
}

/* Bases no workspace uses, and leftovers of killed creators. */
static void gc_bases(const char *clone_dir)
{
	cleanup_free char *bdir = path_join(clone_dir, ".base");
	cleanup_close int bfd = open_dir(bdir);
	if (bfd < 0)
		return;
	cleanup_dir DIR *d = fdopendir(dup(bfd));
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char oid[GIT_OID_HEXSZ + 1];
		if (strlen(de->d_name) < GIT_OID_HEXSZ)
			continue;
		memcpy(oid, de->d_name, GIT_OID_HEXSZ);
		oid[GIT_OID_HEXSZ] = '\0';
		if (!valid_hex_oid(oid) || str_has_prefix(de->d_name + GIT_OID_HEXSZ, ".lock"))
			continue;
		cleanup_free char *lock = xasprintf("%s.lock", oid);
		cleanup_close int lfd = store_lock_at(bfd, lock, LOCK_EX | LOCK_NB);
		if (lfd < 0)
			continue; /* being made or being used to make a workspace */
		if (de->d_name[GIT_OID_HEXSZ] == '\0') {
			/* Scanned under the lock: a workspace made after it would hold the lock shared. */
			struct ws_entry *e;
			size_t n;
			struct aj_err ig = { 0 };
			if (ws_scan(clone_dir, &e, &n, &ig) < 0)
				continue;
			bool used = base_in_use(e, n, oid, clone_dir);
			ws_entries_free(e, n);
			if (used)
				continue;
			cleanup_free char *trash = xasprintf("%s.tmp.gc%d", oid, (int)getpid());
			if (renameat(bfd, de->d_name, bfd, trash) == 0) {
				store_remove_tree(bfd, trash);
				fprintf(stderr, "ajail: removed the base checkout of %.12s\n", oid);
			}
		} else if (str_has_prefix(de->d_name + GIT_OID_HEXSZ, ".tmp.")) {
			store_remove_tree(bfd, de->d_name);
		}
	}
}

/* Half-made workspaces (no record, lock free, older than a minute) and interrupted removals. */
static void gc_leftovers(const char *clone_dir)
{
	cleanup_close int cfd = open_dir(clone_dir);
	if (cfd < 0)
		return;
	cleanup_dir DIR *d = fdopendir(dup(cfd));
	struct dirent *de;
	time_t now = time(NULL);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".base"))
			continue;
		struct stat st;
		if (fstatat(cfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) || now - st.st_mtime < 60)
			continue;
		cleanup_free char *rec = xasprintf("%s/record", de->d_name);
		if (str_has_prefix(de->d_name, ".trash-") || fstatat(cfd, rec, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			cleanup_free char *dir = path_join(clone_dir, de->d_name);
			if (!lock_held(dir))
				store_remove_tree(cfd, de->d_name);
		}
	}
}

int workspace_cmd_main(char **args, const char *store_dir)
{
	struct aj_err err = { 0 };
	bool json = false, force = false, help = false;
	cleanup_strv char **pos = NULL;
	const char *verb = args && args[0] ? args[0] : NULL;
	for (size_t k = verb ? 1 : 0; args && args[k]; k++) {
		const char *a = args[k];
		if (!strcmp(a, "--json"))
			json = true;
		else if (!strcmp(a, "--force") || !strcmp(a, "-f"))
			force = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			help = true;
		else if (a[0] == '-' && a[1]) {
			aj_usage(&err, "clone %s: unknown option '%s'; see ajail clone --help", verb, a);
			output_error(&err);
			return 2;
		} else
			strv_push(&pos, xstrdup(a));
	}
	if (!verb || help || !strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help")) {
		fputs(clone_usage, verb ? stdout : stderr);
		return verb ? 0 : 2;
	}
	bool is_list = !strcmp(verb, "list"), is_show = !strcmp(verb, "show"), is_rm = !strcmp(verb, "rm"),
	     is_gc = !strcmp(verb, "gc"), is_sync = !strcmp(verb, "sync");
	if (!(is_list || is_show || is_rm || is_gc || is_sync)) {
		aj_usage(&err, "clone: unknown command '%s'; see ajail clone --help", verb);
		output_error(&err);
		return 2;
	}
	size_t npos = strv_len(pos);
	if (((is_list || is_gc) && npos) || (is_show && npos != 1) || (is_rm && npos == 0) || (json && !is_list)) {
		aj_usage(&err, "clone %s: wrong arguments; see ajail clone --help", verb);
		output_error(&err);
		return 2;
	}
	if (lazy_git2_load(&err) < 0) {
		output_error(&err);
		return 1;
	}
	const char *prefix = NULL;
	if (deliver_prefix(&prefix, &err) < 0) {
		output_error(&err);
		return 2;
	}
	cleanup_free char *clone_dir = path_join(store_dir, "clone");
	struct ws_entry *e = NULL;
	size_t n = 0;
	if (ws_scan(clone_dir, &e, &n, &err) < 0) {
		output_error(&err);
		return 1;
	}
	/* Resolve the IDs first: a typo fails before anything is done. */
	struct ws_entry **sel = xcalloc(npos + 1, sizeof *sel);
	for (size_t k = 0; k < npos; k++) {
		sel[k] = ws_find(e, n, pos[k]);
		if (!sel[k]) {
			aj_usage(&err, "clone %s: no workspace '%s'; see ajail clone list", verb, pos[k]);
			output_error(&err);
			free(sel);
			ws_entries_free(e, n);
			return 2;
		}
	}
	int status = 0;
	if (is_list || is_gc) {
		for (size_t k = 0; k < n; k++)
			ws_state_load(&e[k].info, &e[k].state, prefix);
	} else if (!is_sync) {
		for (size_t k = 0; k < npos; k++)
			if (!sel[k]->loaded) {
				ws_state_load(&sel[k]->info, &sel[k]->state, prefix);
				sel[k]->loaded = true;
			}
	}
	if (is_list) {
		cmd_list(e, n, json);
	} else if (is_show) {
		cmd_show(sel[0]);
	} else if (is_rm) {
		for (size_t k = 0; k < npos; k++) {
			struct ws_entry *w = sel[k];
			const char *why = keep_reason(&w->state);
			if (why && !force) {
				fprintf(stderr, "ajail: clone rm: keeping %s: %s%s%s%s; --force removes it anyway\n", w->info.name,
					why, w->state.why_dirty && w->state.dirty == 1 ? " (" : "",
					w->state.why_dirty && w->state.dirty == 1 ? w->state.why_dirty : "",
					w->state.why_dirty && w->state.dirty == 1 ? ")" : "");
				status = 1;
				continue;
			}
			struct aj_err e2 = { 0 };
			if (ws_remove(clone_dir, w->info.name, &e2) < 0) {
				output_error(&e2);
				status = 1;
			} else {
				fprintf(stderr, "ajail: removed %s\n", w->info.name);
			}
		}
		gc_bases(clone_dir);
	} else if (is_gc) {
		for (size_t k = 0; k < n; k++) {
			if (keep_reason(&e[k].state))
				continue;
			struct aj_err e2 = { 0 };
			if (ws_remove(clone_dir, e[k].info.name, &e2) < 0) {
				output_error(&e2);
				status = 1;
			} else {
				fprintf(stderr, "ajail: removed %s\n", e[k].info.name);
			}
		}
		gc_leftovers(clone_dir);
		gc_bases(clone_dir);
	} else if (is_sync) {
		size_t count = npos ? npos : n;
		for (size_t k = 0; k < count; k++) {
			struct ws_entry *w = npos ? sel[k] : &e[k];
			int commits = 0;
			cleanup_free char *ref = NULL;
			struct aj_err e2 = { 0 };
			if (workspace_deliver(w->info.dir, &commits, &ref, &e2) < 0) {
				output_error(&e2);
				status = 1;
			} else if (commits == 0) {
				fprintf(stderr, "ajail: %s: nothing to deliver\n", w->info.name);
			} else {
				fprintf(stderr, "ajail: %s: delivered %d commit%s as %s\n", w->info.name, commits,
					commits == 1 ? "" : "s", ref);
			}
		}
	}
	free(sel);
	ws_entries_free(e, n);
	return status;
}
