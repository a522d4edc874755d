#include "harden.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int capset_all(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)caps;
	data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(caps >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

int harden_command(uint64_t keep, struct aj_err *err)
{
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which capset below removes. The
	 * running kernel may know more capabilities than we have names for: drop until it says EINVAL. */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;
		if (!(keep & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return aj_fail(err, errno, "drop capability %d from the bounding set", cap);
	}
	if (capset_all(keep) < 0)
		return aj_fail(err, errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return aj_fail(err, errno, "clear ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((keep & (UINT64_C(1) << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return aj_fail(err, errno, "keep capability %d", cap);
	/* No setuid/file-capability gain through execve inside the jail, ever. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return aj_fail(err, errno, "set no_new_privs");
	return 0;
}

int harden_init(struct aj_err *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return aj_fail(err, errno, "make init undumpable");
	if (capset_all(0) < 0)
		return aj_fail(err, errno, "drop init's capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return aj_fail(err, errno, "set no_new_privs");
	return 0;
}
