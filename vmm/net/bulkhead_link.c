/* bulkhead-link: one process per link, a virtual cable between the
 * virtio-net devices of two VMs. Listens on two unix sockets as the
 * vhost-user back end; frames one side transmits are copied into the
 * other side's receive queue.
 *
 *   bulkhead-link --a PATH|--tap-a IFNAME --b PATH [--mac-a MAC] [--mac-b MAC]
 *                 [--queues N] [--poll] [--control PATH] [--name NAME]
 *                 [--user NAME] [--no-sandbox]
 *
 * --queues N: each side offers N queue pairs (VIRTIO_NET_F_MQ,
 * GET_QUEUE_NUM; 1..8, default 1); one thread serves them all.
 *
 * --tap-a makes side a the host's own port: a tap interface in the
 * host's network namespace (made beforehand, persistent, by the bulkhead
 * command) instead of a VM's virtio-net.
 *
 * The net worker's part: its options, the tap, when each direction has
 * work, its status. The loop, sockets, control socket, signals and the
 * sandbox are the skeleton's (vmm/worker/). Once its sockets (and tap)
 * are open it confines itself: a worker started by hand is as confined
 * as a supervised one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "link_status.h"
#include "log.h"
#include "net_link.h"
#include "net_tap.h"
#include "worker.h"

/* Two sockets, two connections, 2 x 16 vrings (8 pairs) x 3 ring
 * descriptors = 96, a message's 8 in flight, the control socket and one
 * reader, epoll, signalfd, stdio, a tap: 115 at most (memory regions'
 * descriptors are closed once mapped). */
#define WORKER_MAX_FDS 128

/* The tap's events (side in the tag). */
#define NET_TAG_TAP WORKER_TAG_DEVICE

/* Batches one direction may move before the other gets a turn. */
#define FAIR_BUDGET 4
/* Event mode: a direction that moved frames keeps being polled this long
 * before it asks for kicks again. A front end bursting every few
 * microseconds (DPDK's PMD under load) then never kicks, where each kick
 * is an eventfd write for it and a wake-up for us; an idle link still
 * sleeps 50 us after its last frame (vhost-net's busy-poll window is of
 * the same order). */
#define EVENT_GRACE_NS 50000

/* The net worker's system calls beyond the base list
 * (vmm/sandbox/seccomp_base.c). */
static const struct sandbox_syscall net_syscalls[] = {
	{ SCMP_SYS(writev), "frames to a host port's tap, from guest memory" },
};

struct link_proc {
	struct worker w;
	const char *tap_name;   /* side a is this tap */
	bool tap_watched;       /* reading it (not while side b is full) */
	bool poll;
	bool pending[2];       /* direction s may have work */
	int64_t last_moved_ns[2]; /* direction s last moved frames then */
	struct net_link link;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

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

/* --queues: a decimal count of pairs, 1..NET_MAX_PAIRS. Returns 0 or
 * -EINVAL. */
static int parse_pairs(const char *s, unsigned *pairs)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > NET_MAX_PAIRS)
		return -EINVAL;
	*pairs = (unsigned)v;
	return 0;
}

/* A queue of side s changed (the skeleton follows its kick descriptor):
 * look for work in both directions. */
static void on_queue_changed(struct worker *w, unsigned s, unsigned qidx)
{
	struct link_proc *p = w->dev;
	struct vu_dev *dev = &p->link.side[s];

	/* Receive-queue kicks matter only while a sender waits for room
	 * (the forwarder enables them then). Polling, no kick matters: a
	 * front end that honours NO_NOTIFY (DPDK's virtio PMD does; with
	 * EVENT_IDX the event index stays behind) then makes no system call
	 * per burst, where it made one per transmit burst and one per
	 * receive refill. */
	if ((qidx % 2 == NET_RXQ || p->poll) && vu_queue_ready(dev, qidx))
		virtq_disable_notify(&dev->q[qidx].vq);
	p->pending[0] = p->pending[1] = true;
}

static void on_kick(struct worker *w, unsigned s, unsigned qidx)
{
	struct link_proc *p = w->dev;

	/* A transmit kick is work for that side's direction; a receive
	 * kick is room for the other side's. */
	p->pending[qidx % 2 == NET_TXQ ? s : !s] = true;
}

