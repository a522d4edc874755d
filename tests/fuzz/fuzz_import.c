/* fuzz_import — the rootfs importer: archive_import of the input (any format and compression it
 * detects) into an empty directory, then a check of what archive.h promises: nothing written outside
 * the target, nothing written through a symlink or a hard link to outside, no setuid/setgid bit, no
 * device node, fifo or socket, nothing owned by anyone else.
 *
 * The scratch tree, made once per process:
 *
 *   /tmp/ajail-fuzz/s/         a tmpfs of its own (256 MiB: bombs fail with ENOSPC)
 *     input                    the input, rewritten for each run
 *     canary/                  must stay empty; seeds aim symlinks and hard links at it
 *     canary-file              must keep its content
 *     t/                       the target: made empty before each run, deleted after
 *
 * When it can (root, or an unprivileged user namespace), the process first moves into a mount
 * namespace of its own where every filesystem of the host is read-only but the directories in
 * $AJAIL_FUZZ_RW (colon-separated; default: the working directory, where libFuzzer writes) and a
 * fresh tmpfs on /tmp/ajail-fuzz (TMPDIR in tmp/, the scratch tree in s/; the host keeps an empty
 * /tmp/ajail-fuzz as the mount point): an importer that escaped could otherwise overwrite the host's
 * files, and the fuzzer runs as root in CI. Elsewhere (or with AJAIL_FUZZ_NO_SANDBOX=1) the scratch tree is a
 * temporary directory and the canaries are the only guard. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "archive.h"
#include "error.h"

#include "fuzz.h"

#define SANDBOX_DIR "/tmp/ajail-fuzz"
#define SCRATCH_FIXED SANDBOX_DIR "/s"
#define CANARY_TEXT "canary: an importer that writes here escaped its target\n"

static char scratch[4096];
static int scratch_fd = -1;
static bool sandboxed;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_import: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- the sandbox ------------------------------------------------------------------------------------ */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static unsigned long mount_flags_of(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	unsigned long f = 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Every mount of the host read-only in this namespace, but /proc, /dev and /dev/pts (device nodes
 * are written to, not the filesystems that hold them; /dev/shm and the rest are made read-only). */
static void remount_all_readonly(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		die("/proc/self/mountinfo");
	char line[8192];
	while (fgets(line, sizeof line, f)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (under(mp, "/proc") || strcmp(mp, "/dev") == 0 || under(mp, "/dev/pts"))
			continue;
		/* Some mount points are hidden under later mounts: those fail, and are out of reach anyway. */
		mount(NULL, mp, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | mount_flags_of(mp), NULL);
	}
	fclose(f);
}

static void bind_writable(const char *dir)
{
	char real[4096];
	if (!realpath(dir, real))
		die(dir);
	if (mount(real, real, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind AJAIL_FUZZ_RW");
	if (mount(NULL, real, NULL, MS_REMOUNT | MS_BIND | mount_flags_of(real), NULL) < 0)
		die("remount AJAIL_FUZZ_RW read-write");
}

static bool enter_namespace(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWNS) == 0)
		return true;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return false;
	char map[64];
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return false;
	write_file("/proc/self/setgroups", "deny\n");
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", map) == 0;
}

static bool sandbox(void)
{
	const char *no = getenv("AJAIL_FUZZ_NO_SANDBOX");
	if (no && *no && strcmp(no, "0") != 0)
		return false;
	/* A -fork/-jobs child of a sandboxed fuzzer: the host is already read-only, TMPDIR private. */
	bool nested = getenv("AJAIL_FUZZ_SANDBOXED") != NULL;
	if (!nested && mkdir(SANDBOX_DIR, 0755) < 0 && errno != EEXIST)
		return false;
	if (!enter_namespace())
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / private");
	if (!nested) {
		char cwd[4096];
		if (!getcwd(cwd, sizeof cwd))
			die("getcwd");
		const char *rw = getenv("AJAIL_FUZZ_RW");
		char *list = strdup(rw && *rw ? rw : cwd);
		remount_all_readonly();
		for (char *save = NULL, *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save))
			bind_writable(d);
		free(list);
		/* The working directory may be one of them: enter the writable mount on top of it (the
		 * old one, read-only now, is what a relative path would otherwise start from). */
		if (chdir(cwd) < 0)
			die("chdir back to the working directory");
		if (mount("tmpfs", SANDBOX_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m") < 0)
			die("mount a tmpfs on " SANDBOX_DIR);
		if (mkdir(SANDBOX_DIR "/tmp", 0700) < 0 || chmod(SANDBOX_DIR "/tmp", 01777) < 0 ||
		    mkdir(SANDBOX_DIR "/s", 0700) < 0)
			die("mkdir in " SANDBOX_DIR);
		setenv("AJAIL_FUZZ_SANDBOXED", "1", 1);
		/* libFuzzer's own temporary files (-merge, -fork) must be writable, and shared with the
		 * children of -fork, each of which mounts a scratch tree of its own over SCRATCH_FIXED. */
		setenv("TMPDIR", SANDBOX_DIR "/tmp", 1);
	}
	if (mount("tmpfs", SCRATCH_FIXED, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=256m,nr_inodes=200000") < 0)
		die("mount the scratch tmpfs");
	return true;
}

/* ---- the scratch tree ------------------------------------------------------------------------------ */

/* Remove everything beneath dirfd (directories made 0700 first: an import may leave 0555 ones). */
static void clear_dir(int dirfd, unsigned depth)
{
	fuzz_check(depth < 4096, "a tree deeper than 4096 levels");
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		die("opendir");
	rewinddir(d); /* the dup shares dirfd's offset, which an earlier walk left at the end */
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		fchmodat(dirfd, de->d_name, 0700, AT_SYMLINK_NOFOLLOW);
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			die("open a directory to clear");
		clear_dir(sub, depth + 1);
		close(sub);
		if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0)
			die("rmdir");
	}
	closedir(d);
}

/* What archive.h promises of what it wrote: only directories, regular files and symlinks, owned by
 * the importer, without setuid/setgid bits. */
static void check_tree(int dirfd, const char *path, unsigned depth)
{
	fuzz_check(depth < 4096, "a tree deeper than 4096 levels");
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		die("opendir");
	rewinddir(d); /* the dup shares dirfd's offset, which an earlier walk left at the end */
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("fstatat");
		fuzz_check(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode),
			   "%s/%s has mode %o: a device node, fifo or socket was written", path, de->d_name, st.st_mode);
		fuzz_check(!(st.st_mode & (S_ISUID | S_ISGID)) || S_ISLNK(st.st_mode), "%s/%s kept a setuid/setgid bit (mode %o)",
			   path, de->d_name, st.st_mode);
		fuzz_check(st.st_uid == geteuid(), "%s/%s is owned by uid %u", path, de->d_name, (unsigned)st.st_uid);
		if (S_ISDIR(st.st_mode)) {
			/* A rootfs may hold 0555 or 0000 directories (archive.h): u+rwx to look inside. */
			fchmodat(dirfd, de->d_name, (st.st_mode & 07777) | 0700, 0);
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				die("open a directory to check");
			char sp[4096];
			snprintf(sp, sizeof sp, "%s/%s", path, de->d_name);
			check_tree(sub, sp, depth + 1);
			close(sub);
		}
	}
	closedir(d);
}

