/* seccomp_list.h — the deny list: what an agent never needs, and what has been used to escape a
 * sandbox or attack the kernel. One entry per system call, with the reason. Compiled to BPF at build
 * time by gen_seccomp.c (with libseccomp), so no jail pays for compiling it. */
#ifndef AJAIL_SECCOMP_LIST_H
#define AJAIL_SECCOMP_LIST_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>

enum sc_args {
	SC_ANY,         /* every call */
	SC_NS_FLAGS,    /* clone/unshare: only with a namespace flag in arg 0 */
	SC_TTY_INJECT,  /* ioctl: only TIOCSTI and TIOCLINUX */
	SC_PERSONALITY, /* personality: anything but PER_LINUX (0) and the query (0xffffffff) */
	SC_SOCKET_FAMILY, /* socket/socketpair: a family other than those in allowed_families */
	SC_NETLINK_PROTO, /* socket: AF_NETLINK with a protocol other than NETLINK_ROUTE */
};

struct deny {
	const char *name;
	int nr_x86_64;  /* when libseccomp is older than the call: its x86-64 number, else -1 */
	enum sc_args args;
	bool ptrace;    /* let through by --allow-ptrace */
	int err;
	const char *why;
};

static const struct deny deny_list[] = {
	{ "kexec_load", -1, SC_ANY, false, EPERM, "replaces the running kernel" },
	{ "kexec_file_load", -1, SC_ANY, false, EPERM, "replaces the running kernel" },
	{ "init_module", -1, SC_ANY, false, EPERM, "loads code into the kernel" },
	{ "finit_module", -1, SC_ANY, false, EPERM, "loads code into the kernel" },
	{ "delete_module", -1, SC_ANY, false, EPERM, "unloads kernel code" },
	{ "bpf", -1, SC_ANY, false, EPERM, "the verifier and JIT are a large kernel attack surface" },
	{ "perf_event_open", -1, SC_ANY, false, EPERM, "kernel attack surface and side channels" },
	{ "userfaultfd", -1, SC_ANY, false, EPERM, "stalls kernel page faults: the classic race-widening exploit tool" },
	{ "keyctl", -1, SC_ANY, false, EPERM, "kernel keyrings are not namespaced: they reach the user's keys" },
	{ "add_key", -1, SC_ANY, false, EPERM, "kernel keyrings are not namespaced" },
	{ "request_key", -1, SC_ANY, false, EPERM, "kernel keyrings are not namespaced; may call out to the host" },
	{ "ptrace", -1, SC_ANY, true, EPERM, "reads and rewrites other processes (--allow-ptrace for debuggers)" },
	{ "process_vm_readv", -1, SC_ANY, true, EPERM, "reads other processes' memory (--allow-ptrace)" },
	{ "process_vm_writev", -1, SC_ANY, true, EPERM, "writes other processes' memory (--allow-ptrace)" },
	{ "io_uring_setup", -1, SC_ANY, false, EPERM, "bypasses seccomp for the calls it queues; many kernel bugs" },
	{ "io_uring_enter", -1, SC_ANY, false, EPERM, "see io_uring_setup" },
	{ "io_uring_register", -1, SC_ANY, false, EPERM, "see io_uring_setup" },
	{ "mount", -1, SC_ANY, false, EPERM, "the jail's mounts are final once it runs" },
	{ "umount2", -1, SC_ANY, false, EPERM, "unmounting a mask would reveal what it hides" },
	{ "pivot_root", -1, SC_ANY, false, EPERM, "the jail's root is final" },
	{ "move_mount", -1, SC_ANY, false, EPERM, "the jail's mounts are final" },
	{ "open_tree", -1, SC_ANY, false, EPERM, "the jail's mounts are final" },
	{ "open_tree_attr", 467, SC_ANY, false, EPERM, "the jail's mounts are final" },
	{ "fsopen", -1, SC_ANY, false, EPERM, "new filesystems: kernel attack surface" },
	{ "fsconfig", -1, SC_ANY, false, EPERM, "see fsopen" },
	{ "fsmount", -1, SC_ANY, false, EPERM, "see fsopen" },
	{ "fspick", -1, SC_ANY, false, EPERM, "reconfigures a mounted filesystem" },
	{ "mount_setattr", -1, SC_ANY, false, EPERM, "would make a read-only mount writable" },
	{ "unshare", -1, SC_NS_FLAGS, false, EPERM, "nested namespaces give capabilities over new kernel objects" },
	{ "clone", -1, SC_NS_FLAGS, false, EPERM, "nested namespaces (as unshare)" },
	{ "clone3", -1, SC_ANY, false, ENOSYS, "its flags are in memory seccomp cannot read; glibc falls back to clone" },
	{ "setns", -1, SC_ANY, false, EPERM, "entering another namespace" },
	{ "open_by_handle_at", -1, SC_ANY, false, EPERM, "opens files by inode, past every mount (the shocker escape)" },
	{ "name_to_handle_at", -1, SC_ANY, false, EPERM, "makes handles for open_by_handle_at" },
	{ "swapon", -1, SC_ANY, false, EPERM, "host memory management" },
	{ "swapoff", -1, SC_ANY, false, EPERM, "host memory management" },
	{ "reboot", -1, SC_ANY, false, EPERM, "reboots or halts the host" },
	{ "acct", -1, SC_ANY, false, EPERM, "process accounting is host-wide" },
	{ "quotactl", -1, SC_ANY, false, EPERM, "disk quotas are host-wide" },
	{ "quotactl_fd", -1, SC_ANY, false, EPERM, "disk quotas are host-wide" },
	{ "syslog", -1, SC_ANY, false, EPERM, "the kernel log leaks addresses and host activity" },
	{ "ioctl", -1, SC_TTY_INJECT, false, EPERM, "TIOCSTI/TIOCLINUX push input into a terminal another program reads" },
	{ "personality", -1, SC_PERSONALITY, false, EPERM, "other personas turn off ASLR or make data executable" },
	{ "uselib", -1, SC_ANY, false, EPERM, "obsolete a.out loader" },
	{ "lookup_dcookie", -1, SC_ANY, false, EPERM, "kernel profiling interface" },
	{ "socket", -1, SC_SOCKET_FAMILY, false, EAFNOSUPPORT,
	  "other families load rarely used kernel modules on demand (a classic exploit path); vsock reaches a "
	  "hypervisor, packet and bluetooth the host's devices" },
	{ "socketpair", -1, SC_SOCKET_FAMILY, false, EAFNOSUPPORT, "as socket" },
	{ "socket", -1, SC_NETLINK_PROTO, false, EPROTONOSUPPORT,
	  "netlink beyond route (ip, getifaddrs): sock_diag, netfilter, xfrm, audit and uevents show or change the host" },
};

/* The socket families a jail may use: what programs need for files, the network and getifaddrs. */
static const unsigned allowed_families[] = { 1 /* AF_UNIX */, 2 /* AF_INET */, 10 /* AF_INET6 */, 16 /* AF_NETLINK */ };

/* The namespace flags of clone and unshare. CLONE_NEWTIME shares its bit with clone's exit signal,
 * so it is only checked for unshare. */
static const unsigned long long ns_flags[] = { CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
					       CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, 0x80 /* CLONE_NEWTIME */ };

#endif
