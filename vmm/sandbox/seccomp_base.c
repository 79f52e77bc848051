#include "seccomp_base.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Sanitizer builds (the tests, BULKHEAD_SANITIZED from meson.build) need
 * a few more calls, for the runtime's own bookkeeping and reports. */

#define FAIL(code, ...)                                   \
	do {                                              \
		snprintf(err, errlen, __VA_ARGS__);       \
		return (code);                            \
	} while (0)

/* The base list: what every worker's skeleton (vmm/worker/), vhost-user
 * back end, json-c status and libc need. Each entry: the call, and why.
 * A worker kind adds its own (sandbox_config.extra). */
static const struct sandbox_syscall base[] = {
	{ SCMP_SYS(read), "kick eventfds, signalfd; a kind's own descriptors (net: frames from a host port's tap)" },
	{ SCMP_SYS(write), "call and error eventfds, the log on stderr" },
	{ SCMP_SYS(recvmsg), "vhost-user messages with their descriptors" },
	{ SCMP_SYS(recvfrom), "rest of a vhost-user message (recv)" },
	{ SCMP_SYS(sendmsg), "vhost-user replies" },
	{ SCMP_SYS(sendto), "status replies on the control socket (send)" },
	{ SCMP_SYS(accept4), "front ends and status readers connecting" },
	{ SCMP_SYS(shutdown), "ending a connection" },
	{ SCMP_SYS(close), "descriptors replaced or released" },
	{ SCMP_SYS(epoll_wait), "the event loop" },
	{ SCMP_SYS(epoll_pwait), "the event loop (libc may use the p variant)" },
	{ SCMP_SYS(epoll_ctl), "watching sockets and kick eventfds" },
	{ SCMP_SYS(poll), "waiting briefly for the rest of a message" },
	{ SCMP_SYS(ppoll), "the same, libc's variant" },
	{ SCMP_SYS(munmap), "unmapping guest memory; malloc" },
	{ SCMP_SYS(fstat), "checking a memory region against its file" },
	{ SCMP_SYS(newfstatat), "the same, libc's variant" },
	{ SCMP_SYS(brk), "malloc" },
	{ SCMP_SYS(madvise), "malloc returning memory" },
	{ SCMP_SYS(mremap), "realloc of large blocks" },
	{ SCMP_SYS(getrandom), "json-c seeds its hash tables" },
	{ SCMP_SYS(clock_gettime), "time, when the vDSO is not used" },
	{ SCMP_SYS(rt_sigreturn), "returning from a signal handler" },
	{ SCMP_SYS(rt_sigprocmask), "libc internals around signals" },
	{ SCMP_SYS(restart_syscall), "a call interrupted by a signal" },
	{ SCMP_SYS(unlink), "removing its sockets at exit (fails in the sandbox; harmless)" },
	{ SCMP_SYS(exit), "ending" },
	{ SCMP_SYS(exit_group), "ending" },
#if BULKHEAD_SANITIZED
	/* Sanitizer builds only (tests): the ASan/LSan runtime stops the
	 * world with a tracer thread at exit, reads /proc/self/maps and
	 * yields. Never part of a release build's filter. */
	{ SCMP_SYS(clone), "sanitizer runtime only" },
	{ SCMP_SYS(ptrace), "sanitizer runtime only" },
	{ SCMP_SYS(wait4), "sanitizer runtime only" },
	{ SCMP_SYS(prctl), "sanitizer runtime only" },
	{ SCMP_SYS(sched_yield), "sanitizer runtime only" },
	{ SCMP_SYS(sigaltstack), "sanitizer runtime only" },
	{ SCMP_SYS(rt_sigaction), "sanitizer runtime only" },
	{ SCMP_SYS(getpid), "sanitizer runtime only" },
	{ SCMP_SYS(gettid), "sanitizer runtime only" },
	{ SCMP_SYS(tgkill), "sanitizer runtime only" },
	{ SCMP_SYS(openat), "sanitizer runtime only (the root is empty)" },
	{ SCMP_SYS(getdents64), "sanitizer runtime only" },
	{ SCMP_SYS(readlink), "sanitizer runtime only" },
	{ SCMP_SYS(getrlimit), "sanitizer runtime only" },
	{ SCMP_SYS(prlimit64), "sanitizer runtime only" },
	{ SCMP_SYS(futex), "sanitizer runtime only" },
	{ SCMP_SYS(lseek), "sanitizer runtime only" },
	{ SCMP_SYS(pread64), "sanitizer runtime only" },
#endif
};

static int allow_all(scmp_filter_ctx ctx, const struct sandbox_syscall *list,
		     size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i].nr, 0);

		if (ret < 0)
			FAIL(ret, "seccomp rule for syscall %d (%s): %s",
			     list[i].nr, list[i].why, strerror(-ret));
	}
	return 0;
}

int sandbox_seccomp_install(const struct sandbox_syscall *extra,
			    size_t nextra, const struct sandbox_ioctl *ioctls,
			    size_t nioctls, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret;

	if (!ctx)
		FAIL(-ENOMEM, "seccomp_init failed");
	if ((ret = allow_all(ctx, base, sizeof(base) / sizeof(base[0]), err,
			     errlen)) < 0 ||
	    (ret = allow_all(ctx, extra, nextra, err, errlen)) < 0) {
		seccomp_release(ctx);
		return ret;
	}
	/* ioctl: each request a kind names, no other (the request is the
	 * second argument; its pointer is not looked at). */
	for (size_t i = 0; i < nioctls; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, ioctls[i].request, 0));
		if (ret < 0) {
			seccomp_release(ctx);
			FAIL(ret, "seccomp rule for ioctl 0x%lx (%s): %s",
			     ioctls[i].request, ioctls[i].why, strerror(-ret));
		}
	}
	/* mmap: guest memory (shared, read-write), malloc (private,
	 * anonymous) and the SIGBUS recovery (anonymous shared, in place);
	 * never executable. */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* fcntl: only reading and setting a received descriptor's status
	 * flags (made non-blocking), never O_ASYNC. The other commands are
	 * what a taken-over worker would use on others: F_SETOWN and
	 * F_SETSIG with O_ASYNC have the kernel send any signal (SIGSTOP)
	 * to any process it may signal (docs/security.md). */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				       SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2,
				       SCMP_A1(SCMP_CMP_EQ, F_SETFL, 0),
				       SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0));
#if BULKHEAD_SANITIZED
	/* Sanitizer runtime only: guard pages for its exit-time thread. */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#endif
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0)
		FAIL(ret, "seccomp filter: %s", strerror(-ret));
	return 0;
}
