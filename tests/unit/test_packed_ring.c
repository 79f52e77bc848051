/* Packed-ring rules (virtio 1.2 2.8): wrap counters, chains across the
 * ring's end, the buffer id of the last descriptor, out-of-order use,
 * chains longer than the ring. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring_fixture.h"
#include "tap.h"

static int pop(struct fixture *f, struct virtq_chain *c)
{
	return packed_ring_pop_batch(&f->vq, &f->mem, c, 1);
}

/* Chains of 3 in a ring of 8: the third straddles the end and flips the
 * wrap counter in the middle of the chain. */
static void test_chain_across_ring_end(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[3];
	struct virtq_chain c;
	uint16_t id;
	uint32_t len;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	for (int i = 0; i < 3; i++)
		b[i] = fix_buf(&f, 64, i == 2, 0);
	for (int round = 0; round < 6; round++) {
		int added = virtq_driver_add(&f.drv, b, 3);

		CHECK_EQ(t, pop(&f, &c), 1);
		CHECK_EQ(t, c.token.id, added);
		CHECK_EQ(t, c.token.ring_slots, 3);
		CHECK_EQ(t, c.nread, 2);
		packed_ring_push(&f.vq, c.token, 10);
		CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
		CHECK_EQ(t, id, added);
		CHECK_EQ(t, len, 10);
	}
	CHECK_EQ(t, f.vq.packed.avail_pos, 18 % 8);
	CHECK_EQ(t, f.vq.packed.avail_wrap, 1); /* flipped at 8 and 16 */
	fix_teardown(&f);
}

/* 2.8.6: the id that counts is the last descriptor's. */
static void test_id_from_last_descriptor(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, b, 2);
	f.drv.pdesc[0].id = htole16(999);
	f.drv.pdesc[1].id = htole16(7);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.id, 7);
	fix_teardown(&f);
}

/* A chain whose every descriptor says NEXT would go round the ring
 * forever; the walk stops at the ring's size. */
static void test_chain_longer_than_ring(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[8];
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	for (int i = 0; i < 8; i++)
		b[i] = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, b, 8);
	f.drv.pdesc[7].flags |= htole16(VRING_DESC_F_NEXT);
	CHECK_EQ(t, pop(&f, &c), -ELOOP);
	CHECK_STR(t, f.vq.reason, "chain at desc 0: longer than queue size 8");
	printf("# reason: %s\n", f.vq.reason);
	fix_teardown(&f);
}

/* The walk stops at exactly the ring's size: desc 0 readable, the rest
 * writable, the last saying NEXT. One step more would report
 * readable-after-writable instead of the loop. */
static void test_chain_loop_at_ring_size(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[8];
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	for (int i = 0; i < 8; i++)
		b[i] = fix_buf(&f, 64, i > 0, 0);
	virtq_driver_add(&f.drv, b, 8);
	f.drv.pdesc[7].flags |= htole16(VRING_DESC_F_NEXT);
	CHECK_EQ(t, pop(&f, &c), -ELOOP);
	fix_teardown(&f);
}

/* An error inside an indirect table breaks the queue and yields no
 * chain. */
static void test_bad_indirect_entry(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain c;
	uint64_t table;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	b[0] = fix_buf(&f, 64, true, 0);
	b[1] = fix_buf(&f, 64, false, 0);
	table = fix_alloc(&f, 32);
	virtq_driver_add_indirect(&f.drv, b, 2, fix_hva(&f, table), table);
	CHECK_EQ(t, pop(&f, &c), -EINVAL);
	CHECK_STR(t, f.vq.reason, "desc 1: device-readable after device-writable");
	fix_teardown(&f);
}

/* A descriptor the driver has not made available (wrong wrap value) is
 * not taken. */
static void test_stale_descriptor_not_taken(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, &b, 1);
	/* AVAIL == USED: a used descriptor, not an available one. */
	f.drv.pdesc[0].flags |= htole16(1u << VRING_PACKED_DESC_F_USED);
	CHECK_EQ(t, pop(&f, &c), 0);
	CHECK(t, !virtq_broken(&f.vq));
	fix_teardown(&f);
}

/* Out-of-order completion: the device returns the second chain first;
 * the driver finds each where the device wrote it. */
static void test_out_of_order_use(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain c1, c2;
	uint16_t id;
	uint32_t len;

	(void)arg;
	fix_setup(&f, true, 8, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, true, 0);
	int a = virtq_driver_add(&f.drv, b, 2);
	int d = virtq_driver_add(&f.drv, &b[1], 1);
	CHECK_EQ(t, pop(&f, &c1), 1);
	CHECK_EQ(t, pop(&f, &c2), 1);
	/* Used descriptors go in completion order; each advances by the
	 * returned chain's slots, so the driver must agree on ids. Return
	 * the 1-slot chain, then the 2-slot chain. */
	packed_ring_push(&f.vq, c2.token, 5);
	packed_ring_push(&f.vq, c1.token, 6);
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
	CHECK_EQ(t, id, d);
	CHECK_EQ(t, len, 5);
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
	CHECK_EQ(t, id, a);
	CHECK_EQ(t, len, 6);
	CHECK_EQ(t, f.drv.num_free, 8);
	fix_teardown(&f);
}

