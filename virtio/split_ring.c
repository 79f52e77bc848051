/* Split virtqueue, device side (virtio 1.2 section 2.7). */
#include <errno.h>
#include <inttypes.h>

#include "virtq.h"
#include "virtq_internal.h"

/* Descriptors are 16 bytes: addr, len, flags, next (2.7.5). */
struct desc_copy {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static inline struct desc_copy desc_load(const struct vring_desc *d)
{
	struct desc_copy c;

	c.addr = ring_load64(&d->addr);
	c.len = ring_load32(&d->len);
	c.flags = ring_load16(&d->flags);
	c.next = ring_load16(&d->next);
	return c;
}

/* Walks the chain at head, whose descriptor the caller already loaded
 * into d, into checked segments. Each descriptor is loaded once; a chain
 * may not visit more descriptors than its table holds, which also ends
 * any loop. */
static int split_walk(struct virtq *vq, const struct guest_mem *mem,
		      const struct hot_region *hot, uint16_t head,
		      struct desc_copy d, struct virtq_chain *chain)
{
	const struct vring_desc *table = vq->split.desc;
	uint32_t table_size = vq->size;
	uint32_t idx = head;
	uint32_t visited = 1;
	int ret;

	virtq_chain_reset(chain);
	/* The descriptor table slots the chain takes (in-order bookkeeping):
	 * the walk's count, or the head alone for an indirect table. */
	chain->token.ring_slots = 1;
	if (unlikely(d.flags & VRING_DESC_F_INDIRECT)) {
		table = virtq_indirect_table(vq, mem, head, d.addr, d.len,
					     d.flags, &table_size);
		if (table == NULL)
			return vq->err;
		idx = 0;
		d = desc_load(&table[0]);
	}
	for (;;) {
		if (unlikely(d.flags & VRING_DESC_F_INDIRECT))
			return virtq_fail(vq, -EINVAL,
					  table == vq->split.desc
					  ? "desc %u: INDIRECT not at chain head"
					  : "indirect desc %u: nested INDIRECT",
					  idx);
		ret = virtq_chain_add(vq, mem, hot, chain, idx, d.addr, d.len,
				      d.flags & VRING_DESC_F_WRITE);
		if (unlikely(ret < 0))
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (unlikely(d.next >= table_size))
			return virtq_fail(vq, -EINVAL,
					  "desc %u: next %u >= %s size %u", idx,
					  d.next,
					  table == vq->split.desc ? "queue"
								  : "indirect table",
					  table_size);
		if (unlikely(++visited > table_size))
			return virtq_fail(vq, -ELOOP,
					  "chain at head %u: longer than %u descriptors (loop)",
					  head, table_size);
		if (table == vq->split.desc) {
			/* 2.7.5: in order, a chain's descriptors follow each
			 * other in the table, wrapping to 0 at its end. */
			if (unlikely(vq->in_order &&
				     d.next != ((idx + 1) & vq->split.mask)))
				return virtq_fail(vq, -EINVAL,
						  "desc %u: next %u, in order (VIRTIO_F_IN_ORDER) it must be %u",
						  idx, d.next,
						  (idx + 1) & vq->split.mask);
			chain->token.ring_slots = (uint16_t)visited;
		}
		idx = d.next;
		d = desc_load(&table[idx]);
	}
}

/* Everything but a one-descriptor chain in the hot region: walks, or
 * finds another region (which becomes vq->mem_hint), or names what is
 * wrong. Out of line so the fast loop keeps its registers. */
static __attribute__((noinline)) int
split_take_slow(struct virtq *vq, const struct guest_mem *mem, uint16_t head,
		const struct vring_desc *desc, uint64_t addr, uint32_t len,
		uint16_t flags, struct virtq_chain *chain)
{
	struct desc_copy d = { .addr = addr, .len = len, .flags = flags };
	struct hot_region hot = hot_region_of(mem, vq->mem_hint);
	int ret;

	if (!(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT))) {
		ret = virtq_chain_one_slow(vq, mem, &hot, chain, head, addr,
					   len, flags & VRING_DESC_F_WRITE);
		chain->token.ring_slots = 1;
	} else {
		d.next = ring_load16(&desc->next);
		ret = split_walk(vq, mem, &hot, head, d, chain);
	}
	chain->token.id = head;
	return ret;
}

