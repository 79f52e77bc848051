#include "blk_dev.h"

#include <errno.h>
#include <inttypes.h>
#include <libnbd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_vu.h"
#include "sg.h"

void blk_dev_init(struct blk_dev *b, struct nbd_handle *nbd, const char *id,
		  const struct vu_dev_ops *ops, void *opaque)
{
	int64_t size = nbd_get_size(nbd);

	memset(b, 0, sizeof(*b));
	vu_dev_init(&b->vu, "vm", &blk_vu_kind, ops, opaque);
	b->nbd = nbd;
	/* A tail shorter than a sector is not offered: virtio-blk has no
	 * unit below 512 bytes. */
	b->vol.capacity_sectors = size > 0 ? (uint64_t)size / BLK_SECTOR : 0;
	b->vol.read_only = nbd_is_read_only(nbd) == 1;
	b->vol.flush = nbd_can_flush(nbd) == 1;
	/* DISCARD and WRITE_ZEROES only when the server says it does trim
	 * and zero (libnbd refuses both otherwise), and never on a read-only
	 * volume. */
	b->vol.discard = !b->vol.read_only && nbd_can_trim(nbd) == 1;
	b->vol.write_zeroes = !b->vol.read_only && nbd_can_zero(nbd) == 1;
	if (!b->vol.read_only)
		b->vu.offered_features &= ~(1ull << VIRTIO_BLK_F_RO);
	if (!b->vol.discard)
		b->vu.offered_features &= ~(1ull << VIRTIO_BLK_F_DISCARD);
	if (!b->vol.write_zeroes)
		b->vu.offered_features &= ~(1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	/* Without flush on the server, saying FLUSH would promise the
	 * guest a durability nobody gives. */
	if (!b->vol.flush)
		b->vu.offered_features &= ~(1ull << VIRTIO_BLK_F_FLUSH);
	b->id_len = strnlen(id, BLK_ID_BYTES);
	memcpy(b->id, id, b->id_len);
	for (unsigned i = 0; i < BLK_MAX_INFLIGHT; i++)
		b->slots[i].dev = b;
}

void blk_dev_nbd_check(struct blk_dev *b)
{
	/* Dead: a protocol error (libnbd does not guess where the next
	 * reply starts); closed: the server hung up. */
	if (b->nbd_dead ||
	    !(nbd_aio_is_dead(b->nbd) || nbd_aio_is_closed(b->nbd)))
		return;
	b->nbd_dead = true;
	snprintf(b->nbd_error, sizeof(b->nbd_error), "%s",
		 nbd_get_error() ? nbd_get_error() : "connection dead");
	vu_log(&b->vu, "NBD connection dead: %s; %u requests taken and left "
	       "unpublished (the front end hands them to the next worker)",
	       b->nbd_error, b->count);
}

void blk_dev_lost_writes(struct blk_dev *b)
{
	if (!b->vol.flush) {
		vu_log(&b->vu, "--lost-writes: the volume has no flush, so the "
		       "guest sends no FLUSH to fail; nothing can tell it");
		return;
	}
	b->lost_writes = true;
	vu_log(&b->vu, "--lost-writes: an earlier worker acknowledged writes "
	       "no flush covered when its NBD connection died; the guest's "
	       "first FLUSH fails");
}

int blk_dev_exit_status(struct blk_dev *b)
{
	if (b->lost_writes) {
		vu_log(&b->vu, "exit %d: an earlier worker's lost writes are "
		       "not yet owned up to (no FLUSH failed yet)",
		       BLK_EXIT_LOST_WRITES);
		return BLK_EXIT_LOST_WRITES;
	}
	if (!b->nbd_dead)
		return 0;
	if (blk_dev_unflushed(b)) {
		vu_log(&b->vu, "exit %d: %" PRIu64 " writes acknowledged, only "
		       "%" PRIu64 " covered by a flush: the server may have "
		       "lost the rest", BLK_EXIT_LOST_WRITES, b->writes_acked,
		       b->writes_flushed);
		return BLK_EXIT_LOST_WRITES;
	}
	vu_log(&b->vu, "exit %d: every acknowledged write (%" PRIu64 ") "
	       "covered by a flush", BLK_EXIT_NBD_GONE, b->writes_acked);
	return BLK_EXIT_NBD_GONE;
}

/* libnbd's completion: the server answered (or the connection died,
 * *error then set). Returning 1 retires the command inside libnbd. */
static const char *nbd_op_name(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return "read";
	case VIRTIO_BLK_T_OUT:
		return "write";
	case VIRTIO_BLK_T_DISCARD:
		return "trim";
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return "zero";
	default:
		return "flush";
	}
}

