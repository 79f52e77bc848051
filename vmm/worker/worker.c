#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static void on_queue_changed(void *opaque, struct vu_dev *dev, unsigned qidx);

const struct vu_dev_ops worker_vu_ops = {
	.queue_changed = on_queue_changed,
};

void worker_init(struct worker *w, const struct worker_ops *ops, void *dev)
{
	memset(w, 0, sizeof(*w));
	w->ops = ops;
	w->dev = dev;
	w->name = ops->name;
	w->epfd = w->control_fd = w->signal_fd = -1;
	for (unsigned i = 0; i < WORKER_MAX_LISTEN; i++) {
		w->listen[i].fd = -1;
		for (unsigned q = 0; q < VU_MAX_QUEUES; q++)
			w->listen[i].kick_watched[q] = -1;
	}
}

bool worker_option(struct worker *w, int opt, const char *arg)
{
	switch (opt) {
	case WORKER_OPT_CONTROL:
		w->control_path = arg;
		return true;
	case WORKER_OPT_NAME:
		w->name = arg;
		return true;
	case WORKER_OPT_USER:
		w->user = arg;
		return true;
	case WORKER_OPT_NO_SANDBOX:
		w->no_sandbox = true;
		return true;
	case WORKER_OPT_TEST_TRIGGER:
		w->test_trigger = arg;
		return true;
	default:
		return false;
	}
}

