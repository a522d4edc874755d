/* probe — tries one forbidden thing and says whether the kernel let it happen.
 *
 *   probe NAME [ARGS...]   one line on stdout: "BLOCKED NAME: detail" (exit 0) or "ALLOWED NAME: detail"
 *                          (exit 1); "ERROR NAME: detail" on stderr (exit 2) when the probe could not
 *                          even be set up, or for a usage error
 *   probe list             the names, one a line
 *   probe seccomp-all      every syscall probe, one line each on stdout (ERROR lines too, so the list
 *                          is complete); exit 0 only if all were BLOCKED
 *
 * It runs inside jails on any rootfs, busybox's included, so it is static and depends on nothing but
 * the kernel. Every act uses arguments that make it harmless even when the kernel accepts it (a bad
 * reboot magic, a module name that does not exist, a mount on a fresh directory that is undone): the
 * point is only to learn whether a layer of the sandbox stopped it. For the syscall probes, EPERM,
 * EACCES and ENOSYS (what seccomp, missing capabilities and landlock return) count as BLOCKED; any
 * other error means the call got past every filter and failed on its arguments, so it is ALLOWED.
 * Each syscall probe runs in a child of its own, so that a seccomp kill (SIGSYS) is a result rather
 * than the end of the probe, and so that chroot, setns or personality never touch the caller. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/tiocl.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

enum verdict { V_BLOCKED = 0, V_ALLOWED = 1, V_ERROR = 2 };

struct result {
	enum verdict v;
	char detail[480];
};

#define ERRF	   "%s (%s)"
#define ERRA(e)	   errname(e), strerror(e)
#define CHILD_SECS 5
/* Syscall probes share the signature of those that take arguments. */
#define UNUSED __attribute__((unused))

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static enum verdict say(struct result *r, enum verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum verdict say(struct result *r, enum verdict v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->v = v;
	return v;
}

/* The verdict of a syscall probe from its return value and errno. */
static enum verdict by_errno(struct result *r, const char *what, long ret, int e)
{
	if (ret >= 0)
		return say(r, V_ALLOWED, "%s succeeded", what);
	if (e == EPERM || e == EACCES || e == ENOSYS)
		return say(r, V_BLOCKED, "%s: " ERRF, what, ERRA(e));
	return say(r, V_ALLOWED, "%s: " ERRF ": got past the filter", what, ERRA(e));
}

/* For a call in one expression: errno must be read after the call, which argument order does not
 * promise. */
#define TRY(r, what, call)                                                                                             \
	({                                                                                                             \
		long ret_ = (call);                                                                                    \
		by_errno((r), (what), ret_, errno);                                                                    \
	})

/* --- children the probe makes ------------------------------------------------------------------- */

/* Every process a probe starts is recorded here, so that the timeout can kill them all. */
static pid_t *kids;
static size_t nkids, kids_cap;
static const char *current_probe = "probe";

static void track(pid_t pid)
{
	if (nkids == kids_cap) {
		size_t cap = kids_cap ? kids_cap * 2 : 64;
		pid_t *k = realloc(kids, cap * sizeof(*k));
		if (!k) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, __WALL);
			return;
		}
		kids = k;
		kids_cap = cap;
	}
	kids[nkids++] = pid;
}

static void kill_kids(void)
{
	for (size_t i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (size_t i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, __WALL);
	nkids = 0;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
	for (size_t i = 0; i < nkids; i++)
		if (kids[i] == pid) {
			kids[i] = kids[--nkids];
			break;
		}
}

static void on_alarm(int sig)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "ERROR %s: timed out\n", current_probe);
	(void)sig;
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		n = 0;
	kill_kids();
	_exit(V_ERROR);
}

/* Dies with us even if we are killed: a probe must never leave processes behind in the jail. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
}

/* A child that only waits to be killed: a target for ptrace and process_vm_*. */
static volatile long target_word = 0x5eed;

static pid_t spawn_sleeper(void)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		die_with_parent(parent);
		for (;;)
			pause();
	}
	if (pid > 0)
		track(pid);
	return pid;
}

typedef enum verdict (*probe_fn)(struct result *r, char **argv);

/* Runs fn in a child and brings its result back through a pipe; a child killed by SIGSYS was
 * stopped by seccomp, any other death is a failure of the probe itself. */
static enum verdict in_child(struct result *r, probe_fn fn, char **argv)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return say(r, V_ERROR, "pipe: " ERRF, ERRA(errno));
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return say(r, V_ERROR, "fork: " ERRF, ERRA(e));
	}
	if (pid == 0) {
		close(p[0]);
		die_with_parent(parent);
		nkids = 0;
		/* Killed by the alarm rather than exiting from the handler: the parent reports it. */
		signal(SIGALRM, SIG_DFL);
		alarm(CHILD_SECS);
		struct result cr = {.v = V_ERROR};
		fn(&cr, argv);
		kill_kids();
		if (write(p[1], &cr, sizeof(cr)) != sizeof(cr))
			_exit(V_ERROR);
		_exit(cr.v);
	}
	track(pid);
	close(p[1]);
	struct result cr;
	ssize_t n;
	do
		n = read(p[0], &cr, sizeof(cr));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < nkids; i++)
		if (kids[i] == pid) {
			kids[i] = kids[--nkids];
			break;
		}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return say(r, V_BLOCKED, "killed by SIGSYS");
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		return say(r, V_ERROR, "timed out after %d s", CHILD_SECS);
	if (WIFSIGNALED(st))
		return say(r, V_ERROR, "killed by SIG%s", sigabbrev_np(WTERMSIG(st)) ?: "?");
	if (n != sizeof(cr))
		return say(r, V_ERROR, "the probe's child exited %d without a result", WEXITSTATUS(st));
	*r = cr;
	return r->v;
}

