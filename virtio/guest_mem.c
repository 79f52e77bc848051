#include "guest_mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void guest_mem_init(struct guest_mem *mem)
{
	mem->nregions = 0;
}

/* [a, a+alen) and [b, b+blen) intersect; both known not to wrap. */
static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guest_mem_add_region(struct guest_mem *mem,
			 const struct guest_mem_region *region,
			 char *err, size_t errlen)
{
	const struct guest_mem_region *r = region;

	if (r->size == 0) {
		snprintf(err, errlen, "region at gpa 0x%" PRIx64 ": size 0",
			 r->gpa);
		return -EINVAL;
	}
	if (r->gpa > UINT64_MAX - r->size || r->uva > UINT64_MAX - r->size) {
		snprintf(err, errlen,
			 "region gpa 0x%" PRIx64 " uva 0x%" PRIx64
			 " size 0x%" PRIx64 ": end wraps past 2^64",
			 r->gpa, r->uva, r->size);
		return -EINVAL;
	}
	if (r->hva == NULL) {
		snprintf(err, errlen, "region at gpa 0x%" PRIx64 ": no mapping",
			 r->gpa);
		return -EINVAL;
	}
	if (mem->nregions >= GUEST_MEM_MAX_REGIONS) {
		snprintf(err, errlen,
			 "region at gpa 0x%" PRIx64 ": table full (%d regions)",
			 r->gpa, GUEST_MEM_MAX_REGIONS);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *o = &mem->regions[i];

		if (ranges_overlap(r->gpa, r->size, o->gpa, o->size) ||
		    ranges_overlap(r->uva, r->size, o->uva, o->size)) {
			snprintf(err, errlen,
				 "region gpa 0x%" PRIx64 "+0x%" PRIx64
				 " overlaps region gpa 0x%" PRIx64 "+0x%" PRIx64,
				 r->gpa, r->size, o->gpa, o->size);
			return -EINVAL;
		}
	}
	mem->regions[mem->nregions++] = *r;
	return 0;
}

int guest_mem_remove_region(struct guest_mem *mem, uint64_t gpa,
			    uint64_t size, struct guest_mem_region *removed)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		struct guest_mem_region *r = &mem->regions[i];

		if (r->gpa != gpa || r->size != size)
			continue;
		if (removed)
			*removed = *r;
		mem->nregions--;
		memmove(r, r + 1, (mem->nregions - i) * sizeof(*r));
		return 0;
	}
	return -ENOENT;
}

void *guest_mem_uva_to_hva(const struct guest_mem *mem, uint64_t uva,
			   uint64_t len)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t off = uva - r->uva;

		if (off < r->size)
			return len <= r->size - off ? r->hva + off : NULL;
	}
	return NULL;
}

int guest_mem_gpa_to_segs(const struct guest_mem *mem, uint64_t gpa,
			  uint32_t len, struct guest_seg *segs,
			  uint32_t *nsegs, uint32_t max_segs)
{
	uint32_t n = *nsegs;

	/* Each pass consumes at least one byte from a region that holds gpa,
	 * so the loop ends; regions never overlap, so at most one matches. */
	while (len > 0) {
		const struct guest_mem_region *r = NULL;
		uint64_t off = 0;

		for (uint32_t i = 0; i < mem->nregions; i++) {
			off = gpa - mem->regions[i].gpa;
			if (off < mem->regions[i].size) {
				r = &mem->regions[i];
				break;
			}
		}
		if (r == NULL)
			return -EFAULT;
		if (n >= max_segs)
			return -E2BIG;

		uint64_t room = r->size - off;
		uint32_t take = room < len ? (uint32_t)room : len;

		segs[n].hva = r->hva + off;
		segs[n].len = take;
		n++;
		len -= take;
		/* gpa + take cannot wrap: it is at most r->gpa + r->size,
		 * which add_region checked. */
		gpa += take;
	}
	*nsegs = n;
	return 0;
}
