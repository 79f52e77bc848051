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

/* One link: a confined worker that joins an app VM (or a host port) to
 * the driver VM serving it, as its kind asked for it (kind.h, links):
 * the binary, its arguments, and what the supervisor and status need to
 * know of it. Fixed-size, so two specs compare with memcmp. */
#define LINK_ARGS_BYTES 16384
#define LINK_ARGS_MAX 64

struct link_spec {
	char name[64];          /* unique in the topology: its log, its row */
	char kind[16];          /* the kind of the driver VM it serves */
	char driver_vm[64];
	char binary[4096];
	char netns[64];         /* entered before exec; "": the host's */
	char control[4096];     /* its control socket, which status asks */
	char sockets[2][4096];  /* the sockets it listens on ("": none): up
				 * waits for them */
	/* Added to its next start when it exited with LINK_EXIT_TELL_NEXT
	 * ("" none): a storage link's acknowledged writes were not flushed
	 * when its NBD connection died (bulkhead-blk --lost-writes). */
	char tell_next[32];
	unsigned argc;          /* arguments after the binary's name, */
	char args[LINK_ARGS_BYTES]; /* each NUL-terminated, one after another */
};

#define LINK_EXIT_TELL_NEXT 76

/* Appends one argument (printf-style) to S's. Returns 0, or -E2BIG when
 * it does not fit (or would be the LINK_ARGS_MAX + 1st). */
int link_spec_arg(struct link_spec *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct link_set {
	struct link_spec *links;
	unsigned count;
	unsigned room;
};

/* A zeroed spec at the end of SET, or NULL when out of memory. */
struct link_spec *link_set_add(struct link_set *set);

int link_set_write(const char *path, const struct link_set *set);
int link_set_read(const char *path, struct link_set *set, char *err,
		  size_t err_len);
void link_set_free(struct link_set *set);

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
