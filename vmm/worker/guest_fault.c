#define _GNU_SOURCE
#include "guest_fault.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The one piece of mutable state outside a context struct, because a
 * signal handler gets no argument of ours: this thread's recovery point
 * (guest_fault_watch). Per thread, so a later worker with a thread per
 * queue pair gives each its own. */
static _Thread_local struct guest_fault *recovery;

/* Async-signal-safe: plain reads of the back ends' tables (a fault can
 * only come from touching guest memory, never while a table is being
 * rewritten), raw system calls, no libc state. */
static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	static const char outside[] =
		"bulkhead: SIGBUS outside guest memory: exiting\n";
	struct guest_fault *gf = recovery;
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)sig;
	(void)uctx;
	for (unsigned i = 0; gf && i < gf->ndevs; i++) {
		struct vu_dev *dev = gf->devs[i];

		for (unsigned j = 0; dev && j < dev->mem.nregions; j++) {
			uintptr_t base = (uintptr_t)dev->maps[j].addr;

			if (!base || a - base >= dev->maps[j].len)
				continue;
			/* The whole mapping, so the rest of the round meets
			 * no second fault in it. Shared anonymous memory is
			 * not counted in RLIMIT_DATA, and its pages cost only
			 * what the round touches before the side is dropped.
			 * The raw call: ASan intercepts mmap. */
			if (syscall(SYS_mmap, dev->maps[j].addr, dev->maps[j].len,
				    PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED |
				    MAP_NORESERVE, -1, 0) == (long)MAP_FAILED)
				break;
			gf->addr[i] = a;
			gf->faulted[i] = 1;
			return;
		}
	}
	if (write(STDERR_FILENO, outside, sizeof(outside) - 1) < 0) {
		/* Nothing more to say it with. */
	}
	_exit(128 + SIGBUS);
}

int guest_fault_watch(struct guest_fault *gf)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	recovery = gf;
	return 0;
}

bool guest_fault_take(struct guest_fault *gf, unsigned i, uintptr_t *addr)
{
	if (i >= gf->ndevs || !gf->faulted[i])
		return false;
	*addr = gf->addr[i];
	gf->faulted[i] = 0;
	return true;
}
