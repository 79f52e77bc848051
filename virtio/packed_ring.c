/* Packed virtqueue, device side (virtio 1.2 section 2.8). */
#include <errno.h>
#include <inttypes.h>

#include "virtq.h"
#include "virtq_internal.h"

#define AVAIL_BIT (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_BIT (1u << VRING_PACKED_DESC_F_USED)

struct pdesc_copy {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/* flags were already loaded (they decide availability); the rest of the
 * descriptor is loaded once here. */
static inline struct pdesc_copy pdesc_load(const struct vring_packed_desc *d,
					   uint16_t flags)
{
	struct pdesc_copy c;

	c.addr = ring_load64(&d->addr);
	c.len = ring_load32(&d->len);
	c.id = ring_load16(&d->id);
	c.flags = flags;
	return c;
}

/* 2.8.1: available when AVAIL matches the wrap counter and USED does not. */
static inline bool desc_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & AVAIL_BIT) == wrap && !!(flags & USED_BIT) != wrap;
}

/* An indirect table (2.8.7): len/16 descriptors in a row, of which only
 * the WRITE flag counts; no chaining, no nesting. */
static int walk_indirect(struct virtq *vq, const struct guest_mem *mem,
			 const struct hot_region *hot, uint16_t pos,
			 const struct pdesc_copy *d, struct virtq_chain *chain)
{
	const struct vring_packed_desc *table;
	uint32_t n;

	table = virtq_indirect_table(vq, mem, pos, d->addr, d->len, d->flags,
				     &n);
	if (table == NULL)
		return vq->err;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t flags = ring_load16(&table[i].flags);
		struct pdesc_copy e = pdesc_load(&table[i], flags);
		int ret;

		if (flags & VRING_DESC_F_INDIRECT)
			return virtq_fail(vq, -EINVAL,
					  "indirect desc %u: nested INDIRECT", i);
		ret = virtq_chain_add(vq, mem, hot, chain, i, e.addr, e.len,
				      flags & VRING_DESC_F_WRITE);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Walks a chain of several direct descriptors starting at the head at
 * pos, whose descriptor d was already loaded. Sets *slots. */
static int packed_walk(struct virtq *vq, const struct guest_mem *mem,
		       const struct hot_region *hot, uint16_t pos,
		       struct pdesc_copy d, struct virtq_chain *chain,
		       uint32_t *slots, uint16_t *last_id)
{
	const struct virtq_packed_state *p = &vq->packed;
	uint16_t head_pos = pos;
	int ret;

	virtq_chain_reset(chain);
	*slots = 1;
	for (;;) {
		ret = virtq_chain_add(vq, mem, hot, chain, pos, d.addr, d.len,
				      d.flags & VRING_DESC_F_WRITE);
		if (unlikely(ret < 0))
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (unlikely(++*slots > vq->size))
			return virtq_fail(vq, -ELOOP,
					  "chain at desc %u: longer than queue size %u",
					  head_pos, vq->size);
		if (++pos == vq->size)
			pos = 0;
		uint16_t flags = ring_load16(&p->desc[pos].flags);

		if (unlikely(flags & VRING_DESC_F_INDIRECT))
			return virtq_fail(vq, -EINVAL,
					  "desc %u: INDIRECT not at chain head",
					  pos);
		d = pdesc_load(&p->desc[pos], flags);
	}
	*last_id = d.id;
	return 0;
}

/* Everything but a one-descriptor chain in the hot region. Sets
 * chain->token; out of line so the fast loop keeps its registers. */
static __attribute__((noinline)) int
packed_take_slow(struct virtq *vq, const struct guest_mem *mem,
		 struct hot_region *hot, uint16_t pos, uint64_t addr,
		 uint32_t len, uint16_t id, uint16_t flags,
		 struct virtq_chain *chain)
{
	struct pdesc_copy d = { .addr = addr, .len = len, .id = id,
				.flags = flags };
	uint32_t slots = 1;
	int ret;

	if (!(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT))) {
		ret = virtq_chain_one_slow(vq, mem, hot, chain, pos, addr, len,
					   flags & VRING_DESC_F_WRITE);
	} else if (flags & VRING_DESC_F_INDIRECT) {
		virtq_chain_reset(chain);
		ret = walk_indirect(vq, mem, hot, pos, &d, chain);
	} else {
		ret = packed_walk(vq, mem, hot, pos, d, chain, &slots, &d.id);
	}
	/* 2.8.6: the buffer id is the one in the chain's last descriptor.
	 * It is opaque to the device: any value is echoed back. */
	chain->token.id = d.id;
	chain->token.ring_slots = (uint16_t)slots;
	return ret;
}