static void put_file(const char *name, const void *data, size_t n)
{
	int fd = openat(scratch_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		die(name);
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0)
			die("write the input");
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

/* The scratch tree must hold input, canary/ (empty), canary-file (as written) and t/, nothing else. */
static void check_scratch(void)
{
	int fd = dup(scratch_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		die("opendir scratch");
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		fuzz_check(!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "input") || !strcmp(n, "canary") ||
				   !strcmp(n, "canary-file") || !strcmp(n, "t"),
			   "the import created %s/%s, outside its target", scratch, n);
	}
	closedir(d);
	int c = openat(scratch_fd, "canary", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	fuzz_check(c >= 0, "%s/canary is no longer a directory", scratch);
	d = fdopendir(c);
	while ((de = readdir(d)))
		fuzz_check(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."), "the import wrote %s/canary/%s", scratch,
			   de->d_name);
	closedir(d);
	struct stat st;
	fuzz_check(fstatat(scratch_fd, "canary", &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) == 0755,
		   "the import changed the mode of %s/canary", scratch);
	int f = openat(scratch_fd, "canary-file", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	fuzz_check(f >= 0, "%s/canary-file is gone or no longer a file", scratch);
	char buf[256];
	ssize_t n = read(f, buf, sizeof buf);
	fuzz_check(fstat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 && (st.st_mode & 07777) == 0644,
		   "%s/canary-file gained a link or changed its mode", scratch);
	close(f);
	fuzz_check(n == (ssize_t)strlen(CANARY_TEXT) && memcmp(buf, CANARY_TEXT, (size_t)n) == 0,
		   "the import wrote into %s/canary-file", scratch);
	if (sandboxed) {
		/* The scratch tmpfs's parent: nothing beside it either. */
		d = opendir(SANDBOX_DIR);
		while (d && (de = readdir(d)))
			fuzz_check(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "s") ||
					   !strcmp(de->d_name, "tmp"),
				   "the import created %s/%s", SANDBOX_DIR, de->d_name);
		if (d)
			closedir(d);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sandboxed = sandbox();
	if (sandboxed) {
		snprintf(scratch, sizeof scratch, "%s", SCRATCH_FIXED);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(scratch, sizeof scratch, "%s/ajail-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(scratch))
			die("mkdtemp");
		fprintf(stderr, "fuzz_import: no mount namespace (AJAIL_FUZZ_NO_SANDBOX, or no privilege): scratch tree %s, "
				"the host is not protected from an escape\n", scratch);
	}
	scratch_fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (scratch_fd < 0)
		die(scratch);
	if (mkdirat(scratch_fd, "canary", 0755) < 0 && errno != EEXIST)
		die("mkdir canary");
	fchmodat(scratch_fd, "canary", 0755, 0);
	put_file("canary-file", CANARY_TEXT, strlen(CANARY_TEXT));
	fchmodat(scratch_fd, "canary-file", 0644, 0);
	/* A file larger than this (sparse or not) fails with EFBIG: the tmpfs bounds what is really
	 * written, this bounds the apparent size, which matters when there is no tmpfs of our own. */
	struct rlimit fsize = { UINT64_C(4) << 30, UINT64_C(4) << 30 };
	setrlimit(RLIMIT_FSIZE, &fsize);
	return 0;
}

static void cleanup_scratch(void)
{
	if (sandboxed || scratch_fd < 0)
		return; /* the tmpfs goes with the namespace */
	clear_dir(scratch_fd, 0);
	rmdir(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	if (!registered) {
		atexit(cleanup_scratch);
		/* Here, not in LLVMFuzzerInitialize: libFuzzer installs its own SIGXFSZ handler between the two. */
		signal(SIGXFSZ, SIG_IGN);
		registered = true;
	}
	put_file("input", data, size);
	if (mkdirat(scratch_fd, "t", 0700) < 0)
		die("mkdir t");
	int t = openat(scratch_fd, "t", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t < 0)
		die("open t");
	char source[4200];
	snprintf(source, sizeof source, "%s/input", scratch);
	struct archive_stats st;
	struct aj_err err = { 0 };
	int r = archive_import(source, t, "fuzz", false, &st, &err);
	if (r < 0) {
		fuzz_check(err.msg[0], "archive_import failed without a message");
	} else {
		fuzz_check(st.files + st.dirs + st.symlinks + st.hardlinks + st.skipped_devices > 0,
			   "an archive without entries was accepted");
		struct stat ts;
		fuzz_check(fstat(t, &ts) == 0 && (ts.st_mode & 0700) == 0700, "the target lost u+rwx: mode %o", ts.st_mode);
	}
	check_scratch();
	/* archive.h: "a write through a symlink ... rejects the whole archive"; what a failed import
	 * left is removed by the caller, so only a successful one must be clean. */
	if (r == 0)
		check_tree(t, "t", 0);
	clear_dir(t, 0);
	close(t);
	if (unlinkat(scratch_fd, "t", AT_REMOVEDIR) < 0)
		die("rmdir t");
	return 0;
}