/* A DISCARD's or WRITE_ZEROES's segment answered: the request is done
 * when its last one is, failed when any failed. */
static int on_nbd_seg_done(void *user_data, int *error)
{
	struct blk_slot *s = user_data;
	struct blk_dev *b = s->dev;

	if (*error) {
		b->c.nbd_errors++;
		s->status = VIRTIO_BLK_S_IOERR;
		vu_log(&b->vu, "NBD %s failed: %s", nbd_op_name(s->req.type),
		       strerror(*error));
	}
	if (--s->nbd_left == 0)
		s->done = true;
	return 1;
}

static int on_nbd_done(void *user_data, int *error)
{
	struct blk_slot *s = user_data;
	struct blk_dev *b = s->dev;

	if (*error) {
		b->c.nbd_errors++;
		s->status = VIRTIO_BLK_S_IOERR;
		vu_log(&b->vu, "NBD %s of %" PRIu32 " bytes at %" PRIu64
		       " failed: %s", nbd_op_name(s->req.type),
		       s->req.len, s->req.offset, strerror(*error));
	} else {
		s->status = VIRTIO_BLK_S_OK;
		/* Durable at the server now, published or not. */
		if (s->req.type == VIRTIO_BLK_T_FLUSH &&
		    s->flush_covers > b->writes_flushed)
			b->writes_flushed = s->flush_covers;
	}
	s->done = true;
	return 1;
}

static void finish(struct blk_slot *s, uint8_t status)
{
	s->status = status;
	s->done = true;
}

/* DISCARD, WRITE_ZEROES: one NBD trim or zero per segment, all in
 * flight together. A zero the guest did not allow to unmap carries
 * NBD_CMD_FLAG_NO_HOLE: the server must write the zeroes, not punch a
 * hole. A segment libnbd refuses fails the request; those already sent
 * are still waited for (their callbacks name this slot). */
static void submit_dwz(struct blk_dev *b, struct blk_slot *s)
{
	nbd_completion_callback cb = { .callback = on_nbd_seg_done,
				       .user_data = s };
	bool trim = s->req.type == VIRTIO_BLK_T_DISCARD;

	s->status = VIRTIO_BLK_S_OK;
	s->nbd_left = 1;        /* held until every segment is sent */
	if (trim)
		b->c.discards++;
	else
		b->c.write_zeroes++;
	for (unsigned i = 0; i < s->req.nseg; i++) {
		const struct blk_dwz_seg *g = &s->req.seg[i];
		int64_t cookie;

		cookie = trim ? nbd_aio_trim(b->nbd, g->len, g->offset, cb, 0) :
			 nbd_aio_zero(b->nbd, g->len, g->offset, cb,
				      g->unmap ? 0 : LIBNBD_CMD_FLAG_NO_HOLE);
		if (cookie < 0) {
			b->c.nbd_errors++;
			blk_dev_nbd_check(b);
			vu_log(&b->vu, "NBD %s not sent: %s", trim ? "trim" :
			       "zero", nbd_get_error());
			s->status = VIRTIO_BLK_S_IOERR;
			break;
		}
		s->nbd_left++;
		if (trim)
			b->c.bytes_discarded += g->len;
		else
			b->c.bytes_zeroed += g->len;
	}
	if (--s->nbd_left == 0)
		s->done = true;
}

/* Sends slot s's request to NBD; on a refusal from libnbd (connection
 * dead, or its own checks) the request fails at once. */
