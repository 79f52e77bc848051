/* Guest memory that faults. A front end can make the memory it shared
 * raise SIGBUS under us without breaking any rule we can check when we
 * map it: by truncating its file after SET_MEM_TABLE, with a sparse file
 * on a full tmpfs (a page written for the first time has nowhere to go),
 * or with a hugetlb file when no huge pages are left. SIGBUS would kill
 * the worker, and with it the other side of the link.
 *
 * So a worker recovers: its SIGBUS handler finds the back end (a side)
 * whose mapping holds the faulting address and puts anonymous shared
 * memory (zeros) in place of that whole mapping, at the same address,
 * then returns. The access that faulted completes, and so does the data
 * path's round, consistently for the other side: what it read from the
 * faulting side is zeros (that side sent garbage, which it could anyway),
 * what it wrote there goes nowhere. Between rounds the loop drops that
 * side (guest_fault_take), as it drops one that breaks the protocol; its
 * front end may connect again.
 *
 * A SIGBUS anywhere else is a bug of ours: the handler says where and the
 * process exits with status 128 + SIGBUS (the supervisor restarts it). */
#ifndef BULKHEAD_GUEST_FAULT_H
#define BULKHEAD_GUEST_FAULT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhost_user_dev.h"

/* Back ends one worker watches (its listening sockets). */
#define GUEST_FAULT_MAX_DEVS 4

struct guest_fault {
	struct vu_dev *devs[GUEST_FAULT_MAX_DEVS];
	unsigned ndevs;
	/* Written by the handler, read and cleared by guest_fault_take. */
	volatile sig_atomic_t faulted[GUEST_FAULT_MAX_DEVS];
	volatile uintptr_t addr[GUEST_FAULT_MAX_DEVS];
};

/* Installs the SIGBUS handler (before the sandbox: rt_sigaction is not on
 * its list) and makes gf this thread's recovery point. gf must outlive
 * the thread's use of guest memory. Returns 0 or -errno. */
int guest_fault_watch(struct guest_fault *gf);

/* Whether back end i faulted since the last call; *addr: where. Clears
 * the mark. */
bool guest_fault_take(struct guest_fault *gf, unsigned i, uintptr_t *addr);

#endif
