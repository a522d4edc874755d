#include "fs_build.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "util.h"
#include "walk.h"

/* How long the builder's tree has to end by itself once told to (SIGTERM), or, after the builder
 * failed, before it is told: mmdebstrap, stopped, still removes its chroot from /tmp, which in its
 * unshare mode belongs to ids the user can no longer remove. */
#define GRACE_MS 10000
/* Once the grace period is over and the whole tree has been told (SIGTERM): how long before SIGKILL. */
#define TERM_MS 3000
/* After SIGKILL: a process in uninterruptible sleep may never go; stop waiting for it then. */
#define KILL_MS 5000
/* The builder's last lines, shown when it fails. */
#define TAIL_LINES     20
#define LINE_MAX_BYTES 400
/* Below this much free space on the store's filesystem, a failed build is said to be a full disk. */
#define FULL_BYTES (4ull << 20)
/* A builder's exit status that says a server it downloads from cannot be reached (sysexits'
 * EX_UNAVAILABLE); its last line names it. */
#define EXIT_UNREACHABLE 69
/* The builder's files held open at most, see hold_files(). */
#define HELD_MAX 8
/* The temporary directories outside the store a builder announces ("using DIR as tempdir", as
 * mmdebstrap and mkrootfs/ say) that are remembered, to say when one is left behind. */
#define TEMPDIRS_MAX 4


/* ---- the builder's process tree ---- */

/* The parent of pid, from /proc/PID/stat (the field after the command, which may hold ')'); 0 when
 * it is gone. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int ppid;
	char state;
	if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return 0;
	return (pid_t)ppid;
}

static bool contains(const pid_t *v, size_t n, pid_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Every process below self, from the parent links in /proc (/proc/PID/task/TID/children needs
 * CONFIG_PROC_CHILDREN, which not every kernel has). Caller frees *out. */
static size_t descendants(pid_t self, pid_t **out)
{
	pid_t *pids = NULL, *ppids = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name), pp = parent_of(pid);
		if (pid == self || pp == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			pids = xrealloc(pids, cap * sizeof *pids);
			ppids = xrealloc(ppids, cap * sizeof *ppids);
		}
		pids[n] = pid;
		ppids[n++] = pp;
	}
	if (d)
		closedir(d);
	pid_t *found = xmalloc((n + 1) * sizeof *found);
	size_t k = 0;
	found[k++] = self;
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < n; i++)
			if (!contains(found, k, pids[i]) && contains(found, k, ppids[i])) {
				found[k++] = pids[i];
				more = true;
			}
	}
	free(pids);
	free(ppids);
	/* Without self. */
	memmove(found, found + 1, (k - 1) * sizeof *found);
	*out = found;
	return k - 1;
}

/* Signal every process below self. Through a pidfd, checked to still be below self once open: a pid
 * that ended since the listing and was reused by someone else's process is left alone. */
static size_t signal_tree(pid_t self, int sig)
{
	pid_t *v;
	size_t n = descendants(self, &v);
	for (size_t i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_pidfd_open, v[i], 0);
		if (fd < 0) {
			if (errno == ENOSYS)
				kill(v[i], sig);
			continue;
		}
		pid_t pp = parent_of(v[i]);
		if (pp == self || contains(v, n, pp))
			syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
		close(fd);
	}
	free(v);
	return n;
}

/* Signal one process of the tree (pid, whose parent is self), through a pidfd checked to still be that
 * process once open. */
static void signal_one(pid_t self, pid_t pid, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		if (errno == ENOSYS && parent_of(pid) == self)
			kill(pid, sig);
		return;
	}
	if (parent_of(pid) == self)
		syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	close(fd);
}

/* Reap every child that ended; the builder's status goes to *ws. */
static void reap(pid_t builder, int *ws, bool *done)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == builder) {
			*ws = st;
			*done = true;
		}
}

/* The reaper's view of the build. */
struct tree {
	pid_t self, parent, builder;
	int sfd;   /* signalfd for SIGCHLD */
	int outr;  /* the read end of the builder's output pipe, -1 once it ended */
	int logfd; /* the build log, shared with ajail (its offset too), or -1 */
	int ws;    /* the builder's wait status, once done */
	bool done;
};

/* Once ajail is gone, its end of the output pipe is too: read it here, to the log, so that a builder
 * cleaning up after itself is not killed by SIGPIPE for a last message. */
static void drain(struct tree *t)
{
	if (t->outr < 0 || getppid() == t->parent)
		return;
	char buf[65536];
	struct pollfd p = { t->outr, POLLIN, 0 };
	while (poll(&p, 1, 0) > 0) {
		ssize_t n = read(t->outr, buf, sizeof buf);
		if (n <= 0) {
			close(t->outr);
			t->outr = -1;
			return;
		}
		if (t->logfd >= 0 && write_all(t->logfd, buf, (size_t)n) < 0) {
			close(t->logfd);
			t->logfd = -1;
		}
	}
}

/* Wait until nothing is left below self: first for the tree to end by itself (wait_ms), then after
 * SIGTERM to all of it (term_ms), then after SIGKILL, given up after KILL_MS. With tops_first, the
 * processes right below self (the builder, and what it left when it ended: mmdebstrap, should a
 * builder end first) are told by SIGTERM at once, each once, and only they: a builder's main process
 * cleans up with helpers of its own (mmdebstrap's newuidmap, its rm in its user namespace), which a
 * SIGTERM to the whole tree at once would kill before they did it. The number of processes left. */
