/* fuzz_deliver — the clone delivery reader on a hostile .git tree (issue 9, classes 5 and 6). The
 * input describes what a jail left in a clone workspace: directories, files, symlinks and fifos
 * under git/ and upper/. The harness builds that tree, then runs what `ajail clone list` and the
 * post-session delivery run on it (src/deliver.c, in this process so that libFuzzer sees the
 * coverage), and checks what deliver.h promises:
 *
 *   - nothing is taken through a symlink: a "private" repository sits beside the workspace, and its
 *     commit (its id is known, the bytes of its objects are in no seed) must never reach the user's
 *     repository, whatever the workspace's symlinks point at;
 *   - no staging directory is left behind, nothing is created outside the workspace and the user's
 *     repository;
 *   - the state read back is well-formed (a tip of 40 hex digits or none, counts >= -1);
 *   - no hang (a fifo is refused, not opened) and no unbounded allocation: libFuzzer's -timeout and
 *     -rss_limit_mb (tests/fuzz/fuzz_deliver.options) turn either into a finding.
 *
 * Input: 20 bytes, the base commit's id (the record's "base"), then entries until the end:
 *   kind (1 byte: low 2 bits 0 directory, 1 file, 2 symlink, 3 fifo), path length (1 byte), path
 *   (relative to the workspace, e.g. "git/objects/ab/cdef..." or "upper/a.txt"; one outside git/ and
 *   upper/, or with an empty, "." or ".." component, is skipped), data length (2 bytes, little-endian), data (a file's content
 *   or a symlink's target).
 * The workspace's branch is ajail/0badf00d, so its ref is git/refs/heads/ajail/0badf00d.
 * tests/fuzz/mkseeds_deliver.py writes the seeds (a real workspace, and the attacks of t_hostile_clone). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver.h"
#include "error.h"
#include "git_boundary.h"
#include "lazy_git2.h"
#include "store.h"
#include "util.h"
#include "workspace.h"

#include "fuzz.h"

static char scratch[4096];
static int scratch_fd = -1;
static git_oid private_commit;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_deliver: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The private repository: one commit whose blob no input holds (its text is made here). Its
 * objects are at scratch/private.git/objects, where a workspace's symlinks can point. */
static void make_private(void)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/private.git", scratch);
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	if (LG(git_repository_init)(&repo, path, 1) < 0 || LG(git_repository_odb)(&odb, repo) < 0)
		die("init private.git");
	/* Fixed, so that seeds can name the commit; what no input can hold is its objects' bytes. */
	const char secret[] = "private history\n";
	git_oid blob, tree;
	if (LG(git_odb_write)(&blob, odb, secret, strlen(secret), GIT_OBJECT_BLOB) < 0)
		die("write the private blob");
	unsigned char tbuf[64];
	size_t tn = (size_t)snprintf((char *)tbuf, sizeof tbuf, "100644 secret");
	tbuf[tn++] = '\0';
	memcpy(tbuf + tn, blob.id, 20);
	tn += 20;
	if (LG(git_odb_write)(&tree, odb, tbuf, tn, GIT_OBJECT_TREE) < 0)
		die("write the private tree");
	char hex[41];
	LG(git_oid_tostr)(hex, sizeof hex, &tree);
	char commit[512];
	int cn = snprintf(commit, sizeof commit,
			  "tree %s\nauthor p <p@e> 1700000000 +0000\ncommitter p <p@e> 1700000000 +0000\n\nprivate\n", hex);
	if (LG(git_odb_write)(&private_commit, odb, commit, (size_t)cn, GIT_OBJECT_COMMIT) < 0)
		die("write the private commit");
	LG(git_odb_free)(odb);
	LG(git_repository_free)(repo);
}

