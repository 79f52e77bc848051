/* bulkhead-link: one process per link, a virtual cable between the
 * virtio-net devices of two VMs. Listens on two unix sockets as the
 * vhost-user back end; frames one side transmits are copied into the
 * other side's receive queue.
 *
 *   bulkhead-link --a PATH|--tap-a IFNAME --b PATH [--mac-a MAC] [--mac-b MAC]
 *                 [--poll] [--control PATH] [--name NAME] [--user NAME]
 *                 [--no-sandbox]
 *
 * --tap-a makes side a the host's own port: a tap interface in the
 * host's network namespace (made beforehand, persistent, by the bulkhead
 * command) instead of a VM's virtio-net.
 *
 * Once its sockets (and tap) are open it confines itself (sandbox.c): a
 * worker started by hand is as confined as a supervised one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

#include "link_status.h"
#include "log.h"
#include "net_link.h"
#include "sandbox.h"

/* The user a link worker becomes; the install creates it. */
#define DEFAULT_USER "bulkhead"
/* Two sockets, two connections, 2 x 3 ring descriptors, up to 32 memory
 * regions per side, the control socket, epoll, signalfd, stdio. */
#define WORKER_MAX_FDS 128

/* The net worker's system calls beyond the base list
 * (vmm/sandbox/seccomp_base.c). */
static const struct sandbox_syscall net_syscalls[] = {
	{ SCMP_SYS(writev), "frames to a host port's tap, from guest memory" },
};

/* What an epoll event is about: kind in the low byte, side and queue
 * above it. */
enum watch_kind {
	W_LISTEN = 1,
	W_CONN,
	W_KICK,
	W_CONTROL,
	W_SIGNAL,
	W_TAP,
};

#define TAG(kind, side, q) ((uint64_t)(kind) | (uint64_t)(side) << 8 | (uint64_t)(q) << 16)

/* Batches one direction may move before the other gets a turn. */
#define FAIR_BUDGET 4

struct link_proc {
	const char *name;
	const char *path[2];
	const char *tap_name;   /* side a is this tap */
	bool tap_watched;       /* reading it (not while side b is full) */
	const char *control_path;
	const char *user;
	const char *test_trigger;
	bool poll;
	bool no_sandbox;
	int epfd;
	int listen_fd[2];
	int control_fd;
	int signal_fd;
	int kick_watched[2][NET_NUM_QUEUES];
	bool pending[2];       /* direction s may have work */
	struct net_link link;
};

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* Opens the tap IFNAME (made by whoever started us, persistent; made
 * here if missing and we may): frames only, no packet information, no
 * virtio-net header, so the kernel completes checksums and segments
 * itself. Returns the descriptor or -errno. */
