/* harden.c — the layers that hold even if the mounts did not: see harden.h.
 *
 * Safety reasoning:
 *  - Everything here only ever takes away. rlimits are lowered, never raised (min with what the
 *    caller has); capabilities and securebits can only be dropped and locked; landlock and seccomp
 *    stack and cannot be removed by the process that installed them or its children.
 *  - Order matters. Securebits and the bounding set need CAP_SETPCAP, so they come before the
 *    capabilities are dropped. no_new_privs comes before landlock and seccomp, which require it of
 *    a process without CAP_SYS_ADMIN. Seccomp is last: the set-up itself uses calls it denies.
 *  - The deny list returns EPERM (a program sees "not permitted", as it would on a host that
 *    forbids the act), except clone3, whose flags seccomp cannot see: ENOSYS makes glibc fall back to
 *    clone, whose flags it can. A system call of another ABI (32-bit x86 on x86-64) kills the
 *    process: none of the numbers below would match it, so letting it through would bypass them. */
#include "harden.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* ---- seccomp ---- */

/* The compiled deny list (build/seccomp_bpf.h, from seccomp_list.h by gen_seccomp.c). */
#include "seccomp_bpf.h"

void harden_seccomp_filter(const struct plan_layers *l, struct sock_fprog *prog)
{
	if (l->allow_ptrace) {
		prog->filter = (struct sock_filter *)seccomp_deny_but_ptrace;
		prog->len = sizeof seccomp_deny_but_ptrace / sizeof seccomp_deny_but_ptrace[0];
	} else {
		prog->filter = (struct sock_filter *)seccomp_deny;
		prog->len = sizeof seccomp_deny / sizeof seccomp_deny[0];
	}
}

int harden_seccomp(const struct sock_fprog *prog, struct aj_err *err)
{
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0) {
		if (errno == EINVAL || errno == ENOSYS)
			return aj_fail(err, errno, "seccomp: this kernel lacks CONFIG_SECCOMP_FILTER; --no-seccomp runs without it");
		return aj_fail(err, errno, "seccomp: install the filter");
	}
	return 0;
}

/* ---- landlock (uapi definitions up to ABI 7, newer than Debian 12's headers) ---- */

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2 /* ABI 4 */

#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)    /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define LL_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

int harden_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	return abi > 0 ? (int)abi : 0;
}

static uint64_t ll_write_rights(int abi)
{
	uint64_t r = LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR |
		     LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM;
	/* REFER must be handled: a ruleset that leaves it out forbids every cross-directory rename. */
	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	return r;
}

/* The subset that applies to a file rather than a directory. */
static uint64_t ll_file_rights(int abi)
{
	return LL_FS_WRITE_FILE | (abi >= 3 ? LL_FS_TRUNCATE : 0);
}

/* Allow writes beneath fd (all of them for a directory, writing to it for a file or device). Kinds
 * landlock cannot hold (sockets, pipes, symlinks) are skipped. */
static int ll_allow(int ruleset, int fd, int abi, bool file_writes_only)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	struct ll_path_beneath_attr pb = { .parent_fd = fd };
	if (S_ISDIR(st.st_mode))
		pb.allowed_access = file_writes_only ? ll_file_rights(abi) : ll_write_rights(abi);
	else if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		pb.allowed_access = ll_file_rights(abi);
	else
		return 0;
	return (int)syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0);
}

static int ll_allow_path(int ruleset, int dirfd, const char *path, int abi, bool file_writes_only)
{
	cleanup_close int fd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* a mount point that is not there (optional, or covered) has nothing to allow */
	return ll_allow(ruleset, fd, abi, file_writes_only);
}

/* A ruleset that handles every kind of write (then allowed beneath chosen places only), TCP bind and
 * connect when no_tcp (ABI 4), and scopes abstract unix sockets and signals to the domain (ABI 6):
 * those are per network namespace, and with the host's network a jail would reach the host's (X11,
 * D-Bus, ssh agents). Returns the ruleset's fd, or -1 with err set. */