static void submit(struct blk_dev *b, struct blk_slot *s)
{
	nbd_completion_callback cb = { .callback = on_nbd_done,
				       .user_data = s };
	int64_t cookie;

	switch (s->req.type) {
	case VIRTIO_BLK_T_IN:
		b->c.reads++;
		cookie = nbd_aio_pread(b->nbd, s->bounce, s->req.len,
				       s->req.offset, cb, 0);
		break;
	case VIRTIO_BLK_T_OUT:
		b->c.writes++;
		cookie = nbd_aio_pwrite(b->nbd, s->bounce, s->req.len,
					s->req.offset, cb, 0);
		break;
	default:
		b->c.flushes++;
		/* Writes published are done at the server: their replies came
		 * before this flush goes out. One still unpublished may be, too,
		 * but is not counted as acknowledged yet either. */
		s->flush_covers = b->writes_acked;
		cookie = nbd_aio_flush(b->nbd, cb, 0);
		break;
	}
	if (cookie < 0) {
		b->c.nbd_errors++;
		blk_dev_nbd_check(b);
		vu_log(&b->vu, "NBD request not sent: %s", nbd_get_error());
		finish(s, VIRTIO_BLK_S_IOERR);
	}
}

/* Starts slot s's request. Returns false when it must wait for room
 * (the in-flight bytes): the caller gives its chain back. */
static bool start(struct blk_dev *b, struct blk_slot *s)
{
	struct blk_req *r = &s->req;
	char why[192];
	struct sg_pos pos;

	b->c.requests++;
	if (blk_req_parse(&s->chain, &b->vol, r, why, sizeof(why)) < 0) {
		b->c.refusals[r->refusal]++;
		vu_log(&b->vu, "request refused (%s): %s",
		       blk_refusal_name(r->refusal), why);
		s->used_len = r->status ? 1 : 0;
		finish(s, r->refused_status);
		return true;
	}
	s->used_len = 1;
	sg_init(&pos, s->chain.seg, (uint32_t)s->chain.nread + s->chain.nwrite);
	if (r->type == VIRTIO_BLK_T_GET_ID) {
		uint8_t id[BLK_ID_BYTES] = { 0 };
		uint8_t hdr[BLK_HDR_BYTES];

		b->c.get_ids++;
		memcpy(id, b->id, b->id_len);
		sg_read(&pos, hdr, sizeof(hdr));
		sg_write(&pos, id, r->len);
		s->used_len += r->len;
		finish(s, VIRTIO_BLK_S_OK);
		return true;
	}
	if (r->type == VIRTIO_BLK_T_FLUSH && b->lost_writes) {
		/* Every FLUSH taken until the guest has seen one fail: a second
		 * taken meanwhile must not vouch for what the first could not
		 * (the first may yet be dropped, its memory remapped). */
		b->c.lost_writes_flush_failed++;
		vu_log(&b->vu, "FLUSH failed: an earlier worker's acknowledged "
		       "writes were not flushed when its NBD connection died");
		s->lost_writes = true;
		finish(s, VIRTIO_BLK_S_IOERR);
		return true;
	}
	if (r->type == VIRTIO_BLK_T_DISCARD ||
	    r->type == VIRTIO_BLK_T_WRITE_ZEROES) {
		/* No data moves: no bounce buffer, no in-flight bytes. */
		submit_dwz(b, s);
		return true;
	}
	if (r->type != VIRTIO_BLK_T_FLUSH) {
		if (r->len == 0) {
			finish(s, VIRTIO_BLK_S_OK);
			return true;
		}
		if (b->inflight_bytes + r->len > BLK_MAX_INFLIGHT_BYTES)
			return false;
		s->bounce = malloc(r->len);
		if (!s->bounce) {
			vu_log(&b->vu, "no memory for %" PRIu32 " bytes", r->len);
			finish(s, VIRTIO_BLK_S_IOERR);
			return true;
		}
		b->inflight_bytes += r->len;
		if (r->type == VIRTIO_BLK_T_OUT) {
			uint8_t hdr[BLK_HDR_BYTES];

			sg_read(&pos, hdr, sizeof(hdr));
			sg_read(&pos, s->bounce, r->len);
		} else {
			s->used_len += r->len;
		}
	}
	submit(b, s);
	return true;
}

