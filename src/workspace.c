/* workspace.c — making clone workspaces: the user's repository, the shared base checkout, the
 * workspace's git directory and upper layer, and its record (see workspace.h for the layout and the
 * contract; reading a workspace back is deliver.c's). */
#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "git_boundary.h"
#include "harden.h"
#include "hostpath.h"
#include "lazy_git2.h"
#include "output.h"
#include "store.h"
#include "util.h"

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

/* Copy the regular file open at in to ddir/dst (its own inode: a reflink where the filesystem can,
 * else copy_file_range), with exactly the permission bits of mode. */
static int copy_fd_at(int in, int ddir, const char *dst, mode_t mode)
{
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

/* The same from sdir/src, a file of ajail's own (the base index). */
static int copy_file_at(int sdir, const char *src, int ddir, const char *dst, mode_t mode)
{
	cleanup_close int in = openat(sdir, src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (in < 0)
		return -1;
	return copy_fd_at(in, ddir, dst, mode);
}

/* The inode an O_PATH fd holds, opened again for I/O (through /proc/self/fd: that very inode, never
 * a name that could have changed since). Non-blocking, close-on-exec. */
static int reopen_fd(int pathfd, int flags)
{
	char proc[32];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", pathfd);
	return open(proc, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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
	cleanup_odb git_odb *odb = NULL;
	size_t galen = 0;
	git_object_t gatype;
	/* Only the header first: a commit a jail made could hold a .gitattributes that inflates to GiBs. */
	if (ga && LG(git_tree_entry_type)(ga) == GIT_OBJECT_BLOB && LG(git_repository_odb)(&odb, repo) == 0 &&
	    LG(git_odb_read_header)(&galen, &gatype, odb, LG(git_tree_entry_id)(ga)) == 0 && galen <= (1u << 20)) {
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
	atomic_int finished; /* threads done */
};

/* A progress line while a base is checked out (the first --clone of a large repository takes
 * seconds): at a terminal, unless -q. */
static bool ws_progress;

void workspace_set_progress(bool on)
{
	ws_progress = on;
}

static void co_fail(struct checkout *co, int errnum, const char *what, const char *path)
{
	pthread_mutex_lock(&co->mu);
	if (!atomic_load(&co->failed))
		aj_fail(&co->err, errnum, "%s %s", what, path);
	atomic_store(&co->failed, true);
	pthread_mutex_unlock(&co->mu);
}

/* Names git fsck refuses in a tree, which git itself never writes: "..", ".", "" and a '/' would put
 * files outside the checkout, and ".git" (in any case, with the trailing dots and spaces and the 8.3
 * short name other filesystems fold to it) a git directory of the commit's own making. A commit with
 * one can still exist: a plain jail writes the user's repository, and hash-object does not check. */
static bool tree_name_ok(const char *name)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
		return false;
	size_t n = strlen(name);
	while (n > 0 && (name[n - 1] == '.' || name[n - 1] == ' '))
		n--;
	return !((n == 4 && !strncasecmp(name, ".git", 4)) || (n == 5 && !strncasecmp(name, "git~1", 5)));
}

static int co_walk(const char *root, const git_tree_entry *e, void *payload)
{
	struct checkout *co = payload;
	git_filemode_t mode = LG(git_tree_entry_filemode)(e);
	const char *name = LG(git_tree_entry_name)(e);
	if (!tree_name_ok(name)) {
		/* Pre-order: a bad subtree is refused before anything beneath it is looked at. */
		aj_fail(&co->err, 0,
			"its tree has an entry named '%s'%s%.*s%s, which git fsck refuses; ajail does not check it out",
			name, *root ? " in '" : "", *root ? (int)strlen(root) - 1 : 0, root, *root ? "'" : "");
		atomic_store(&co->failed, true);
		return -1;
	}
	cleanup_free char *path = xasprintf("%s%s", root, name);
	if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
		/* Directories are made here, in walk order, so that the writers never race for a parent;
		 * a submodule is an empty directory, as git leaves one it did not initialise. No symlink
		 * exists in the tree yet (the writers make them), and the names were checked above. */
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

/* One writer's last parent directory, opened beneath the tree through no symlink (the other writers
 * make the tree's symlinks meanwhile): files come in walk order, so most share the previous one's. */
struct co_parent {
	char *dir;
	int fd;
};

static int co_parent_fd(struct checkout *co, struct co_parent *p, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*base = path;
		return co->treefd;
	}
	*base = slash + 1;
	size_t dl = (size_t)(slash - path);
	if (p->fd >= 0 && strlen(p->dir) == dl && !strncmp(p->dir, path, dl))
		return p->fd;
	if (p->fd >= 0)
		close(p->fd);
	free(p->dir);
	p->dir = xstrndup(path, dl);
	p->fd = open_untrusted(co->treefd, p->dir, O_PATH | O_DIRECTORY);
	return p->fd;
}

static int co_write_one(struct checkout *co, git_repository *repo, struct co_parent *parent, struct co_file *f)
{
	const char *base;
	int dfd = co_parent_fd(co, parent, f->path, &base);
	if (dfd < 0)
		return co_fail(co, errno, "open the directory of", f->path), -1;
	if (f->mode == GIT_FILEMODE_COMMIT) {
		if (utimensat(dfd, base, co->times, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(dfd, base, &f->st, AT_SYMLINK_NOFOLLOW) < 0)
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
		if (symlinkat(target, dfd, base) < 0)
			return co_fail(co, errno, "create symlink", f->path), -1;
		if (utimensat(dfd, base, co->times, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(dfd, base, &f->st, AT_SYMLINK_NOFOLLOW) < 0)
			return co_fail(co, errno, "stat", f->path), -1;
		return 0;
	}
	mode_t mode = f->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
	cleanup_close int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
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
	struct co_parent parent = { .fd = -1 };
	while (!atomic_load(&co->failed)) {
		size_t start = atomic_fetch_add(&co->next, chunk);
		if (start >= co->n)
			break;
		size_t end = start + chunk < co->n ? start + chunk : co->n;
		for (size_t i = start; i < end; i++)
			if (co_write_one(co, repo, &parent, &co->files[i]) < 0)
				break;
	}
	if (parent.fd >= 0)
		close(parent.fd);
	free(parent.dir);
	LG(git_repository_free)(repo);
	atomic_fetch_add(&co->finished, 1);
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
	struct output_progress prog;
	char label[16];
	snprintf(label, sizeof label, "base %.8s", name);
	output_progress_start(&prog, ws_progress, "checking out", label);
	prog.files_only = true;
	while (prog.on && atomic_load(&co.finished) < started) {
		size_t done = atomic_load(&co.next);
		output_progress_update(&prog, done < co.n ? done : co.n, co.n ? co.n : 1, 0);
		usleep(50000);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	output_progress_done(&prog);
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

/* A commit inside must just work: the identity git on the host would use in this repository (its
 * own config, the user's, the system's; GIT_AUTHOR_* first, as git does), copied into the clone.
 * The repository's config may have been written by a jail: a value is taken only when it is one
 * short line, and written quoted. */
static bool identity_ok(const char *v)
{
	if (!v || !*v || strlen(v) > 256)
		return false;
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static void write_identity(FILE *f, git_repository *urepo)
{
	const char *name = getenv("GIT_AUTHOR_NAME"), *email = getenv("GIT_AUTHOR_EMAIL");
	git_config *cfg = NULL;
	if (LG(git_repository_config_snapshot)(&cfg, urepo) == 0) {
		const char *v;
		if (!identity_ok(name) && LG(git_config_get_string)(&v, cfg, "user.name") == 0)
			name = v;
		if (!identity_ok(email) && LG(git_config_get_string)(&v, cfg, "user.email") == 0)
			email = v;
	}
	if (identity_ok(name) || identity_ok(email)) {
		fputs("[user]\n", f);
		if (identity_ok(name)) {
			fputs("\tname = \"", f);
			config_quote(f, name);
			fputs("\"\n", f);
		}
		if (identity_ok(email)) {
			fputs("\temail = \"", f);
			config_quote(f, email);
			fputs("\"\n", f);
		}
	}
	if (cfg)
		LG(git_config_free)(cfg);
}

/* origin is the user's repository, read-only unless --clone-push: a push there would fail with git's
 * "remote rejected (unpacker error)", which says nothing of how work leaves a clone. Only a message:
 * the jail may delete the hook, and then gets git's own error. */
static const char pre_push_hook[] =
	"#!/bin/sh\n"
	"# Written by ajail: explains why a push to origin fails in a clone jail.\n"
	"case \"$2\" in /ajail/origin|/ajail/origin/|file:///ajail/origin|file:///ajail/origin/) ;; *) exit 0 ;; esac\n"
	"[ -w /ajail/origin/refs ] && exit 0\n"
	"branch=$(git symbolic-ref --short -q HEAD)\n"
	"echo \"ajail: origin (/ajail/origin) is your repository, read-only in this jail: nothing is pushed from here.\" >&2\n"
	"echo \"ajail: commit on ${branch:-your branch}; when this jail ends, ajail delivers it to your repository as a\" >&2\n"
	"echo \"ajail: branch and says which ('ajail clone list' shows it; --clone-push lets a jail push).\" >&2\n"
	"exit 1\n";

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
	write_identity(f, urepo);
	fclose(f);
	int rc = write_file_at(gitfd, "config", cbuf, 0644);
	free(cbuf);
	if (rc < 0)
		return aj_fail(err, errno, "write config");
	if (write_file_at(gitfd, "hooks/pre-push", pre_push_hook, 0755) < 0)
		return aj_fail(err, errno, "write hooks/pre-push");
	if (clone_refs(urepo, gitfd, r, err) < 0)
		return -1;
	/* The user's own exclusions still apply inside (they are not in any .gitignore). A linked
	 * worktree's jail writes part of the common directory: read it bounded, through no symlink. */
	cleanup_close int cfd = hostpath_open(r->commondir, O_RDONLY | O_DIRECTORY);
	cleanup_free char *ex = cfd >= 0 ? read_file_untrusted(cfd, "info/exclude", 1 << 20) : NULL;
	if (write_file_at(gitfd, "info/exclude", ex ? ex : "", 0644) < 0)
		return aj_fail(err, errno, "write info/exclude");
	/* The workspace's own copy of the base index: git inside rewrites it as it likes. */
	if (copy_file_at(AT_FDCWD, lower_index, gitfd, "index", 0644) < 0)
		return aj_fail(err, errno, "copy %s", lower_index);
	return 0;
}

/* Copy one path of the user's work tree into upper/: a regular file (its bytes) or a symlink (as a
 * link); anything else is left out, as git leaves it. A plain jail writes the work tree and may swap a
 * directory on the way for a symlink to anything the user can read, so the path is opened beneath
 * the work tree through no symlink, and what is copied is what the opened fd is. Returns 1 when
 * nothing is there (a deletion, for the caller), 0 when copied, -1 on error. */
static int copy_dirty_path(int topfd, int upperfd, const char *path, struct aj_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	cleanup_close int pfd = -1;
	if (slash) {
		cleanup_free char *dir = xstrndup(path, (size_t)(slash - path));
		pfd = open_untrusted(topfd, dir, O_PATH | O_DIRECTORY);
		if (pfd < 0 && errno == ENOENT)
			return 1;
		/* A parent that is no directory now (a symlink, a file): nothing beneath it is copied or
		 * deleted; git status lists what replaced it, which is copied in its place and hides the
		 * base's directory in the overlay. */
		if (pfd < 0 && (errno == ENOTDIR || errno == ELOOP))
			return 0;
		if (pfd < 0)
			return aj_fail(err, errno, "open the directory of %s", path);
	}
	int dfd = slash ? pfd : topfd;
	/* O_PATH first: only a regular file is ever opened for reading (never a device's driver). */
	cleanup_close int pathfd = open_untrusted(dfd, base, O_PATH);
	struct stat st;
	if (pathfd < 0 || fstat(pathfd, &st) < 0)
		return errno == ENOENT ? 1 : aj_fail(err, errno, "open %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return 0; /* a directory, a fifo, a socket: git status lists none of them as a file */
	if (mkparents_at(upperfd, path, 0755) < 0)
		return aj_fail(err, errno, "create the parents of %s", path);
	if (S_ISLNK(st.st_mode)) {
		/* The link itself (the fd is the link, opened with O_NOFOLLOW), copied as a link. */
		char target[PATH_MAX];
		ssize_t n = readlinkat(pathfd, "", target, sizeof target - 1);
		if (n < 0)
			return aj_fail(err, errno, "readlink %s", path);
		target[n] = '\0';
		if (symlinkat(target, upperfd, path) < 0)
			return aj_fail(err, errno, "copy %s", path);
		return 0;
	}
	cleanup_close int in = reopen_fd(pathfd, O_RDONLY);
	if (in < 0)
		return aj_fail(err, errno, "open %s", path);
	if (copy_fd_at(in, upperfd, path, st.st_mode) < 0)
		return aj_fail(err, errno, "copy %s", path);
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	utimensat(upperfd, path, ts, AT_SYMLINK_NOFOLLOW);
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
	cleanup_close int topfd = hostpath_open(r->toplevel, O_RDONLY | O_DIRECTORY);
	cleanup_close int upperfd = openat(wsfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
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
		int rc = copy_dirty_path(topfd, upperfd, path, err);
		if (rc < 0) {
			ret = -1;
			break;
		}
		/* Only paths of the base tree need deleting: the index-only ones are not in it. */
		if (rc == 1 && !(e->head_to_index && e->head_to_index->status == GIT_DELTA_ADDED))
			fprintf(deleted, "%s\n", path);
	}
	fclose(deleted);
	if (ret == 0 && dlen && write_file_at(wsfd, "deleted", dbuf, 0644) < 0)
		ret = aj_fail(err, errno, "write the list of deleted files");
	free(dbuf);
	if (ret < 0)
		aj_err_wrap(err, "--clone-dirty");
	return ret;
}

char *workspace_record_get(const char *rec, const char *key)
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
	if (!git_refname_valid(full) || strcmp(br, "HEAD") == 0)
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

int workspace_record_network(struct workspace *w, const char *summary, struct aj_err *err)
{
	const char *kv[][2] = { { "network", summary } };
	return record_update(w->dir, kv, 1, err);
}

void workspace_info_release(struct workspace_info *i)
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

int workspace_info_load(const char *dir, const char *name, struct workspace_info *i, struct aj_err *err)
{
	memset(i, 0, sizeof *i);
	i->dir = xstrdup(dir);
	i->name = xstrdup(name);
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	i->rec = dfd >= 0 ? read_file_at(dfd, "record", 1 << 20) : NULL;
	if (!i->rec)
		return aj_fail(err, errno, "read %s/record", dir);
	i->id = workspace_record_get(i->rec, "id");
	i->repo = workspace_record_get(i->rec, "repo");
	i->commondir = workspace_record_get(i->rec, "commondir");
	i->branch = workspace_record_get(i->rec, "branch");
	i->base = workspace_record_get(i->rec, "base");
	cleanup_free char *created = workspace_record_get(i->rec, "created");
	i->created = created ? strtoll(created, NULL, 10) : 0;
	if (!i->id || !i->commondir || !i->branch || !i->base || !git_hex_oid_valid(i->base))
		return aj_fail(err, 0, "%s/record: incomplete record", dir);
	return 0;
}

/* ---- making a workspace in a confined child ----
 *
 * Making a workspace reads the user's repository with libgit2, and a plain jail in its main worktree
 * can write that repository's .git: a fifo in place of an object would hang ajail, and a malformed
 * object is parsed by a libgit2 that has had memory bugs (tests/fuzz found one). So the work runs
 * in a child that ajail kills at a deadline, and that may write nothing but the store's clone/
 * directory (landlock), reach no network, and make none of the deny list's system calls. Its
 * results come back over a socket, with the workspace's locked lock file. */

/* Seconds the child has: ten times AJAIL_CLONE_TIMEOUT (the reader's, default 60), for a base
 * checkout of 80 000 files takes 20 s here and a large repository may take minutes. */
static unsigned make_timeout(void)
{
	const char *v = getenv("AJAIL_CLONE_TIMEOUT");
	char *end;
	unsigned long t = v && *v ? strtoul(v, &end, 10) : 0;
	return v && *v && !*end && t > 0 && t <= 86400 ? (unsigned)t * 10 : 600;
}

struct blob {
	char *buf;
	size_t len, cap;
};

static void blob_put(struct blob *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->buf = xrealloc(b->buf, b->cap);
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void blob_str(struct blob *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) + 1 : 0; /* 0: NULL */
	blob_put(b, &n, sizeof n);
	if (n)
		blob_put(b, s, n);
}

static char *take_str(const char **p, const char *end, bool *bad)
{
	uint32_t n;
	if (*bad || end - *p < (ptrdiff_t)sizeof n) {
		*bad = true;
		return NULL;
	}
	memcpy(&n, *p, sizeof n);
	*p += sizeof n;
	if (n == 0)
		return NULL;
	if (end - *p < (ptrdiff_t)n || (*p)[n - 1] != '\0') {
		*bad = true;
		return NULL;
	}
	char *s = xstrdup(*p);
	*p += n;
	return s;
}

static _Noreturn void make_child(int sock, const char *dir, const char *store_dir, const char *branch, bool dirty)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct rlimit core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &core);
	struct aj_err err = { 0 };
	struct ws_repo r;
	struct workspace w = { .lockfd = -1 };
	memset(&r, 0, sizeof r);
	int rc = -1;
	cleanup_close int clonefd = open_clone_dir(store_dir, true, &err);
	if (clonefd >= 0 && harden_confine(&clonefd, 1, &err) == 0 && workspace_find_repo(dir, &r, &err) == 0)
		rc = workspace_create(store_dir, &r, branch, dirty, &w, &err);
	struct blob b = { 0 };
	int32_t v = rc;
	blob_put(&b, &v, sizeof v);
	blob_put(&b, &err, sizeof err);
	const char *strs[] = { r.toplevel, r.gitdir, r.commondir, r.head, r.head_ref, r.name, w.id,    w.dir,
			       w.branch,   w.base,   w.lower,     w.upper, w.work,     w.gitdir };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		blob_str(&b, strs[i]);
	uint8_t flags[3] = { r.linked, r.has_lfs, r.has_submodules };
	blob_put(&b, flags, sizeof flags);
	/* The lock file's fd goes with the first bytes: its flock lives on in ajail. */
	struct iovec iov = { .iov_base = b.buf, .iov_len = b.len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (w.lockfd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &w.lockfd, sizeof(int));
	}
	ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (sent >= 0 && (size_t)sent < b.len)
		sent = write_all(sock, b.buf + sent, b.len - (size_t)sent) < 0 ? -1 : (ssize_t)b.len;
	_exit(sent < 0 ? 1 : 0);
}

int workspace_make(const char *dir, const char *store_dir, const char *branch, bool dirty, struct ws_repo *r,
		   struct workspace *w, struct aj_err *err)
{
	memset(r, 0, sizeof *r);
	memset(w, 0, sizeof *w);
	w->lockfd = -1;
	if (lazy_git2_load(err) < 0)
		return -1;
	/* The child makes clone/ (and the store) before it confines itself to it; a failure there, such
	 * as no repository, must leave nothing behind that was not there before. */
	cleanup_free char *clone_dir = path_join(store_dir, "clone");
	cleanup_free char *base_dir = path_join(clone_dir, ".base");
	const char *made[] = { base_dir, clone_dir, store_dir };
	bool existed[3];
	for (size_t i = 0; i < 3; i++)
		existed[i] = access(made[i], F_OK) == 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return aj_fail(err, errno, "socketpair");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return aj_fail(err, e, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		make_child(sv[1], dir, store_dir, branch, dirty);
	}
	close(sv[1]);
	struct blob b = { 0 };
	int lockfd = -1;
	bool timed_out = false;
	unsigned timeout = make_timeout();
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = (long)timeout * 1000L - ((t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd pf = { .fd = sv[0], .events = POLLIN };
		int pr = left > 0 ? poll(&pf, 1, (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		char chunk[16384];
		struct iovec iov = { .iov_base = chunk, .iov_len = sizeof chunk };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
		ssize_t n = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && lockfd < 0)
				memcpy(&lockfd, CMSG_DATA(cm), sizeof lockfd);
		if (b.len + (size_t)n > (1u << 20))
			break; /* more than any answer: not one */
		blob_put(&b, chunk, (size_t)n);
	}
	close(sv[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	cleanup_free char *buf = b.buf;
	const char *p = buf, *end = buf + b.len;
	int32_t rc = -1;
	bool bad = b.len < sizeof rc + sizeof *err;
	if (!bad) {
		memcpy(&rc, p, sizeof rc);
		memcpy(err, p + sizeof rc, sizeof *err);
		err->msg[sizeof err->msg - 1] = '\0';
		p += sizeof rc + sizeof *err;
	}
	char **rs[] = { &r->toplevel, &r->gitdir, &r->commondir, &r->head, &r->head_ref, &r->name, &w->id,    &w->dir,
			&w->branch,   &w->base,   &w->lower,     &w->upper, &w->work,     &w->gitdir };
	for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
		*rs[i] = take_str(&p, end, &bad);
	if (!bad && end - p == 3) {
		r->linked = p[0];
		r->has_lfs = p[1];
		r->has_submodules = p[2];
	} else {
		bad = true;
	}
	if (timed_out || bad || WIFSIGNALED(st) || (rc == 0 && (lockfd < 0 || !w->dir || !w->id))) {
		char why[64] = "";
		if (WIFSIGNALED(st) && !timed_out)
			snprintf(why, sizeof why, " (it died of signal %d)", WTERMSIG(st));
		if (lockfd >= 0)
			close(lockfd);
		w->lockfd = -1;
		/* Half a workspace may be left: the next clone gc sweeps what has no record. */
		workspace_release(w);
		workspace_repo_release(r);
		if (timed_out)
			return aj_fail(err, 0, "making the workspace took longer than %u s (10 x AJAIL_CLONE_TIMEOUT); a fifo or "
					       "a huge object in the repository of %s?",
				       timeout, dir);
		return aj_fail(err, 0, "making the workspace failed%s; is %s/.git sound (git fsck)?", why, dir);
	}
	if (rc < 0) {
		workspace_release(w);
		workspace_repo_release(r);
		for (size_t i = 0; i < 3; i++)
			if (!existed[i])
				rmdir(made[i]); /* only if empty: what the child made and left as it was */
		return -1;
	}
	w->lockfd = lockfd;
	return 0;
}
