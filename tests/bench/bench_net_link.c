/* In-process benchmark of the link's forwarding (vmm/net/net_link.c): two
 * front ends' rings in one memory, no sockets, no threads, no kicks. The
 * two vu_dev back ends get their memory tables and queues set up
 * directly, as SET_MEM_TABLE and SET_VRING_KICK would; the drivers are
 * virtio/'s driver-side queues. Each round side A transmits a batch of
 * 32 frames (one descriptor each, 12-byte header + frame), the link moves
 * them (net_link_forward, one batch) into side B's receive buffers
 * (mergeable, 2 KiB), and the drivers reap and refill. Deterministic, so
 * instruction counts repeat exactly however busy the machine is:
 *   bench_net_link [--frame N]           ns per frame (timed, informative)
 *   bench_net_link --count [--frame N]   a fixed run for callgrind's
 *                                        --toggle-collect=net_link_forward
 *   --in-order: both sides negotiate VIRTIO_F_IN_ORDER, as DPDK's
 *   virtio_user does by default (a transmit batch returns in one used
 *   entry)
 *   --pair P: the link has P + 1 queue pairs (multiqueue) and the rings
 *   are pair P's on both sides: what a pair past the first costs
 *   --idle-pairs K: (with --count) after each batch, K forward calls on
 *   pairs that are up but have nothing to send (pairs 1..K; the link has
 *   K + 1): what polling an idle pair costs (callgrind counts them too)
 * N is the frame length on the ring without FCS (60: a 64-byte frame). */
#define _GNU_SOURCE
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "net_link.h"
#include "virtq_driver.h"

#define BIT(n) (1ull << (n))
#define QSIZE 256
#define BATCH 32
#define HDR_LEN 12
#define RX_BUF 2048u
#define GPA 0x100000000ull
#define MEM_BYTES (8u << 20)
#define COUNT_ROUNDS 10000

struct side {
	uint8_t *hva;
	struct virtq_driver drv[2];   /* NET_RXQ, NET_TXQ */
	uint64_t tx_buf, rx_buf;      /* pools, QSIZE buffers each */
	unsigned tx_next;
};

struct bench {
	struct net_link link;
	struct side side[2];
	uint32_t frame_len;
	unsigned pair;        /* the pair the rings are */
	unsigned idle_pairs;  /* further pairs, up and idle */
};

static void no_change(void *opaque, struct vu_dev *dev, unsigned qidx)
{
	(void)opaque;
	(void)dev;
	(void)qidx;
}

static const struct vu_dev_ops ops = { .queue_changed = no_change };

static void fail(const char *what)
{
	fprintf(stderr, "bench_net_link: %s\n", what);
	exit(1);
}

/* One side as a front end would leave it after a normal start: features
 * acked, one memory region, both rings started and enabled. */