/* Publishes the finished requests at the head, in order. */
static void retire(struct blk_dev *b)
{
	struct vu_queue *q = &b->vu.q[BLK_REQQ];
	bool pushed = false;

	/* The connection gone, nothing more is published: used->idx stays
	 * where every request before it is complete and none after it is,
	 * and the front end hands the rest to the next worker (QEMU, when
	 * its back end goes: last_avail_idx back to used->idx). A request
	 * answered but behind an unanswered one is sent again too: a read
	 * reads, a write writes the same bytes. */
	if (b->nbd_dead)
		return;
	while (b->count) {
		struct blk_slot *s = &b->slots[b->head];

		if (!s->done)
			break;
		if (s->mem_gen != b->vu.mem_gen && !s->orphan) {
			s->orphan = true;
			vu_log(&b->vu, "request dropped: guest memory remapped "
			       "while it was at the server");
		}
		if (!s->orphan) {
			struct blk_req *r = &s->req;

			if (r->type == VIRTIO_BLK_T_IN && s->bounce &&
			    s->status == VIRTIO_BLK_S_OK) {
				struct sg_pos pos;
				uint8_t hdr[BLK_HDR_BYTES];

				sg_init(&pos, s->chain.seg,
					(uint32_t)s->chain.nread + s->chain.nwrite);
				sg_read(&pos, hdr, sizeof(hdr));
				sg_write(&pos, s->bounce, r->len);
				b->c.bytes_read += r->len;
			} else if (r->type == VIRTIO_BLK_T_OUT &&
				   s->status == VIRTIO_BLK_S_OK && r->len) {
				b->c.bytes_written += r->len;
				b->writes_acked++;
			} else if ((r->type == VIRTIO_BLK_T_DISCARD ||
				    r->type == VIRTIO_BLK_T_WRITE_ZEROES) &&
				   s->status == VIRTIO_BLK_S_OK) {
				/* A trim or zero changed what the server
				 * holds: until a flush covers it, a server
				 * that dies may lose it, like a write. */
				b->writes_acked++;
			}
			if (s->lost_writes && b->lost_writes) {
				b->lost_writes = false;
				vu_log(&b->vu, "lost writes owned up to: the "
				       "guest's FLUSH failed; flushes work again");
			}
			if (s->status != VIRTIO_BLK_S_OK &&
			    r->type == VIRTIO_BLK_T_IN)
				s->used_len = 1;
			if (r->status)
				*r->status = s->status;
			virtq_push(&q->vq, s->chain.token, s->used_len);
			pushed = true;
		}
		if (s->bounce) {
			b->inflight_bytes -= s->req.len;
			free(s->bounce);
		}
		s->bounce = NULL;
		s->done = s->orphan = false;
		b->head = (b->head + 1) % BLK_MAX_INFLIGHT;
		b->count--;
	}
	if (pushed && virtq_publish(&q->vq))
		vu_queue_call(&b->vu, BLK_REQQ);
}

void blk_dev_queue_stopped(struct blk_dev *b)
{
	for (unsigned k = 0; k < b->count; k++)
		b->slots[(b->head + k) % BLK_MAX_INFLIGHT].orphan = true;
	retire(b);
}

void blk_dev_run(struct blk_dev *b)
{
	struct vu_queue *q = &b->vu.q[BLK_REQQ];

	retire(b);
	if (b->nbd_dead || !b->pending || !vu_queue_ready(&b->vu, BLK_REQQ))
		return;
	virtq_disable_notify(&q->vq);
	for (;;) {
		struct blk_slot *s;
		int got;

		if (b->count == BLK_MAX_INFLIGHT) {
			/* A completion (an NBD event) makes room and runs
			 * us again. */
			b->c.waits_for_room++;
			break;
		}
		s = &b->slots[(b->head + b->count) % BLK_MAX_INFLIGHT];
		got = virtq_pop(&q->vq, &b->vu.mem, &s->chain);
		if (got < 0) {
			vu_queue_broken(&b->vu, BLK_REQQ);
			b->pending = false;
			return;
		}
		if (got == 0) {
			/* Empty: wait for a kick, unless requests came while
			 * we were arming it. */
			if (virtq_enable_notify(&q->vq)) {
				virtq_disable_notify(&q->vq);
				continue;
			}
			b->pending = false;
			break;
		}
		s->done = s->orphan = s->lost_writes = false;
		s->bounce = NULL;
		s->mem_gen = b->vu.mem_gen;
		if (!start(b, s)) {
			virtq_unpop(&q->vq, 1, s->chain.token.ring_slots);
			b->c.requests--;
			b->c.waits_for_room++;
			break;
		}
		b->count++;
		/* Sending found the connection dead: take nothing more. */
		if (b->nbd_dead)
			return;
	}
	retire(b);
}