static size_t end_tree(struct tree *t, uint64_t wait_ms, uint64_t term_ms, bool tops_first)
{
	uint64_t now = util_now_ms(), term_at = now + wait_ms, kill_at = term_at + term_ms, give_up = kill_at + KILL_MS;
	bool termed = false;
	pid_t *told = NULL;
	size_t ntold = 0;
	for (;;) {
		reap(t->builder, &t->ws, &t->done);
		drain(t);
		pid_t *v;
		size_t n = descendants(t->self, &v);
		now = util_now_ms();
		if (n == 0 || now >= give_up) {
			free(v);
			free(told);
			return n;
		}
		for (size_t i = 0; tops_first && !termed && i < n; i++) {
			if (contains(told, ntold, v[i]) || parent_of(v[i]) != t->self)
				continue;
			signal_one(t->self, v[i], SIGTERM);
			signal_one(t->self, v[i], SIGCONT); /* a stopped process acts on SIGTERM only once continued */
			told = xrealloc(told, (ntold + 1) * sizeof *told);
			told[ntold++] = v[i];
		}
		free(v);
		if (now >= kill_at) {
			signal_tree(t->self, SIGKILL);
		} else if (now >= term_at && !termed) {
			signal_tree(t->self, SIGTERM);
			signal_tree(t->self, SIGCONT);
			termed = true;
		}
		struct pollfd p[2] = { { t->sfd, POLLIN, 0 }, { getppid() == t->parent ? -1 : t->outr, POLLIN, 0 } };
		if (poll(p, 2, 50) > 0 && p[0].revents) {
			struct signalfd_siginfo si;
			while (read(t->sfd, &si, sizeof si) > 0)
				;
		}
	}
}

/* Close every fd but those in keep. */
static void close_except(const int *keep, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	int *victims = NULL;
	size_t nv = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int fd = atoi(e->d_name);
		bool kept = fd == self;
		for (size_t i = 0; i < n; i++)
			kept |= keep[i] == fd;
		if (!kept) {
			victims = xrealloc(victims, (nv + 1) * sizeof *victims);
			victims[nv++] = fd;
		}
	}
	closedir(d);
	for (size_t i = 0; i < nv; i++)
		close(victims[i]);
	free(victims);
}

/* What the reaper tells ajail at the end. */
struct reaper_msg {
	int ws;	  /* the builder's wait status, when done */
	int done; /* the builder ran and ended (else it could not be started) */
	int start_errno;
	int left; /* processes of the builder's that would not end, even after SIGKILL */
};

static const char *lock_name(const struct fs_build *b)
{
	return b->lock_name ? b->lock_name : b->name;
}

/* A layer build's fs/.tmp/<name> (the upper directory of the jail that commits it) and its
 * companions, which the ajail that committed takes the import lock of name for: removed when that
 * ajail is gone without doing so (killed), i.e. when the lock can be taken; left alone while another
 * import of name holds it. */
