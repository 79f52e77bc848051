/* Queue set-up, the shared chain rules, and failure reporting. */
#include "virtq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtq_internal.h"

/* Default byte cap per chain: a 64 KiB TSO segment with mergeable buffers
 * is far below it; a chain claiming more is a driver bug or an attack on
 * whatever sums lengths downstream. */
#define VIRTQ_DEFAULT_MAX_CHAIN_BYTES (16u << 20)
#define VIRTQ_MAX_CHAIN_BYTES_LIMIT (1u << 31)

int virtq_fail(struct virtq *vq, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->reason, sizeof(vq->reason), fmt, ap);
	va_end(ap);
	vq->err = err;
	return err;
}

int virtq_chain_add_slow(struct virtq *vq, const struct guest_mem *mem,
			 struct virtq_chain *chain, uint32_t desc_idx,
			 uint64_t gpa, uint32_t len, bool writable)
{
	uint32_t nsegs = (uint32_t)chain->nread + chain->nwrite;
	uint32_t before = nsegs;
	uint64_t total = (uint64_t)chain->read_bytes + chain->write_bytes + len;
	int ret;

	if (len == 0)
		return virtq_fail(vq, -EINVAL, "desc %u: zero length", desc_idx);
	if (!writable && chain->nwrite != 0)
		return virtq_fail(vq, -EINVAL,
				  "desc %u: device-readable after device-writable",
				  desc_idx);
	if (total > vq->max_chain_bytes)
		return virtq_fail(vq, -E2BIG,
				  "desc %u: chain length %" PRIu64
				  " exceeds cap %u", desc_idx, total,
				  vq->max_chain_bytes);
	ret = guest_mem_gpa_to_segs(mem, gpa, len, chain->seg, &nsegs,
				    VIRTQ_CHAIN_MAX_SEGS);
	if (ret == -EFAULT)
		return virtq_fail(vq, -EFAULT,
				  "desc %u: buffer gpa 0x%" PRIx64
				  " len %u outside guest memory", desc_idx,
				  gpa, len);
	if (ret < 0)
		return virtq_fail(vq, -E2BIG,
				  "desc %u: chain needs more than %d segments",
				  desc_idx, VIRTQ_CHAIN_MAX_SEGS);
	if (writable) {
		chain->nwrite += (uint16_t)(nsegs - before);
		chain->write_bytes += len;
	} else {
		chain->nread += (uint16_t)(nsegs - before);
		chain->read_bytes += len;
	}
	return 0;
}

int virtq_chain_one_slow(struct virtq *vq, const struct guest_mem *mem,
			 struct hot_region *hot, struct virtq_chain *chain,
			 uint32_t desc_idx, uint64_t gpa, uint32_t len,
			 bool writable)
{
	virtq_chain_reset(chain);
	/* A buffer wholly in another region makes that region hot. */
	for (uint32_t i = 0; len != 0 && i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t off = gpa - r->gpa;

		if (off < r->size && len <= r->size - off) {
			vq->mem_hint = i;
			*hot = hot_region_of(mem, i);
			break;
		}
	}
	return virtq_chain_add_slow(vq, mem, chain, desc_idx, gpa, len,
				    writable);
}