static void remove_scratch(void)
{
	if (scratch_fd < 0)
		return;
	char *slash = strrchr(scratch, '/');
	int parent = open(slash && slash != scratch ? (*slash = '\0', scratch) : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (slash)
		*slash = '/';
	if (parent >= 0) {
		store_remove_tree(parent, slash ? slash + 1 : scratch);
		close(parent);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct aj_err err = { 0 };
	if (lazy_git2_load(&err) < 0) {
		fprintf(stderr, "fuzz_deliver: %s\n", err.msg);
		exit(1);
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof scratch, "%s/ajail-fuzz-deliver.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (scratch_fd < 0)
		die(scratch);
	atexit(remove_scratch);
	make_private();
	/* What the reader's own limits would bound in a real run. */
	setenv("AJAIL_CLONE_MAX_OBJECT", "16M", 1);
	setenv("AJAIL_CLONE_MAX_FILES", "20000", 1);
	struct rlimit fsize = { UINT64_C(1) << 30, UINT64_C(1) << 30 };
	setrlimit(RLIMIT_FSIZE, &fsize);
	return 0;
}

/* Parents of path beneath ws, made as directories where missing (through no symlink). */
static int parent_of(int ws, const char *path, const char **leaf)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	char *slash = strrchr(buf, '/');
	*leaf = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!slash)
		return fcntl(ws, F_DUPFD_CLOEXEC, 3);
	*slash = '\0';
	int fd = fcntl(ws, F_DUPFD_CLOEXEC, 3);
	for (char *p = buf, *next; fd >= 0 && p; p = next) {
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		mkdirat(fd, p, 0755);
		int sub = open_untrusted(fd, p, O_PATH | O_DIRECTORY);
		close(fd);
		fd = sub;
	}
	return fd;
}

/* Only where a jail writes: beneath git/ and upper/ (the record and the rest are ajail's). */
static bool path_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '/' || !(str_has_prefix(p, "git/") || str_has_prefix(p, "upper/")))
		return false;
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && p[i] == '\0')
			return false;
		if (i == n || p[i] == '/') {
			size_t len = i - start;
			if (len == 0 || (len == 1 && p[start] == '.') || (len == 2 && p[start] == '.' && p[start + 1] == '.'))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static void build(int ws, const uint8_t *d, size_t n)
{
	while (n >= 4) {
		unsigned kind = d[0] & 3;
		size_t plen = d[1];
		if (n < 2 + plen + 2)
			return;
		char path[256];
		memcpy(path, d + 2, plen);
		path[plen] = '\0';
		size_t dlen = (size_t)d[2 + plen] | (size_t)d[3 + plen] << 8;
		const uint8_t *data = d + 4 + plen;
		if (n < 4 + plen + dlen)
			dlen = n - 4 - plen;
		d += 4 + plen + dlen;
		n -= 4 + plen + dlen;
		if (!path_ok(path, plen))
			continue;
		const char *leaf;
		int pfd = parent_of(ws, path, &leaf);
		if (pfd < 0)
			continue;
		/* The parent was opened as a path: act through a directory fd of it. */
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
		int dfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(pfd);
		if (dfd < 0)
			continue;
		if (kind == 0) {
			mkdirat(dfd, leaf, 0755);
		} else if (kind == 1) {
			int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd >= 0) {
				if (write(fd, data, dlen) < 0) {
				}
				close(fd);
			}
		} else if (kind == 2) {
			char target[4096];
			size_t tl = dlen < sizeof target - 1 ? dlen : sizeof target - 1;
			memcpy(target, data, tl);
			target[tl] = '\0';
			if (target[0])
				symlinkat(target, dfd, leaf);
		} else {
			mkfifoat(dfd, leaf, 0644);
		}
		close(dfd);
	}
}

