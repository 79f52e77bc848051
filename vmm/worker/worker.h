/* The skeleton every worker process shares (bulkhead-link, later the
 * block and USB workers): the epoll loop and its watches, the listening
 * unix sockets (each a vhost-user back end's, served here: one front end
 * at a time, its messages, its kick descriptors followed), the control
 * socket and its status reply, SIGTERM/SIGINT through a signalfd, SIGBUS
 * from guest memory (guest_fault.h: the side dropped, not the worker),
 * the common options and the sandbox entry. A device kind fills in a
 * struct worker_ops (docs/vmm.md, "Adding a worker kind"); the skeleton
 * names no device. */
#ifndef BULKHEAD_WORKER_H
#define BULKHEAD_WORKER_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_fault.h"
#include "sandbox.h"
#include "vhost_user_dev.h"

/* Listening sockets one worker may have (net: the two sides). */
#define WORKER_MAX_LISTEN 4
/* Descriptors of the device's own it opens before confinement. */
#define WORKER_MAX_DEV_FDS 4

/* What an epoll event is about: kind in the low byte, two bytes of
 * detail above it (a socket's index, a queue). Kinds from
 * WORKER_TAG_DEVICE on are the device's own (ops->event). */
enum worker_tag_kind {
	WORKER_TAG_LISTEN = 1,  /* index */
	WORKER_TAG_CONN,        /* index: its vhost-user connection */
	WORKER_TAG_KICK,        /* index, queue */
	WORKER_TAG_CONTROL,
	WORKER_TAG_SIGNAL,
	WORKER_TAG_DEVICE = 16,
};

#define WORKER_TAG(kind, a, b) \
	((uint64_t)(kind) | (uint64_t)(a) << 8 | (uint64_t)(b) << 16)

struct worker;

/* A device kind's hooks. Any may be NULL. */
struct worker_ops {
	const char *name;       /* the default --name, for messages */
	/* Queue qidx of the back end on listening socket i changed (started,
	 * stopped, enabled, new kick descriptor, broke); the skeleton has
	 * followed its kick descriptor already. */
	void (*queue_changed)(struct worker *w, unsigned i, unsigned qidx);
	/* The driver kicked queue qidx of the back end on socket i (the
	 * eventfd is drained). */
	void (*kick)(struct worker *w, unsigned i, unsigned qidx);
	/* An event on a descriptor the device watches itself (a tag kind
	 * from WORKER_TAG_DEVICE on). */
	void (*event)(struct worker *w, uint64_t tag, uint32_t events);
	/* Whether there is work now: the loop then polls (epoll timeout 0)
	 * and calls run after every round; else it sleeps in epoll. */
	bool (*busy)(const struct worker *w);
	/* The device's work after a round of events (when busy). */
	void (*run)(struct worker *w);
	/* While busy, run is called this many times per epoll_wait (0 or 1:
	 * every time). An epoll_wait is a system call, about 0.6 us on
	 * these machines, against a run that may move one batch: a kind
	 * whose run polls rings sets more, and its descriptors' events wait
	 * at most that many runs. */
	unsigned busy_runs_per_poll;
	/* The status a control socket reader gets: malloc'd text (JSON), or
	 * NULL (it gets nothing). */
	char *(*status)(struct worker *w);
	/* The worker kind's system calls beyond the sandbox's base list,
	 * each with why (vmm/sandbox/seccomp_base.c), and its descriptor
	 * limit. */
	const struct sandbox_syscall *syscalls;
	size_t nsyscalls;
	/* The ioctl requests it makes confined (none: no ioctl). */
	const struct sandbox_ioctl *ioctls;
	size_t nioctls;
	unsigned max_fds;
};

struct worker_listener {
	const char *path;       /* NULL: none at this index */
	struct vu_dev *vu;      /* the vhost-user back end served here */
	int fd;
	int kick_watched[VU_MAX_QUEUES];
};

