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
	/* Locals: stores into chains[] could alias the queue's fields. */
	const struct vring_packed_desc *ring = p->desc;
	const uint16_t size = vq->size;
	const uint32_t cap = vq->max_chain_bytes;
	uint16_t pos = p->avail_pos;
	bool wrap = p->avail_wrap;
	struct hot_region hot = hot_region_of(mem, vq->mem_hint);
	unsigned n;

	if (unlikely(vq->err))
		return vq->err;
	/* 2.8.1: available means AVAIL == wrap and USED != wrap. */
	uint16_t want = wrap ? AVAIL_BIT : USED_BIT;

	for (n = 0; n < max; n++) {
		struct virtq_chain *chain = &chains[n];
		const struct vring_packed_desc *desc = &ring[pos];
		/* Acquire: the driver writes the head's flags last (2.8.6),
		 * so the rest of the chain is read after this load. */
		uint16_t flags = le16toh(__atomic_load_n(&desc->flags,
							 __ATOMIC_ACQUIRE));
		uint64_t addr;
		uint32_t len;
		uint16_t id;
		uint8_t *hva;

		if ((flags & (AVAIL_BIT | USED_BIT)) != want)
			break;
		addr = ring_load64(&desc->addr);
		len = ring_load32(&desc->len);
		id = ring_load16(&desc->id);
		if (likely(!(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) &&
			   hot_region_fits(&hot, cap, addr, len, &hva))) {
			chain_set_one(chain, id, 1, hva, len,
				      flags & VRING_DESC_F_WRITE);
			if (unlikely(++pos == size)) {
				pos = 0;
				want ^= AVAIL_BIT | USED_BIT;
			}
			continue;
		}
		/* A copy, so hot's address never escapes. */
		struct hot_region hot_copy = hot;
		int ret = packed_take_slow(vq, mem, &hot_copy, pos, addr, len,
					   id, flags, chain);

		hot = hot_copy;
		if (unlikely(ret < 0))
			break;
		pos = (uint16_t)(pos + chain->token.ring_slots);
		if (pos >= size) {
			pos = (uint16_t)(pos - size);
			want ^= AVAIL_BIT | USED_BIT;
		}
	}
	wrap = want == AVAIL_BIT;
	p->avail_pos = pos;
	p->avail_wrap = wrap;
	if (unlikely(vq->err) && n == 0)
		return vq->err;
	return (int)n;
}

void packed_ring_push(struct virtq *vq, struct virtq_token token, uint32_t len)
{
	struct virtq_done done = { .token = token, .len = len };

	packed_ring_push_batch(vq, &done, 1);
}

void packed_ring_push_batch(struct virtq *vq, const struct virtq_done *done,
			    unsigned n)
{
	struct virtq_packed_state *p = &vq->packed;
	struct vring_packed_desc *ring = p->desc;
	const uint16_t size = vq->size;
	uint32_t pos = p->used_pos;
	bool wrap = p->used_wrap;

	/* 2.8.1: a used descriptor has AVAIL == USED == the device's wrap
	 * counter. */
	uint16_t used_bits = wrap ? (uint16_t)(AVAIL_BIT | USED_BIT) : 0;

	if (unlikely(vq->err) || n == 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct vring_packed_desc *d = &ring[pos];
		/* WRITE says data was written. */
		uint16_t flags = used_bits |
				 (uint16_t)((done[i].len != 0) << 1);

		/* len, id and flags are the descriptor's last 8 bytes,
		 * naturally aligned: one release store hands them back
		 * together, so the driver can never see the new flags with
		 * an old len or id. */
		uint64_t tail = done[i].len |
				(uint64_t)done[i].token.id << 32 |
				(uint64_t)flags << 48;

		__atomic_store_n((uint64_t *)&d->len, htole64(tail),
				 __ATOMIC_RELEASE);
		pos += done[i].token.ring_slots;
		if (unlikely(pos >= size)) {
			pos -= size;
			used_bits ^= AVAIL_BIT | USED_BIT;
		}
	}
	wrap = used_bits != 0;
	p->used_pos = (uint16_t)pos;
	p->used_wrap = wrap;
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
	if (vq->err)
		return;
	ring_store16(&vq->packed.device_event->flags,
		     VRING_PACKED_EVENT_FLAG_DISABLE);
}

bool packed_ring_enable_notify(struct virtq *vq)
{
	struct virtq_packed_state *p = &vq->packed;
	uint16_t flags;

	if (vq->err)
		return false;
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
