/* Confinement of a link worker, entered once its sockets are open: an
 * unprivileged user with no capabilities, no new privileges, its own
 * mount (an empty read-only root), network, IPC and UTS namespaces,
 * rlimits on descriptors, processes, data (SANDBOX_DATA_LIMIT), file
 * size (its log, SANDBOX_LOG_LIMIT), locked memory and core dumps, and a
 * seccomp allowlist
 * (libseccomp, seccomp_base.c: a base list and the worker kind's own
 * calls) whose default action kills the process. docs/security.md lists
 * every allowed system call and why. */
#ifndef BULKHEAD_SANDBOX_H
#define BULKHEAD_SANDBOX_H

/* RLIMIT_FSIZE of a confined worker: its log (stderr, an inherited file
 * shared with the supervisor and the other links) grows no further
 * through it; beyond, its lines are lost (EFBIG, SIGXFSZ ignored). */
#define SANDBOX_LOG_LIMIT (16ul << 20)

/* RLIMIT_DATA of a confined worker (not in sanitizer builds). */
#define SANDBOX_DATA_LIMIT (64ul << 20)

#include <stddef.h>

/* One system call a worker may make, and why it needs it. */
struct sandbox_syscall {
	int nr;                  /* SCMP_SYS(name) */
	const char *why;
};

/* One ioctl request a worker may make (ioctl is allowed with these
 * requests only), and why. */
struct sandbox_ioctl {
	unsigned long request;
	const char *why;
};

/* A confined worker's own uid and gid when no user is named: this base
 * plus its pid (below 2^22, the kernel's limit), so no two running
 * workers share an identity and none may signal, trace or otherwise
 * reach another. 0x70c00000-0x70ffffff: above the VMs' ids
 * (orchestration/core/vm_ids.c, 0x70b1xxxx), below systemd's foreign
 * range; an id the user database names is refused. */
#define SANDBOX_ID_BASE 0x70c00000u
#define SANDBOX_ID_SPAN 0x400000u

struct sandbox_config {
	/* The unprivileged user to become; NULL: an identity of its own
	 * (SANDBOX_ID_BASE + pid, uid and gid). */
	const char *user;
	unsigned max_fds;        /* RLIMIT_NOFILE */
	/* The worker kind's own calls, allowed on top of the base list
	 * (seccomp_base.c), e.g. net's writev to a tap. */
	const struct sandbox_syscall *extra;
	size_t nextra;
	/* The ioctl requests it makes (bulkhead-input: UI_DEV_DESTROY);
	 * none: no ioctl at all. */
	const struct sandbox_ioctl *ioctls;
	size_t nioctls;
};

/* Enters the sandbox. Returns 0 or a negative errno with a message naming
 * the step and the value that failed. Must run single-threaded, after
 * every file the process needs is open. */
int sandbox_enter(const struct sandbox_config *cfg, char *err, size_t errlen);

/* Ends a confined process. In sanitizer builds LeakSanitizer's exit-time
 * check cannot run in the empty root (it needs /proc and ptrace), so a
 * confined worker skips it; leaks are checked on unconfined runs
 * (--no-sandbox, as tests/integration/test_hostile does). */
void sandbox_exit(int status) __attribute__((noreturn));

#endif