static void on_tap(struct worker *w, uint64_t tag, uint32_t events)
{
	struct link_proc *p = w->dev;

	(void)events;
	p->pending[(tag >> 8) & 0xff] = true;
}

/* The tap's direction (side s is the host's tap, one queue): leaves
 * pending[s] set when there may be more. */
static void run_tap(struct link_proc *p, unsigned s)
{
	struct net_link *l = &p->link;
	struct vu_dev *to = &l->side[!s];
	/* The tap: level-triggered reads while side b takes frames;
	 * while it is full, its receive kick wakes us instead. */
	unsigned moved = net_link_forward(l, s, 0, FAIR_BUDGET);
	bool want = !l->blocked[s];

	if (want != p->tap_watched) {
		worker_rewatch(&p->w, l->tap_fd[s], want ? EPOLLIN : 0,
			       WORKER_TAG(NET_TAG_TAP, s, 0));
		p->tap_watched = want;
	}
	p->pending[s] = l->blocked[s] ?
		vu_queue_ready(to, l->rxq) &&
		virtq_enable_notify(&to->q[l->rxq].vq) :
		moved >= FAIR_BUDGET * NET_BATCH;
}

/* What one queue pair's transmit queue left (run_pair). */
enum pair_state {
	PAIR_DOWN,      /* not ready: nothing to do */
	PAIR_MORE,      /* there may be more at once (polling: always) */
	PAIR_WAITING,   /* blocked, waiting for the receiver's kick */
	PAIR_IDLE,      /* moved less than its budget */
};

/* Moves frames sent by side s on queue pair `pair`; *moved_sum counts
 * them. */
static enum pair_state run_pair(struct link_proc *p, unsigned s,
				unsigned pair, unsigned *moved_sum)
{
	struct net_link *l = &p->link;
	struct vu_dev *from = &l->side[s], *to = &l->side[!s];
	unsigned txq = net_txq(pair), moved;

	if (!vu_queue_ready(from, txq))
		return PAIR_DOWN;
	if (!p->poll)
		virtq_disable_notify(&from->q[txq].vq);
	moved = net_link_forward(l, s, pair, FAIR_BUDGET);
	*moved_sum += moved;
	if (p->poll)
		return PAIR_MORE;
	if (l->blocked[s])
		/* Wait for the receiver to post buffers: its kick wakes us,
		 * unless buffers came while we were arming it. */
		return vu_queue_ready(to, l->rxq) &&
		       virtq_enable_notify(&to->q[l->rxq].vq) ?
		       PAIR_MORE : PAIR_WAITING;
	return moved >= FAIR_BUDGET * NET_BATCH ? PAIR_MORE : PAIR_IDLE;
}

/* Moves frames sent by side s, on each of its queue pairs in turn (one
 * thread serves them all: docs/vmm.md says why); leaves pending[s] set
 * when there may be more. */
static void run_direction(struct link_proc *p, unsigned s)
{
	struct net_link *l = &p->link;
	struct vu_dev *from = &l->side[s];
	enum pair_state st[NET_MAX_PAIRS];
	bool more = false, idle = false;
	unsigned moved = 0;

	if (l->tap_fd[s] >= 0) {
		run_tap(p, s);
		return;
	}
	for (unsigned q = 0; q < l->pairs; q++) {
		st[q] = run_pair(p, s, q, &moved);
		more |= st[q] == PAIR_MORE;
		idle |= st[q] == PAIR_IDLE;
	}
	/* Polling, or work left, or every pair down or waiting for room
	 * (the receivers' kicks wake us). */
	if (p->poll || more || !idle) {
		p->pending[s] = more && !p->poll;
		return;
	}
	int64_t now = now_ns();

	if (moved)
		p->last_moved_ns[s] = now;
	if (now - p->last_moved_ns[s] < EVENT_GRACE_NS) {
		p->pending[s] = true;
		return;
	}
	/* Quiet past the grace: kicks again on every idle pair; one that
	 * got buffers while we armed it is work now. */
	for (unsigned q = 0; q < l->pairs; q++)
		if (st[q] == PAIR_IDLE &&
		    virtq_enable_notify(&from->q[net_txq(q)].vq))
			more = true;
	p->pending[s] = more;
}

static bool link_busy(const struct worker *w)
{
	const struct link_proc *p = w->dev;

	return p->poll || p->pending[0] || p->pending[1];
}