static bool all_hex40(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* Entries of dir (names): what the run may have left or made. */
static size_t count_entries(int dirfd, const char *name, const char *prefix)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	size_t n = 0;
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		n += str_has_prefix(e->d_name, prefix);
	if (dir)
		closedir(dir);
	else if (fd >= 0)
		close(fd);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 20)
		return 0;
	store_remove_tree(scratch_fd, "ws");
	store_remove_tree(scratch_fd, "user.git");
	char user[4200], wsdir[4200];
	snprintf(user, sizeof user, "%s/user.git", scratch);
	snprintf(wsdir, sizeof wsdir, "%s/ws", scratch);
	git_repository *urepo = NULL;
	if (LG(git_repository_init)(&urepo, user, 1) < 0)
		die("init user.git");
	LG(git_repository_free)(urepo);
	if (mkdirat(scratch_fd, "ws", 0755) < 0)
		die("mkdir ws");
	int ws = openat(scratch_fd, "ws", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ws < 0)
		die("open ws");
	mkdirat(ws, "git", 0755);
	mkdirat(ws, "upper", 0755);
	char base[41];
	for (int i = 0; i < 20; i++)
		snprintf(base + 2 * i, 3, "%02x", data[i]);
	char record[8400];
	int rn = snprintf(record, sizeof record,
			  "id=0badf00d\nrepo=%s/work\ncommondir=%s\nbranch=ajail/0badf00d\nbase=%s\ncreated=1700000000\n",
			  scratch, user, base);
	int rfd = openat(ws, "record", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rfd < 0 || write(rfd, record, (size_t)rn) != rn)
		die("write the record");
	close(rfd);
	build(ws, data + 20, size - 20);

	struct workspace_info info;
	struct aj_err err = { 0 };
	if (workspace_info_load(wsdir, "ws", &info, &err) < 0)
		fuzz_fail("the record loads", "%s", err.msg);
	struct deliver_state st;
	deliver_state_load_unbounded(&info, "ajail/", &st);
	fuzz_check(st.tip[0] == '\0' || all_hex40(st.tip), "tip '%s' is 40 hex digits or none", st.tip);
	fuzz_check(st.ahead >= -1 && st.dirty >= -1 && st.dirty <= 1, "ahead %d dirty %d", st.ahead, st.dirty);
	fuzz_check(st.delivered >= DELIVER_NOTHING && st.delivered <= DELIVER_UNKNOWN, "delivered %d", st.delivered);
	bool verbose = getenv("FUZZ_DELIVER_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "fuzz_deliver: state: tip %s ahead %d dirty %d (%s) delivered %d error %s\n", st.tip, st.ahead,
			st.dirty, st.why_dirty ? st.why_dirty : "-", (int)st.delivered, st.error ? st.error : "-");
	deliver_state_release(&st);
	workspace_info_release(&info);

	int commits = -1;
	char *ref = NULL;
	memset(&err, 0, sizeof err);
	int r = deliver_workspace_unbounded(wsdir, &commits, &ref, &err);
	fuzz_check(r == 0 || err.msg[0], "a failed delivery says why");
	fuzz_check(r < 0 || commits >= 0, "commits %d", commits);
	if (verbose)
		fprintf(stderr, "fuzz_deliver: deliver: %d, %d commits, %s %s\n", r, commits, ref ? ref : "-", err.msg);
	free(ref);

	/* The private commit never reaches the user's repository. */
	git_repository *u = NULL;
	git_odb *odb = NULL;
	if (LG(git_repository_open_bare)(&u, user) == 0 && LG(git_repository_odb)(&odb, u) == 0) {
		char hex[41];
		LG(git_oid_tostr)(hex, sizeof hex, &private_commit);
		fuzz_check(!LG(git_odb_exists)(odb, &private_commit),
			   "the private repository's commit %s was delivered through the workspace's symlinks", hex);
	}
	if (odb)
		LG(git_odb_free)(odb);
	if (u)
		LG(git_repository_free)(u);
	fuzz_check(count_entries(scratch_fd, "ws", "stage.") == 0, "a staging directory was left in the workspace");
	fuzz_check(count_entries(scratch_fd, ".", "") == 2 + 3, "nothing beside ws, user.git and private.git (%zu entries)",
		   count_entries(scratch_fd, ".", ""));
	close(ws);
	return 0;
}