/* A fresh empty directory for acts that need a target; removed by the caller. */
static char tmpdir[256];

static const char *make_tmpdir(void)
{
	static const char *const bases[] = {"/tmp", "/var/tmp", "/dev/shm", "."};
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snprintf(tmpdir, sizeof(tmpdir), "%s/ajail-probe.XXXXXX", bases[i]);
		if (mkdtemp(tmpdir))
			return tmpdir;
	}
	return NULL;
}

/* --- syscall probes: each is harmless even when the kernel accepts it ----------------------------- */

static enum verdict p_kexec_load(struct result *r, char **argv UNUSED)
{
	/* An unknown flag and too many segments: EINVAL whenever the permission checks pass. */
	long ret = syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0x4000UL);
	return by_errno(r, "kexec_load", ret, errno);
}

static enum verdict p_kexec_file_load(struct result *r, char **argv UNUSED)
{
	long ret = syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 1UL << 20);
	return by_errno(r, "kexec_file_load", ret, errno);
}

static enum verdict p_init_module(struct result *r, char **argv UNUSED)
{
	/* A zero-length image is rejected (ENOEXEC) after the capability check. */
	long ret = syscall(SYS_init_module, NULL, 0UL, "");
	return by_errno(r, "init_module", ret, errno);
}

static enum verdict p_finit_module(struct result *r, char **argv UNUSED)
{
	long ret = syscall(SYS_finit_module, -1, "", 1 << 20);
	return by_errno(r, "finit_module", ret, errno);
}

static enum verdict p_delete_module(struct result *r, char **argv UNUSED)
{
	long ret = syscall(SYS_delete_module, "ajail_probe_no_such_module", O_NONBLOCK);
	return by_errno(r, "delete_module", ret, errno);
}

static enum verdict p_bpf(struct result *r, char **argv UNUSED)
{
	/* A one-entry array map: a real request, since the kernel looks at the map type before it
	 * checks unprivileged_bpf_disabled, so a bogus one would fail with EINVAL either way. */
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "bpf(BPF_MAP_CREATE, array)", fd, e);
}

static enum verdict p_perf_event_open(struct result *r, char **argv UNUSED)
{
	/* Our own task clock, user space only: what perf_event_paranoid=2 still grants anyone. */
	struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE, .size = sizeof(a)};
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0UL);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "perf_event_open(task clock)", fd, e);
}

static enum verdict p_userfaultfd(struct result *r, char **argv UNUSED)
{
	/* User-mode-only faults are allowed even with vm.unprivileged_userfaultfd=0. */
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "userfaultfd(UFFD_USER_MODE_ONLY)", fd, e);
}

static enum verdict p_keyctl(struct result *r, char **argv UNUSED)
{
	/* We have no thread keyring and do not ask for one: ENOKEY, nothing is created. */
	long ret = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0);
	return by_errno(r, "keyctl(KEYCTL_GET_KEYRING_ID)", ret, errno);
}

static enum verdict p_add_key(struct result *r, char **argv UNUSED)
{
	/* The process keyring dies with this process: nothing persists. */
	long ret = syscall(SYS_add_key, "user", "ajail-probe", "x", 1UL, KEY_SPEC_PROCESS_KEYRING);
	return by_errno(r, "add_key(user, process keyring)", ret, errno);
}

static enum verdict p_request_key(struct result *r, char **argv UNUSED)
{
	/* No callout string: the kernel never runs /sbin/request-key, it just finds no key. */
	long ret = syscall(SYS_request_key, "user", "ajail-probe-no-such-key", NULL, 0);
	return by_errno(r, "request_key", ret, errno);
}

static enum verdict p_ptrace(struct result *r, char **argv UNUSED)
{
	pid_t pid = spawn_sleeper();
	if (pid < 0)
		return say(r, V_ERROR, "fork: " ERRF, ERRA(errno));
	long ret = ptrace(PTRACE_SEIZE, pid, NULL, NULL);
	int e = errno;
	reap(pid);
	return by_errno(r, "ptrace(PTRACE_SEIZE) of our own child", ret, e);
}

static enum verdict vm_rw(struct result *r, bool write)
{
	pid_t pid = spawn_sleeper();
	if (pid < 0)
		return say(r, V_ERROR, "fork: " ERRF, ERRA(errno));
	long word = write ? 0xbad : 0;
	struct iovec local = {.iov_base = &word, .iov_len = sizeof(word)};
	struct iovec remote = {.iov_base = (void *)&target_word, .iov_len = sizeof(word)};
	ssize_t n =
	    write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) : process_vm_readv(pid, &local, 1, &remote, 1, 0);
	int e = errno;
	reap(pid);
	if (n == (ssize_t)sizeof(word))
		return say(r, V_ALLOWED, "%s the child's memory (%s 0x%lx)", write ? "wrote" : "read",
			   write ? "wrote" : "got", word);
	return by_errno(r, write ? "process_vm_writev" : "process_vm_readv", n < 0 ? -1 : 0, e);
}

static enum verdict p_process_vm_readv(struct result *r, char **argv UNUSED)
{
	return vm_rw(r, false);
}

static enum verdict p_process_vm_writev(struct result *r, char **argv UNUSED)
{
	return vm_rw(r, true);
}

static enum verdict p_io_uring_setup(struct result *r, char **argv UNUSED)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	long fd = syscall(SYS_io_uring_setup, 1, &p);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "io_uring_setup", fd, e);
}

