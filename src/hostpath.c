/* hostpath.c — see hostpath.h. */
#include "hostpath.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

int hostpath_open(const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
		/* EAGAIN: a concurrent rename somewhere made the kernel unsure; it asks for a retry. */
		if (fd < 0 && errno == EAGAIN && tries < 16)
			continue;
		return (int)fd;
	}
}

int hostpath_check_in_cwd(const char *what, const char *path, const char *real, struct aj_err *err)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/") == 0)
		return 0;
	cleanup_free char *joined = path_join(cwd, path);
	cleanup_free char *lexical = path_normalize(joined, NULL);
	if (path_is_under(lexical, cwd) && !path_is_under(real, cwd))
		return aj_usage(err, "%s: %s leads through a symlink to %s, outside the working directory; a jail can plant "
				     "symlinks there, so ajail does not follow it (name %s itself if you mean it)",
				what, path, real, real);
	return 0;
}

bool hostpath_same(int fd, uint64_t dev, uint64_t ino)
{
	struct stat st;
	if (dev == 0 && ino == 0)
		return true;
	return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

static enum fact_type type_of(mode_t m)
{
	return S_ISDIR(m) ? FT_DIR : S_ISREG(m) ? FT_FILE : S_ISLNK(m) ? FT_SYMLINK : FT_OTHER;
}

int hostpath_probe(const char *path, bool follow, struct probe_res *res, void *ctx)
{
	(void)ctx;
	struct stat st;
	res->type = FT_MISSING;
	res->path = NULL;
	if (follow) {
		char real[PATH_MAX];
		if (!realpath(path, real))
			return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		/* The identity of what the canonical path names now, read without following anything: if a
		 * symlink took a component's place since realpath, this fails, and the path counts as gone. */
		int fd = hostpath_open(real, O_PATH | O_NOFOLLOW);
		if (fd < 0)
			return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -1;
		int r = fstat(fd, &st);
		close(fd);
		if (r < 0)
			return -1;
		if (S_ISLNK(st.st_mode))
			return 0; /* the last component became a symlink after realpath: gone, for the plan */
		res->path = xstrdup(real);
	} else {
		if (lstat(path, &st) < 0)
			return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(path, target, sizeof target - 1);
			if (n < 0)
				return -1;
			target[n] = '\0';
			res->path = xstrdup(target);
			res->type = FT_SYMLINK;
			res->dev = (uint64_t)st.st_dev;
			res->ino = (uint64_t)st.st_ino;
			return 0;
		}
		res->path = xstrdup(path);
	}
	res->type = type_of(st.st_mode);
	res->dev = (uint64_t)st.st_dev;
	res->ino = (uint64_t)st.st_ino;
	return 0;
}

/* ---- .git files ---- */

/* The first line of a small file a jail may have written, trailing whitespace cut; NULL when it is
 * not a regular file of at most 4 KiB. */
static char *first_line(int dirfd, const char *name)
{
	char *text = dirfd >= 0 ? read_file_untrusted(dirfd, name, 4096) : read_file_at(AT_FDCWD, name, 4096);
	if (!text)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	return text;
}

/* Canonical path and identity of path (relative ones from base); false when it does not resolve. */
static bool resolve(const char *base, const char *path, char **out, struct stat *st)
{
	cleanup_free char *joined = path_join(base, path);
	char real[PATH_MAX];
	if (!realpath(joined, real))
		return false;
	cleanup_close int fd = hostpath_open(real, O_PATH | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, st) < 0)
		return false;
	*out = xstrdup(real);
	return true;
}

static bool is_kind(int dirfd, const char *name, mode_t kind)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == kind;
}

/* The value of core.worktree in a git config file, or NULL. Enough of git's syntax for what git
 * itself writes there (git submodule absorbgitdirs): "[core]" and "worktree = PATH". */
static char *core_worktree(int gitfd)
{
	cleanup_free char *cfg = read_file_untrusted(gitfd, "config", 1 << 16);
	bool in_core = false;
	for (char *line = cfg, *next; line && *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '[') {
			in_core = strncasecmp(line, "[core]", 6) == 0;
			continue;
		}
		if (!in_core || strncasecmp(line, "worktree", 8) != 0)
			continue;
		char *v = line + 8;
		while (isspace((unsigned char)*v))
			v++;
		if (*v++ != '=')
			continue;
		while (isspace((unsigned char)*v))
			v++;
		size_t n = strlen(v);
		while (n > 0 && isspace((unsigned char)v[n - 1]))
			v[--n] = '\0';
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v[n - 1] = '\0';
			v++;
		}
		return xstrdup(v);
	}
	return NULL;
}

static void set_warning(struct hostpath_git *g, const char *claim, const char *why)
{
	free(g->warning);
	g->warning = xasprintf("%s/.git says its git directory is %s, but %s: ajail does not believe it (a jail can "
			       "write .git files), so it mounts no git directory of it; run git worktree repair if it is yours",
			       g->top, claim, why);
}