int packed_ring_pop_batch(struct virtq *vq, const struct guest_mem *mem,
			  struct virtq_chain *chains, unsigned max)
{
	struct virtq_packed_state *p = &vq->packed;
	/* Locals: stores into chains[] could alias the queue's fields. The
	 * walk is by pointer: desc runs over [ring, ring_end), chain over
	 * [chains, chains_end), no index to scale per chain. */
	const struct vring_packed_desc *const ring = p->desc;
	const struct vring_packed_desc *const ring_end = ring + vq->size;
	const struct vring_packed_desc *desc = ring + p->avail_pos;
	const uint32_t cap = vq->max_chain_bytes;
	struct hot_region hot = hot_region_of(mem, vq->mem_hint);
	struct virtq_chain *chain = chains, *const chains_end = chains + max;

	if (unlikely(vq->err))
		return vq->err;
	/* 2.8.1: available means AVAIL == wrap and USED != wrap. */
	uint32_t avail = p->avail_wrap ? AVAIL_BIT : USED_BIT;

	for (; chain != chains_end; chain++) {
		/* Acquire: the driver writes the head's flags last (2.8.6),
		 * so the rest of the chain is read after this load. */
		uint16_t flags = le16toh(__atomic_load_n(&desc->flags,
							 __ATOMIC_ACQUIRE));
		/* One compare finds the common chain: available, and neither
		 * NEXT nor INDIRECT. */
		uint32_t kind = (uint32_t)flags & (AVAIL_BIT | USED_BIT |
					 VRING_DESC_F_NEXT |
					 VRING_DESC_F_INDIRECT);

		if (unlikely(kind != avail) &&
		    (flags & (AVAIL_BIT | USED_BIT)) != avail)
			break;
		uint64_t addr = ring_load64(&desc->addr);
		uint32_t len = ring_load32(&desc->len);
		uint16_t id = ring_load16(&desc->id);
		uint8_t *hva;

		if (likely(kind == avail &&
			   hot_region_fits(&hot, cap, addr, len, &hva))) {
			chain_set_one(chain, id, 1, hva, len,
				      flags & VRING_DESC_F_WRITE);
			if (unlikely(++desc == ring_end)) {
				desc = ring;
				avail ^= AVAIL_BIT | USED_BIT;
			}
			continue;
		}
		/* A copy, so hot's address never escapes. */
		struct hot_region hot_copy = hot;
		uint32_t pos = (uint32_t)(desc - ring);
		int ret = packed_take_slow(vq, mem, &hot_copy, (uint16_t)pos,
					   addr, len, id, flags, chain);

		hot = hot_copy;
		if (unlikely(ret < 0))
			break;
		/* ring_slots <= size (packed_walk's loop check). */
		pos += chain->token.ring_slots;
		if (pos >= vq->size) {
			pos -= vq->size;
			avail ^= AVAIL_BIT | USED_BIT;
		}
		desc = ring + pos;
	}
	p->avail_pos = (uint16_t)(desc - ring);
	p->avail_wrap = avail == AVAIL_BIT;
	if (unlikely(vq->err) && chain == chains)
		return vq->err;
	return (int)(chain - chains);
}

void packed_ring_push(struct virtq *vq, struct virtq_token token, uint32_t len)
{
	struct virtq_done done = { .token = token, .len = len };

	packed_ring_push_batch(vq, &done, 1);
}

/* Where the next used descriptor goes, kept for one batch in registers:
 * its byte offset from the ring's end (negative: -16 * size is the
 * ring's start), so that stepping past the end is the sign of the sum,
 * and its flags, AVAIL and USED both equal to the device's wrap counter
 * (2.8.1), without and with WRITE (data written, 2.8.3), already shifted
 * to their place in the descriptor's last 8 bytes. */
struct used_cursor {
	ptrdiff_t from_end;
	uint64_t flags;
	uint64_t flags_written;
};

#define USED_LAP ((uint64_t)(AVAIL_BIT | USED_BIT) << 48)

/* Moves past a chain of ring_slots slots (at most the queue size: they
 * come from the pop), into the next lap at the ring's end. */
static inline void used_advance(struct used_cursor *c, ptrdiff_t ring_bytes,
				uint16_t ring_slots)
{
	c->from_end += (ptrdiff_t)ring_slots * 16;
	if (unlikely(c->from_end >= 0)) {
		c->from_end -= ring_bytes;
		c->flags ^= USED_LAP;
		c->flags_written ^= USED_LAP;
	}
}

/* A used descriptor's len, id and flags: its naturally aligned last 8
 * bytes, as one little-endian word for one store. */
static inline uint64_t used_tail(const struct used_cursor *c,
				 const struct virtq_done *done)
{
	return htole64((uint64_t)done->len | (uint64_t)done->token.id << 32 |
		       (done->len != 0 ? c->flags_written : c->flags));
}