static void sweep_layer_name(int tmpfd, const char *name)
{
	cleanup_free char *lock = xasprintf("%s.lock", name);
	struct stat st;
	if (fstatat(tmpfd, lock, &st, AT_SYMLINK_NOFOLLOW) < 0 && fstatat(tmpfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	int fd = store_lock_at(tmpfd, lock, LOCK_EX | LOCK_NB);
	if (fd < 0)
		return;
	store_tmp_sweep_name(tmpfd, name);
	unlinkat(tmpfd, lock, 0);
	close(fd);
}

/* The reaper: ajail's child, the builder's parent, and the subreaper of everything the builder
 * starts. It ignores the signals a terminal or a process group kill sends (it is in a process group
 * of its own anyway), and acts on the end of its socket to ajail: ajail exited, was killed, or asks
 * it to stop the build by shutting its side down. */
static __attribute__((noreturn)) void reaper(const struct fs_build *b, pid_t parent, int tmpfd, int sock, int outw,
					     int outr, int logfd, const sigset_t *mask)
{
	setpgid(0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	static const int ignored[] = { SIGINT,	SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE,
				       SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		signal(ignored[i], SIG_IGN);
	sigset_t chld = *mask;
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	/* Nothing of ajail's stays open here: not its terminal, not a pipe someone reads ajail's output
	 * from (which would not end while the reaper cleans up). */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	const int keep[] = { 0, 1, 2, tmpfd, b->lockfd, sock, outw, outr, logfd, sfd };
	close_except(keep, sizeof keep / sizeof keep[0]);
	pid_t self = getpid();
	struct reaper_msg m = { 0 };

	pid_t pid = sfd < 0 ? -1 : fork();
	if (pid == 0) {
		setsid();
		/* Belt and braces: should the reaper itself be killed, the builder goes too. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(1);
		dup2(outw, 1);
		dup2(outw, 2);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		for (int s = 1; s < NSIG; s++)
			sigaction(s, &dfl, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		const int io[] = { 0, 1, 2 };
		close_except(io, 3);
		if (b->cwd && chdir(b->cwd) < 0) {
			dprintf(2, "ajail: cannot enter the build's directory %s: %s\n", b->cwd, strerror(errno));
			_exit(127);
		}
		if (b->host_ca)
			setenv("AJAIL_HOST_CA", b->host_ca, 1);
		execve(b->exec ? b->exec : b->builder, b->argv, b->envp ? b->envp : environ);
		dprintf(2, "ajail: cannot run the builder %s: %s\n", b->builder, strerror(errno));
		_exit(127);
	}
	close(outw);
	if (pid < 0) {
		m.start_errno = errno ? errno : EAGAIN;
		(void)!write(sock, &m, sizeof m);
		_exit(0);
	}

	struct tree t = { .self = self, .parent = parent, .builder = pid, .sfd = sfd, .outr = outr, .logfd = logfd };
	bool stop = false;
	while (!t.done && !stop) {
		struct pollfd p[2] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
			reap(pid, &t.ws, &t.done);
		}
		if (p[0].revents) {
			char c;
			ssize_t n = read(sock, &c, 1);
			stop = n <= 0 || c == 'S';
		}
	}
	size_t left;
	if (stop) {
		/* Told to stop, or ajail is gone: the builder first, alone (it passes SIGTERM on to its
		 * main process, which cleans up with its helpers), then after the grace period whatever
		 * is left of its tree, SIGTERM and then SIGKILL. */
		left = end_tree(&t, GRACE_MS, TERM_MS, true);
		store_tmp_sweep_name(tmpfd, lock_name(b));
		if (b->layer_base)
			sweep_layer_name(tmpfd, b->name);
		if (getppid() != parent) {
			/* Nobody else will: the lock of a build that is no more. (We hold it: nobody
			 * waits on this name.) */
			cleanup_free char *lock = xasprintf("%s.lock", lock_name(b));
			unlinkat(tmpfd, lock, 0);
		}
	} else {
		/* What the builder left running: after a failure it may still be cleaning up (mmdebstrap
		 * after its group's SIGHUP), so give it time; after success nothing should be left. */
		bool ok = WIFEXITED(t.ws) && WEXITSTATUS(t.ws) == 0;
		left = end_tree(&t, ok ? 0 : GRACE_MS, 2000, false);
	}
	m.ws = t.ws;
	m.done = t.done;
	m.left = (int)left;
	(void)!write(sock, &m, sizeof m);
	_exit(0);
}

/* ---- the log, the progress line and the tail ---- */

static int open_log(int fsfd, const char *name, struct aj_err *err)
{
	if (mkdirat(fsfd, ".log", 0700) < 0 && errno != EEXIST)
		return aj_fail(err, errno, "create fs/.log");
	cleanup_close int dir = openat(fsfd, ".log", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (dir < 0 || fstat(dir, &st) < 0)
		return aj_fail(err, errno, "open fs/.log");
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return aj_fail(err, 0, "fs/.log is not a directory of yours that only you can write");
	cleanup_free char *file = xasprintf("%s.log", name);
	/* A fresh file, never one found there: a hard link planted under the name must not be
	 * truncated or written through. */
	if (unlinkat(dir, file, 0) < 0 && errno != ENOENT)
		return aj_fail(err, errno, "remove the old fs/.log/%s", file);
	int fd = openat(dir, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return aj_fail(err, errno, "create fs/.log/%s", file);
	return fd;
}

struct watch {
	const struct fs_build *b;
	int logfd;
	int log_errno;		       /* why the log stopped being written, 0 while it is */
	char line[LINE_MAX_BYTES + 1]; /* the line being read */
	size_t len;
	char *tail[TAIL_LINES]; /* the last complete lines, a ring */
	size_t tail_next, tail_n;
	char latest[LINE_MAX_BYTES + 1]; /* the last non-empty line, for the progress line */
	bool enospc;			 /* "No space left on device" in the output */
	bool after_cr;			 /* the last byte read was \r */
	bool progress, drawn;
	char shown[1024]; /* the progress line on the screen */
	int cols;
	uint64_t start_ms, next_draw_ms;
	uint64_t min_free; /* the least free space seen on the store's filesystem */
	int tmpfd;
	int held[HELD_MAX]; /* the builder's files, see hold_files() */
	ino_t held_ino[HELD_MAX];
	size_t nheld;
	uint64_t next_statfs_ms;
	char *tempdirs[TEMPDIRS_MAX]; /* what the builder announced as its temporary directories */
	size_t ntempdirs;
};

static uint64_t free_bytes(int fd)
{
	struct statvfs v;
	if (fstatvfs(fd, &v) < 0)
		return UINT64_MAX;
	/* root may write into the blocks kept for it: the disk is full when those are gone too. */
	return (uint64_t)(geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
}

/* Open (and keep open) every file the builder has made in its directory in fs/.tmp: a builder removes
 * its tarball the moment a write to it fails, which frees the disk before anyone can look; held
 * open, the tarball's blocks stay taken until the build's end is judged. */
static void hold_files(struct watch *w)
{
	cleanup_free char *work = xasprintf("%s" STORE_BUILD_SUFFIX, w->b->name);
	int fd = w->tmpfd >= 0 ? openat(w->tmpfd, work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) && w->nheld < HELD_MAX) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		bool have = false;
		for (size_t i = 0; i < w->nheld; i++)
			have |= w->held_ino[i] == st.st_ino;
		if (have)
			continue;
		int f = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (f >= 0) {
			w->held[w->nheld] = f;
			w->held_ino[w->nheld++] = st.st_ino;
		}
	}
	closedir(d);
}

/* How full the store's disk gets. */
static void sample_free(struct watch *w, uint64_t t)
{
	if (t < w->next_statfs_ms)
		return;
	w->next_statfs_ms = t + 50;
	hold_files(w);
	uint64_t f = free_bytes(w->b->fsfd);
	if (f < w->min_free)
		w->min_free = f;
}

/* A line of the builder's made safe for the terminal: control characters escaped (its backslashes
 * left alone, for a shell script's to read as written), tabs kept when keep_tabs. Caller frees. */
static char *shown_line(const char *s, bool keep_tabs)
{
	if (!keep_tabs)
		return util_escape_controls(s);
	char *out = xstrdup("");
	for (const char *p = s;;) {
		size_t n = strcspn(p, "\t");
		cleanup_free char *piece = xstrndup(p, n);
		cleanup_free char *e = util_escape_controls(piece);
		char *next = xasprintf("%s%s%s", out, e, p[n] ? "\t" : "");
		free(out);
		out = next;
		if (!p[n])
			return out;
		p += n + 1;
	}
}

/* s escaped, with every non-ASCII character one '?': the progress line counts columns in bytes. */
static char *ascii_escape(const char *s)
{
	cleanup_free char *e = shown_line(s, false);
	char *out = xmalloc(strlen(e) + 1);
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)e; *p; p++) {
		if (*p < 0x80)
			out[n++] = (char)*p;
		else if ((*p & 0xc0) != 0x80)
			out[n++] = '?';
	}
	out[n] = '\0';
	return out;
}

static void draw(struct watch *w, bool force)
{
	if (!w->progress)
		return;
	uint64_t t = util_now_ms();
	if (!force && t < w->next_draw_ms)
		return;
	w->next_draw_ms = t + 100;
	cleanup_free char *latest = ascii_escape(w->latest);
	char buf[sizeof w->shown];
	int n = snprintf(buf, sizeof buf, "ajail: building '%s' %llu s: %s", w->b->name,
			 (unsigned long long)((t - w->start_ms) / 1000), latest);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	/* Never the last column: a line that wrapped could not be redrawn with \r. */
	if (w->cols > 1 && len > (size_t)w->cols - 1)
		len = (size_t)w->cols - 1;
	buf[len] = '\0';
	if (w->drawn && strcmp(buf, w->shown) == 0)
		return;
	memcpy(w->shown, buf, len + 1);
	fprintf(stderr, "\r%s\033[K", buf);
	fflush(stderr);
	w->drawn = true;
}

static void undraw(struct watch *w)
{
	if (w->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	w->drawn = false;
}

/* "I: using /tmp/mmdebstrap.XXXX as tempdir" (mmdebstrap), "debian: using DIR as tempdir" (mkrootfs/):
 * a directory outside the store that the builder removes when it ends well, remembered to say so
 * when it is left behind. Only looked at (lstat), never removed: the builder's output is its word. */
static void note_tempdir(struct watch *w, const char *line)
{
	static const char suffix[] = " as tempdir";
	const char *use = strstr(line, "using /");
	size_t n = strlen(line), k = sizeof suffix - 1;
	if (!use || n < k || strcmp(line + n - k, suffix) != 0 || w->ntempdirs == TEMPDIRS_MAX)
		return;
	const char *dir = use + strlen("using ");
	if (dir >= line + n - k)
		return;
	char *d = xstrndup(dir, (size_t)(line + n - k - dir));
	for (size_t i = 0; i < w->ntempdirs; i++)
		if (strcmp(w->tempdirs[i], d) == 0) {
			free(d);
			return;
		}
	w->tempdirs[w->ntempdirs++] = d;
}

static void end_line(struct watch *w)
{
	w->line[w->len] = '\0';
	if (strstr(w->line, "No space left on device"))
		w->enospc = true;
	note_tempdir(w, w->line);
	if (w->b->verbose) {
		cleanup_free char *e = shown_line(w->line, true);
		fprintf(stderr, "%s\n", e);
	}
	if (w->len) {
		memcpy(w->latest, w->line, w->len + 1);
		free(w->tail[w->tail_next]);
		w->tail[w->tail_next] = xstrdup(w->line);
		w->tail_next = (w->tail_next + 1) % TAIL_LINES;
		if (w->tail_n < TAIL_LINES)
			w->tail_n++;
	}
	w->len = 0;
}

static void consume(struct watch *w, const char *buf, size_t n)
{
	if (w->logfd >= 0 && !w->log_errno && write_all(w->logfd, buf, n) < 0)
		w->log_errno = errno;
	for (size_t i = 0; i < n; i++) {
		/* apt and curl redraw their progress with \r: each one is a line here (and \r\n one). */
		if ((buf[i] == '\n' && !w->after_cr) || buf[i] == '\r')
			end_line(w);
		else if (buf[i] != '\n' && w->len < LINE_MAX_BYTES)
			w->line[w->len++] = buf[i];
		w->after_cr = buf[i] == '\r';
	}
	draw(w, false);
}

/* The i-th of the last lines, oldest first. */
static const char *tail_line(const struct watch *w, size_t i)
{
	return w->tail[(w->tail_next + TAIL_LINES - w->tail_n + i) % TAIL_LINES];
}

static void print_tail(const struct watch *w, const char *log_path)
{
	if (w->tail_n == 0)
		return;
	if (w->logfd >= 0 && !w->log_errno)
		fprintf(stderr, "ajail: the builder's last lines (all of its output is in %s):\n", log_path);
	else
		fprintf(stderr, "ajail: the builder's last lines:\n");
	for (size_t i = 0; i < w->tail_n; i++) {
		cleanup_free char *e = shown_line(tail_line(w, i), true);
		fprintf(stderr, "    %s\n", e);
	}
}

/* ---- ajail's side ---- */

static volatile sig_atomic_t sig_fd = -1;

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;
	if (sig_fd >= 0)
		(void)!write(sig_fd, &c, 1);
	errno = e;
}

static const char *sig_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

static void mb(uint64_t bytes, char *buf, size_t n)
{
	snprintf(buf, n, "%llu MB", (unsigned long long)(bytes / 1000000));
}

/* The builder's last line, without its "NAME: " prefix: what it says a failure was. */
static char *last_words(const struct watch *w)
{
	size_t i = w->tail_n;
	/* A layer's builder is ajail, whose own last line says that nothing was committed. */
	while (w->b->layer_base && i > 0 && str_has_prefix(tail_line(w, i - 1), "ajail: "))
		i--;
	if (i == 0)
		return NULL;
	const char *l = tail_line(w, i - 1);
	const char *colon = strstr(l, ": ");
	if (colon && !memchr(l, ' ', (size_t)(colon - l)))
		l = colon + 2;
	return util_escape(l);
}

/* What the build left behind, once its tree is gone: its directory in fs/.tmp that could not be
 * removed, a temporary directory it announced that is still there, processes that would not end. NULL
 * when nothing; else one phrase ("A and B", "N processes"). Caller frees. */
static char *leftovers(const struct watch *w, int tmpfd, int procs)
{
	cleanup_strv char **what = NULL;
	cleanup_free char *work = xasprintf("%s" STORE_BUILD_SUFFIX, w->b->name);
	const char *mine[] = { w->b->name, work };
	struct stat st;
	for (size_t i = 0; i < 2; i++) {
		if (tmpfd < 0 || fstatat(tmpfd, mine[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (i == 0 && w->b->layer_base) {
			/* The jail's upper directory: ours only when no other import of the name holds
			 * its lock now. */
			cleanup_free char *lock = xasprintf("%s.lock", mine[i]);
			int fd = store_lock_at(tmpfd, lock, LOCK_EX | LOCK_NB);
			if (fd < 0)
				continue;
			close(fd);
		}
		strv_push(&what, xasprintf("%s/fs/.tmp/%s", w->b->store_dir, mine[i]));
	}
	for (size_t i = 0; i < w->ntempdirs; i++)
		if (lstat(w->tempdirs[i], &st) == 0)
			strv_push(&what, util_escape(w->tempdirs[i]));
	if (procs > 0)
		strv_push(&what, xasprintf("%d of its processes, still running", procs));
	size_t n = strv_len(what);
	if (n == 0)
		return NULL;
	char *out = xstrdup(what[0]);
	for (size_t i = 1; i < n; i++) {
		char *next = xasprintf("%s%s%s", out, i + 1 == n ? " and " : ", ", what[i]);
		free(out);
		out = next;
	}
	return out;
}

int fs_build_run(const struct fs_build *b, double *secs, struct aj_err *err)
{
	cleanup_free char *log_path = xasprintf("%s/fs/.log/%s.log", b->store_dir, b->name);
	struct aj_err lerr = { 0 };
	int logfd = open_log(b->fsfd, b->name, &lerr);
	if (logfd < 0)
		fprintf(stderr, "ajail: warning: no build log: %s\n", lerr.msg);
	if (!b->quiet && b->layer_base)
		fprintf(stderr, "ajail: building '%s', a layer on '%s', with %s in a jail%s%s\n", b->name, b->layer_base,
			b->builder, logfd >= 0 ? "; its output goes to " : "", logfd >= 0 ? log_path : "");
	else if (!b->quiet)
		fprintf(stderr, "ajail: building '%s' with %s%s%s\n", b->name, b->builder,
			logfd >= 0 ? "; its output goes to " : "", logfd >= 0 ? log_path : "");
	fflush(stderr);

	int outp[2] = { -1, -1 }, sv[2] = { -1, -1 }, sigp[2] = { -1, -1 };
	cleanup_close int tmpfd = openat(b->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0 || pipe2(outp, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(sigp, O_CLOEXEC | O_NONBLOCK) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (outp[i] >= 0)
				close(outp[i]);
			if (sv[i] >= 0)
				close(sv[i]);
			if (sigp[i] >= 0)
				close(sigp[i]);
		}
		if (logfd >= 0)
			close(logfd);
		return aj_fail(err, e, "fs build: set up the builder's pipes");
	}
	/* Signals that would end ajail stop the build instead, in order: the builder's tree first. */
	static const int caught[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction old[3], old_pipe;
	struct sigaction sa = { .sa_handler = on_signal }, ign = { .sa_handler = SIG_IGN };
	sigemptyset(&sa.sa_mask);
	sig_fd = sigp[1];
	for (size_t i = 0; i < 3; i++) {
		sigaction(caught[i], &sa, &old[i]);
		/* Ignored by whoever started ajail (nohup, a shell's background job): ignored still. */
		if (old[i].sa_handler == SIG_IGN)
			sigaction(caught[i], &old[i], NULL);
	}
	sigaction(SIGPIPE, &ign, &old_pipe);

	/* Blocked across the fork: the reaper must not run ajail's handler before it ignores them. */
	sigset_t block, saved;
	sigemptyset(&block);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&block, caught[i]);
	sigprocmask(SIG_BLOCK, &block, &saved);
	uint64_t t0 = util_now_ms();
	pid_t parent = getpid();
	pid_t rpid = fork();
	if (rpid == 0) {
		close(sv[0]);
		close(sigp[0]);
		close(sigp[1]);
		reaper(b, parent, tmpfd, sv[1], outp[1], outp[0], logfd, &saved);
	}
	int fork_errno = errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(sv[1]);
	close(outp[1]);

	struct watch w = { .b = b, .logfd = logfd, .start_ms = t0, .min_free = UINT64_MAX, .tmpfd = tmpfd };
	w.progress = !b->quiet && !b->verbose && isatty(STDERR_FILENO);
	struct winsize wsz;
	w.cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &wsz) == 0 && wsz.ws_col > 0 ? wsz.ws_col : 80;
	w.next_draw_ms = t0 + 300;
	struct reaper_msg m = { 0 };
	bool have_msg = false, out_open = rpid > 0, sock_open = rpid > 0, abandoned = false;
	int stopped_by = 0;
	uint64_t drain_until = 0;
	while (out_open || (sock_open && !have_msg)) {
		struct pollfd p[3] = { { out_open ? outp[0] : -1, POLLIN, 0 },
				       { sock_open && !have_msg ? sv[0] : -1, POLLIN, 0 },
				       { sigp[0], POLLIN, 0 } };
		int r = poll(p, 3, 50);
		uint64_t t = util_now_ms();
		sample_free(&w, t);
		if (r < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN) {
			unsigned char c;
			while (read(sigp[0], &c, 1) == 1) {
				if (!stopped_by) {
					stopped_by = c;
					/* Tell the reaper; it answers once the tree is gone. */
					(void)!write(sv[0], "S", 1);
					shutdown(sv[0], SHUT_WR);
					snprintf(w.latest, sizeof w.latest, "stopping the builder (%s)", sig_name(c));
					draw(&w, true);
				} else {
					abandoned = true; /* asked twice: go now, the reaper finishes alone */
				}
			}
			if (abandoned)
				break;
		}
		if (p[0].revents) {
			char buf[65536];
			ssize_t n = read(outp[0], buf, sizeof buf);
			if (n > 0)
				consume(&w, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				out_open = false;
		}
		if (p[1].revents) {
			ssize_t n = read(sv[0], &m, sizeof m);
			if (n == (ssize_t)sizeof m)
				have_msg = true;
			else
				sock_open = false;
			if (!drain_until)
				drain_until = t + 2000;
		}
		/* The tree is gone once the reaper answers; whatever still holds the pipe is not ours. */
		if (drain_until && t > drain_until)
			break;
		draw(&w, false);
	}
	if (w.len)
		end_line(&w);
	undraw(&w);
	if (rpid > 0 && !abandoned)
		waitpid(rpid, NULL, 0);
	sig_fd = -1;
	for (size_t i = 0; i < 3; i++)
		sigaction(caught[i], &old[i], NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(outp[0]);
	close(sv[0]);
	close(sigp[0]);
	close(sigp[1]);
	*secs = (double)(util_now_ms() - t0) / 1000;
	w.next_statfs_ms = 0;
	sample_free(&w, util_now_ms());

	int ret = -1;
	int ws = m.ws;
	cleanup_free char *said = NULL, *left = NULL;
	const char *nothing = b->layer_base ? "nothing was kept" : "nothing was imported";
	if (rpid < 0) {
		aj_fail(err, fork_errno, "fs build: start the builder");
	} else if (stopped_by && abandoned) {
		aj_err_set(err, (enum aj_err_kind)(128 + stopped_by), 0,
			   "fs build: interrupted by %s: the builder is being stopped and its files removed; %s",
			   sig_name(stopped_by), nothing);
		ret = -2;
	} else if (stopped_by && (left = leftovers(&w, tmpfd, have_msg ? m.left : 0))) {
		aj_err_set(err, (enum aj_err_kind)(128 + stopped_by), 0,
			   "fs build: interrupted by %s: the builder was stopped, but it left %s behind (remove them "
			   "by hand%s); %s",
			   sig_name(stopped_by), left,
			   geteuid() ? ": files of your subordinate ids go with 'unshare --map-auto --map-root-user rm -rf DIR'"
				     : "",
			   nothing);
	} else if (stopped_by) {
		aj_err_set(
		    err, (enum aj_err_kind)(128 + stopped_by), 0,
		    "fs build: interrupted by %s: the builder was stopped and its files removed; %s",
		    sig_name(stopped_by), nothing);
	} else if (!have_msg) {
		aj_fail(err, 0, "fs build: the process watching the builder ended unexpectedly; %s", nothing);
	} else if (!m.done) {
		aj_fail(err, m.start_errno, "fs build: could not start the builder %s", b->builder);
	} else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
		ret = 0;
	} else if (WIFEXITED(ws) && WEXITSTATUS(ws) == EXIT_UNREACHABLE && (said = last_words(&w))) {
		if (strcmp(b->builder_name, "alpine") == 0)
			aj_fail(err, 0,
				"fs build: %s; import a minirootfs tarball instead (ajail fs import alpine "
				"alpine-minirootfs-*.tar.gz) or build the debian recipe (ajail fs build debian)",
				said);
		else
			aj_fail(err, 0, "fs build: %s; check the network (and the proxy), then build again", said);
	} else {
		print_tail(&w, log_path);
		const char *abbrev = WIFSIGNALED(ws) ? sigabbrev_np(WTERMSIG(ws)) : NULL;
		cleanup_free char *status = !WIFSIGNALED(ws) ? xasprintf("exit %d", WEXITSTATUS(ws))
					    : abbrev	     ? xasprintf("SIG%s", abbrev)
							     : xasprintf("signal %d", WTERMSIG(ws));
		if (w.min_free < FULL_BYTES) {
			char freebuf[32];
			mb(w.min_free, freebuf, sizeof freebuf);
			aj_fail(err, 0,
				"fs build: the disk holding %s is full (%s free; the builder failed with %s); free "
				"some space, "
				"then build again; %s",
				b->store_dir, freebuf, status, nothing);
		} else if (w.enospc) {
			char now_free[32];
			mb(free_bytes(b->fsfd), now_free, sizeof now_free);
			const char *tmpdir = getenv("TMPDIR");
			aj_fail(
			    err, 0,
			    "fs build: the builder ran out of disk space ('No space left on device', %s), but not on "
			    "the "
			    "disk holding %s (%s free): its temporary files go to %s; free space there, or set TMPDIR",
			    status, b->store_dir, now_free, tmpdir && *tmpdir ? tmpdir : "/tmp");
		} else if (b->layer_base) {
			aj_fail(err, 0, "fs build: the builder %s failed in a jail on '%s' (%s) after %.1f s; %s%s%s",
				b->builder, b->layer_base, status, *secs, nothing,
				logfd >= 0 ? "; its output is in " : "", logfd >= 0 ? log_path : "");
		} else {
			aj_fail(err, 0, "fs build: the builder %s failed (%s) after %.1f s; %s%s%s", b->builder, status,
				*secs, nothing, logfd >= 0 ? "; its output is in " : "", logfd >= 0 ? log_path : "");
		}
	}
	if (!stopped_by) {
		/* A failure, or even a success, after which a temporary directory the builder announced is
		 * still there: say so, not only in its log. */
		for (size_t i = 0; i < w.ntempdirs; i++) {
			struct stat st;
			if (lstat(w.tempdirs[i], &st) == 0) {
				cleanup_free char *e = util_escape(w.tempdirs[i]);
				fprintf(stderr, "ajail: warning: the builder left its temporary directory %s behind\n", e);
			}
		}
	}
	if (w.log_errno && ret == 0 && !b->quiet)
		fprintf(stderr, "ajail: warning: the build log %s is incomplete: %s\n", log_path,
			strerror(w.log_errno));
	if (logfd >= 0)
		close(logfd);
	for (size_t i = 0; i < w.nheld; i++)
		close(w.held[i]);
	for (size_t i = 0; i < TAIL_LINES; i++)
		free(w.tail[i]);
	for (size_t i = 0; i < w.ntempdirs; i++)
		free(w.tempdirs[i]);
	return ret;
}

void fs_build_explain_import(const struct fs_build *b, struct aj_err *err)
{
	uint64_t f = free_bytes(b->fsfd);
	if (f >= FULL_BYTES && err->errnum != ENOSPC)
		return;
	char freebuf[32];
	mb(f, freebuf, sizeof freebuf);
	aj_fail(err, 0,
		"fs build: the disk holding %s is full (%s free): the import needs room for the rootfs beside the "
		"builder's "
		"tarball; free some space, then build again; nothing was imported",
		b->store_dir, freebuf);
}


/* ---- a layer recipe: mkrootfs/layer in a jail on the base, committed by ajail ---- */

/* Where the jail finds the builder and the recipe (read-only binds on the jail's tmpfs /run). */
#define LAYER_DIR "/run/ajail-build"

/* s as a field of --mount=SRC,DST: ',' and '\' escaped as cli.c reads them. Caller frees. */
static char *mount_field(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *o = out;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* A variable that says how to reach the network, which apt, apk and npm read (either case, as
 * mkrootfs/debian passes them to npm): handed into the jail. */
static bool proxy_var(const char *e)
{
	static const char *const names[] = { "http_proxy=", "https_proxy=", "no_proxy=", "all_proxy=" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncasecmp(e, names[i], strlen(names[i])) == 0)
			return true;
	if (strncasecmp(e, "npm_config_", 11) != 0)
		return false;
	size_t klen = strcspn(e, "=");
	for (size_t i = 11; i + 8 <= klen; i++)
		if (strncasecmp(e + i, "registry", 8) == 0)
			return true;
	return false;
}

/* The build's ajail gets its own environment: the store, no AJAIL_ARGS, no project options, no
 * AJAIL_ENV_ of the user's (they are for the user's jails) but the network settings; PATH, HOME and
 * SSL_CERT_FILE (which names the host's CA bundle, hostca.h) as they are. Caller frees. */
static char **layer_env(const char *store)
{
	char **env = NULL;
	static const char *const kept[] = { "PATH", "HOME", "SSL_CERT_FILE" };
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		const char *v = getenv(kept[i]);
		if (v)
			strv_push(&env, xasprintf("%s=%s", kept[i], v));
	}
	strv_push(&env, xasprintf("AJAIL_HOME=%s", store));
	strv_push(&env, xstrdup("AJAIL_NO_PROJECT=1"));
	for (char **e = environ; e && *e; e++)
		if (proxy_var(*e))
			strv_push(&env, xasprintf("AJAIL_ENV_%s", *e));
	return env;
}

/* What the layer holds: entries below its top, regular files and their bytes (each inode once). */
static int layer_count(int fsfd, const char *name, uint64_t *entries, uint64_t *files, uint64_t *bytes,
		       struct aj_err *err)
{
	*entries = *files = *bytes = 0;
	cleanup_close int top = openat(fsfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return aj_fail(err, errno, "open the layer '%s'", name);
	struct walk_opts o = { .label = name };
	struct walk *w = walk_open(top, &o, err);
	if (!w)
		return -1;
	const struct walk_entry *e;
	int r;
	while ((r = walk_next(w, &e, err)) == 1) {
		if (!*e->path)
			continue;
		(*entries)++;
		if (S_ISREG(e->st.st_mode) && !e->hardlink) {
			(*files)++;
			*bytes += (uint64_t)e->st.st_size;
		}
	}
	walk_close(w);
	return r;
}

/* The build's directory in fs/.tmp: the recipe's text, and work/, the jail's working directory. */
static int make_build_dir(int tmpfd, const char *work, const char *text)
{
	cleanup_free char *rel = xasprintf("%s/recipe", work);
	cleanup_free char *relwork = xasprintf("%s/work", work);
	if (mkdirat(tmpfd, work, 0700) < 0 || mkdirat(tmpfd, relwork, 0700) < 0)
		return -1;
	cleanup_close int fd = openat(tmpfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 || write_all(fd, text, strlen(text)) < 0 ? -1 : 0;
}

int fs_build_layer(struct store *s, const struct fs_build_layer *l, struct aj_err *err)
{
	if (config_validate_name(l->name, err) < 0)
		return -1;
	if (strcmp(l->name, "host") == 0)
		return aj_usage(err, "'host' is reserved for the built-in host rootfs; choose another name");
	struct stat st;
	if (fstatat(s->fsfd, l->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return aj_fail(err, 0, "rootfs '%s' exists already; remove it first with 'ajail fs rm %s'", l->name, l->name);
	if (fstatat(s->fsfd, l->base, &st, 0) < 0 || !S_ISDIR(st.st_mode)) {
		cleanup_free char *recipe = xasprintf("%s/rootfs-recipes/%s", l->datadir, l->base);
		bool have = access(recipe, R_OK) == 0;
		return aj_fail(err, 0,
			       "fs build: '%s' is a layer on '%s', which is not in the store; build or import it first "
			       "(%s%s%s)",
			       l->name, l->base, have ? "ajail fs build " : "ajail fs import ", l->base, have ? "" : " FILE");
	}
	cleanup_free char *builder = xasprintf("%s/mkrootfs/layer", l->datadir);
	if (access(builder, R_OK) < 0)
		return aj_fail(err, errno, "fs build: builder %s", builder);
	char real[PATH_MAX];
	if (!realpath(s->dir, real))
		return aj_fail(err, errno, "fs build: the store %s", s->dir);
	cleanup_close int tmpfd = openat(s->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0)
		return aj_fail(err, errno, "open %s/fs/.tmp", s->dir);

	/* Two locks. The import lock of name is the committing ajail's (store_txn_begin, which does
	 * not wait): taken here only to find another import of name under way before anything is
	 * made, and let go just before that ajail starts. The build's own lock, <name>@build.lock,
	 * guards its directory (a sweep removes it only once the lock is free) for the whole build,
	 * and the reaper holds it too. */
	cleanup_free char *namelock = xasprintf("%s.lock", l->name);
	cleanup_free char *work = xasprintf("%s" STORE_BUILD_SUFFIX, l->name);
	cleanup_free char *worklock = xasprintf("%s.lock", work);
	int nfd = store_lock_at(tmpfd, namelock, LOCK_EX | LOCK_NB);
	if (nfd < 0)
		return errno == EWOULDBLOCK ? aj_fail(err, 0, "another import of '%s' is in progress", l->name)
					    : aj_fail(err, errno, "lock %s", namelock);
	int lockfd = store_lock_at(tmpfd, worklock, LOCK_EX | LOCK_NB);
	if (lockfd < 0) {
		int e = errno;
		unlinkat(tmpfd, namelock, 0);
		close(nfd);
		return e == EWOULDBLOCK ? aj_fail(err, 0, "another build of '%s' is in progress", l->name)
					: aj_fail(err, e, "lock %s", worklock);
	}
	cleanup_free char *workdir = xasprintf("%s/fs/.tmp/%s", real, work);
	cleanup_free char *recipe = xasprintf("%s/recipe", workdir);
	cleanup_free char *cwd = xasprintf("%s/work", workdir);
	store_remove_tree(tmpfd, work);
	int made = make_build_dir(tmpfd, work, l->text);
	int made_errno = errno;
	unlinkat(tmpfd, namelock, 0);
	close(nfd);
	if (made < 0) {
		store_remove_tree(tmpfd, work);
		unlinkat(tmpfd, worklock, 0);
		close(lockfd);
		return aj_fail(err, made_errno, "fs build: make %s", workdir);
	}

	cleanup_free char *fs_opt = xasprintf("--fs=%s", l->base);
	cleanup_free char *commit_opt = xasprintf("--commit=%s", l->name);
	cleanup_free char *e_builder = mount_field(builder), *e_recipe = mount_field(recipe);
	cleanup_free char *m_builder = xasprintf("--mount=%s," LAYER_DIR "/layer,rol", e_builder);
	cleanup_free char *m_recipe = xasprintf("--mount=%s," LAYER_DIR "/recipe,rol", e_recipe);
	char *argv[] = { "ajail",     fs_opt,	   commit_opt, "--no-profile", "--no-project",	   "--quiet",
			 "--net=host", m_builder, m_recipe,   "--",	      "sh",		   LAYER_DIR "/layer",
			 LAYER_DIR "/recipe", NULL };
	cleanup_strv char **envp = layer_env(real);
	struct fs_build b = {
		.name = l->name,
		.builder = builder,
		.builder_name = "layer",
		.argv = argv,
		.store_dir = s->dir,
		.fsfd = s->fsfd,
		.lockfd = lockfd,
		.quiet = l->quiet,
		.verbose = l->verbose,
		.layer_base = l->base,
		.exec = "/proc/self/exe",
		.envp = envp,
		.cwd = cwd,
		.lock_name = work,
	};
	double secs = 0;
	int ret = fs_build_run(&b, &secs, err);
	if (ret == -2) {
		/* The reaper finishes alone, under its copy of the lock. */
		close(lockfd);
		return -1;
	}
	if (ret == 0 && (fstatat(s->fsfd, l->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)))
		ret = aj_fail(err, 0, "fs build: the jail on '%s' ended well, but no layer '%s' was committed", l->base,
			      l->name);
	store_remove_tree(tmpfd, work);
	if (ret < 0)
		sweep_layer_name(tmpfd, l->name);
	else {
		cleanup_free char *source = xasprintf("recipe %s", l->recipe_path);
		if (store_meta_set_source(s, l->name, source) < 0)
			fprintf(stderr, "ajail: warning: could not write the source of '%s': %s\n", l->name, strerror(errno));
	}
	unlinkat(tmpfd, worklock, 0);
	close(lockfd);
	if (ret < 0 || l->quiet)
		return ret;
	uint64_t entries, files, bytes;
	struct aj_err cerr = { 0 };
	if (layer_count(s->fsfd, l->name, &entries, &files, &bytes, &cerr) < 0) {
		fprintf(stderr, "ajail: built '%s', a layer on '%s', in %.1f s (%s)\n", l->name, l->base, secs, cerr.msg);
		return 0;
	}
	cleanup_free char *size = util_human_size(bytes);
	fprintf(stderr, "ajail: built '%s', a layer on '%s', in %.1f s: %llu entries (%llu files, %s)\n", l->name,
		l->base, secs, (unsigned long long)entries, (unsigned long long)files, size);
	return 0;
}
