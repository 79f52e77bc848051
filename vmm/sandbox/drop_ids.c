#define _GNU_SOURCE
#include "drop_ids.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(...)                                         \
	do {                                              \
		int code_ = -errno;                       \
		snprintf(err, errlen, __VA_ARGS__);       \
		return code_;                             \
	} while (0)

int drop_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	/* Groups and gid first: after setresuid nothing may change them. */
	if (setgroups(0, NULL) < 0)
		FAIL("setgroups(0): %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		FAIL("setresgid(%u): %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		FAIL("setresuid(%u): %s", (unsigned)uid, strerror(errno));
	/* setresuid from root clears the capability sets already; clear
	 * them explicitly so a kept or ambient capability cannot slip by. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		FAIL("capset: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		FAIL("clear ambient capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}