static enum verdict p_mount(struct result *r, char **argv UNUSED)
{
	const char *dir = make_tmpdir();
	if (!dir)
		return say(r, V_ERROR, "no writable directory to mount on");
	long ret = mount("ajail-probe", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k");
	int e = errno;
	if (ret == 0)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	return by_errno(r, "mount(tmpfs)", ret, e);
}

static enum verdict p_umount2(struct result *r, char **argv UNUSED)
{
	/* A fresh directory is no mount point: EPERM without CAP_SYS_ADMIN, else EINVAL. */
	const char *dir = make_tmpdir();
	if (!dir)
		return say(r, V_ERROR, "no writable directory");
	long ret = umount2(dir, 0);
	int e = errno;
	rmdir(dir);
	return by_errno(r, "umount2", ret, e);
}

static enum verdict p_pivot_root(struct result *r, char **argv UNUSED)
{
	/* new_root is not a mount point: EINVAL once the capability check passes. */
	const char *dir = make_tmpdir();
	if (!dir)
		return say(r, V_ERROR, "no writable directory");
	long ret = syscall(SYS_pivot_root, dir, dir);
	int e = errno;
	rmdir(dir);
	return by_errno(r, "pivot_root", ret, e);
}

static enum verdict p_move_mount(struct result *r, char **argv UNUSED)
{
	long ret = syscall(SYS_move_mount, -1, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH);
	return by_errno(r, "move_mount(fd -1)", ret, errno);
}

static enum verdict p_fsopen(struct result *r, char **argv UNUSED)
{
	long fd = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "fsopen(tmpfs)", fd, e);
}

static enum verdict p_fsmount(struct result *r, char **argv UNUSED)
{
	long fd = syscall(SYS_fsmount, -1, FSMOUNT_CLOEXEC, 0);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "fsmount(fd -1)", fd, e);
}

static enum verdict p_open_tree(struct result *r, char **argv UNUSED)
{
	/* A detached copy of the mount; closing the fd dissolves it. */
	long fd = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	return by_errno(r, "open_tree(OPEN_TREE_CLONE)", fd, e);
}

static enum verdict p_unshare_userns(struct result *r, char **argv UNUSED)
{
	return TRY(r, "unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
}

static enum verdict p_unshare_mountns(struct result *r, char **argv UNUSED)
{
	return TRY(r, "unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
}

static enum verdict wait_clone(struct result *r, const char *what, long pid, int e)
{
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, __WALL);
	return by_errno(r, what, pid, e);
}

static enum verdict p_clone_userns(struct result *r, char **argv UNUSED)
{
	/* No CLONE_VM and no new stack: the child runs on a copy of ours, like fork, and exits at once. */
	fflush(NULL);
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0UL, NULL, NULL, 0UL);
	return wait_clone(r, "clone(CLONE_NEWUSER)", pid, errno);
}

/* struct clone_args, version 0 (64 bytes): spelt out rather than taken from <linux/sched.h>, whose
 * CLONE_* macros collide with glibc's. */
struct probe_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static enum verdict p_clone3(struct result *r, char **argv UNUSED)
{
	struct probe_clone_args a = {.exit_signal = SIGCHLD};
	fflush(NULL);
	long pid = syscall(SYS_clone3, &a, sizeof(a));
	return wait_clone(r, "clone3 (no namespace flags)", pid, errno);
}

static enum verdict p_setns(struct result *r, char **argv UNUSED)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return say(r, V_ERROR, "open /proc/self/ns/mnt: " ERRF, ERRA(errno));
	long ret = setns(fd, CLONE_NEWNS);
	int e = errno;
	close(fd);
	return by_errno(r, "setns(own mount namespace)", ret, e);
}

struct handle {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static void made_up_handle(struct handle *h, uint32_t ino)
{
	/* FILEID_INO32_GEN: what ext4 encodes, inode then generation. */
	h->fh.handle_type = 1;
	h->fh.handle_bytes = 8;
	uint32_t v[2] = {ino, 0};
	memcpy(h->fh.f_handle, v, sizeof(v));
}

static enum verdict p_name_to_handle_at(struct result *r, char **argv UNUSED)
{
	struct handle h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	int mount_id;
	long ret = name_to_handle_at(AT_FDCWD, "/", &h.fh, &mount_id, 0);
	return by_errno(r, "name_to_handle_at(/)", ret, errno);
}

static enum verdict p_open_by_handle_at(struct result *r, char **argv UNUSED)
{
	/* A real handle where some filesystem gives one (overlayfs, the usual root, does not), so that
	 * the kernel's own checks are what decide once seccomp and capabilities let the call through.
	 * O_DIRECTORY: without CAP_DAC_READ_SEARCH in the host's namespace, the kernel decodes only
	 * directories, for a caller privileged over the mount. */
	static const char *const dirs[] = {"/", "/tmp", "."};
	struct handle h;
	int mount_id, mfd = -1;
	const char *dir = NULL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !dir; i++) {
		memset(&h, 0, sizeof(h));
		h.fh.handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, dirs[i], &h.fh, &mount_id, 0) == 0)
			dir = dirs[i];
	}
	if (!dir)
		made_up_handle(&h, 2);
	mfd = open(dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return say(r, V_ERROR, "open %s: " ERRF, dir ? dir : "/", ERRA(errno));
	long fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	close(mfd);
	if (fd >= 0)
		close((int)fd);
	char what[64];
	snprintf(what, sizeof(what), "open_by_handle_at(%s%s)", dir ? "handle of " : "made-up handle", dir ? dir : "");
	return by_errno(r, what, fd, e);
}

