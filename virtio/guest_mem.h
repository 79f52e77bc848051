/* Guest memory table: which host bytes back which guest addresses.
 *
 * A front end (QEMU, DPDK) shares its guest RAM as a handful of regions.
 * Every address a guest writes into a ring is translated here, and nothing
 * else in Bulkhead turns a guest address into a pointer. The checks are
 * written so that no sum can overflow: an offset is found by subtraction
 * and compared with the region's size, and a length is compared with what
 * is left of the region after that offset.
 *
 * Buffers (data) may span regions whose guest-physical ranges touch: they
 * are split into one segment per region (guest_mem_gpa_to_segs). Ring
 * structures and indirect tables must lie inside one region: they are read
 * as arrays, so they get one contiguous mapping or are rejected
 * (guest_mem_gpa_to_hva, guest_mem_uva_to_hva). */
#ifndef BULKHEAD_GUEST_MEM_H
#define BULKHEAD_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

/* vhost-user lets a back end announce up to this many slots
 * (VHOST_USER_GET_MAX_MEM_SLOTS); QEMU needs 8 for a plain VM and a few
 * more with memory hot-plug. A small table keeps the linear lookup cheap. */
#define GUEST_MEM_MAX_REGIONS 32

struct guest_mem_region {
	uint64_t gpa;      /* guest-physical start */
	uint64_t size;     /* bytes, nonzero */
	uint64_t uva;      /* the front end's own virtual address of gpa */
	uint64_t offset;   /* offset of gpa inside the shared file (mmap) */
	uint8_t *hva;      /* host mapping of gpa (mapping base + offset) */
};

struct guest_mem {
	uint32_t nregions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
};

/* One host-contiguous piece of a guest buffer. */
struct guest_seg {
	uint8_t *hva;
	uint32_t len;
};

void guest_mem_init(struct guest_mem *mem);

/* Adds a region after checking it: nonzero size, no wrap of gpa+size or
 * uva+size, no overlap with an existing region in either address space,
 * room in the table. Returns 0 or a negative errno with a message naming
 * the value in err (errlen bytes). */
int guest_mem_add_region(struct guest_mem *mem,
			 const struct guest_mem_region *region,
			 char *err, size_t errlen);

/* Removes the region that starts at gpa with this size (vhost-user
 * REM_MEM_REG names regions so). Returns 0, or -ENOENT. On success the
 * removed region is copied to *removed (when non-NULL) so the caller can
 * unmap it. */
int guest_mem_remove_region(struct guest_mem *mem, uint64_t gpa,
			    uint64_t size, struct guest_mem_region *removed);

/* [gpa, gpa+len) inside one region: its host address, else NULL.
 * len may be zero only if gpa itself is inside a region. */
static inline void *guest_mem_gpa_to_hva(const struct guest_mem *mem,
					 uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t off = gpa - r->gpa;

		/* off wraps to a huge value when gpa < r->gpa: one compare
		 * covers both ends. */
		if (off < r->size)
			return len <= r->size - off ? r->hva + off : NULL;
	}
	return NULL;
}

/* Same as guest_mem_gpa_to_hva, for the front end's virtual addresses
 * (vhost-user gives ring addresses that way). */
void *guest_mem_uva_to_hva(const struct guest_mem *mem, uint64_t uva,
			   uint64_t len);

/* Splits [gpa, gpa+len) into host segments, one per region it crosses;
 * regions must touch in guest-physical space (a hole is an error).
 * Appends at most max_segs - *nsegs segments to segs.
 * Returns 0, -EFAULT (a byte outside guest memory), or -E2BIG (more
 * segments than room). len must be nonzero. */
int guest_mem_gpa_to_segs(const struct guest_mem *mem, uint64_t gpa,
			  uint32_t len, struct guest_seg *segs,
			  uint32_t *nsegs, uint32_t max_segs);

#endif