static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, e;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int watch(struct link_proc *p, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void unwatch(struct link_proc *p, int fd)
{
	/* The descriptor may be closed already (epoll then forgot it). */
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* The back end tells us a queue changed: follow its kick descriptor, and
 * look for work in both directions. */
static void on_queue_changed(void *opaque, struct vu_dev *dev, unsigned qidx)
{
	struct link_proc *p = opaque;
	unsigned s = dev == &p->link.side[0] ? 0 : 1;
	struct vu_queue *q = &dev->q[qidx];
	int *watched = &p->kick_watched[s][qidx];

	if (*watched != q->kick_fd) {
		if (*watched >= 0)
			unwatch(p, *watched);
		*watched = -1;
		if (q->kick_fd >= 0 && watch(p, q->kick_fd, TAG(W_KICK, s, qidx)) == 0)
			*watched = q->kick_fd;
	}
	/* Receive-queue kicks matter only while a sender waits for room
	 * (the forwarder enables them then). */
	if (qidx == NET_RXQ && vu_queue_ready(dev, qidx) && !p->poll)
		virtq_disable_notify(&q->vq);
	p->pending[0] = p->pending[1] = true;
}

static const struct vu_dev_ops link_ops = {
	.queue_changed = on_queue_changed,
};

static int listen_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		bh_log("socket path %s longer than %zu bytes", path,
		       sizeof(addr.sun_path) - 1);
		return -1;
	}
	strcpy(addr.sun_path, path);
	/* A socket left by an earlier run goes; anything else is kept. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 4) < 0) {
		bh_log("listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void side_disconnect(struct link_proc *p, unsigned s)
{
	struct vu_dev *dev = &p->link.side[s];

	bh_log("%s: side %s disconnected", p->name, dev->name);
	unwatch(p, dev->sock);
	vu_dev_detach(dev);
}

static void on_accept(struct link_proc *p, unsigned s)
{
	struct vu_dev *dev = &p->link.side[s];
	int fd = accept4(p->listen_fd[s], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (dev->sock >= 0) {
		bh_log("%s: side %s: second connection refused (one front end per side)",
		       p->name, dev->name);
		close(fd);
		return;
	}
	vu_dev_attach(dev, fd);
	watch(p, fd, TAG(W_CONN, s, 0));
	bh_log("%s: side %s connected", p->name, dev->name);
}

static void on_control(struct link_proc *p)
{
	int fd = accept4(p->control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char *text;

	if (fd < 0)
		return;
	text = link_status_json(&p->link, p->name, p->poll);
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

static void drain_eventfd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		bh_log("kick read: %s", strerror(errno));
}

/* Moves frames sent by side s; leaves pending[s] set when there may be
 * more (budget spent, or buffers arrived while we armed notifications). */
static void run_direction(struct link_proc *p, unsigned s)
{
	struct net_link *l = &p->link;
	struct vu_dev *from = &l->side[s], *to = &l->side[!s];
	unsigned moved;

	if (l->tap_fd[s] >= 0) {
		/* The tap: level-triggered reads while side b takes frames;
		 * while it is full, its receive kick wakes us instead. */
		moved = net_link_forward(l, s, FAIR_BUDGET);
		bool want = !l->blocked[s];

		if (want != p->tap_watched) {
			struct epoll_event ev = { .events = want ? EPOLLIN : 0,
						  .data.u64 = TAG(W_TAP, s, 0) };

			epoll_ctl(p->epfd, EPOLL_CTL_MOD, l->tap_fd[s], &ev);
			p->tap_watched = want;
		}
		p->pending[s] = l->blocked[s] ?
			vu_queue_ready(to, NET_RXQ) &&
			virtq_enable_notify(&to->q[NET_RXQ].vq) :
			moved >= FAIR_BUDGET * NET_BATCH;
		return;
	}
	if (!vu_queue_ready(from, NET_TXQ)) {
		p->pending[s] = false;
		return;
	}
	if (!p->poll)
		virtq_disable_notify(&from->q[NET_TXQ].vq);
	moved = net_link_forward(l, s, FAIR_BUDGET);
	if (p->poll)
		return;
	if (l->blocked[s]) {
		/* Wait for the receiver to post buffers: its kick wakes us,
		 * unless buffers came while we were arming it. */
		p->pending[s] = vu_queue_ready(to, NET_RXQ) &&
				virtq_enable_notify(&to->q[NET_RXQ].vq);
		return;
	}
	if (moved >= FAIR_BUDGET * NET_BATCH) {
		p->pending[s] = true;
		return;
	}
	p->pending[s] = vu_queue_ready(from, NET_TXQ) &&
			virtq_enable_notify(&from->q[NET_TXQ].vq);
}

static void on_event(struct link_proc *p, uint64_t tag, uint32_t events,
		     bool *stop)
{
	unsigned kind = tag & 0xff, s = (tag >> 8) & 0xff, q = (tag >> 16) & 0xff;

	switch (kind) {
	case W_LISTEN:
		on_accept(p, s);
		break;
	case W_CONN:
		if (vu_dev_handle_socket(&p->link.side[s]) < 0 ||
		    (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLIN)))
			side_disconnect(p, s);
		break;
	case W_KICK:
		drain_eventfd(p->link.side[s].q[q].kick_fd);
		/* A transmit kick is work for that side's direction; a
		 * receive kick is room for the other side's. */
		p->pending[q == NET_TXQ ? s : !s] = true;
		break;
	case W_CONTROL:
		on_control(p);
		break;
	case W_SIGNAL:
		*stop = true;
		break;
	case W_TAP:
		p->pending[s] = true;
		break;
	}
}