static int ll_ruleset(int abi, uint64_t tcp, struct aj_err *err)
{
	struct ll_ruleset_attr attr = { .handled_access_fs = ll_write_rights(abi) };
	size_t size = offsetof(struct ll_ruleset_attr, handled_access_net);
	if (abi >= 4) {
		attr.handled_access_net = tcp;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rs < 0)
		aj_fail(err, errno, "landlock: create the ruleset (ABI %d)", abi);
	return rs;
}

int harden_landlock(const struct plan_layers *l, struct aj_err *err)
{
	int abi = l->landlock_abi;
	uint64_t tcp = !l->landlock_net ? 0 : LL_NET_CONNECT_TCP | (l->ll_tcp_bind_handled ? LL_NET_BIND_TCP : 0);
	cleanup_close int rs = ll_ruleset(abi, tcp, err);
	if (rs < 0)
		return -1;
	/* The jail's own services (its network namespace holds nothing else): the proxy, forwards and
	 * published ports, see plan_layers. */
	for (size_t i = 0; tcp && i < l->n_ll_tcp_connect + l->n_ll_tcp_bind; i++) {
		bool bind = i >= l->n_ll_tcp_connect;
		struct ll_net_port_attr np = {
			.allowed_access = bind ? LL_NET_BIND_TCP : LL_NET_CONNECT_TCP,
			.port = bind ? l->ll_tcp_bind[i - l->n_ll_tcp_connect] : l->ll_tcp_connect[i],
		};
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &np, 0) < 0)
			return aj_fail(err, errno, "landlock: allow TCP %s to port %llu", bind ? "bind" : "connect",
				       (unsigned long long)np.port);
	}
	for (size_t i = 0; l->ll_write && l->ll_write[i]; i++)
		if (ll_allow_path(rs, AT_FDCWD, l->ll_write[i], abi, false) < 0)
			return aj_fail(err, errno, "landlock: allow writes beneath %s", l->ll_write[i]);
	cleanup_close int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = root >= 0 ? fdopendir(dup(root)) : NULL;
	if (!d)
		return aj_fail(err, errno, "landlock: read /");
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strv_contains(l->ll_root_skip, e->d_name))
			continue;
		if (ll_allow_path(rs, root, e->d_name, abi, false) < 0) {
			int saved = errno;
			closedir(d);
			return aj_fail(err, saved, "landlock: allow writes beneath /%s", e->d_name);
		}
	}
	closedir(d);
	/* Nothing in /proc or /sys is writable: a rule on /proc could not leave out /proc/sys, whose
	 * files check only the uid (a jail of the real root could set the host's core_pattern). The
	 * cost: writes to /proc/self/oom_score_adj or another thread's comm fail with EACCES. */
	/* The caller's stdout may be a host file: `echo x > /dev/stderr` reopens it by path. */
	for (int fd = 0; fd < 3; fd++)
		ll_allow(rs, fd, abi, true);
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return aj_fail(err, errno, "landlock: restrict the command");
	return 0;
}

