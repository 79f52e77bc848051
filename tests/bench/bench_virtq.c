/* Micro-benchmark of the device-side virtqueue: take (pop) and return
 * (push) of chains of 1 and 2 descriptors at queue size 256, batches of
 * 32 with one publish per batch, split and packed. The driver side
 * (virtio/virtq_driver.c) refills in between; only the device's work is
 * timed, and only it is counted under callgrind:
 *   bench_virtq              chains per second, each configuration
 *   bench_virtq --count CFG  a fixed run for callgrind's toggle-collect
 *                            (CFG: split1 split2 packed1 packed2) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "guest_mem.h"
#include "virtq.h"
#include "virtq_driver.h"

#define QSIZE 256
#define BATCH 32
#define GPA 0x100000000ull
#define MEM_BYTES (1u << 20)

struct bench {
	uint8_t *hva;
	struct guest_mem mem;
	struct virtq_driver drv;
	struct virtq vq;
	struct virtq_buf bufs[2];
	uint16_t ndesc;
	struct virtq_chain chains[BATCH];
	struct virtq_done done[BATCH];
};

static void bench_setup(struct bench *b, bool packed, uint16_t ndesc)
{
	char err[128];
	struct virtq_config cfg;

	b->hva = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b->hva == MAP_FAILED)
		exit(1);
	guest_mem_init(&b->mem);
	struct guest_mem_region r = { .gpa = GPA, .size = MEM_BYTES,
				      .uva = GPA, .hva = b->hva };
	if (guest_mem_add_region(&b->mem, &r, err, sizeof(err)) ||
	    virtq_driver_init(&b->drv, packed, QSIZE, true, b->hva, GPA))
		exit(1);
	cfg = virtq_driver_config(&b->drv);
	if (virtq_init(&b->vq, &b->mem, &cfg))
		exit(1);
	b->ndesc = ndesc;
	/* A 12-byte virtio-net header and a 64-byte frame, as net TX sends. */
	b->bufs[0] = (struct virtq_buf){ .gpa = GPA + 65536, .len = ndesc == 2 ? 12 : 76 };
	b->bufs[1] = (struct virtq_buf){ .gpa = GPA + 65536 + 64, .len = 64 };
}

static void driver_refill(struct bench *b)
{
	for (int i = 0; i < BATCH; i++)
		virtq_driver_add(&b->drv, b->bufs, b->ndesc);
	virtq_driver_kick_prepare(&b->drv);
}

static void driver_reap(struct bench *b)
{
	uint16_t id;
	uint32_t len;

	while (virtq_driver_reap(&b->drv, &id, &len) == 1)
		;
}

/* The measured work: take and return one batch. noinline so callgrind's
 * --toggle-collect can count exactly this. */
__attribute__((noinline)) int device_take_return_batch(struct bench *b);
__attribute__((noinline)) int device_take_return_batch(struct bench *b)
{
	int n = virtq_pop_batch(&b->vq, &b->mem, b->chains, BATCH);

	for (int i = 0; i < n; i++) {
		b->done[i].token = b->chains[i].token;
		b->done[i].len = 0;
	}
	virtq_push_batch(&b->vq, b->done, (unsigned)n);
	virtq_publish(&b->vq);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct {
	const char *name;
	bool packed;
	uint16_t ndesc;
} configs[] = {
	{ "split1", false, 1 },
	{ "split2", false, 2 },
	{ "packed1", true, 1 },
	{ "packed2", true, 2 },
};

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));

	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
			long total = 0;

			if (strcmp(argv[2], configs[c].name) != 0)
				continue;
			bench_setup(b, configs[c].packed, configs[c].ndesc);
			for (int round = 0; round < 10000; round++) {
				driver_refill(b);
				total += device_take_return_batch(b);
				driver_reap(b);
			}
			printf("chains %ld\n", total);
			return total == 10000L * BATCH ? 0 : 1;
		}
		return 2;
	}
	printf("%-8s %6s %6s %14s\n", "ring", "descs", "batch", "Mchains/s");
	for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
		double spent = 0;
		long total = 0;

		memset(b, 0, sizeof(*b));
		bench_setup(b, configs[c].packed, configs[c].ndesc);
		for (int round = 0; round < 200000; round++) {
			double t0;

			driver_refill(b);
			t0 = now_s();
			total += device_take_return_batch(b);
			spent += now_s() - t0;
			driver_reap(b);
		}
		printf("%-8s %6u %6d %14.1f\n", configs[c].packed ? "packed" : "split",
		       configs[c].ndesc, BATCH, total / spent / 1e6);
		munmap(b->hva, MEM_BYTES);
		virtq_driver_destroy(&b->drv);
	}
	free(b);
	return 0;
}
