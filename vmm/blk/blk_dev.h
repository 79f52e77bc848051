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

/* The worker's exit statuses when its NBD connection is gone (it is
 * confined and cannot reconnect: the supervisor starts a new one, which
 * the front end hands every request without a reply again). 75
 * (EX_TEMPFAIL): every write acknowledged to the guest was covered by a
 * successful flush. 76: some were not, and the server may have lost
 * them: the next worker is started with --lost-writes and fails the
 * guest's first FLUSH. */
#define BLK_EXIT_NBD_GONE 75
#define BLK_EXIT_LOST_WRITES 76

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
	/* DISCARD, WRITE_ZEROES: NBD commands (one per segment) sent and
	 * not yet answered; the request is done when none is left, failed
	 * if any failed. */
	unsigned nbd_left;
	uint32_t used_len;      /* bytes written into the chain */
	uint8_t status;         /* VIRTIO_BLK_S_*, once done */
	bool done;
	/* A FLUSH failed for writes an earlier worker lost (--lost-writes):
	 * once published, the guest has been told. */
	bool lost_writes;
	/* A FLUSH's: blk_dev.writes_acked when it was sent. NBD's flush
	 * covers the writes whose replies the client had before sending it
	 * (the server replied before it saw the flush); those published
	 * are among them. */
	uint64_t flush_covers;
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
	uint64_t reads, writes, flushes, get_ids, discards, write_zeroes;
	uint64_t bytes_read, bytes_written, bytes_discarded, bytes_zeroed;
	uint64_t refusals[BLK_REFUSE_COUNT];
	uint64_t nbd_errors;     /* requests the NBD side failed */
	uint64_t waits_for_room; /* taking stopped: in-flight limits */
	uint64_t lost_writes_flush_failed; /* FLUSHes failed for them */
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
	/* Writes published to the guest as done (OK; DISCARD and
	 * WRITE_ZEROES count as writes: they change what the server holds,
	 * and a server that dies before a flush may lose them), and how
	 * many of them
	 * a successful NBD flush covers: more acknowledged than flushed
	 * means the server may still lose some. */
	uint64_t writes_acked, writes_flushed;
	/* An earlier worker's acknowledged writes may be lost: every FLUSH
	 * fails until the guest has been given one such failure. */
	bool lost_writes;
	struct blk_counters c;
};

static inline struct blk_dev *blk_dev_of(struct vu_dev *vu)
{
	return (struct blk_dev *)((char *)vu - offsetof(struct blk_dev, vu));
}

/* A volume over an NBD handle already connected (its size, read-only,
 * flush, trim and zero flags read from it); id is GET_ID's answer (cut at 20
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

/* After NBD events: notes a dead connection (its reason kept). From
 * then on nothing more is published: the worker is to exit. */
void blk_dev_nbd_check(struct blk_dev *b);

/* --lost-writes: the guest's first FLUSH is to fail. On a volume
 * without flush nothing can carry that failure: logged, and dropped. */
void blk_dev_lost_writes(struct blk_dev *b);

/* Whether acknowledged writes may be lost if the server went now: some
 * not covered by a flush, or an earlier worker's still to be told.
 * Without flush on the volume, never: the guest was offered no FLUSH,
 * so it takes each completed write as durable (write-through), there was
 * nothing to flush, and no FLUSH will come to carry a failure. */
static inline bool blk_dev_unflushed(const struct blk_dev *b)
{
	return b->lost_writes ||
	       (b->vol.flush && b->writes_acked > b->writes_flushed);
}

/* The status the worker exits with, logged with why: 76 while an
 * earlier worker's lost writes are still to be owned up to (whatever
 * ends this one); after the NBD connection died, 76 when acknowledged
 * writes were not covered by a flush, else 75; else (stopped by a
 * signal, the server alive and holding what it acknowledged) 0. */
int blk_dev_exit_status(struct blk_dev *b);

/* Requests taken and not yet published. */
static inline unsigned blk_dev_inflight(const struct blk_dev *b)
{
	return b->count;
}

#endif
