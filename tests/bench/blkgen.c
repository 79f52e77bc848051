/* A virtio-blk driver for benchmarks: COUNT 4 KiB reads at random
 * 4 KiB-aligned offsets of a vhost-user-blk back end's volume, DEPTH of
 * them in flight, through the harness front end (tests/harness: memfd
 * guest memory, virtio/'s driver-side queue). Used buffer notifications
 * on, as a guest driver waiting for its reads has them: it sleeps on the
 * call eventfd. Every status byte is checked.
 *
 *   blkgen SOCKET COUNT [DEPTH] [VOLUME_BYTES]
 *
 * Exits 0 when every read completed with status OK, 1 otherwise. What
 * tests/bench/blk_compare.py counts under callgrind (bulkhead-blk's
 * instructions per request). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vu_frontend.h"

#define BLKGEN_QSIZE 128
#define BLKGEN_MAX_DEPTH 32     /* bulkhead-blk's requests in flight */
#define BLKGEN_IO 4096u
#define BLKGEN_WAIT_MS 10000

struct slot {
	uint64_t hdr, data, status;
	int id;                 /* the chain's head while in flight; -1 */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64: a fixed sequence of offsets from run to run. */
static uint64_t next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int submit(struct fe *fe, struct slot *s, uint64_t blocks)
{
	struct virtio_blk_outhdr *h = fe_hva(fe, s->hdr);
	struct virtq_buf b[3] = {
		{ s->hdr, sizeof(*h), false },
		{ s->data, BLKGEN_IO, true },
		{ s->status, 1, true },
	};

	h->type = VIRTIO_BLK_T_IN;
	h->ioprio = 0;
	h->sector = (next_random() % blocks) * (BLKGEN_IO / 512);
	*(uint8_t *)fe_hva(fe, s->status) = 0xee;
	s->id = virtq_driver_add(&fe->q[0], b, 3);
	return s->id < 0 ? s->id : 0;
}

/* Sleeps until the back end signals a completion (or BLKGEN_WAIT_MS). */
static int wait_call(struct fe *fe)
{
	struct pollfd p = { .fd = fe->call[0], .events = POLLIN };
	uint64_t n;
	int r = poll(&p, 1, BLKGEN_WAIT_MS);

	if (r <= 0)
		return r == 0 ? -ETIMEDOUT : -errno;
	if (read(fe->call[0], &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

struct gen {
	struct fe *fe;
	struct slot slots[BLKGEN_MAX_DEPTH];
	unsigned depth, in_flight;
	unsigned long done, failed;
};

/* Takes every used request; returns how many, or a negative errno. */
static int reap_all(struct gen *g)
{
	uint16_t id;
	uint32_t len;
	int reaped = 0;

	while (virtq_driver_reap(&g->fe->q[0], &id, &len) == 1) {
		unsigned i = 0;

		while (i < g->depth && g->slots[i].id != id)
			i++;
		if (i == g->depth) {
			fprintf(stderr, "blkgen: used id %u never submitted\n", id);
			return -EPROTO;
		}
		if (*(uint8_t *)fe_hva(g->fe, g->slots[i].status) != VIRTIO_BLK_S_OK)
			g->failed++;
		g->slots[i].id = -1;
		g->in_flight--;
		g->done++;
		reaped++;
	}
	return reaped;
}

static int run(struct fe *fe, unsigned long count, unsigned depth,
	       uint64_t volume_bytes)
{
	struct gen g = { .fe = fe, .depth = depth };
	uint64_t blocks = volume_bytes / BLKGEN_IO;
	unsigned long submitted = 0;

	for (unsigned i = 0; i < depth; i++) {
		struct slot *s = &g.slots[i];

		s->hdr = fe_alloc_buf(fe, sizeof(struct virtio_blk_outhdr));
		s->data = fe_alloc_buf(fe, BLKGEN_IO);
		s->status = fe_alloc_buf(fe, 1);
		s->id = -1;
		if (!s->hdr || !s->data || !s->status)
			return -ENOMEM;
	}
	while (g.done < count) {
		for (unsigned i = 0; i < depth && submitted < count; i++) {
			if (g.slots[i].id >= 0)
				continue;
			int ret = submit(fe, &g.slots[i], blocks);

			if (ret < 0)
				return ret;
			submitted++;
			g.in_flight++;
		}
		fe_kick(fe, 0);
		int reaped = reap_all(&g);

		if (reaped == 0) {
			/* Re-armed before each sleep (with EVENT_IDX, used_event
			 * is the next entry), then looked at once more: a
			 * completion published in between sent no call. */
			virtq_driver_set_interrupts(&fe->q[0], true);
			reaped = reap_all(&g);
		}
		if (reaped == 0) {
			reaped = wait_call(fe);
			if (reaped < 0)
				fprintf(stderr, "blkgen: %lu of %lu done, %u in flight: %s\n",
					g.done, count, g.in_flight, strerror(-reaped));
		}
		if (reaped < 0)
			return reaped;
	}
	if (g.failed) {
		fprintf(stderr, "blkgen: %lu of %lu reads failed\n", g.failed, count);
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fe fe;
	unsigned long count;
	unsigned depth;
	uint64_t volume_bytes;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: blkgen SOCKET COUNT [DEPTH] [VOLUME_BYTES]\n");
		return 2;
	}
	count = strtoul(argv[2], NULL, 0);
	depth = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
	volume_bytes = argc > 4 ? strtoull(argv[4], NULL, 0) : 64ull << 20;
	if (depth < 1 || depth > BLKGEN_MAX_DEPTH || volume_bytes < BLKGEN_IO) {
		fprintf(stderr, "blkgen: depth 1..%d, volume at least %u bytes\n",
			BLKGEN_MAX_DEPTH, BLKGEN_IO);
		return 2;
	}
	ret = fe_connect(&fe, argv[1], 5000);
	if (ret == 0) {
		/* One request queue (fe_start's default is net's two). */
		fe.nqueues = 1;
		ret = fe_start(&fe, ~0ull, false, BLKGEN_QSIZE, 16u << 20);
	}
	if (ret == 0)
		ret = run(&fe, count, depth, volume_bytes);
	if (ret < 0)
		fprintf(stderr, "blkgen: %s\n", strerror(-ret));
	fe_close(&fe);
	return ret < 0;
}