static enum verdict p_swapon(struct result *r, char **argv UNUSED)
{
	return TRY(r, "swapon(/nonexistent)", swapon("/nonexistent-ajail-probe", 0));
}

static enum verdict p_swapoff(struct result *r, char **argv UNUSED)
{
	return TRY(r, "swapoff(/nonexistent)", swapoff("/nonexistent-ajail-probe"));
}

static enum verdict p_reboot(struct result *r, char **argv UNUSED)
{
	/* Wrong magic numbers: EINVAL right after the capability check, so it can never reboot. */
	long ret = syscall(SYS_reboot, 0x12345678, 0x12345678, 0, NULL);
	return by_errno(r, "reboot(bad magic)", ret, errno);
}

static enum verdict p_acct(struct result *r, char **argv UNUSED)
{
	/* A file that does not exist rather than NULL, which would switch the host's accounting off. */
	return TRY(r, "acct(/nonexistent)", acct("/nonexistent-ajail-probe"));
}

static enum verdict p_quotactl(struct result *r, char **argv UNUSED)
{
	struct dqinfo info;
	long ret = syscall(SYS_quotactl, QCMD(Q_GETINFO, USRQUOTA), "/", 0, &info);
	return by_errno(r, "quotactl(Q_GETINFO, /)", ret, errno);
}

static enum verdict p_syslog(struct result *r, char **argv UNUSED)
{
	long ret = syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	return by_errno(r, "syslog(SIZE_BUFFER)", ret, errno);
}

/* Socket families and netlink protocols a jail never needs: seccomp answers EAFNOSUPPORT or
 * EPROTONOSUPPORT, what a kernel without them says. (Whether this kernel has them at all is asked
 * outside any jail by the test.) */
static enum verdict socket_probe(struct result *r, const char *what, int family, int type, int proto)
{
	int fd = socket(family, type | SOCK_CLOEXEC, proto);
	if (fd >= 0) {
		close(fd);
		return say(r, V_ALLOWED, "%s: opened", what);
	}
	int e = errno;
	if (e == EAFNOSUPPORT || e == EPROTONOSUPPORT || e == EPERM || e == EACCES)
		return say(r, V_BLOCKED, "%s: " ERRF, what, ERRA(e));
	return say(r, V_ALLOWED, "%s: got past every filter (" ERRF ")", what, ERRA(e));
}

static enum verdict p_netlink_diag(struct result *r, char **argv UNUSED)
{
	/* sock_diag lists every socket of the network namespace: the host's, with its network. */
	return socket_probe(r, "socket(AF_NETLINK, NETLINK_SOCK_DIAG)", AF_NETLINK, SOCK_RAW, 4);
}

static enum verdict p_netlink_uevent(struct result *r, char **argv UNUSED)
{
	return socket_probe(r, "socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)", AF_NETLINK, SOCK_RAW, 15);
}

static enum verdict p_socket_vsock(struct result *r, char **argv UNUSED)
{
	return socket_probe(r, "socket(AF_VSOCK)", 40, SOCK_STREAM, 0);
}

/* A pty pair of our own; the slave through TIOCGPTPEER, which needs no /dev/pts path. */
static int open_pty(int *master, int *slave, struct result *r)
{
	*master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return say(r, V_ERROR, "open /dev/ptmx: " ERRF, ERRA(errno)), -1;
	int unlock = 0;
	if (ioctl(*master, TIOCSPTLCK, &unlock) < 0)
		return say(r, V_ERROR, "unlock the pty: " ERRF, ERRA(errno)), -1;
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return say(r, V_ERROR, "open the pty's slave: " ERRF, ERRA(errno)), -1;
	return 0;
}

static enum verdict p_tiocsti(struct result *r, char **argv UNUSED)
{
	/* Injection into our own controlling terminal, the one case the kernel permits without
	 * CAP_SYS_ADMIN: only seccomp (or legacy_tiocsti=0) can stop it. */
	int m, s;
	if (setsid() < 0)
		return say(r, V_ERROR, "setsid: " ERRF, ERRA(errno));
	if (open_pty(&m, &s, r) < 0)
		return r->v;
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		return say(r, V_ERROR, "TIOCSCTTY: " ERRF, ERRA(errno));
	if (ioctl(s, TIOCSTI, "x") == 0)
		return say(r, V_ALLOWED, "TIOCSTI injected a character into our controlling terminal");
	return say(r, V_BLOCKED, "TIOCSTI: " ERRF, ERRA(errno));
}

static enum verdict p_tioclinux(struct result *r, char **argv UNUSED)
{
	/* A pty is no virtual console: ENOTTY or EINVAL once the ioctl is let through. */
	int m, s;
	if (open_pty(&m, &s, r) < 0)
		return r->v;
	char sub = TIOCL_GETSHIFTSTATE;
	return TRY(r, "ioctl(TIOCLINUX, GETSHIFTSTATE) on a pty", ioctl(s, TIOCLINUX, &sub));
}

static enum verdict p_personality(struct result *r, char **argv UNUSED)
{
	int old = personality(0xffffffff);
	int ret = personality(PER_LINUX32);
	int e = errno;
	if (ret != -1)
		personality(old == -1 ? 0 : (unsigned long)old);
	return by_errno(r, "personality(PER_LINUX32)", ret == -1 ? -1 : 0, e);
}