const void *virtq_indirect_table(struct virtq *vq, const struct guest_mem *mem,
				 uint32_t desc_idx, uint64_t gpa, uint32_t len,
				 uint16_t flags, uint32_t *entries)
{
	const void *table;

	if (!vq->indirect) {
		virtq_fail(vq, -EINVAL,
			   "desc %u: INDIRECT without VIRTIO_RING_F_INDIRECT_DESC",
			   desc_idx);
		return NULL;
	}
	/* 2.7.5.3.1: the driver MUST NOT set both INDIRECT and NEXT (the
	 * packed ring allows only lists of one type, 2.8.7). */
	if (flags & VRING_DESC_F_NEXT) {
		virtq_fail(vq, -EINVAL, "desc %u: INDIRECT together with NEXT",
			   desc_idx);
		return NULL;
	}
	/* Both formats' descriptors are 16 bytes. */
	if (len == 0 || len % 16 != 0) {
		virtq_fail(vq, -EINVAL,
			   "desc %u: indirect table length %u is not a nonzero multiple of 16",
			   desc_idx, len);
		return NULL;
	}
	/* 2.7.5.3.1: a chain, indirect part included, is no longer than
	 * the queue. */
	if (len / 16 > vq->size) {
		virtq_fail(vq, -E2BIG,
			   "desc %u: indirect table of %u descriptors exceeds queue size %u",
			   desc_idx, len / 16, vq->size);
		return NULL;
	}
	/* Fields are loaded as naturally aligned words; kmalloc and DPDK
	 * both give at least 8-byte alignment. */
	if (gpa % 8 != 0) {
		virtq_fail(vq, -EINVAL,
			   "desc %u: indirect table gpa 0x%" PRIx64
			   " not 8-byte aligned", desc_idx, gpa);
		return NULL;
	}
	table = guest_mem_gpa_to_hva(mem, gpa, len);
	if (table == NULL) {
		virtq_fail(vq, -EFAULT,
			   "desc %u: indirect table gpa 0x%" PRIx64
			   " len %u not inside one guest memory region",
			   desc_idx, gpa, len);
		return NULL;
	}
	*entries = len / 16;
	return table;
}

struct virtq_layout virtq_layout_of(bool packed, uint16_t size)
{
	struct virtq_layout l;

	if (packed) {
		l.desc_bytes = 16ull * size;
		l.driver_bytes = 4;
		l.device_bytes = 4;
	} else {
		/* virtio 1.2 2.7: flags, idx, ring[size], used_event /
		 * avail_event; the event fields are always there in memory. */
		l.desc_bytes = 16ull * size;
		l.driver_bytes = 6 + 2ull * size;
		l.device_bytes = 6 + 8ull * size;
	}
	return l;
}

static void *map_part(const struct guest_mem *mem, enum virtq_addr_space as,
		      uint64_t addr, uint64_t len)
{
	return as == VIRTQ_ADDR_UVA ? guest_mem_uva_to_hva(mem, addr, len)
				    : guest_mem_gpa_to_hva(mem, addr, len);
}