/* top/.git is a file. Believe its "gitdir: X" only when git's back-links agree: for a linked worktree
 * X is <C>/worktrees/<name>, X/commondir leads to C, X/gitdir back to this .git file, and C is a real
 * git directory that is not /, the home or above top; for a submodule, X/config's core.worktree is
 * top. */
static void verify_dotgit_file(struct hostpath_git *g, const char *home)
{
	cleanup_free char *dotgit = path_join(g->top, ".git");
	cleanup_free char *line = first_line(-1, dotgit);
	if (!line || !str_has_prefix(line, "gitdir: ") || !line[8])
		return; /* not a gitdir file git would take either */
	const char *claim = line + 8;
	struct stat self, st;
	cleanup_free char *x = NULL;
	if (lstat(dotgit, &self) < 0 || !resolve(g->top, claim, &x, &st) || !S_ISDIR(st.st_mode))
		return; /* git itself fails on it: nothing to mount, nothing to say */
	cleanup_close int xfd = hostpath_open(x, O_PATH | O_DIRECTORY);
	if (xfd < 0)
		return;
	bool claims_worktree = is_kind(xfd, "commondir", S_IFREG);
	if (!claims_worktree) {
		/* A submodule's git directory (or any other): its core.worktree must name top. */
		cleanup_free char *wt = core_worktree(xfd);
		cleanup_free char *wreal = NULL;
		struct stat wst, tst;
		if (wt && resolve(x, wt, &wreal, &wst) && stat(g->top, &tst) == 0 && wst.st_dev == tst.st_dev &&
		    wst.st_ino == tst.st_ino) {
			g->verified = true;
			g->gitdir = steal_pointer(&x);
		}
		return;
	}
	/* <C>/worktrees/<name> */
	cleanup_free char *parent = xstrdup(x);
	*strrchr(parent, '/') = '\0';
	const char *pbase = strrchr(parent, '/');
	if (!pbase || strcmp(pbase + 1, "worktrees") != 0) {
		set_warning(g, claim, "it is not in the worktrees/ directory of a repository");
		return;
	}
	cleanup_free char *c = xstrndup(parent, (size_t)(pbase - parent));
	if (!*c) {
		set_warning(g, claim, "it is not in the worktrees/ directory of a repository");
		return;
	}
	cleanup_free char *cd = first_line(xfd, "commondir");
	cleanup_free char *creal = NULL;
	struct stat cst;
	if (!cd || !resolve(x, cd, &creal, &cst) || strcmp(creal, c) != 0) {
		set_warning(g, claim, "its commondir file does not lead to the repository that holds it");
		return;
	}
	cleanup_free char *back = first_line(xfd, "gitdir");
	cleanup_free char *breal = NULL;
	struct stat bst;
	if (!back || !resolve(x, back, &breal, &bst) || bst.st_dev != self.st_dev || bst.st_ino != self.st_ino) {
		set_warning(g, claim, "its gitdir file does not point back at this .git file");
		return;
	}
	cleanup_close int cfd = hostpath_open(c, O_PATH | O_DIRECTORY);
	if (cfd < 0 || !is_kind(cfd, "HEAD", S_IFREG) || !is_kind(cfd, "objects", S_IFDIR) || !is_kind(cfd, "refs", S_IFDIR)) {
		set_warning(g, claim, "the directory above it is not a git directory");
		return;
	}
	if (strcmp(c, "/") == 0 || (home && strcmp(c, home) == 0) || path_is_under(g->top, c)) {
		cleanup_free char *why = xasprintf("its repository would be %s, which is /, your home or a directory above the "
						   "working directory",
						   c);
		set_warning(g, claim, why);
		return;
	}
	g->verified = true;
	g->gitdir = steal_pointer(&x);
	g->commondir = steal_pointer(&c);
}

void hostpath_find_git(const char *dir, const char *home, struct hostpath_git *g)
{
	memset(g, 0, sizeof *g);
	cleanup_free char *d = xstrdup(dir);
	for (;;) {
		cleanup_free char *dotgit = path_join(d, ".git");
		struct stat st;
		if (lstat(dotgit, &st) == 0) {
			g->in_tree = true;
			g->top = steal_pointer(&d);
			if (S_ISREG(st.st_mode)) {
				g->dotgit_file = true;
				verify_dotgit_file(g, home);
			}
			return;
		}
		char *slash = strrchr(d, '/');
		if (!slash || slash == d)
			return;
		*slash = '\0';
	}
}

void hostpath_git_release(struct hostpath_git *g)
{
	free(g->top);
	free(g->gitdir);
	free(g->commondir);
	free(g->warning);
	memset(g, 0, sizeof *g);
}