static void size_6(struct virtq_config *cfg)
{
	cfg->size = 6;
}

/* Packed rings need not be a power of two (2.8.10.1). */
static void test_size_not_power_of_two(struct tap *t, const void *arg)
{
	struct fixture f;

	(void)arg;
	fix_setup(&f, true, 8, false, size_6);
	CHECK_EQ(t, f.init_ret, 0);
	fix_teardown(&f);
}

static void base_out_of_range(struct virtq_config *cfg)
{
	cfg->base = (1u << 15) | 8;
}

/* What the store into the read-only page found (first_written_last). */
static struct {
	uint8_t *page;
	size_t page_bytes;
	const struct vring_packed_desc *rest;
	int nrest;
	int faults;
	int rest_used;
} watch;

static void on_write_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	if ((uint8_t *)si->si_addr < watch.page ||
	    (uint8_t *)si->si_addr >= watch.page + watch.page_bytes)
		abort();
	watch.faults++;
	watch.rest_used = 1;
	for (int i = 0; i < watch.nrest; i++) {
		uint16_t flags = le16toh(watch.rest[i].flags);

		/* Used in the first lap: AVAIL and USED both 1. */
		if ((flags & 0x8080) != 0x8080)
			watch.rest_used = 0;
	}
	/* Let the faulting store through. */
	mprotect(watch.page, watch.page_bytes, PROT_READ | PROT_WRITE);
}

/* 2.8.9 (multi-buffer requests): the driver, which polls only the next
 * used slot, must see all of a batch or none of it. The batch's first
 * slot is the last of a page that is made read-only, the rest are on the
 * next page: the store into the first faults, and at that moment the
 * rest must already be used. */
static void test_batch_first_written_last(struct tap *t, const void *arg)
{
	size_t page_bytes = (size_t)sysconf(_SC_PAGESIZE);
	uint16_t per_page = (uint16_t)(page_bytes / 16);
	struct sigaction sa, old;
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c[3];
	struct virtq_done done[3];
	uint16_t id;
	uint32_t len;

	(void)arg;
	fix_setup(&f, true, (uint16_t)(2 * per_page), false, NULL);
	b = fix_buf(&f, 64, true, 0);
	/* Round trips up to the page's last slot. */
	for (int i = 0; i < per_page - 1; i++) {
		virtq_driver_add(&f.drv, &b, 1);
		CHECK_EQ(t, pop(&f, &c[0]), 1);
		packed_ring_push(&f.vq, c[0].token, 0);
		CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
	}
	for (int i = 0; i < 3; i++)
		virtq_driver_add(&f.drv, &b, 1);
	CHECK_EQ(t, packed_ring_pop_batch(&f.vq, &f.mem, c, 3), 3);
	for (int i = 0; i < 3; i++)
		done[i] = (struct virtq_done){ .token = c[i].token, .len = 64 };

	watch.page = (uint8_t *)f.drv.pdesc;
	watch.page_bytes = page_bytes;
	watch.rest = &f.drv.pdesc[per_page];
	watch.nrest = 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_write_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(t, sigaction(SIGSEGV, &sa, &old), 0);
	CHECK_EQ(t, mprotect(watch.page, page_bytes, PROT_READ), 0);
	packed_ring_push_batch(&f.vq, done, 3);
	sigaction(SIGSEGV, &old, NULL);
	mprotect(watch.page, page_bytes, PROT_READ | PROT_WRITE);

	CHECK_EQ(t, watch.faults, 1);
	CHECK_EQ(t, watch.rest_used, 1);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
		CHECK_EQ(t, id, c[i].token.id);
		CHECK_EQ(t, len, 64);
	}
	fix_teardown(&f);
}

static void test_base_position_out_of_range(struct tap *t, const void *arg)
{
	struct fixture f;

	(void)arg;
	fix_setup(&f, true, 8, false, base_out_of_range);
	CHECK_EQ(t, f.init_ret, -EINVAL);
	CHECK_STR(t, f.vq.reason, "base position 8 >= queue size 8");
	fix_teardown(&f);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "chain across the ring's end", test_chain_across_ring_end, NULL },
		{ "buffer id from the last descriptor", test_id_from_last_descriptor, NULL },
		{ "chain longer than the ring", test_chain_longer_than_ring, NULL },
		{ "loop closing at the ring size", test_chain_loop_at_ring_size, NULL },
		{ "bad entry in an indirect table", test_bad_indirect_entry, NULL },
		{ "descriptor not available is not taken", test_stale_descriptor_not_taken, NULL },
		{ "out-of-order use", test_out_of_order_use, NULL },
		{ "size not a power of two is fine", test_size_not_power_of_two, NULL },
		{ "base position out of range", test_base_position_out_of_range, NULL },
		{ "a batch's first used descriptor is written last", test_batch_first_written_last, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
