/* Writes the seed corpora for the ring fuzzers: memory images of rings in
 * which virtq_driver placed well-formed chains (direct, multi-descriptor,
 * indirect, across the ring's end), so fuzzing starts from valid rings and
 * mutates from there. Run by hand when the input format changes:
 *   gen_seeds split DIR; gen_seeds packed DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtq_driver.h"

#define GPA 0x10000u
#define BYTES 16384u

static void write_seed(const char *dir, const char *name, uint8_t cfg,
		       const uint8_t *mem)
{
	char path[512];
	FILE *f;
	uint8_t hdr[3] = { cfg, 0, 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(hdr, 1, 3, f) != 3 || fwrite(mem, 1, BYTES, f) != BYTES)
		exit(1);
	fclose(f);
}

int main(int argc, char **argv)
{
	bool packed;
	uint8_t *mem = calloc(1, BYTES);
	struct virtq_driver drv;

	if (argc != 3)
		return 2;
	packed = strcmp(argv[1], "packed") == 0;
	for (int variant = 0; variant < 6; variant++) {
		/* size 16 (code 3), event idx on odd variants, indirect on,
		 * batches of 4 from variant 2, VIRTIO_F_IN_ORDER from variant
		 * 4 (5, split: two heads swapped, which in order breaks the queue;
		 * packed: the same as 4, not checked in) */
		uint8_t cfg = (uint8_t)(3 | (variant & 1 ? 8 : 0) | 16 |
					(variant >= 2 ? 64 : 0) |
					(variant >= 4 ? 128 : 0));
		struct virtq_buf b[4];
		char name[32];

		memset(mem, 0, BYTES);
		virtq_driver_init(&drv, packed, 16, variant & 1, mem, GPA);
		if (variant >= 4)
			virtq_driver_set_in_order(&drv);
		for (int i = 0; i < 4; i++) {
			b[i].gpa = GPA + 8192 + 512u * i;
			b[i].len = 256;
			b[i].writable = i >= 2;
		}
		if (variant == 3) /* a buffer across the region boundary */
			b[3].gpa = GPA + BYTES - 100;
		for (int k = 0; k < 5; k++)
			virtq_driver_add(&drv, b + (k % 4), (uint16_t)(4 - k % 4));
		if (variant >= 2)
			virtq_driver_add_indirect(&drv, b, 4, mem + 4096,
						  GPA + 4096);
		if (variant == 5 && !packed) {
			uint16_t h = drv.avail->ring[1];

			drv.avail->ring[1] = drv.avail->ring[2];
			drv.avail->ring[2] = h;
		}
		virtq_driver_kick_prepare(&drv);
		snprintf(name, sizeof(name), "seed%d", variant);
		write_seed(argv[2], name, cfg, mem);
		virtq_driver_destroy(&drv);
	}
	free(mem);
	return 0;
}