static enum verdict p_x86_32_abi(struct result *r, char **argv UNUSED)
{
#if defined(__x86_64__)
	/* getpid (20 in the i386 table) through int $0x80: in a grandchild, because a kernel without
	 * IA32 emulation answers with SIGSEGV, which is not a seccomp kill. */
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return say(r, V_ERROR, "fork: " ERRF, ERRA(errno));
	if (pid == 0) {
		die_with_parent(parent);
		long ret;
		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "cc", "r8", "r9", "r10", "r11");
		if (ret == getpid())
			_exit(0);
		_exit(ret < 0 && ret > -256 ? (int)-ret : 255);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return say(r, V_BLOCKED, "int $0x80: killed by SIGSYS");
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		return say(r, V_BLOCKED, "int $0x80: SIGSEGV, the kernel has no IA32 emulation");
	if (WIFSIGNALED(st))
		return say(r, V_ERROR, "int $0x80: killed by SIG%s", sigabbrev_np(WTERMSIG(st)) ?: "?");
	if (WEXITSTATUS(st) == 0)
		return say(r, V_ALLOWED, "int $0x80 getpid returned our pid");
	if (WEXITSTATUS(st) == 255)
		return say(r, V_ERROR, "int $0x80 getpid returned something else");
	return by_errno(r, "int $0x80 getpid", -1, WEXITSTATUS(st));
#else
	return say(r, V_BLOCKED, "not x86-64");
#endif
}

static enum verdict p_chroot(struct result *r, char **argv UNUSED)
{
	return TRY(r, "chroot(/tmp)", chroot("/tmp"));
}

/* --- filesystem and process probes ----------------------------------------------------------------- */

/* Reads a whole file; prints only the byte count, never the content (it may be a secret). */
static enum verdict read_file(struct result *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return say(r, V_BLOCKED, "open %s: " ERRF, path, ERRA(errno));
	char buf[65536];
	ssize_t n, total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && total < (1 << 24))
		total += n;
	int e = errno;
	close(fd);
	if (n < 0 && total == 0)
		return say(r, V_BLOCKED, "read %s: " ERRF, path, ERRA(e));
	if (total == 0)
		return say(r, V_BLOCKED, "%s reads as empty", path);
	return say(r, V_ALLOWED, "read %zd bytes of %s", total, path);
}

static enum verdict p_read(struct result *r, char **argv)
{
	return read_file(r, argv[0]);
}

static enum verdict p_write(struct result *r, char **argv)
{
	const char *path = argv[0];
	struct stat st;
	bool existed = lstat(path, &st) == 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return say(r, V_BLOCKED, "open %s for writing: " ERRF, path, ERRA(errno));
	if (existed) {
		/* Opening it for writing is the proof; its content is left as it was. */
		close(fd);
		return say(r, V_ALLOWED, "opened the existing %s for writing (left unchanged)", path);
	}
	ssize_t n = write(fd, "probe\n", 6);
	int e = errno;
	close(fd);
	unlink(path);
	if (n != 6)
		return say(r, V_BLOCKED, "created %s but write failed: " ERRF, path, ERRA(e));
	return say(r, V_ALLOWED, "created and wrote %s (removed again)", path);
}

static enum verdict p_mkdir(struct result *r, char **argv)
{
	if (mkdir(argv[0], 0700) < 0)
		return say(r, V_BLOCKED, "mkdir %s: " ERRF, argv[0], ERRA(errno));
	rmdir(argv[0]);
	return say(r, V_ALLOWED, "made %s (removed again)", argv[0]);
}

static enum verdict p_proc_root(struct result *r, char **argv)
{
	char path[4096];
	snprintf(path, sizeof(path), "/proc/1/root/%s", argv[0][0] == '/' ? argv[0] + 1 : argv[0]);
	return read_file(r, path);
}

static enum verdict p_proc_cwd(struct result *r, char **argv)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/cwd", argv[0]);
	DIR *d = opendir(path);
	if (!d)
		return say(r, V_BLOCKED, "opendir %s: " ERRF, path, ERRA(errno));
	int n = 0;
	errno = 0;
	while (readdir(d))
		n++;
	int e = errno;
	closedir(d);
	if (e)
		return say(r, V_BLOCKED, "readdir %s: " ERRF, path, ERRA(e));
	return say(r, V_ALLOWED, "listed %s: %d entries", path, n);
}

static enum verdict chroot_escape(struct result *r, char **argv)
{
	/* The classic: chroot into a subdirectory while the cwd stays outside it, climb with "..",
	 * and chroot to where the climb ended. Only the mount namespace's root should stop it. */
	if (chroot(tmpdir) < 0)
		return say(r, V_BLOCKED, "chroot: " ERRF, ERRA(errno));
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			return say(r, V_BLOCKED, "chroot worked; chdir ..: " ERRF, ERRA(errno));
	if (chroot(".") < 0)
		return say(r, V_BLOCKED, "chroot worked, climbed; chroot .: " ERRF, ERRA(errno));
	struct result rr;
	if (read_file(&rr, argv[0]) == V_ALLOWED)
		return say(r, V_ALLOWED, "escaped: %s", rr.detail);
	return say(r, V_BLOCKED, "chroot worked, climbed, but %s is not readable: %s", argv[0], rr.detail);
}

static enum verdict p_chroot_escape(struct result *r, char **argv)
{
	if (!make_tmpdir())
		return say(r, V_ERROR, "no writable directory");
	char dir[sizeof(tmpdir)];
	memcpy(dir, tmpdir, sizeof(dir));
	enum verdict v = in_child(r, chroot_escape, argv);
	rmdir(dir);
	return v;
}