int virtq_init(struct virtq *vq, const struct guest_mem *mem,
	       const struct virtq_config *cfg)
{
	static const char *const part_name[] = { "descriptor", "driver", "device" };
	/* virtio 1.2 2.7 and 2.8.10.1: minimum alignment of each part. */
	static const uint64_t split_align[] = { 16, 2, 4 };
	static const uint64_t packed_align[] = { 16, 4, 4 };
	const uint64_t *align = cfg->packed ? packed_align : split_align;
	uint64_t addr[3] = { cfg->desc_addr, cfg->driver_addr, cfg->device_addr };
	struct virtq_layout l = virtq_layout_of(cfg->packed, cfg->size);
	uint64_t bytes[3] = { l.desc_bytes, l.driver_bytes, l.device_bytes };
	void *hva[3];

	memset(vq, 0, sizeof(*vq));
	vq->size = cfg->size;
	vq->is_packed = cfg->packed;
	vq->event_idx = cfg->event_idx;
	vq->indirect = cfg->indirect;
	vq->in_order = cfg->in_order;
	vq->max_chain_bytes = cfg->max_chain_bytes ? cfg->max_chain_bytes
						   : VIRTQ_DEFAULT_MAX_CHAIN_BYTES;
	/* A chain of 2 GiB is no frame or block request; byte counts then
	 * stay far from 32-bit overflow wherever they are summed. */
	if (vq->max_chain_bytes > VIRTQ_MAX_CHAIN_BYTES_LIMIT)
		vq->max_chain_bytes = VIRTQ_MAX_CHAIN_BYTES_LIMIT;

	if (cfg->size == 0 || cfg->size > VIRTQ_MAX_SIZE)
		return virtq_fail(vq, -EINVAL, "queue size %u not in 1..%d",
				  cfg->size, VIRTQ_MAX_SIZE);
	/* Split rings index with a mask; virtio 1.2 2.7 requires a power
	 * of two there (packed rings do not). */
	if (!cfg->packed && (cfg->size & (cfg->size - 1)) != 0)
		return virtq_fail(vq, -EINVAL,
				  "split queue size %u is not a power of 2",
				  cfg->size);
	for (int i = 0; i < 3; i++) {
		if (addr[i] % align[i] != 0)
			return virtq_fail(vq, -EINVAL,
					  "%s area 0x%" PRIx64
					  " not aligned to %" PRIu64,
					  part_name[i], addr[i], align[i]);
		hva[i] = map_part(mem, cfg->addr_space, addr[i], bytes[i]);
		if (hva[i] == NULL)
			return virtq_fail(vq, -EFAULT,
					  "%s area 0x%" PRIx64 " +%" PRIu64
					  " not inside one guest memory region",
					  part_name[i], addr[i], bytes[i]);
		/* The region's own offset can misalign what the guest
		 * aligned: the ring is read as naturally aligned words. */
		if ((uintptr_t)hva[i] % align[i] != 0)
			return virtq_fail(vq, -EINVAL,
					  "%s area 0x%" PRIx64
					  " lands at a host address not aligned to %" PRIu64
					  " (region offset)", part_name[i], addr[i],
					  align[i]);
	}

	if (cfg->packed) {
		struct virtq_packed_state *p = &vq->packed;
		uint16_t pos = cfg->base & 0x7fff;

		if (pos >= cfg->size)
			return virtq_fail(vq, -EINVAL,
					  "base position %u >= queue size %u",
					  pos, cfg->size);
		p->desc = hva[0];
		p->driver_event = hva[1];
		p->device_event = hva[2];
		p->avail_pos = pos;
		p->avail_wrap = (cfg->base >> 15) & 1;
		/* Nothing is in flight across a restart: the used side
		 * resumes where the available side stands. */
		p->used_pos = pos;
		p->used_wrap = p->avail_wrap;
		return 0;
	}

	struct virtq_split_state *s = &vq->split;

	s->desc = hva[0];
	s->avail = hva[1];
	s->used = hva[2];
	s->mask = (uint16_t)(cfg->size - 1);
	/* Resume from the ring's real state: chains a previous back end
	 * took but never returned (it crashed) sit between used->idx and
	 * base. Taking them again from used->idx means they are processed
	 * rather than lost, which would stall the driver forever. */
	s->used_idx = ring_load16(&s->used->idx);
	if ((uint16_t)(cfg->base - s->used_idx) > cfg->size)
		return virtq_fail(vq, -EINVAL,
				  "base %u is %u past used idx %u (queue size %u)",
				  cfg->base, (uint16_t)(cfg->base - s->used_idx),
				  s->used_idx, cfg->size);
	s->last_avail = s->used_idx;
	s->avail_shadow = s->used_idx;
	s->used_published = s->used_idx;
	return 0;
}

void virtq_unpop(struct virtq *vq, unsigned nchains, unsigned ring_slots)
{
	if (vq->err)
		return;
	if (!vq->is_packed) {
		vq->split.last_avail = (uint16_t)(vq->split.last_avail - nchains);
		/* The same heads come again: expect the first of them. */
		vq->split.inorder_next = (uint16_t)(vq->split.inorder_next -
						    ring_slots) & vq->split.mask;
		return;
	}
	struct virtq_packed_state *p = &vq->packed;
	uint32_t pos = p->avail_pos;

	ring_slots %= 2u * vq->size;
	while (ring_slots) {
		uint32_t step = ring_slots <= pos ? ring_slots : pos;

		if (step == 0) {
			/* Back across the ring's start: the previous lap. */
			pos = vq->size;
			p->avail_wrap = !p->avail_wrap;
			continue;
		}
		pos -= step;
		ring_slots -= step;
	}
	p->avail_pos = (uint16_t)pos;
}

uint16_t virtq_base(const struct virtq *vq)
{
	if (vq->is_packed)
		return (uint16_t)(vq->packed.avail_pos |
				  (vq->packed.avail_wrap << 15));
	return vq->split.last_avail;
}