struct worker {
	const struct worker_ops *ops;
	void *dev;              /* the device's state, for its hooks */
	const char *name;       /* --name, for messages */
	const char *control_path;
	const char *user;       /* --user; NULL: an id of its own (sandbox.h) */
	const char *test_trigger;
	bool no_sandbox;
	struct worker_listener listen[WORKER_MAX_LISTEN];
	int epfd;
	int control_fd;
	int signal_fd;
	/* Guest memory that faulted (SIGBUS), by listener: the side is
	 * dropped between rounds. */
	struct guest_fault faults;
	/* The device's own descriptors opened before confinement (net: a
	 * host port's tap), kept when every other is closed. */
	int dev_fds[WORKER_MAX_DEV_FDS];
	unsigned ndev_fds;
	/* The device asked the loop to end (worker_stop). */
	bool stopping;
};

/* The options every worker takes, for its getopt_long table (values
 * from WORKER_OPT_CONTROL on are the skeleton's; worker_option takes
 * them). */
enum {
	WORKER_OPT_CONTROL = 0x100,
	WORKER_OPT_NAME,
	WORKER_OPT_USER,
	WORKER_OPT_NO_SANDBOX,
	WORKER_OPT_TEST_TRIGGER,
};

#ifdef BULKHEAD_TEST_TRIGGERS
#define WORKER_TEST_TRIGGER_OPTION \
	{ "test-trigger", required_argument, NULL, WORKER_OPT_TEST_TRIGGER },
#else
#define WORKER_TEST_TRIGGER_OPTION
#endif

#define WORKER_OPTIONS                                                   \
	{ "control", required_argument, NULL, WORKER_OPT_CONTROL },      \
	{ "name", required_argument, NULL, WORKER_OPT_NAME },            \
	{ "user", required_argument, NULL, WORKER_OPT_USER },            \
	{ "no-sandbox", no_argument, NULL, WORKER_OPT_NO_SANDBOX },      \
	WORKER_TEST_TRIGGER_OPTION

/* The vu_dev_ops a back end served by a worker is made with (opaque:
 * the worker). */
extern const struct vu_dev_ops worker_vu_ops;

/* Defaults (ops->name, an identity of its own); no descriptor open yet. */
void worker_init(struct worker *w, const struct worker_ops *ops, void *dev);

/* Takes one of the common options. Returns true when opt was one. */
bool worker_option(struct worker *w, int opt, const char *arg);

/* The epoll instance. Returns 0 or -errno. */
int worker_open(struct worker *w);

/* The listening sockets (listen[i].path), the control socket, the
 * signalfd, the SIGBUS recovery for the back ends served on them.
 * Returns 0 or -errno, having logged what failed. */
int worker_listen(struct worker *w);

/* Watches fd for input under tag; events 0 keeps it registered but
 * quiet (worker_rewatch). Returns 0 or -errno. */
int worker_watch(struct worker *w, int fd, uint64_t tag);
int worker_rewatch(struct worker *w, int fd, uint32_t events, uint64_t tag);
void worker_unwatch(struct worker *w, int fd);

/* Keeps fd, a descriptor of the device's own opened before confinement,
 * open through it. Returns 0 or -ENOSPC. */
int worker_keep_fd(struct worker *w, int fd);

/* Closes every descriptor but standard input, output and error, the
 * skeleton's and the device's kept ones: what whoever started the worker
 * leaked (without close-on-exec) would stay open in the sandbox. Then
 * enters the sandbox (with the kind's calls), or warns loudly under
 * --no-sandbox; then runs a --test-trigger. Returns 0 or -errno (logged). */
int worker_confine(struct worker *w);

/* The event loop, until SIGTERM or SIGINT or worker_stop. */
void worker_loop(struct worker *w);

/* Ends the loop after the current event: neither the rest of the round
 * nor the device's run hook runs again (a device that cannot go on, as
 * bulkhead-blk without its NBD connection, must touch nothing more). */
void worker_stop(struct worker *w);

/* Removes the sockets (confined, it cannot: whoever started it does) and
 * exits with status; the device has released its state. */
void worker_exit(struct worker *w, int status) __attribute__((noreturn));

#endif