static int confine(const int *dirs, size_t n, bool tcp, struct aj_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return aj_fail(err, errno, "no_new_privs");
	int abi = harden_landlock_abi();
	if (abi >= 2) {
		cleanup_close int rs = ll_ruleset(abi, tcp ? 0 : LL_NET_BIND_TCP | LL_NET_CONNECT_TCP, err);
		if (rs < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (dirs[i] >= 0 && ll_allow(rs, dirs[i], abi, false) < 0)
				return aj_fail(err, errno, "landlock: allow writes");
		if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
			return aj_fail(err, errno, "landlock: restrict the reader");
	}
	struct sock_fprog prog = { .filter = (struct sock_filter *)seccomp_deny,
				   .len = sizeof seccomp_deny / sizeof seccomp_deny[0] };
	if (access("/proc/sys/kernel/seccomp/actions_avail", R_OK) == 0 && harden_seccomp(&prog, err) < 0)
		return -1;
	return 0;
}

int harden_confine(const int *dirs, size_t n, struct aj_err *err)
{
	return confine(dirs, n, false, err);
}

int harden_confine_net(struct aj_err *err)
{
	if (confine(NULL, 0, true, err) < 0)
		return -1;
	int abi = harden_landlock_abi();
	if (abi < 2)
		return 0;
	/* Reads too, a second ruleset on top: the proxy parses what the jail sends, and should that
	 * ever run code in it, it must not be able to read the user's files and send them out. What
	 * stays readable is what name lookups read (/etc/hosts, resolv.conf and the NSS modules, and
	 * /run where resolv.conf often points), nothing beneath /home, /root or /tmp. No exec at all. */
	struct ll_ruleset_attr attr = { .handled_access_fs = ll_write_rights(abi) | LL_FS_EXECUTE | LL_FS_READ_FILE |
							     LL_FS_READ_DIR };
	cleanup_close int rs = (int)syscall(SYS_landlock_create_ruleset, &attr,
					   offsetof(struct ll_ruleset_attr, handled_access_net), 0);
	if (rs < 0)
		return aj_fail(err, errno, "landlock: create the proxy's read ruleset");
	static const char *const readable[] = { "/etc", "/usr", "/lib", "/lib32", "/lib64", "/run", "/var/run",
						"/var/lib/sss" };
	for (size_t i = 0; i < sizeof readable / sizeof readable[0]; i++) {
		cleanup_close int fd = open(readable[i], O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct ll_path_beneath_attr pb = { .parent_fd = fd, .allowed_access = LL_FS_READ_FILE | LL_FS_READ_DIR };
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
			return aj_fail(err, errno, "landlock: let the proxy read %s", readable[i]);
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return aj_fail(err, errno, "landlock: restrict the proxy");
	return 0;
}

/* ---- rlimits ---- */

int harden_rlimits(const struct plan_layers *l, struct aj_err *err)
{
	for (size_t i = 0; i < l->n_rl; i++) {
		struct rlimit cur;
		if (getrlimit(l->rl[i].resource, &cur) < 0)
			return aj_fail(err, errno, "getrlimit %s", l->rl[i].name);
		rlim_t want = (rlim_t)l->rl[i].value;
		struct rlimit next = { .rlim_max = cur.rlim_max < want ? cur.rlim_max : want };
		next.rlim_cur = cur.rlim_cur < next.rlim_max ? cur.rlim_cur : next.rlim_max;
		if (setrlimit(l->rl[i].resource, &next) < 0)
			return aj_fail(err, errno, "setrlimit %s", l->rl[i].name);
	}
	return 0;
}

/* ---- capabilities ---- */

static int capset_sets(uint64_t eff_perm, uint64_t inh)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	data[0].effective = data[0].permitted = (uint32_t)eff_perm;
	data[1].effective = data[1].permitted = (uint32_t)(eff_perm >> 32);
	data[0].inheritable = (uint32_t)inh;
	data[1].inheritable = (uint32_t)(inh >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int capget_permitted(uint64_t *perm)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	*perm = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
	return 0;
}

int harden_command(uint64_t keep, struct aj_err *err)
{
	uint64_t perm;
	if (capget_permitted(&perm) < 0)
		return aj_fail(err, errno, "read capabilities");
	/* Right after clone the command holds every capability of the jail's user namespace. Ambient
	 * capabilities need the inheritable set first, and are the only way --cap-add survives execve
	 * once SECBIT_NOROOT stops uid 0 from regaining the rest. */
	if (capset_sets(perm, keep & perm) < 0)
		return aj_fail(err, errno, "set inheritable capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return aj_fail(err, errno, "clear ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((keep & (UINT64_C(1) << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return aj_fail(err, errno, "keep capability %d", cap);
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			     SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return aj_fail(err, errno, "lock the securebits");
	/* The bounding set: dropping from it needs CAP_SETPCAP, which capset below removes. The running
	 * kernel may know more capabilities than we have names for: drop until it says EINVAL. */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;
		if (!(keep & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return aj_fail(err, errno, "drop capability %d from the bounding set", cap);
	}
	if (capset_sets(keep, keep) < 0)
		return aj_fail(err, errno, "set capabilities");
	/* No setuid/file-capability gain through execve inside the jail, ever. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return aj_fail(err, errno, "set no_new_privs");
	return 0;
}

int harden_init(struct aj_err *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return aj_fail(err, errno, "make init undumpable");
	if (capset_sets(0, 0) < 0)
		return aj_fail(err, errno, "drop init's capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return aj_fail(err, errno, "set no_new_privs");
	return 0;
}
