/* Memory translation under arbitrary tables and queries. The input is a
 * list of regions (accepted or refused by guest_mem_add_region) followed by
 * queries; every answer must lie inside the backing of the region that
 * holds the address, and a refusal must be right (checked by brute force
 * over the table). abort() marks a wrong answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t take64(const uint8_t **p, size_t *left)
{
	uint64_t v = 0;
	size_t n = *left < 8 ? *left : 8;

	memcpy(&v, *p, n);
	*p += n;
	*left -= n;
	return v;
}

/* Addresses cluster near a few bases so regions touch and overlap often;
 * sizes are small so each region gets a real backing buffer. */
static uint64_t near(uint64_t raw)
{
	static const uint64_t bases[4] = { 0, 0x100000, UINT64_MAX - 0xffff,
					   0x7fff0000 };
	return bases[raw & 3] + ((raw >> 2) & 0xffff);
}

static const struct guest_mem_region *holder(const struct guest_mem *mem,
					     uint64_t gpa)
{
	for (uint32_t i = 0; i < mem->nregions; i++)
		if (gpa >= mem->regions[i].gpa &&
		    gpa - mem->regions[i].gpa < mem->regions[i].size)
			return &mem->regions[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem;
	uint8_t *backing[8] = { 0 };
	char err[128];
	int nregions;

	if (size < 1)
		return 0;
	nregions = 1 + data[0] % 8;
	data++;
	size--;
	guest_mem_init(&mem);
	for (int i = 0; i < nregions; i++) {
		uint64_t gpa = near(take64(&data, &size));
		uint64_t len = 1 + (take64(&data, &size) & 0x3fff);

		backing[i] = malloc(len);
		struct guest_mem_region r = { .gpa = gpa, .size = len,
					      .uva = gpa ^ 0x5a5a0000,
					      .hva = backing[i] };
		(void)guest_mem_add_region(&mem, &r, err, sizeof(err));
	}
	while (size >= 12) {
		uint64_t gpa = near(take64(&data, &size));
		uint32_t len = (uint32_t)take64(&data, &size) & 0x1ffff;
		const struct guest_mem_region *r = holder(&mem, gpa);
		uint8_t *hva = guest_mem_gpa_to_hva(&mem, gpa, len);
		struct guest_seg segs[8];
		uint32_t nsegs = 0;

		if (hva) {
			if (!r || len > r->size - (gpa - r->gpa) ||
			    hva != r->hva + (gpa - r->gpa))
				abort();
			if (len)
				hva[len - 1] ^= 1; /* ASan checks the end */
		} else if (r && len <= r->size - (gpa - r->gpa)) {
			abort(); /* refused a range that fits */
		}
		if (len && guest_mem_gpa_to_segs(&mem, gpa, len, segs, &nsegs,
						 8) == 0) {
			uint64_t total = 0;

			for (uint32_t s = 0; s < nsegs; s++) {
				segs[s].hva[0] ^= 1;
				segs[s].hva[segs[s].len - 1] ^= 1;
				total += segs[s].len;
			}
			if (total != len)
				abort();
		}
	}
	for (int i = 0; i < nregions; i++)
		free(backing[i]);
	return 0;
}
