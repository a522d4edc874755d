/* fakechown.so — preloaded by the dpkg wrapper that mkrootfs/debian installs in a rootfs.
 *
 * Inside an ajail jail only uid 0 and gid 0 exist, so chown to any other id (a package's `man` or
 * `_ssh` owned files, a postinst's `chown man:man`) fails with EINVAL and dpkg aborts the package.
 * This turns exactly that failure into success: the file simply stays owned by 0, the only owner a
 * jail can have. Every other error is returned unchanged.
 *
 * It calls the kernel through syscall(2) rather than dlsym(RTLD_NEXT): then it needs no libdl and only
 * symbols every glibc has (syscall, __errno_location), so a build on the host runs in any glibc rootfs
 * of the same architecture. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static int forgive(long rc)
{
	if (rc == -1 && errno == EINVAL)
		return 0;
	return (int)rc;
}

int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	return forgive(syscall(SYS_fchownat, dirfd, path, uid, gid, flags));
}

int chown(const char *path, uid_t uid, gid_t gid)
{
	return forgive(syscall(SYS_fchownat, AT_FDCWD, path, uid, gid, 0));
}

int lchown(const char *path, uid_t uid, gid_t gid)
{
	return forgive(syscall(SYS_fchownat, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW));
}

int fchown(int fd, uid_t uid, gid_t gid)
{
	return forgive(syscall(SYS_fchown, fd, uid, gid));
}
