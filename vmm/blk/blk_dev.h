/* One virtio-blk volume served to one front end, its requests forwarded
 * to an NBD server (libnbd, asynchronous): requests taken from the ring,
 * parsed (blk_req.h), submitted, and completed into the used ring in the
 * order they were taken. In order because NBD may answer out of order
 * and a back end restarted after a crash resumes from used->idx: a
 * request published before an earlier one finished would let the
 * restarted worker believe the earlier one done (design.md, storage). */
#ifndef BULKHEAD_BLK_DEV_H
#define BULKHEAD_BLK_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk_req.h"
#include "vhost_user_dev.h"

struct nbd_handle;

/* Requests in flight at once (taken from the ring, not yet in the used
 * ring), and the bytes their bounce buffers may hold in all: the worker's
 * heap is capped at 64 MiB (sandbox.h). */
#define BLK_MAX_INFLIGHT 32
#define BLK_MAX_INFLIGHT_BYTES (16u * 1024u * 1024u)

struct blk_dev;

struct blk_slot {
	struct blk_dev *dev;
	struct virtq_chain chain;
	struct blk_req req;
	uint8_t *bounce;        /* the data between guest and NBD */
	uint32_t used_len;      /* bytes written into the chain */
	uint8_t status;         /* VIRTIO_BLK_S_*, once done */
	bool done;
	/* The ring it came from was stopped (front end gone, reset): when
	 * NBD answers, nothing goes back into guest memory. */
	bool orphan;
	/* vu.mem_gen when taken: if the mappings changed since (a new
	 * memory table), its host addresses may point at nothing or at
	 * other memory, and it is dropped like an orphan. */
	uint64_t mem_gen;
};

struct blk_counters {
	uint64_t requests;
	uint64_t reads, writes, flushes, get_ids;
	uint64_t bytes_read, bytes_written;
	uint64_t refusals[BLK_REFUSE_COUNT];
	uint64_t nbd_errors;     /* requests the NBD side failed */
	uint64_t waits_for_room; /* taking stopped: in-flight limits */
};

struct blk_dev {
	struct vu_dev vu;
	struct blk_volume vol;
	char id[BLK_ID_BYTES];   /* GET_ID's answer */
	size_t id_len;
	struct nbd_handle *nbd;
	/* Requests in the order taken: slots[head], then the next count - 1
	 * (modulo BLK_MAX_INFLIGHT). */
	struct blk_slot slots[BLK_MAX_INFLIGHT];
	unsigned head, count;
	uint64_t inflight_bytes;
	bool pending;            /* the ring may have requests */
	bool nbd_dead;
	char nbd_error[256];
	struct blk_counters c;
};

static inline struct blk_dev *blk_dev_of(struct vu_dev *vu)
{
	return (struct blk_dev *)((char *)vu - offsetof(struct blk_dev, vu));
}

/* A volume over an NBD handle already connected (its size, read-only
 * and flush flags read from it); id is GET_ID's answer (cut at 20
 * bytes). The back end is made with ops/opaque (the worker's). */
void blk_dev_init(struct blk_dev *b, struct nbd_handle *nbd, const char *id,
		  const struct vu_dev_ops *ops, void *opaque);

/* Takes what the ring holds (up to the in-flight limits), answers what
 * needs no NBD (refusals, GET_ID), submits the rest; then publishes what
 * finished, in order. */
void blk_dev_run(struct blk_dev *b);

/* The request queue stopped or reset: what is in flight is orphaned
 * (its guest memory may be gone). */
void blk_dev_queue_stopped(struct blk_dev *b);

/* After NBD events: notes a dead connection (its reason kept). */
void blk_dev_nbd_check(struct blk_dev *b);

/* Requests taken and not yet published. */
static inline unsigned blk_dev_inflight(const struct blk_dev *b)
{
	return b->count;
}

#endif
