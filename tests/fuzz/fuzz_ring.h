/* The body of the split and packed ring fuzzers. The input is a guest:
 * byte 0 picks the queue size, features (bit 7: VIRTIO_F_IN_ORDER) and
 * batch size, bytes 1-2 the
 * base index, and the rest is the memory image of a 16 KiB region
 * holding the rings, descriptors, indirect tables and buffers (laid out
 * as virtq_driver lays them out). A second 4 KiB region touches the
 * first, so buffers can span two regions. The device then takes every
 * chain it can, touches every byte of every segment (ASan catches a bad
 * translation), and returns it.
 * Nothing the input says may crash the device or make it touch memory
 * outside the regions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "virtq.h"
#include "virtq_driver.h"

#define FUZZ_GPA 0x10000u
#define FUZZ_REGION_A 16384u
#define FUZZ_REGION_B 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_ring(const uint8_t *data, size_t size, bool packed)
{
	uint8_t *a, *b;
	struct guest_mem mem;
	struct virtq_driver drv;
	struct virtq vq;
	struct virtq_config cfg;
	/* Byte 0's bit 6: take and return up to 4 chains at a time. */
	struct virtq_chain chains[4];
	struct virtq_done done[4];
	unsigned batch;
	char err[128];
	uint16_t qsize;

	if (size < 3)
		return;
	qsize = (uint16_t)(1u << (1 + (data[0] & 7)));
	batch = data[0] & 64 ? 4 : 1;
	a = calloc(1, FUZZ_REGION_A);
	b = calloc(1, FUZZ_REGION_B);
	guest_mem_init(&mem);
	struct guest_mem_region ra = { .gpa = FUZZ_GPA, .size = FUZZ_REGION_A,
				       .uva = 0x1000000, .hva = a };
	struct guest_mem_region rb = { .gpa = FUZZ_GPA + FUZZ_REGION_A,
				       .size = FUZZ_REGION_B, .uva = 0x2000000,
				       .hva = b };
	if (guest_mem_add_region(&mem, &ra, err, sizeof(err)) ||
	    guest_mem_add_region(&mem, &rb, err, sizeof(err)) ||
	    virtq_driver_init(&drv, packed, qsize, data[0] & 8, a, FUZZ_GPA))
		abort();
	cfg = virtq_driver_config(&drv);
	cfg.indirect = data[0] & 16;
	cfg.max_chain_bytes = data[0] & 32 ? 4096 : 0;
	/* In order: heads and next links checked against table order, and
	 * runs of chains with nothing written returned as one entry. */
	cfg.in_order = data[0] & 128;
	cfg.base = (uint16_t)(data[1] | data[2] << 8);
	memcpy(a, data + 3, size - 3 < FUZZ_REGION_A ? size - 3 : FUZZ_REGION_A);

	if (virtq_init(&vq, &mem, &cfg) == 0) {
		/* Twice the queue: enough to see the avail side run dry or
		 * loop, bounded whatever the image says. */
		for (int i = 0; i < 2 * qsize; i++) {
			int ret = virtq_pop_batch(&vq, &mem, chains, batch);
			volatile uint8_t sink = 0;

			if (ret <= 0)
				break;
			for (int k = 0; k < ret; k++) {
				const struct virtq_chain *c = &chains[k];
				uint32_t n = (uint32_t)c->nread + c->nwrite;

				for (uint32_t s = 0; s < n; s++) {
					if (s < c->nread)
						sink ^= c->seg[s].hva[c->seg[s].len - 1];
					else
						memset(c->seg[s].hva, 0xee,
						       c->seg[s].len);
				}
				done[k].token = c->token;
				done[k].len = c->write_bytes;
			}
			(void)sink;
			virtq_push_batch(&vq, done, (unsigned)ret);
			if (i % 3 == 0)
				virtq_publish(&vq);
		}
		virtq_publish(&vq);
		virtq_enable_notify(&vq);
		virtq_disable_notify(&vq);
		(void)virtq_base(&vq);
	}
	virtq_driver_destroy(&drv);
	free(a);
	free(b);
}
