/* Helpers shared by the split and packed ring walkers; not an API. */
#ifndef BULKHEAD_VIRTQ_INTERNAL_H
#define BULKHEAD_VIRTQ_INTERNAL_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "virtq.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Guest-shared fields are loaded with relaxed atomics: each load happens
 * exactly once where it is written, so the compiler cannot re-fetch a
 * checked value from guest memory later (no double fetch), and it costs a
 * plain mov on x86. Virtio 1.x rings are little-endian. */
static inline uint16_t ring_load16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline uint32_t ring_load32(const void *p)
{
	return le32toh(__atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED));
}

static inline uint64_t ring_load64(const void *p)
{
	return le64toh(__atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED));
}

static inline void ring_store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void ring_store32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/* Checks the descriptor that points at an indirect table (feature
 * negotiated, no NEXT, length a nonzero multiple of 16 and at most the
 * queue size, 8-byte aligned, inside one region) and returns the table and
 * its entry count, or NULL with the queue broken. */
const void *virtq_indirect_table(struct virtq *vq, const struct guest_mem *mem,
				 uint32_t desc_idx, uint64_t gpa, uint32_t len,
				 uint16_t flags, uint32_t *entries);

/* Marks the queue broken with a message naming the offending value and
 * returns err (negative errno). Cold: only a misbehaving driver gets here. */
int virtq_fail(struct virtq *vq, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), cold));

/* The region the last buffer was found in, copied into locals for one
 * batch: a guest's buffers sit in one or two regions, so a hit here spares
 * the table walk. Only a cache: a miss walks the table. */
struct hot_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

static inline struct hot_region hot_region_of(const struct guest_mem *mem,
					      uint32_t hint)
{
	struct hot_region h = { 0, 0, NULL };

	if (hint < mem->nregions) {
		h.gpa = mem->regions[hint].gpa;
		h.size = mem->regions[hint].size;
		h.hva = mem->regions[hint].hva;
	}
	return h;
}

/* A one-descriptor chain that missed the fast path: finds its region
 * (making it hot) or reports why it is bad. */
/* Appends [gpa, gpa+len) of descriptor desc_idx to the chain, readable or
 * writable, enforcing the chain rules every format shares: nonzero length
 * (virtio 1.2 2.7.5 lets a device refuse empty buffers, as QEMU does), no
 * readable part after a writable one (2.7.4.2), the byte cap, and every
 * byte in guest memory. Returns 0 or a negative errno (queue broken).
 * Inline: it runs once per descriptor. */
static inline void virtq_chain_reset(struct virtq_chain *chain)
{
	chain->nread = 0;
	chain->nwrite = 0;
	chain->read_bytes = 0;
	chain->write_bytes = 0;
}

int virtq_chain_add_slow(struct virtq *vq, const struct guest_mem *mem,
			 struct virtq_chain *chain, uint32_t desc_idx,
			 uint64_t gpa, uint32_t len, bool writable);

static inline int virtq_chain_add(struct virtq *vq,
				  const struct guest_mem *mem,
				  const struct hot_region *hot,
				  struct virtq_chain *chain, uint32_t desc_idx,
				  uint64_t gpa, uint32_t len, bool writable)
{
	uint32_t nsegs = (uint32_t)chain->nread + chain->nwrite;
	uint64_t total = (uint64_t)chain->read_bytes + chain->write_bytes + len;
	uint64_t off = gpa - hot->gpa;
	uint8_t *hva;

	if (unlikely(len == 0 || (!writable && chain->nwrite != 0) ||
		     total > vq->max_chain_bytes ||
		     nsegs >= VIRTQ_CHAIN_MAX_SEGS))
		return virtq_chain_add_slow(vq, mem, chain, desc_idx, gpa, len,
					    writable);
	/* The hot region first; the table walk only on a miss. */
	if (likely(off < hot->size && len <= hot->size - off))
		hva = hot->hva + off;
	else
		hva = guest_mem_gpa_to_hva(mem, gpa, len);
	if (unlikely(hva == NULL))
		return virtq_chain_add_slow(vq, mem, chain, desc_idx, gpa, len,
					    writable);
	chain->seg[nsegs].hva = hva;
	chain->seg[nsegs].len = len;
	if (writable) {
		chain->nwrite++;
		chain->write_bytes += len;
	} else {
		chain->nread++;
		chain->read_bytes += len;
	}
	return 0;
}