static void side_setup(struct bench *b, unsigned s, bool in_order)
{
	unsigned first = 2 * b->pair;
	struct vu_dev *dev = &b->link.side[s];
	struct side *sd = &b->side[s];
	uint64_t ring_bytes = virtq_driver_ring_bytes(false, QSIZE);
	char err[128];

	sd->hva = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (sd->hva == MAP_FAILED)
		fail("mmap");
	struct guest_mem_region r = { .gpa = GPA, .size = MEM_BYTES,
				      .uva = GPA, .hva = sd->hva };
	if (guest_mem_add_region(&dev->mem, &r, err, sizeof(err)) < 0)
		fail(err);
	/* A dummy descriptor: the link only checks that the side is
	 * connected; nothing here reads or writes a socket. */
	dev->sock = 1000 + (int)s;
	dev->features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			BIT(VIRTIO_RING_F_EVENT_IDX) |
			(in_order ? BIT(VIRTIO_F_IN_ORDER) : 0);
	dev->features_set = true;
	for (unsigned q = 0; q < 2; q++) {
		uint64_t off = (uint64_t)q * ((ring_bytes + 4095) & ~4095ull);
		struct virtq_config cfg;

		if (virtq_driver_init(&sd->drv[q], false, QSIZE, true,
				      sd->hva + off, GPA + off) < 0)
			fail("virtq_driver_init");
		if (in_order)
			virtq_driver_set_in_order(&sd->drv[q]);
		/* The drivers poll: no used-buffer notifications wanted. */
		virtq_driver_set_interrupts(&sd->drv[q], false);
		cfg = virtq_driver_config(&sd->drv[q]);
		if (virtq_init(&dev->q[first + q].vq, &dev->mem, &cfg) < 0)
			fail(dev->q[first + q].vq.reason);
		dev->q[first + q].num = QSIZE;
		dev->q[first + q].started = dev->q[first + q].enabled = true;
		/* Idle pairs: the same rings, empty, up (pair 1.. when the
		 * rings are pair 0's). */
		for (unsigned p = 1; p <= b->idle_pairs; p++) {
			uint64_t ioff = off + (uint64_t)p * (256u << 10);
			struct virtq_driver idle;

			if (virtq_driver_init(&idle, false, QSIZE, true,
					      sd->hva + ioff, GPA + ioff) < 0)
				fail("virtq_driver_init");
			cfg = virtq_driver_config(&idle);
			if (virtq_init(&dev->q[2 * p + q].vq, &dev->mem, &cfg) < 0)
				fail(dev->q[2 * p + q].vq.reason);
			dev->q[2 * p + q].num = QSIZE;
			dev->q[2 * p + q].started = dev->q[2 * p + q].enabled = true;
			virtq_driver_destroy(&idle);
		}
	}
	sd->tx_buf = GPA + (1u << 20);
	sd->rx_buf = sd->tx_buf + (uint64_t)QSIZE * RX_BUF;
}

static void bench_setup(struct bench *b, uint32_t frame_len, bool in_order,
			unsigned pair, unsigned idle_pairs)
{
	memset(b, 0, sizeof(*b));
	if (net_link_init(&b->link, &ops, NULL) < 0 ||
	    net_link_set_pairs(&b->link, pair + idle_pairs + 1) < 0)
		fail("net_link_init");
	b->frame_len = frame_len;
	b->pair = pair;
	b->idle_pairs = idle_pairs;
	for (unsigned s = 0; s < 2; s++)
		side_setup(b, s, in_order);
	/* A's transmit buffers: a zero header and a frame, written once. */
	for (unsigned i = 0; i < QSIZE; i++) {
		uint8_t *p = b->side[0].hva + (b->side[0].tx_buf - GPA) +
			     (size_t)i * RX_BUF;

		memset(p, 0, HDR_LEN);
		for (uint32_t k = 0; k < frame_len; k++)
			p[HDR_LEN + k] = (uint8_t)(k * 7 + 1);
	}
	/* B's receive ring full. */
	for (unsigned i = 0; i < QSIZE; i++) {
		struct virtq_buf vb = { .gpa = b->side[1].rx_buf + (uint64_t)i * RX_BUF,
					.len = RX_BUF, .writable = true };

		if (virtq_driver_add(&b->side[1].drv[NET_RXQ], &vb, 1) < 0)
			fail("rx add");
	}
	virtq_driver_kick_prepare(&b->side[1].drv[NET_RXQ]);
}

static void bench_destroy(struct bench *b)
{
	for (unsigned s = 0; s < 2; s++) {
		b->link.side[s].sock = -1;
		for (unsigned q = 0; q < 2; q++)
			virtq_driver_destroy(&b->side[s].drv[q]);
		munmap(b->side[s].hva, MEM_BYTES);
	}
	net_link_destroy(&b->link);
}