/* Takes n chains from avail slot last on; returns how many were taken
 * before a bad one. An inline template: the loop is built twice, and a
 * queue without IN_ORDER runs one with no trace of the order check (as a
 * masked test in one shared loop it cost 6 instructions per 64 B frame).
 * The fast loop's locals are set again after each slow chain, so none of
 * them lives across that call: the loop keeps them all in registers
 * (with them live across it, clang kept six on the stack and reloaded
 * them for every chain). */
static inline __attribute__((always_inline)) unsigned
split_take(struct virtq *vq, const struct guest_mem *mem,
	   struct virtq_chain *chains, uint16_t last, unsigned n,
	   const bool in_order)
{
	struct virtq_split_state *s = &vq->split;
	/* In order: each head must be the one after the previous chain's
	 * descriptors (2.7.5); known is false until a first chain was seen
	 * (then any head in range starts the order). */
	uint16_t expect = s->inorder_next;
	bool known = s->inorder_check != 0;
	struct virtq_chain *chain = chains, *const end = chains + n;
	uint16_t slot = last & s->mask, head = 0;

	while (chain != end) {
		const struct vring_desc *const table = s->desc;
		const struct vring_avail *const avail = s->avail;
		/* Split sizes are powers of 2: head <= mask is head < size. */
		const uint16_t mask = s->mask;
		const uint32_t cap = vq->max_chain_bytes;
		const struct hot_region hot = hot_region_of(mem, vq->mem_hint);
		uint16_t flags;
		uint64_t addr;
		uint32_t len;
		uint8_t *hva;

		for (;;) {
			head = ring_load16(&avail->ring[slot]);
			/* In order, a head equal to expect (< size) passes both
			 * tests in one compare. */
			if (in_order && likely(head == expect)) {
				known = true;
			} else if (unlikely(head > mask)) {
				goto bad_head;
			} else if (in_order) {
				if (unlikely(known))
					goto misordered;
				known = true;
			}
			flags = ring_load16(&table[head].flags);
			addr = ring_load64(&table[head].addr);
			len = ring_load32(&table[head].len);
			if (unlikely((flags & (VRING_DESC_F_NEXT |
					       VRING_DESC_F_INDIRECT)) ||
				     !hot_region_fits(&hot, cap, addr, len, &hva)))
				break;
			chain_set_one(chain, head, 1, hva, len,
				      flags & VRING_DESC_F_WRITE);
			if (in_order)
				expect = (uint16_t)(head + 1) & mask;
			slot = (uint16_t)(slot + 1) & mask;
			if (++chain == end)
				goto done;
		}
		if (split_take_slow(vq, mem, head, &table[head], addr, len,
				    flags, chain) < 0)
			goto done;
		if (in_order)
			expect = (uint16_t)(head + chain->token.ring_slots) & mask;
		slot = (uint16_t)(slot + 1) & mask;
		chain++;
	}
	goto done;
bad_head:
	virtq_fail(vq, -EINVAL, "avail ring[%u]: head %u >= queue size %u",
		   slot, head, vq->size);
	goto done;
misordered:
	virtq_fail(vq, -EINVAL,
		   "avail ring[%u]: head %u, in order (VIRTIO_F_IN_ORDER) it must be %u",
		   slot, head, expect);
done:
	if (in_order) {
		s->inorder_next = expect;
		s->inorder_check = known ? 0xffff : 0;
	}
	return (unsigned)(chain - chains);
}

int split_ring_pop_batch(struct virtq *vq, const struct guest_mem *mem,
			 struct virtq_chain *chains, unsigned max)
{
	struct virtq_split_state *s = &vq->split;
	uint16_t last = s->last_avail;
	uint16_t ready = (uint16_t)(s->avail_shadow - last);
	unsigned n, i;