int virtq_chain_one_slow(struct virtq *vq, const struct guest_mem *mem,
			 struct hot_region *hot, struct virtq_chain *chain,
			 uint32_t desc_idx, uint64_t gpa, uint32_t len,
			 bool writable);

/* The fast path's test for a one-descriptor chain: [gpa, gpa+len) inside
 * the hot region, and len within 1..cap. Sets *hva when it passes.
 * len - 1 in 64 bits is 2^64 - 1 for len 0, so one compare with cap
 * checks both ends of len. Then off + (len - 1) < size, without carry, is
 * off < size && len <= size - off in one compare: the carry catches a gpa
 * below the region (off wrapped to near 2^64). */
static inline bool hot_region_fits(const struct hot_region *hot, uint32_t cap,
				   uint64_t gpa, uint32_t len, uint8_t **hva)
{
	uint64_t off = gpa - hot->gpa;
	uint64_t len_m1 = (uint64_t)len - 1;
	uint64_t last;

	if (likely(len_m1 < cap &&
		   !__builtin_add_overflow(off, len_m1, &last) &&
		   last < hot->size)) {
		*hva = hot->hva + off;
		return true;
	}
	return false;
}

/* Sets a chain of one checked segment. This runs once per frame, so the
 * 16-byte head (token, nread, nwrite, read_bytes, write_bytes) is built
 * in two registers and stored as two words instead of eight fields: the
 * WRITE flag only picks which half of each pair the 1 and len go to.
 * unlikely() is there to keep a branch rather than two selects, which
 * cost more: a queue's buffers all go one way (transmit readable, receive
 * writable), so the branch predicts well either way. */
static inline void chain_set_one(struct virtq_chain *chain, uint16_t id,
				 uint16_t ring_slots, uint8_t *hva,
				 uint32_t len, bool writable)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(struct virtq_chain, token.ring_slots) == 2 &&
		       offsetof(struct virtq_chain, nread) == 4 &&
		       offsetof(struct virtq_chain, nwrite) == 6 &&
		       offsetof(struct virtq_chain, read_bytes) == 8 &&
		       offsetof(struct virtq_chain, write_bytes) == 12,
		       "chain_set_one's word layout");
	uint64_t counts = (uint64_t)id | (uint64_t)ring_slots << 16;
	uint64_t bytes = len;

	if (unlikely(writable)) {
		counts |= 1ull << 48;
		bytes <<= 32;
	} else {
		counts |= 1ull << 32;
	}
	memcpy(chain, &counts, sizeof(counts));
	memcpy((uint8_t *)chain + 8, &bytes, sizeof(bytes));
#else
	chain->token.id = id;
	chain->token.ring_slots = ring_slots;
	chain->nread = !writable;
	chain->nwrite = writable;
	chain->read_bytes = writable ? 0 : len;
	chain->write_bytes = writable ? len : 0;
#endif
	chain->seg[0].hva = hva;
	chain->seg[0].len = len;
}

/* Packed-ring event test shared by both sides (virtio 1.2 2.8.10): the
 * position moved from (old_pos, old_wrap) to (new_pos, new_wrap), less than
 * a lap; did it pass the event slot off_wrap (offset | wrap << 15)? A slot
 * marked with the other wrap value lies in the previous lap, or in a
 * future one, which then never matches. */
static inline bool packed_event_passed(uint16_t size, uint16_t new_pos,
				       bool new_wrap, uint16_t old_pos,
				       bool old_wrap, uint16_t off_wrap)
{
	int32_t since = (int32_t)new_pos - old_pos;
	int32_t behind = (int32_t)new_pos - (off_wrap & 0x7fff);

	if (new_wrap != old_wrap)
		since += size;
	if (((off_wrap >> 15) & 1) != new_wrap)
		behind += size;
	return behind >= 1 && behind <= since;
}


#endif
