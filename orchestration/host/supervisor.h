/* The link supervisor: one process per running topology that keeps its
 * links (the kinds' workers: bulkhead-link per app VM for net) alive
 * (docs/orchestration.md).
 *
 * STATE/links.json says which links should run; the supervisor starts what
 * is missing, stops what is no longer listed (on SIGHUP, and at start),
 * restarts a link that exits (backoff 0.2 s doubling to 5 s while it keeps
 * dying young), and writes what runs to STATE/links-state.json after every
 * change. SIGTERM stops every link and the supervisor. STATE/supervisor.pid
 * is held under flock(2) while it runs, which is how others tell that it
 * does. */
#ifndef BULKHEAD_SUPERVISOR_H
#define BULKHEAD_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "link_set.h"

/* Driver VMs the supervisor keeps running: every VM_CHECK_MS it looks at
 * each name in STATE/keep-running/ (up and start put them there, stop and
 * down take them away) and, when RUNNING says its domain is down (killed,
 * crashed), runs RESTART_ARGV followed by the name, one at a time. */
#define SUPERVISOR_VM_CHECK_MS 2000

struct supervisor_vms {
	/* 1: runs; 0: stopped; < 0: unknown (leave it alone). */
	int (*running)(void *ctx, const char *vm);
	void *ctx;
	char *const *restart_argv;      /* NULL-terminated */
};

/* Runs the supervisor for STATE until SIGTERM; returns the exit status.
 * VMS may be NULL (links only). */
int supervisor_run(const char *state_dir, const struct supervisor_vms *vms);

/* The running supervisor's pid, or 0 when none holds the lock. */
pid_t supervisor_pid(const char *state_dir);

#endif