	if (unlikely(vq->err))
		return vq->err;
	if (ready < max) {
		/* Acquire: ring entries and descriptors the driver wrote
		 * before moving idx are read after this load (2.7.13). */
		uint16_t idx = le16toh(__atomic_load_n(&s->avail->idx,
						       __ATOMIC_ACQUIRE));
		uint16_t ahead = (uint16_t)(idx - last);

		if (unlikely(ahead > vq->size))
			return virtq_fail(vq, -EINVAL,
					  "avail idx %u is %u ahead of last seen %u (queue size %u)",
					  idx, ahead, last, vq->size);
		s->avail_shadow = idx;
		ready = ahead;
	}
	n = ready < max ? ready : max;
	i = vq->in_order ? split_take(vq, mem, chains, last, n, true)
			 : split_take(vq, mem, chains, last, n, false);
	s->last_avail = (uint16_t)(last + i);
	if (unlikely(vq->err) && i == 0)
		return vq->err;
	return (int)i;
}

void split_ring_push(struct virtq *vq, struct virtq_token token, uint32_t len)
{
	struct virtq_split_state *s = &vq->split;
	struct vring_used_elem *e;

	if (unlikely(vq->err))
		return;
	e = &s->used->ring[s->used_idx & s->mask];
	ring_store32(&e->id, token.id);
	ring_store32(&e->len, len);
	s->used_idx++;
}

void split_ring_push_batch(struct virtq *vq, const struct virtq_done *done,
			   unsigned n)
{
	struct virtq_split_state *s = &vq->split;
	struct vring_used_elem *ring = s->used->ring;
	const uint16_t mask = s->mask;
	uint16_t idx = s->used_idx;

	if (unlikely(vq->err) || n == 0)
		return;
	if (!vq->in_order) {
		for (unsigned i = 0; i < n; i++, idx++) {
			ring_store32(&ring[idx & mask].id, done[i].token.id);
			ring_store32(&ring[idx & mask].len, done[i].len);
		}
		s->used_idx = idx;
		return;
	}
	/* In order (2.7.9): a run of entries with len 0 goes into the
	 * run's first slot as the entry that closes it (the next with a
	 * len, or the batch's last). */
	uint16_t entry = idx;

	for (unsigned i = 0; i < n - 1; i++) {
		if (done[i].len == 0)
			continue;
		ring_store32(&ring[entry & mask].id, done[i].token.id);
		ring_store32(&ring[entry & mask].len, done[i].len);
		entry = (uint16_t)(idx + i + 1);
	}
	ring_store32(&ring[entry & mask].id, done[n - 1].token.id);
	ring_store32(&ring[entry & mask].len, done[n - 1].len);
	s->used_idx = (uint16_t)(idx + n);
}

bool split_ring_publish(struct virtq *vq)
{
	struct virtq_split_state *s = &vq->split;
	uint16_t old, new_idx;
	bool valid;

	if (unlikely(vq->err) || s->used_published == s->used_idx)
		return false;
	/* Release: the used elements are visible before the index that
	 * hands them over (2.7.14). */
	__atomic_store_n(&s->used->idx, htole16(s->used_idx), __ATOMIC_RELEASE);
	s->used_published = s->used_idx;
	/* Full barrier: the index store must be visible before we read the
	 * driver's suppression state, or both sides may sleep (2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(ring_load16(&s->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	old = s->signalled_used;
	new_idx = s->used_idx;
	valid = s->signalled_valid;
	s->signalled_used = new_idx;
	s->signalled_valid = true;
	if (!valid)
		return true;
	/* used_event sits after the avail ring (2.7.10). */
	return vring_need_event(ring_load16(&s->avail->ring[vq->size]),
				new_idx, old);
}

void split_ring_disable_notify(struct virtq *vq)
{
	/* With EVENT_IDX the driver kicks only when it passes avail_event,
	 * which is left behind while we drain; otherwise set NO_NOTIFY. */
	if (vq->err || vq->event_idx || vq->notify_off)
		return;
	ring_store16(&vq->split.used->flags, VRING_USED_F_NO_NOTIFY);
	vq->notify_off = true;
}

bool split_ring_enable_notify(struct virtq *vq)
{
	struct virtq_split_state *s = &vq->split;

	if (vq->err)
		return false;
	vq->notify_off = false;
	if (vq->event_idx)
		ring_store16(&s->used->ring[vq->size], s->avail_shadow);
	else
		ring_store16(&s->used->flags, 0);
	/* Full barrier: publish our wish for a kick before looking for work
	 * the driver added without kicking (2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring_load16(&s->avail->idx) != s->avail_shadow;
}