static void link_run(struct worker *w)
{
	struct link_proc *p = w->dev;

	for (unsigned s = 0; s < 2; s++)
		if (p->poll || p->pending[s])
			run_direction(p, s);
}

static char *link_status(struct worker *w)
{
	struct link_proc *p = w->dev;

	return link_status_json(&p->link, w->name, p->poll);
}

static const struct worker_ops link_worker_ops = {
	.name = "link",
	.queue_changed = on_queue_changed,
	.kick = on_kick,
	.event = on_tap,
	.busy = link_busy,
	.run = link_run,
	/* A run forwards at most FAIR_BUDGET batches each way, a few
	 * microseconds: an epoll_wait (0.6 us) before each one was a
	 * system call per batch when polling. Kicks are off then anyway,
	 * and messages wait 16 runs at most. */
	.busy_runs_per_poll = 16,
	.status = link_status,
	.syscalls = net_syscalls,
	.nsyscalls = sizeof(net_syscalls) / sizeof(net_syscalls[0]),
	.max_fds = WORKER_MAX_FDS,
};

/* Side a as the tap, watched from the start. Returns 0 or -errno. */
static int tap_setup(struct link_proc *p)
{
	int fd = net_tap_open(p->tap_name);

	if (fd < 0) {
		bh_log("tap %s: %s", p->tap_name, strerror(-fd));
		return fd;
	}
	if (net_link_set_tap(&p->link, 0, fd) < 0) {
		close(fd);
		return -ENOMEM;
	}
	worker_watch(&p->w, fd, WORKER_TAG(NET_TAG_TAP, 0, 0));
	worker_keep_fd(&p->w, fd);
	p->tap_watched = true;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bulkhead-link --a PATH|--tap-a IFNAME --b PATH [--mac-a MAC]\n"
		"                     [--mac-b MAC] [--queues N] [--poll]\n"
		"                     [--control PATH] [--name NAME] [--user NAME]\n"
		"                     [--no-sandbox]\n");
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
		{ "queues", required_argument, NULL, 'q' },
		WORKER_OPTIONS
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct link_proc proc;
	struct link_proc *p = &proc;
	struct worker *w = &p->w;
	unsigned pairs = 1;
	int opt, ret;

	worker_init(w, &link_worker_ops, p);
	if (net_link_init(&p->link, &worker_vu_ops, w) < 0) {
		bh_log("out of memory");
		return 1;
	}
	for (unsigned s = 0; s < 2; s++)
		w->listen[s].vu = &p->link.side[s];
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
		case 'b':
			w->listen[opt == 'b'].path = optarg;
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
		case 'q':
			if (parse_pairs(optarg, &pairs) < 0) {
				bh_log("--queues %s: not a number of queue pairs "
				       "in 1..%d", optarg, NET_MAX_PAIRS);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (worker_option(w, opt, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (!(w->listen[0].path || p->tap_name) ||
	    (w->listen[0].path && p->tap_name) || !w->listen[1].path ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	/* The host's tap is one queue: a host port is one pair. */
	if (p->tap_name && pairs > 1) {
		bh_log("--tap-a takes one queue pair (--queues %u)", pairs);
		return 2;
	}
	net_link_set_pairs(&p->link, pairs);
	if ((ret = worker_open(w)) < 0 ||
	    (p->tap_name && (ret = tap_setup(p)) < 0) ||
	    (ret = worker_listen(w)) < 0) {
		bh_log("%s: setup failed: %s", w->name, strerror(-ret));
		return 1;
	}
	if (worker_confine(w) < 0)
		return 1;
	if (p->tap_name)
		bh_log("%s: tap %s, listening on %s (%s mode%s)", w->name,
		       p->tap_name, w->listen[1].path, p->poll ? "poll" : "event",
		       w->no_sandbox ? ", UNCONFINED" : ", confined");
	else
		bh_log("%s: listening on %s and %s (%u queue pair%s, %s mode%s)",
		       w->name, w->listen[0].path, w->listen[1].path, pairs,
		       pairs == 1 ? "" : "s", p->poll ? "poll" : "event",
		       w->no_sandbox ? ", UNCONFINED" : ", confined");

	worker_loop(w);
	bh_log("%s: stopping", w->name);
	net_link_destroy(&p->link);
	worker_exit(w, 0);
}