void packed_ring_push_batch(struct virtq *vq, const struct virtq_done *done,
			    unsigned n)
{
	struct virtq_packed_state *p = &vq->packed;
	const ptrdiff_t ring_bytes = (ptrdiff_t)vq->size * 16;
	uint8_t *ring_end = (uint8_t *)p->desc + ring_bytes;
	struct used_cursor c;

	if (unlikely(vq->err) || n == 0)
		return;
	c.from_end = (ptrdiff_t)p->used_pos * 16 - ring_bytes;
	c.flags = p->used_wrap ? USED_LAP : 0;
	c.flags_written = c.flags | (uint64_t)VRING_DESC_F_WRITE << 48;
	/* The driver polls only the next used slot (2.8.2), the batch's
	 * first: it is written last, with release, so the driver sees the
	 * whole batch or none of it. A receive frame merged over several
	 * buffers is one batch, and must not be seen in part (2.8.9,
	 * multi-buffer requests). */
	uint64_t *first = (uint64_t *)(ring_end + c.from_end + 8);
	uint64_t first_tail;
	unsigned i = 0;

	if (vq->in_order) {
		/* 2.8.8: a run of buffers with nothing written is returned
		 * as one used descriptor, the run's last id at the run's
		 * first slot; the next one goes after the whole run. at is
		 * where the entry that closes the current run goes. */
		struct used_cursor at = c;

		while (i + 1 < n && done[i].len == 0)
			used_advance(&c, ring_bytes, done[i++].token.ring_slots);
		first_tail = used_tail(&at, &done[i]);
		used_advance(&c, ring_bytes, done[i++].token.ring_slots);
		at = c;
		for (; i < n; i++) {
			used_advance(&c, ring_bytes, done[i].token.ring_slots);
			if (done[i].len == 0 && i + 1 < n)
				continue;
			__atomic_store_n((uint64_t *)(ring_end + at.from_end + 8),
					 used_tail(&at, &done[i]),
					 __ATOMIC_RELAXED);
			at = c;
		}
	} else {
		first_tail = used_tail(&c, &done[0]);
		used_advance(&c, ring_bytes, done[0].token.ring_slots);
		for (i = 1; i < n; i++) {
			__atomic_store_n((uint64_t *)(ring_end + c.from_end + 8),
					 used_tail(&c, &done[i]),
					 __ATOMIC_RELAXED);
			used_advance(&c, ring_bytes, done[i].token.ring_slots);
		}
	}
	__atomic_store_n(first, first_tail, __ATOMIC_RELEASE);
	p->used_pos = (uint16_t)((size_t)(c.from_end + ring_bytes) / 16);
	p->used_wrap = c.flags != 0;
	p->pending = true;
}

bool packed_ring_publish(struct virtq *vq)
{
	struct virtq_packed_state *p = &vq->packed;
	uint32_t event;
	uint16_t ev_flags, off_wrap;
	bool need, valid;

	if (unlikely(vq->err) || !p->pending)
		return false;
	/* Full barrier: our used descriptors are visible before we read the
	 * driver's event suppression (2.8.10), or both sides may sleep. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* off_wrap and flags are read as one 32-bit word: a consistent pair. */
	event = ring_load32(p->driver_event);
	off_wrap = (uint16_t)(event & 0xffff);
	ev_flags = (uint16_t)(event >> 16);
	valid = p->signalled_valid;
	if (ev_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		need = false;
	else if (ev_flags == VRING_PACKED_EVENT_FLAG_DESC && vq->event_idx &&
		 valid)
		need = packed_event_passed(vq->size, p->used_pos,
					   p->used_wrap, p->signalled_pos,
					   p->signalled_wrap, off_wrap);
	else
		need = true; /* ENABLE, reserved values, or first decision */
	p->signalled_pos = p->used_pos;
	p->signalled_wrap = p->used_wrap;
	p->signalled_valid = true;
	p->pending = false;
	return need;
}

void packed_ring_disable_notify(struct virtq *vq)
{
	if (vq->err || vq->notify_off)
		return;
	ring_store16(&vq->packed.device_event->flags,
		     VRING_PACKED_EVENT_FLAG_DISABLE);
	vq->notify_off = true;
}

bool packed_ring_enable_notify(struct virtq *vq)
{
	struct virtq_packed_state *p = &vq->packed;
	uint16_t flags;

	if (vq->err)
		return false;
	vq->notify_off = false;
	if (vq->event_idx) {
		ring_store16(&p->device_event->off_wrap,
			     (uint16_t)(p->avail_pos | (p->avail_wrap << 15)));
		ring_store16(&p->device_event->flags,
			     VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		ring_store16(&p->device_event->flags,
			     VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	/* Full barrier: publish the wish for a kick before checking for
	 * descriptors made available without one (2.8.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = ring_load16(&p->desc[p->avail_pos].flags);
	return desc_is_avail(flags, p->avail_wrap);
}