/* The drivers' part of a round, not counted: A queues a batch. */
static void drivers_send(struct bench *b)
{
	struct side *a = &b->side[0];

	for (unsigned i = 0; i < BATCH; i++) {
		struct virtq_buf vb = {
			.gpa = a->tx_buf + (uint64_t)a->tx_next * RX_BUF,
			.len = HDR_LEN + b->frame_len,
		};

		a->tx_next = (a->tx_next + 1) % QSIZE;
		if (virtq_driver_add(&a->drv[NET_TXQ], &vb, 1) < 0)
			fail("tx add");
	}
	virtq_driver_kick_prepare(&a->drv[NET_TXQ]);
}

/* A reaps its sent buffers, B takes its frames and gives the buffers
 * back. Returns the frames B received. */
static unsigned drivers_reap(struct bench *b)
{
	struct virtq_driver *tx = &b->side[0].drv[NET_TXQ];
	struct virtq_driver *rx = &b->side[1].drv[NET_RXQ];
	unsigned got = 0;
	uint16_t id;
	uint32_t len;

	while (virtq_driver_reap(tx, &id, &len) == 1)
		;
	while (virtq_driver_reap(rx, &id, &len) == 1) {
		struct virtq_buf vb = { .gpa = b->side[1].rx_buf + (uint64_t)id * RX_BUF,
					.len = RX_BUF, .writable = true };

		/* Descriptor id i always carries buffer i here. */
		if (len != HDR_LEN + b->frame_len)
			fail("received length");
		got++;
		if (virtq_driver_add(rx, &vb, 1) < 0)
			fail("rx re-add");
	}
	virtq_driver_kick_prepare(rx);
	return got;
}

/* The measured work, for --toggle-collect: one batch A -> B. */
__attribute__((noinline)) unsigned forward_batch(struct bench *b);
__attribute__((noinline)) unsigned forward_batch(struct bench *b)
{
	unsigned n = net_link_forward(&b->link, 0, b->pair, 1);

	/* What a polling link does with its idle pairs each round. */
	for (unsigned p = 1; p <= b->idle_pairs; p++)
		n += net_link_forward(&b->link, 0, p, 1);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	uint32_t frame_len = 60;
	bool count = false, in_order = false;
	unsigned pair = 0, idle_pairs = 0;
	unsigned long total = 0, rounds;
	double spent = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0)
			count = true;
		else if (strcmp(argv[i], "--frame") == 0 && i + 1 < argc)
			frame_len = (uint32_t)atoi(argv[++i]);
		else if (strcmp(argv[i], "--in-order") == 0)
			in_order = true;
		else if (strcmp(argv[i], "--pair") == 0 && i + 1 < argc)
			pair = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--idle-pairs") == 0 && i + 1 < argc)
			idle_pairs = (unsigned)atoi(argv[++i]);
		else
			fail("usage: bench_net_link [--count] [--frame N] [--in-order]"
			     " [--pair P | --idle-pairs K]");
	}
	if (pair >= NET_MAX_PAIRS || idle_pairs > 3 ||
	    (pair && idle_pairs))
		fail("--pair 0..7 or --idle-pairs 0..3 (their rings below the buffers), not both");
	if (frame_len < 14 || frame_len + HDR_LEN > RX_BUF)
		fail("--frame: 14..2036");
	bench_setup(b, frame_len, in_order, pair, idle_pairs);
	rounds = count ? COUNT_ROUNDS : 400000;
	for (unsigned long r = 0; r < rounds; r++) {
		double t0;
		unsigned n;

		drivers_send(b);
		t0 = count ? 0 : now_s();
		n = forward_batch(b);
		if (!count)
			spent += now_s() - t0;
		if (n != BATCH || drivers_reap(b) != BATCH)
			fail("a batch did not cross whole");
		total += n;
	}
	if (b->link.stats[0].packets != total)
		fail("link counters disagree");
	if (count)
		printf("frames %lu frame_len %u batch %d\n", total, frame_len, BATCH);
	else
		printf("frame %u B: %.1f ns per frame forwarded (batch %d, in process)\n",
		       frame_len, spent / (double)total * 1e9, BATCH);
	bench_destroy(b);
	return 0;
}