static int setup(struct link_proc *p)
{
	sigset_t mask;

	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -1;
	for (int s = 0; s < 2; s++) {
		for (int q = 0; q < NET_NUM_QUEUES; q++)
			p->kick_watched[s][q] = -1;
		p->listen_fd[s] = -1;
		if (s == 0 && p->tap_name) {
			int fd = tap_open(p->tap_name);

			if (fd < 0) {
				bh_log("tap %s: %s", p->tap_name, strerror(-fd));
				errno = -fd;
				return -1;
			}
			if (net_link_set_tap(&p->link, 0, fd) < 0) {
				close(fd);
				errno = ENOMEM;
				return -1;
			}
			watch(p, fd, TAG(W_TAP, 0, 0));
			p->tap_watched = true;
			continue;
		}
		p->listen_fd[s] = listen_unix(p->path[s]);
		if (p->listen_fd[s] < 0)
			return -1;
		watch(p, p->listen_fd[s], TAG(W_LISTEN, s, 0));
	}
	p->control_fd = -1;
	if (p->control_path) {
		p->control_fd = listen_unix(p->control_path);
		if (p->control_fd < 0)
			return -1;
		watch(p, p->control_fd, TAG(W_CONTROL, 0, 0));
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	p->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (p->signal_fd < 0)
		return -1;
	watch(p, p->signal_fd, TAG(W_SIGNAL, 0, 0));
	return 0;
}

/* Test builds only: prove the confinement from inside. "open" tries to
 * read a host file (there is none in the empty root); "forbidden" makes a
 * system call the filter does not allow (the process dies of SIGSYS). */
static void run_test_trigger(struct link_proc *p)
{
#ifdef BULKHEAD_TEST_TRIGGERS
	if (strcmp(p->test_trigger, "open") == 0) {
		FILE *f = fopen("/etc/passwd", "r");

		bh_log("%s: test trigger: open /etc/passwd: %s", p->name,
		       f ? "opened" : strerror(errno));
		if (f)
			fclose(f);
	} else if (strcmp(p->test_trigger, "forbidden") == 0) {
		bh_log("%s: test trigger: socket(AF_INET)", p->name);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		bh_log("%s: test trigger: socket returned %d", p->name, fd);
	}
#else
	(void)p;
#endif
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bulkhead-link --a PATH|--tap-a IFNAME --b PATH [--mac-a MAC]\n"
		"                     [--mac-b MAC] [--poll] [--control PATH]\n"
		"                     [--name NAME] [--user NAME] [--no-sandbox]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "tap-a", required_argument, NULL, 't' },
		{ "mac-a", required_argument, NULL, 'A' },
		{ "mac-b", required_argument, NULL, 'B' },
		{ "poll", no_argument, NULL, 'p' },
		{ "control", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-sandbox", no_argument, NULL, 'S' },
#ifdef BULKHEAD_TEST_TRIGGERS
		{ "test-trigger", required_argument, NULL, 'T' },
#endif
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct link_proc proc;
	struct link_proc *p = &proc;
	bool stop = false;
	int opt;

	p->name = "link";
	p->user = DEFAULT_USER;
	if (net_link_init(&p->link, &link_ops, p) < 0) {
		bh_log("out of memory");
		return 1;
	}
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			p->path[0] = optarg;
			break;
		case 'b':
			p->path[1] = optarg;
			break;
		case 't':
			p->tap_name = optarg;
			break;
		case 'A':
		case 'B':
			if (parse_mac(optarg, p->link.mac[opt == 'B']) < 0) {
				bh_log("--mac-%c %s: not a MAC address (xx:xx:xx:xx:xx:xx)",
				       opt == 'A' ? 'a' : 'b', optarg);
				return 2;
			}
			p->link.mac_set[opt == 'B'] = true;
			break;
		case 'p':
			p->poll = true;
			break;
		case 'c':
			p->control_path = optarg;
			break;
		case 'n':
			p->name = optarg;
			break;
		case 'u':
			p->user = optarg;
			break;
		case 'S':
			p->no_sandbox = true;
			break;
		case 'T':
			p->test_trigger = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!(p->path[0] || p->tap_name) || (p->path[0] && p->tap_name) ||
	    !p->path[1] || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (setup(p) < 0) {
		bh_log("%s: setup failed: %s", p->name, strerror(errno));
		return 1;
	}
	if (p->no_sandbox) {
		bh_log("%s: WARNING: --no-sandbox: running UNCONFINED (as uid %u, "
		       "no seccomp filter, full file system). For debugging only.",
		       p->name, (unsigned)getuid());
	} else {
		struct sandbox_config sc = {
			.user = p->user,
			.max_fds = WORKER_MAX_FDS,
			.extra = net_syscalls,
			.nextra = sizeof(net_syscalls) / sizeof(net_syscalls[0]),
		};
		char err[256];

		if (sandbox_enter(&sc, err, sizeof(err)) < 0) {
			bh_log("%s: sandbox: %s", p->name, err);
			return 1;
		}
	}
	if (p->test_trigger)
		run_test_trigger(p);
	if (p->tap_name)
		bh_log("%s: tap %s, listening on %s (%s mode%s)", p->name,
		       p->tap_name, p->path[1], p->poll ? "poll" : "event",
		       p->no_sandbox ? ", UNCONFINED" : ", confined");
	else
		bh_log("%s: listening on %s and %s (%s mode%s)", p->name,
		       p->path[0], p->path[1], p->poll ? "poll" : "event",
		       p->no_sandbox ? ", UNCONFINED" : ", confined");

	while (!stop) {
		struct epoll_event ev[16];
		bool busy = p->poll || p->pending[0] || p->pending[1];
		int n = epoll_wait(p->epfd, ev, 16, busy ? 0 : -1);

		if (n < 0 && errno != EINTR) {
			bh_log("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			on_event(p, ev[i].data.u64, ev[i].events, &stop);
		for (unsigned s = 0; s < 2; s++)
			if (p->poll || p->pending[s])
				run_direction(p, s);
	}
	bh_log("%s: stopping", p->name);
	net_link_destroy(&p->link);
	/* Confined, the sockets are out of reach: whoever started the
	 * worker removes them (and a new start replaces stale ones). */
	for (int s = 0; s < 2; s++)
		if (p->path[s])
			unlink(p->path[s]);
	if (p->control_path)
		unlink(p->control_path);
	if (!p->no_sandbox)
		sandbox_exit(0);
	return 0;
}
