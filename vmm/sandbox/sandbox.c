#define _GNU_SOURCE
#include "sandbox.h"
#include "drop_ids.h"
#include "seccomp_base.h"
#include "subid.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Where the empty root is mounted: a directory every link shares on the
 * host, each with its own tmpfs on top in its own mount namespace. */
#define SANDBOX_ROOT "/run/bulkhead-empty"

#define FAIL(code, ...)                                   \
	do {                                              \
		snprintf(err, errlen, __VA_ARGS__);       \
		return (code);                            \
	} while (0)

/* A new mount namespace whose root is an empty, read-only tmpfs: the
 * worker can open no file (its sockets are already open). */
static int empty_root(char *err, size_t errlen)
{
	if (mkdir(SANDBOX_ROOT, 0755) < 0 && errno != EEXIST)
		FAIL(-errno, "mkdir %s: %s", SANDBOX_ROOT, strerror(errno));
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		FAIL(-errno, "unshare: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		FAIL(-errno, "make / private: %s", strerror(errno));
	if (mount("bulkhead", SANDBOX_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,mode=0555") < 0)
		FAIL(-errno, "tmpfs on %s: %s", SANDBOX_ROOT, strerror(errno));
	if (chdir(SANDBOX_ROOT) < 0 ||
	    syscall(SYS_pivot_root, ".", ".") < 0)
		FAIL(-errno, "pivot_root %s: %s", SANDBOX_ROOT, strerror(errno));
	/* The old root is stacked under the new one: detach it. */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		FAIL(-errno, "detach old root: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
		  MS_NODEV | MS_NOEXEC, NULL) < 0)
		FAIL(-errno, "remount / read-only: %s", strerror(errno));
	return 0;
}

static int limits(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	static const struct {
		int resource;
		const char *name;
		rlim_t value;
	} fixed[] = {
#if !BULKHEAD_SANITIZED
		{ RLIMIT_NPROC, "RLIMIT_NPROC", 0 },  /* no new processes */
		/* Its own heap and private mappings (guest memory is shared,
		 * not counted): rings' bookkeeping and one frame's buffers
		 * need a few MiB; ASan's shadow would not fit. */
		{ RLIMIT_DATA, "RLIMIT_DATA", SANDBOX_DATA_LIMIT },
#endif
		{ RLIMIT_CORE, "RLIMIT_CORE", 0 },    /* no guest memory in a core */
		{ RLIMIT_FSIZE, "RLIMIT_FSIZE", SANDBOX_LOG_LIMIT },
		{ RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 0 },
	};
	struct rlimit r = { cfg->max_fds, cfg->max_fds };

	/* A write past RLIMIT_FSIZE fails (EFBIG) instead of killing the
	 * worker; rt_sigaction is not on its seccomp list, so now. */
	signal(SIGXFSZ, SIG_IGN);

	if (setrlimit(RLIMIT_NOFILE, &r) < 0)
		FAIL(-errno, "RLIMIT_NOFILE %u: %s", cfg->max_fds, strerror(errno));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		r.rlim_cur = r.rlim_max = fixed[i].value;
		if (setrlimit(fixed[i].resource, &r) < 0)
			FAIL(-errno, "%s: %s", fixed[i].name, strerror(errno));
	}
	return 0;
}

static int drop_privileges(const struct passwd *pw, char *err, size_t errlen)
{
	char why[200];
	int ret = drop_ids(pw->pw_uid, pw->pw_gid, why, sizeof(why));
	if (ret < 0)
		FAIL(ret, "becoming user %s (uid %u): %s", pw->pw_name,
		     (unsigned)pw->pw_uid, why);
	return 0;
}

/* Where the host's subordinate id ranges are; a test build may point it
 * elsewhere (no test may edit the host's /etc). */
static const char *etc_dir(void)
{
#ifdef BULKHEAD_TEST_TRIGGERS
	const char *dir = getenv("BULKHEAD_TEST_ETC_DIR");
	if (dir && dir[0])
		return dir;
#endif
	return "/etc";
}

/* The identity to become: the named user's, or one of this process's own
 * (SANDBOX_ID_BASE + pid), looked up before the root goes. */
static int identity(const struct sandbox_config *cfg, struct passwd *out,
		    char *err, size_t errlen)
{
	static char own[] = "(its own)";
	pid_t pid = getpid();
	uid_t id;
	struct passwd *pw;

	if (cfg->user) {
		pw = getpwnam(cfg->user);
		if (!pw)
			FAIL(-ENOENT, "user %s does not exist (create it, or pass "
			     "no --user: an identity of its own)", cfg->user);
		if (pw->pw_uid == 0)
			FAIL(-EINVAL, "user %s is root: the worker must not be",
			     cfg->user);
		*out = *pw;
		return 0;
	}
	if (pid <= 0 || (unsigned)pid >= SANDBOX_ID_SPAN)
		FAIL(-ERANGE, "pid %d beyond the id range's %u", (int)pid,
		     SANDBOX_ID_SPAN);
	id = SANDBOX_ID_BASE + (uid_t)pid;
	if ((pw = getpwuid(id)) != NULL || getgrgid(id) != NULL)
		FAIL(-EEXIST, "id %u (0x%x + pid %d) is a user or group of this "
		     "host; a worker's own id must be no one else's", (unsigned)id,
		     SANDBOX_ID_BASE, (int)pid);
	/* A user whose namespaces may map it could act as the worker. */
	for (unsigned i = 0; i < 2; i++)
		if (subid_covers(etc_dir(), i ? "subgid" : "subuid", id))
			FAIL(-EEXIST, "id %u (0x%x + pid %d) is in a range of "
			     "%s/%s; a worker's own id must be no one else's",
			     (unsigned)id, SANDBOX_ID_BASE, (int)pid, etc_dir(),
			     i ? "subgid" : "subuid");
	*out = (struct passwd){ .pw_name = own, .pw_uid = id, .pw_gid = id };
	return 0;
}

int sandbox_enter(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	struct passwd copy;
	int ret;

	if ((ret = identity(cfg, &copy, err, errlen)) < 0)
		return ret;
	if ((ret = empty_root(err, errlen)) < 0 ||
	    (ret = limits(cfg, err, errlen)) < 0 ||
	    (ret = drop_privileges(&copy, err, errlen)) < 0)
		return ret;
	return sandbox_seccomp_install(cfg->extra, cfg->nextra, cfg->ioctls,
				       cfg->nioctls, err, errlen);
}

void sandbox_exit(int status)
{
	fflush(NULL);
	_exit(status);
}
