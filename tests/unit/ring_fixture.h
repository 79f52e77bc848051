/* A guest for ring tests: one anonymous mapping registered as guest memory
 * at a non-zero guest-physical address, a driver-side virtqueue with its
 * rings at the start, and buffers handed out from the rest. */
#ifndef BULKHEAD_RING_FIXTURE_H
#define BULKHEAD_RING_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest_mem.h"
#include "virtq.h"
#include "virtq_driver.h"

#define FIX_GPA 0x40000000ull
#define FIX_BYTES (4u << 20)

struct fixture {
	uint8_t *hva;
	uint64_t next_free;   /* bump allocator offset */
	struct guest_mem mem;
	struct virtq_driver drv;
	struct virtq vq;
	int init_ret;
};

static inline uint64_t fix_alloc(struct fixture *f, uint64_t bytes)
{
	uint64_t off = f->next_free;

	f->next_free = (off + bytes + 63) & ~63ull;
	return FIX_GPA + off;
}

static inline void *fix_hva(struct fixture *f, uint64_t gpa)
{
	return f->hva + (gpa - FIX_GPA);
}

/* Sets up memory, driver and device; cfg_edit may change the device
 * config before virtq_init (features, cap, base). */
static inline void fix_setup(struct fixture *f, bool packed, uint16_t size,
			     bool event_idx,
			     void (*cfg_edit)(struct virtq_config *))
{
	struct guest_mem_region r;
	char err[128];
	struct virtq_config cfg;
	uint64_t ring;

	memset(f, 0, sizeof(*f));
	f->hva = mmap(NULL, FIX_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->hva == MAP_FAILED)
		abort();
	guest_mem_init(&f->mem);
	r = (struct guest_mem_region){ .gpa = FIX_GPA, .size = FIX_BYTES,
				       .uva = 0x7f0000000000ull, .hva = f->hva };
	if (guest_mem_add_region(&f->mem, &r, err, sizeof(err)) != 0)
		abort();
	ring = fix_alloc(f, virtq_driver_ring_bytes(packed, size));
	if (virtq_driver_init(&f->drv, packed, size, event_idx,
			      fix_hva(f, ring), ring) != 0)
		abort();
	cfg = virtq_driver_config(&f->drv);
	if (cfg_edit)
		cfg_edit(&cfg);
	f->init_ret = virtq_init(&f->vq, &f->mem, &cfg);
}

static inline void fix_teardown(struct fixture *f)
{
	virtq_driver_destroy(&f->drv);
	munmap(f->hva, FIX_BYTES);
}

/* A guest buffer of len bytes filled with fill. */
static inline struct virtq_buf fix_buf(struct fixture *f, uint32_t len,
				       bool writable, uint8_t fill)
{
	struct virtq_buf b = { .gpa = fix_alloc(f, len), .len = len,
			       .writable = writable };

	memset(fix_hva(f, b.gpa), fill, len);
	return b;
}

#endif