int worker_watch(struct worker *w, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int worker_rewatch(struct worker *w, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void worker_unwatch(struct worker *w, int fd)
{
	/* The descriptor may be closed already (epoll then forgot it). */
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int worker_open(struct worker *w)
{
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	return w->epfd < 0 ? -errno : 0;
}

/* A listening unix socket at path. Returns it, or -errno (logged). */
static int listen_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		bh_log("socket path %s longer than %zu bytes", path,
		       sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	/* A socket left by an earlier run goes; anything else is kept. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 4) < 0) {
		e = errno;
		bh_log("listen on %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

int worker_listen(struct worker *w)
{
	sigset_t mask;
	int ret;

	for (unsigned i = 0; i < WORKER_MAX_LISTEN; i++) {
		struct worker_listener *l = &w->listen[i];

		if (!l->path)
			continue;
		l->fd = listen_unix(l->path);
		if (l->fd < 0)
			return l->fd;
		worker_watch(w, l->fd, WORKER_TAG(WORKER_TAG_LISTEN, i, 0));
	}
	if (w->control_path) {
		w->control_fd = listen_unix(w->control_path);
		if (w->control_fd < 0)
			return w->control_fd;
		worker_watch(w, w->control_fd, WORKER_TAG(WORKER_TAG_CONTROL, 0, 0));
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	w->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->signal_fd < 0)
		return -errno;
	w->faults.ndevs = WORKER_MAX_LISTEN;
	for (unsigned i = 0; i < WORKER_MAX_LISTEN; i++)
		w->faults.devs[i] = w->listen[i].path ? w->listen[i].vu : NULL;
	if ((ret = guest_fault_watch(&w->faults)) < 0) {
		bh_log("SIGBUS handler: %s", strerror(-ret));
		return ret;
	}
	ret = worker_watch(w, w->signal_fd, WORKER_TAG(WORKER_TAG_SIGNAL, 0, 0));
	return ret;
}

/* Test builds only: prove the confinement from inside. "open" tries to
 * read a host file (there is none in the empty root); "forbidden" makes a
 * system call the filter does not allow (the process dies of SIGSYS);
 * "ioctl" makes an ioctl whose request no kind allows (FIONREAD: the
 * process dies of SIGSYS, whatever requests its kind names);
 * "setown:PID" arms the control socket to send SIGSTOP to PID on the next
 * connection (F_SETOWN, F_SETSIG, O_ASYNC), as a taken-over worker froze
 * another (issue 19). */
static void run_test_trigger(struct worker *w)
{
#ifdef BULKHEAD_TEST_TRIGGERS
	if (strcmp(w->test_trigger, "open") == 0) {
		FILE *f = fopen("/etc/passwd", "r");

		bh_log("%s: test trigger: open /etc/passwd: %s", w->name,
		       f ? "opened" : strerror(errno));
		if (f)
			fclose(f);
	} else if (strcmp(w->test_trigger, "forbidden") == 0) {
		bh_log("%s: test trigger: socket(AF_INET)", w->name);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		bh_log("%s: test trigger: socket returned %d", w->name, fd);
	} else if (strcmp(w->test_trigger, "ioctl") == 0) {
		int n = 0;

		bh_log("%s: test trigger: ioctl FIONREAD", w->name);
		n = ioctl(w->control_fd, FIONREAD, &n);
		bh_log("%s: test trigger: ioctl returned %d", w->name, n);
	} else if (strncmp(w->test_trigger, "setown:", 7) == 0) {
		int pid = atoi(w->test_trigger + 7), fd = w->control_fd;
		int r = fcntl(fd, F_SETOWN, pid);

		r = r < 0 ? r : fcntl(fd, F_SETSIG, SIGSTOP);
		r = r < 0 ? r : fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
		bh_log("%s: test trigger: SIGSTOP to pid %d on the next status "
		       "reader: %s", w->name, pid, r < 0 ? strerror(errno) : "armed");
	}
#else
	(void)w;
#endif
}

int worker_keep_fd(struct worker *w, int fd)
{
	if (w->ndev_fds == WORKER_MAX_DEV_FDS)
		return -ENOSPC;
	w->dev_fds[w->ndev_fds++] = fd;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every descriptor from 3 up that the worker did not open itself:
 * close_range over the gaps between the ones it keeps. */
static void close_inherited(struct worker *w)
{
	int keep[3 + WORKER_MAX_LISTEN + WORKER_MAX_DEV_FDS];
	unsigned n = 0, lo = 3;

	keep[n++] = w->epfd;
	keep[n++] = w->control_fd;
	keep[n++] = w->signal_fd;
	for (unsigned i = 0; i < WORKER_MAX_LISTEN; i++)
		keep[n++] = w->listen[i].fd;
	for (unsigned i = 0; i < w->ndev_fds; i++)
		keep[n++] = w->dev_fds[i];
	qsort(keep, n, sizeof(keep[0]), cmp_int);
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;  /* -1 (none), or stdio, or a duplicate */
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

int worker_confine(struct worker *w)
{
	close_inherited(w);
	if (w->no_sandbox) {
		bh_log("%s: WARNING: --no-sandbox: running UNCONFINED (as uid %u, "
		       "no seccomp filter, full file system). For debugging only.",
		       w->name, (unsigned)getuid());
	} else {
		struct sandbox_config sc = {
			.user = w->user,
			.max_fds = w->ops->max_fds,
			.extra = w->ops->syscalls,
			.nextra = w->ops->nsyscalls,
			.ioctls = w->ops->ioctls,
			.nioctls = w->ops->nioctls,
		};
		char err[256];
		int ret = sandbox_enter(&sc, err, sizeof(err));

		if (ret < 0) {
			bh_log("%s: sandbox: %s", w->name, err);
			return ret;
		}
	}
	if (w->test_trigger)
		run_test_trigger(w);
	return 0;
}

/* The listening socket whose back end dev is, or WORKER_MAX_LISTEN. */
static unsigned listener_of(const struct worker *w, const struct vu_dev *dev)
{
	unsigned i = 0;

	while (i < WORKER_MAX_LISTEN && w->listen[i].vu != dev)
		i++;
	return i;
}

/* A queue changed: follow its kick descriptor, then tell the device. */
static void on_queue_changed(void *opaque, struct vu_dev *dev, unsigned qidx)
{
	struct worker *w = opaque;
	unsigned i = listener_of(w, dev);
	struct vu_queue *q = &dev->q[qidx];
	int *watched;

	/* A back end made with worker_vu_ops but not given a socket: no
	 * kicks of its own to follow. */
	if (i == WORKER_MAX_LISTEN)
		return;
	watched = &w->listen[i].kick_watched[qidx];

	if (*watched != q->kick_fd) {
		if (*watched >= 0)
			worker_unwatch(w, *watched);
		*watched = -1;
		if (q->kick_fd >= 0 &&
		    worker_watch(w, q->kick_fd, WORKER_TAG(WORKER_TAG_KICK, i, qidx)) == 0)
			*watched = q->kick_fd;
	}
	if (w->ops->queue_changed)
		w->ops->queue_changed(w, i, qidx);
}

static void on_accept(struct worker *w, unsigned i)
{
	struct vu_dev *dev = w->listen[i].vu;
	int fd = accept4(w->listen[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (dev->sock >= 0) {
		vu_log(dev, "%s: second connection refused (one front end per side)",
		       w->name);
		close(fd);
		return;
	}
	vu_dev_attach(dev, fd);
	worker_watch(w, fd, WORKER_TAG(WORKER_TAG_CONN, i, 0));
	vu_log(dev, "%s: connected", w->name);
}

static void on_conn(struct worker *w, unsigned i, uint32_t events)
{
	struct vu_dev *dev = w->listen[i].vu;

	if (vu_dev_handle_socket(dev) < 0 ||
	    (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLIN))) {
		vu_log(dev, "%s: disconnected", w->name);
		worker_unwatch(w, dev->sock);
		vu_dev_detach(dev);
	}
}

static void on_kick(struct worker *w, unsigned i, unsigned qidx)
{
	uint64_t v;

	if (read(w->listen[i].vu->q[qidx].kick_fd, &v, sizeof(v)) < 0 &&
	    errno != EAGAIN)
		vu_log(w->listen[i].vu, "queue %u: kick read: %s", qidx,
		       strerror(errno));
	if (w->ops->kick)
		w->ops->kick(w, i, qidx);
}

static void on_control(struct worker *w)
{
	int fd = accept4(w->control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char *text;

	if (fd < 0)
		return;
	text = w->ops->status ? w->ops->status(w) : NULL;
	if (text) {
		size_t len = strlen(text), off = 0;

		while (off < len) {
			/* A reader that does not read gets what fits. */
			ssize_t n = send(fd, text + off, len - off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
		free(text);
	}
	close(fd);
}

/* Handles one event; returns false on a stop signal. */
static bool on_event(struct worker *w, uint64_t tag, uint32_t events)
{
	unsigned kind = tag & 0xff, i = (tag >> 8) & 0xff, q = (tag >> 16) & 0xff;

	switch (kind) {
	case WORKER_TAG_LISTEN:
		on_accept(w, i);
		break;
	case WORKER_TAG_CONN:
		on_conn(w, i, events);
		break;
	case WORKER_TAG_KICK:
		on_kick(w, i, q);
		break;
	case WORKER_TAG_CONTROL:
		on_control(w);
		break;
	case WORKER_TAG_SIGNAL:
		return false;
	default:
		if (kind >= WORKER_TAG_DEVICE && w->ops->event)
			w->ops->event(w, tag, events);
		break;
	}
	return true;
}

/* Drops each side whose guest memory faulted (SIGBUS) in the last
 * event or round: its mapping holds zeros now (guest_fault.h), so
 * nothing more can be read from or written to it. */
static void drop_faulted(struct worker *w)
{
	for (unsigned i = 0; i < WORKER_MAX_LISTEN; i++) {
		struct vu_dev *dev = w->listen[i].vu;
		uintptr_t addr;

		if (!guest_fault_take(&w->faults, i, &addr) || !dev)
			continue;
		vu_refuse(dev, -EFAULT, "guest memory at %p faulted (SIGBUS: "
			  "its file truncated, or no page to back it): side "
			  "disconnected", (void *)addr);
		if (dev->sock >= 0)
			worker_unwatch(w, dev->sock);
		vu_dev_detach(dev);
	}
}

void worker_loop(struct worker *w)
{
	bool running = true;
	unsigned runs = 0;

	while (running && !w->stopping) {
		struct epoll_event ev[16];
		bool busy = w->ops->busy && w->ops->busy(w);
		int n = 0;

		if (!busy || ++runs >= w->ops->busy_runs_per_poll) {
			n = epoll_wait(w->epfd, ev, 16, busy ? 0 : -1);
			runs = 0;
		}

		if (n < 0 && errno != EINTR) {
			bh_log("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int k = 0; k < n && !w->stopping; k++) {
			running = on_event(w, ev[k].data.u64, ev[k].events) && running;
			drop_faulted(w);
		}
		if (w->ops->run && !w->stopping)
			w->ops->run(w);
		drop_faulted(w);
	}
}

void worker_stop(struct worker *w)
{
	w->stopping = true;
}

void worker_exit(struct worker *w, int status)
{
	/* Confined, the sockets are out of reach: whoever started the
	 * worker removes them (and a new start replaces stale ones). */
	for (unsigned i = 0; i < WORKER_MAX_LISTEN; i++)
		if (w->listen[i].path)
			unlink(w->listen[i].path);
	if (w->control_path)
		unlink(w->control_path);
	if (!w->no_sandbox)
		sandbox_exit(status);
	exit(status);
}