static enum verdict p_handle_escape(struct result *r, char **argv)
{
	/* "Shocker": with an fd anywhere on a filesystem, ask for its root inode (2 on ext4) by a
	 * forged handle. A bind mount of one directory must not give the whole filesystem away. */
	int mfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return say(r, V_ERROR, "open %s: " ERRF, argv[0], ERRA(errno));
	struct handle h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	int mount_id;
	if (name_to_handle_at(mfd, "", &h.fh, &mount_id, AT_EMPTY_PATH) == 0 && h.fh.handle_bytes >= 8) {
		uint32_t v[2] = {2, 0};
		memcpy(h.fh.f_handle, v, sizeof(v));
	} else {
		made_up_handle(&h, 2);
	}
	int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	close(mfd);
	if (fd < 0)
		return say(r, V_BLOCKED, "open_by_handle_at(inode 2, type %d): " ERRF, h.fh.handle_type, ERRA(e));
	DIR *d = fdopendir(fd);
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	else
		close(fd);
	return say(r, V_ALLOWED, "opened inode 2 of the filesystem of %s by handle: %d entries", argv[0], n);
}

static bool parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0 || v > 0x3fffffff)
		return false;
	*pid = (pid_t)v;
	return true;
}

static enum verdict p_signal(struct result *r, char **argv)
{
	pid_t pid;
	if (!parse_pid(argv[0], &pid))
		return say(r, V_ERROR, "not a pid: %s", argv[0]);
	if (kill(pid, 0) < 0)
		return say(r, V_BLOCKED, "kill(%d, 0): " ERRF, pid, ERRA(errno));
	return say(r, V_ALLOWED, "kill(%d, 0) succeeded", pid);
}

static enum verdict p_ptrace_pid(struct result *r, char **argv)
{
	pid_t pid;
	if (!parse_pid(argv[0], &pid))
		return say(r, V_ERROR, "not a pid: %s", argv[0]);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
		return say(r, V_BLOCKED, "ptrace(PTRACE_SEIZE, %d): " ERRF, pid, ERRA(errno));
	/* Detaching needs the tracee stopped: interrupt, wait for the stop, then let go. */
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) == 0 && waitpid(pid, NULL, __WALL) >= 0)
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return say(r, V_ALLOWED, "ptrace(PTRACE_SEIZE, %d) succeeded (detached)", pid);
}

static int parse_addr(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	char *end;
	long p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* connect with a timeout; 0 or -errno. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int ms)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int n = poll(&pfd, 1, ms);
		if (n == 0)
			return -ETIMEDOUT;
		int e = 0;
		socklen_t el = sizeof(e);
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			return -errno;
		if (e)
			return -e;
	}
	fcntl(fd, F_SETFL, fl);
	return 0;
}

static enum verdict p_tcp(struct result *r, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(argv[0], argv[1], &ss, &len) < 0)
		return say(r, V_ERROR, "not a numeric address and port: %s %s", argv[0], argv[1]);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return say(r, V_BLOCKED, "socket: " ERRF, ERRA(errno));
	int e = connect_timeout(fd, (struct sockaddr *)&ss, len, CHILD_SECS * 1000);
	if (e < 0) {
		close(fd);
		return say(r, V_BLOCKED, "connect %s:%s: " ERRF, argv[0], argv[1], ERRA(-e));
	}
	/* Something for the listener on the host to see. */
	ssize_t n = send(fd, "probe tcp\n", 10, MSG_NOSIGNAL);
	close(fd);
	return say(r, V_ALLOWED, "connected to %s:%s, sent %zd bytes", argv[0], argv[1], n);
}

static enum verdict p_udp(struct result *r, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool want_reply = argv[2] != NULL;
	if (want_reply && strcmp(argv[2], "expect-reply") != 0)
		return say(r, V_ERROR, "third argument must be expect-reply, not %s", argv[2]);
	if (parse_addr(argv[0], argv[1], &ss, &len) < 0)
		return say(r, V_ERROR, "not a numeric address and port: %s %s", argv[0], argv[1]);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return say(r, V_BLOCKED, "socket: " ERRF, ERRA(errno));
	ssize_t n = sendto(fd, "probe", 5, 0, (struct sockaddr *)&ss, len);
	if (n < 0) {
		int e = errno;
		close(fd);
		return say(r, V_BLOCKED, "sendto %s:%s: " ERRF, argv[0], argv[1], ERRA(e));
	}
	if (!want_reply) {
		close(fd);
		return say(r, V_ALLOWED, "sent %zd bytes to %s:%s (whether they arrived is for the receiver to say)", n,
			   argv[0], argv[1]);
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[64];
	ssize_t got = poll(&pfd, 1, 3000) == 1 ? recv(fd, buf, sizeof(buf), MSG_DONTWAIT) : -1;
	int e = errno;
	close(fd);
	if (got < 0 && e == ECONNREFUSED)
		return say(r, V_BLOCKED, "sent %zd bytes to %s:%s, no reply: ECONNREFUSED", n, argv[0], argv[1]);
	if (got < 0)
		return say(r, V_BLOCKED, "sent %zd bytes to %s:%s, no reply within 3 s", n, argv[0], argv[1]);
	return say(r, V_ALLOWED, "sent %zd bytes to %s:%s, got a %zd-byte reply", n, argv[0], argv[1], got);
}

static enum verdict p_tcp_bind(struct result *r, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("127.0.0.1", argv[0], &ss, &len) < 0)
		return say(r, V_ERROR, "not a port: %s", argv[0]);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return say(r, V_BLOCKED, "socket: " ERRF, ERRA(errno));
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 1) < 0) {
		int e = errno;
		close(l);
		return say(r, V_BLOCKED, "bind/listen 127.0.0.1:%s: " ERRF, argv[0], ERRA(e));
	}
	/* Port 0 asks for any port: connect to the one we got. */
	len = sizeof(ss);
	getsockname(l, (struct sockaddr *)&ss, &len);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int e = c < 0 ? -errno : connect_timeout(c, (struct sockaddr *)&ss, len, CHILD_SECS * 1000);
	if (c >= 0)
		close(c);
	close(l);
	if (e < 0)
		return say(r, V_BLOCKED, "listening on 127.0.0.1:%s, but connect: " ERRF, argv[0], ERRA(-e));
	return say(r, V_ALLOWED, "listened on 127.0.0.1:%d and connected to it",
		   ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static enum verdict unix_connect(struct result *r, const char *name, bool abstract)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(name), off = abstract ? 1 : 0;
	if (n + off >= sizeof(sun.sun_path))
		return say(r, V_ERROR, "name too long: %s", name);
	memcpy(sun.sun_path + off, name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + off + n + (abstract ? 0 : 1));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return say(r, V_BLOCKED, "socket: " ERRF, ERRA(errno));
	int e = connect_timeout(fd, (struct sockaddr *)&sun, len, CHILD_SECS * 1000);
	close(fd);
	if (e < 0)
		return say(r, V_BLOCKED, "connect %s%s: " ERRF, abstract ? "@" : "", name, ERRA(-e));
	return say(r, V_ALLOWED, "connected to %s%s", abstract ? "@" : "", name);
}

static enum verdict p_unix(struct result *r, char **argv)
{
	return unix_connect(r, argv[0], false);
}

static enum verdict p_abstract(struct result *r, char **argv)
{
	return unix_connect(r, argv[0], true);
}

static enum verdict p_forkbomb(struct result *r, char **argv)
{
	char *end;
	long want = strtol(argv[0], &end, 10);
	if (*argv[0] == '\0' || *end != '\0' || want <= 0 || want > 100000)
		return say(r, V_ERROR, "not a count: %s", argv[0]);
	pid_t parent = getpid();
	long made = 0;
	int e = 0;
	fflush(NULL);
	while (made < want) {
		pid_t pid = fork();
		if (pid < 0) {
			e = errno;
			break;
		}
		if (pid == 0) {
			die_with_parent(parent);
			for (;;)
				pause();
		}
		track(pid);
		made++;
	}
	kill_kids();
	if (made < want)
		return say(r, V_BLOCKED, "fork failed after %ld children: " ERRF, made, ERRA(e));
	return say(r, V_ALLOWED, "made all %ld children (killed again)", made);
}

/* Touch MIB mebibytes, one at a time, in a child (the OOM killer takes the child, not the probe);
 * a shared page says how far it got. Killed or refused before the end: BLOCKED. */
static enum verdict p_memhog(struct result *r, char **argv)
{
	char *end;
	long want = strtol(argv[0], &end, 10);
	if (*argv[0] == '\0' || *end != '\0' || want <= 0 || want > 1 << 20)
		return say(r, V_ERROR, "not a size in MiB: %s", argv[0]);
	volatile long *done = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (done == MAP_FAILED)
		return say(r, V_ERROR, "mmap: " ERRF, ERRA(errno));
	*done = 0;
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return say(r, V_ERROR, "fork: " ERRF, ERRA(errno));
	if (pid == 0) {
		die_with_parent(parent);
		for (long i = 0; i < want; i++) {
			char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				_exit(3);
			memset(m, 0x5a, 1 << 20);
			*done = i + 1;
		}
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	long got = *done;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return say(r, V_ALLOWED, "touched all %ld MiB", got);
	if (WIFSIGNALED(st))
		return say(r, V_BLOCKED, "killed by SIG%s after %ld of %ld MiB", sigabbrev_np(WTERMSIG(st)) ?: "?", got, want);
	return say(r, V_BLOCKED, "mmap refused after %ld of %ld MiB", got, want);
}

static enum verdict p_write_proc(struct result *r, char **argv)
{
	const char *path = argv[0];
	/* Read first so that what we write is what was there: writing a sysctl's own value back
	 * proves write access and changes nothing. */
	char old[4096];
	ssize_t n = -1;
	int rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd >= 0) {
		n = read(rfd, old, sizeof(old));
		close(rfd);
	}
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return say(r, V_BLOCKED, "open %s for writing: " ERRF, path, ERRA(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A mask is /dev/null or the like: writes vanish. */
		close(fd);
		return say(r, V_BLOCKED, "%s is masked (not a regular file, mode 0%o)", path, st.st_mode);
	}
	/* Unreadable (sysrq-trigger): an empty write still goes through the file's write handler
	 * checks without triggering anything. */
	ssize_t w = write(fd, old, n > 0 ? (size_t)n : 0);
	int e = errno;
	close(fd);
	if (w < 0)
		return say(r, V_BLOCKED, "write %s: " ERRF, path, ERRA(e));
	return say(r, V_ALLOWED, "opened %s for writing and wrote %zd bytes (its own value)", path, w);
}

/* --- the table -------------------------------------------------------------------------------------- */

struct probe {
	const char *name;
	probe_fn fn;
	int min_args, max_args;
	const char *usage;
	bool syscall; /* part of seccomp-all, run in a child */
};

#define SYSCALL_PROBE(n)                                                                                               \
	{                                                                                                              \
#n, p_##n, 0, 0, "", true                                                                              \
	}

static const struct probe probes[] = {
    SYSCALL_PROBE(kexec_load),
    SYSCALL_PROBE(kexec_file_load),
    SYSCALL_PROBE(init_module),
    SYSCALL_PROBE(finit_module),
    SYSCALL_PROBE(delete_module),
    SYSCALL_PROBE(bpf),
    SYSCALL_PROBE(perf_event_open),
    SYSCALL_PROBE(userfaultfd),
    SYSCALL_PROBE(keyctl),
    SYSCALL_PROBE(add_key),
    SYSCALL_PROBE(request_key),
    SYSCALL_PROBE(ptrace),
    SYSCALL_PROBE(process_vm_readv),
    SYSCALL_PROBE(process_vm_writev),
    SYSCALL_PROBE(io_uring_setup),
    SYSCALL_PROBE(mount),
    SYSCALL_PROBE(umount2),
    SYSCALL_PROBE(pivot_root),
    SYSCALL_PROBE(move_mount),
    SYSCALL_PROBE(fsopen),
    SYSCALL_PROBE(fsmount),
    SYSCALL_PROBE(open_tree),
    SYSCALL_PROBE(unshare_userns),
    SYSCALL_PROBE(unshare_mountns),
    SYSCALL_PROBE(clone_userns),
    SYSCALL_PROBE(clone3),
    SYSCALL_PROBE(setns),
    SYSCALL_PROBE(open_by_handle_at),
    SYSCALL_PROBE(name_to_handle_at),
    SYSCALL_PROBE(swapon),
    SYSCALL_PROBE(swapoff),
    SYSCALL_PROBE(reboot),
    SYSCALL_PROBE(acct),
    SYSCALL_PROBE(quotactl),
    SYSCALL_PROBE(syslog),
    SYSCALL_PROBE(tiocsti),
    SYSCALL_PROBE(tioclinux),
    SYSCALL_PROBE(personality),
    SYSCALL_PROBE(x86_32_abi),
    SYSCALL_PROBE(chroot),
    SYSCALL_PROBE(netlink_diag),
    SYSCALL_PROBE(netlink_uevent),
    SYSCALL_PROBE(socket_vsock),
    {"read", p_read, 1, 1, "PATH", false},
    {"write", p_write, 1, 1, "PATH", false},
    {"mkdir", p_mkdir, 1, 1, "PATH", false},
    {"proc_root", p_proc_root, 1, 1, "PATH", false},
    {"proc_cwd", p_proc_cwd, 1, 1, "PID", false},
    {"chroot_escape", p_chroot_escape, 1, 1, "MARKER", false},
    {"handle_escape", p_handle_escape, 1, 1, "DIR", false},
    {"signal", p_signal, 1, 1, "PID", false},
    {"ptrace_pid", p_ptrace_pid, 1, 1, "PID", false},
    {"tcp", p_tcp, 2, 2, "HOST PORT", false},
    {"udp", p_udp, 2, 3, "HOST PORT [expect-reply]", false},
    {"tcp_bind", p_tcp_bind, 1, 1, "PORT", false},
    {"unix", p_unix, 1, 1, "PATH", false},
    {"abstract", p_abstract, 1, 1, "NAME", false},
    {"forkbomb", p_forkbomb, 1, 1, "N", false},
    {"memhog", p_memhog, 1, 1, "MIB", false},
    {"write_proc", p_write_proc, 1, 1, "PATH", false},
};

#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static void report(const char *name, const struct result *r)
{
	static const char *const words[] = {"BLOCKED", "ALLOWED", "ERROR"};
	FILE *f = r->v == V_ERROR ? stderr : stdout;
	fprintf(f, "%s %s: %s\n", words[r->v], name, r->detail);
	fflush(f);
}

static int usage(void)
{
	fputs("usage: probe NAME [ARGS...] | probe list | probe seccomp-all\n", stderr);
	for (size_t i = 0; i < NPROBES; i++)
		if (!probes[i].syscall)
			fprintf(stderr, "       probe %s %s\n", probes[i].name, probes[i].usage);
	return V_ERROR;
}

static enum verdict run(const struct probe *p, char **argv, struct result *r)
{
	current_probe = p->name;
	if (p->syscall)
		return in_child(r, p->fn, argv);
	return p->fn(r, argv);
}

int main(int argc, char **argv)
{
	signal(SIGALRM, on_alarm);
	/* A SIGCHLD ignored by whoever started us would make waitpid lose our children. */
	signal(SIGCHLD, SIG_DFL);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < NPROBES; i++)
			puts(probes[i].name);
		return 0;
	}
	if (strcmp(argv[1], "seccomp-all") == 0) {
		int worst = V_BLOCKED;
		alarm(NPROBES * (CHILD_SECS + 1));
		for (size_t i = 0; i < NPROBES; i++) {
			if (!probes[i].syscall)
				continue;
			struct result r = {.v = V_ERROR};
			run(&probes[i], argv + 2, &r);
			/* One line per probe on stdout here, errors included, so the list stays complete. */
			static const char *const words[] = {"BLOCKED", "ALLOWED", "ERROR"};
			printf("%s %s: %s\n", words[r.v], probes[i].name, r.detail);
			fflush(stdout);
			if ((int)r.v > worst)
				worst = r.v;
		}
		return worst;
	}
	for (size_t i = 0; i < NPROBES; i++) {
		const struct probe *p = &probes[i];
		if (strcmp(argv[1], p->name) != 0)
			continue;
		int nargs = argc - 2;
		if (nargs < p->min_args || nargs > p->max_args) {
			fprintf(stderr, "ERROR %s: usage: probe %s %s\n", p->name, p->name, p->usage);
			return V_ERROR;
		}
		struct result r = {.v = V_ERROR};
		alarm(20);
		run(p, argv + 2, &r);
		alarm(0);
		kill_kids();
		report(p->name, &r);
		return r.v;
	}
	fprintf(stderr, "ERROR %s: no such probe (probe list names them)\n", argv[1]);
	return V_ERROR;
}
