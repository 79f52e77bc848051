/* Behaviour both ring formats share, each case run once per format: the
 * driver side (virtio/virtq_driver.c) plays the guest over the same
 * memory, and hostile cases start from a chain it made with one value made
 * wrong. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ring_fixture.h"
#include "tap.h"

struct fmt {
	bool packed;
};

static const struct fmt split = { false };
static const struct fmt packed = { true };

#define FMT(arg) (((const struct fmt *)(arg))->packed)

/* Slot s of the ring: the descriptor index (split) or ring position
 * (packed); a fresh queue's first chain starts at slot 0 in both. */
static void poke_flags_or(struct fixture *f, uint16_t s, uint16_t flags)
{
	if (f->drv.packed)
		f->drv.pdesc[s].flags |= htole16(flags);
	else
		f->drv.desc[s].flags |= htole16(flags);
}

static void poke_len(struct fixture *f, uint16_t s, uint32_t len)
{
	if (f->drv.packed)
		f->drv.pdesc[s].len = htole32(len);
	else
		f->drv.desc[s].len = htole32(len);
}

static void table_flags_or(struct fixture *f, void *table, uint16_t i,
			   uint16_t flags)
{
	if (f->drv.packed)
		((struct vring_packed_desc *)table)[i].flags |= htole16(flags);
	else
		((struct vring_desc *)table)[i].flags |= htole16(flags);
}

/* Adds bufs as one chain and lets the device see it. */
static int add(struct fixture *f, const struct virtq_buf *bufs, uint16_t n)
{
	int id = virtq_driver_add(&f->drv, bufs, n);

	virtq_driver_kick_prepare(&f->drv);
	return id;
}

static int pop(struct fixture *f, struct virtq_chain *c)
{
	return virtq_pop(&f->vq, &f->mem, c);
}

/* One buffer, readable or writable, taken and returned. The
 * one-descriptor fast path sets the chain's counters as two words: a
 * writable buffer puts its 1 and its length in the other halves. */
static void roundtrip_one(struct tap *t, const void *arg, bool writable)
{
	struct fixture f;
	struct virtq_chain c;
	struct virtq_buf b;
	uint32_t buf_len = writable ? 1500 : 100, written = writable ? 1400 : 0;
	uint16_t id;
	uint32_t len;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	CHECK_EQ(t, f.init_ret, 0);
	CHECK_EQ(t, pop(&f, &c), 0);
	b = fix_buf(&f, buf_len, writable, 0xab);
	int added = add(&f, &b, 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.id, added);
	CHECK_EQ(t, c.token.ring_slots, 1);
	CHECK_EQ(t, c.nread, !writable);
	CHECK_EQ(t, c.nwrite, writable);
	CHECK_EQ(t, c.read_bytes, writable ? 0 : buf_len);
	CHECK_EQ(t, c.write_bytes, writable ? buf_len : 0);
	CHECK(t, c.seg[0].hva == fix_hva(&f, b.gpa));
	CHECK_EQ(t, c.seg[0].len, buf_len);
	CHECK_EQ(t, pop(&f, &c), 0);
	virtq_push(&f.vq, c.token, written);
	virtq_publish(&f.vq);
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
	CHECK_EQ(t, id, added);
	CHECK_EQ(t, len, written);
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 0);
	fix_teardown(&f);
}

static void test_roundtrip_one(struct tap *t, const void *arg)
{
	roundtrip_one(t, arg, false);
}

static void test_roundtrip_one_writable(struct tap *t, const void *arg)
{
	roundtrip_one(t, arg, true);
}

static void test_roundtrip_read_write_chain(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_chain c;
	struct virtq_buf b[3];
	uint16_t id;
	uint32_t len;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	b[0] = fix_buf(&f, 12, false, 1);
	b[1] = fix_buf(&f, 1500, false, 2);
	b[2] = fix_buf(&f, 2048, true, 0);
	int added = add(&f, b, 3);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.nread, 2);
	CHECK_EQ(t, c.nwrite, 1);
	CHECK_EQ(t, c.read_bytes, 1512);
	CHECK_EQ(t, c.write_bytes, 2048);
	CHECK(t, c.seg[1].hva == fix_hva(&f, b[1].gpa));
	CHECK(t, c.seg[2].hva == fix_hva(&f, b[2].gpa));
	CHECK_EQ(t, c.token.ring_slots, 3); /* descriptors (split) or ring slots (packed) */
	memset(c.seg[2].hva, 0x5a, 64);
	virtq_push(&f.vq, c.token, 64);
	virtq_publish(&f.vq);
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
	CHECK_EQ(t, id, added);
	CHECK_EQ(t, len, 64);
	CHECK_EQ(t, ((uint8_t *)fix_hva(&f, b[2].gpa))[63], 0x5a);
	CHECK_EQ(t, f.drv.num_free, 16);
	fix_teardown(&f);
}

static void test_roundtrip_indirect(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_chain c;
	struct virtq_buf b[4];
	uint64_t table;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	for (int i = 0; i < 4; i++)
		b[i] = fix_buf(&f, 256, i >= 2, (uint8_t)i);
	table = fix_alloc(&f, 4 * 16);
	virtq_driver_add_indirect(&f.drv, b, 4, fix_hva(&f, table), table);
	virtq_driver_kick_prepare(&f.drv);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_STR(t, f.vq.err ? f.vq.reason : "ok", "ok");
	CHECK_EQ(t, c.nread, 2);
	CHECK_EQ(t, c.nwrite, 2);
	CHECK(t, c.seg[3].hva == fix_hva(&f, b[3].gpa));
	CHECK_EQ(t, c.token.ring_slots, 1);
	fix_teardown(&f);
}

/* A second region that touches the first in guest-physical space: a
 * buffer across the seam comes back as two segments. */
static void test_buffer_across_regions(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_chain c;
	char err[128];
	uint8_t *second = malloc(4096);
	struct guest_mem_region r = { .gpa = FIX_GPA + FIX_BYTES, .size = 4096,
				      .uva = 0x100000000ull, .hva = second };
	struct virtq_buf b = { .gpa = FIX_GPA + FIX_BYTES - 100, .len = 300 };

	fix_setup(&f, FMT(arg), 16, false, NULL);
	CHECK_EQ(t, guest_mem_add_region(&f.mem, &r, err, sizeof(err)), 0);
	add(&f, &b, 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.nread, 2);
	CHECK_EQ(t, c.seg[0].len, 100);
	CHECK(t, c.seg[1].hva == second);
	CHECK_EQ(t, c.seg[1].len, 200);
	CHECK_EQ(t, c.read_bytes, 300);
	fix_teardown(&f);
	free(second);
}

/* One hostile chain: pop must fail with want_err and a reason naming the
 * value; the queue then stays broken. */
static void expect_broken(struct tap *t, struct fixture *f, int want_err,
			  const char *want_reason)
{
	struct virtq_chain c;

	CHECK_EQ(t, pop(f, &c), want_err);
	CHECK(t, virtq_broken(&f->vq));
	CHECK_STR(t, f->vq.reason, want_reason);
	printf("# reason: %s\n", f->vq.reason);
	CHECK_EQ(t, pop(f, &c), want_err);
}

/* One buffer at [gpa, gpa+len) that is not all in guest memory: the
 * queue breaks with -EFAULT and a reason naming it. */
static void expect_outside(struct tap *t, const void *arg, uint64_t gpa,
			   uint32_t len, const char *want_reason)
{
	struct fixture f;
	struct virtq_buf b = { .gpa = gpa, .len = len };

	fix_setup(&f, FMT(arg), 16, false, NULL);
	add(&f, &b, 1);
	expect_broken(t, &f, -EFAULT, want_reason);
	fix_teardown(&f);
}

static void test_addr_outside_memory(struct tap *t, const void *arg)
{
	expect_outside(t, arg, 0x1000, 64, "gpa 0x1000 len 64 outside");
}

static void test_addr_len_wraps(struct tap *t, const void *arg)
{
	expect_outside(t, arg, UINT64_MAX - 15, 64, "gpa 0xfffffffffffffff0");
}

/* A buffer that starts below the region and ends inside it: its offset
 * from the region's start wraps to near 2^64, and offset + len carries
 * back into the region (the fast path's carry test). */
static void test_addr_straddles_region_start(struct tap *t, const void *arg)
{
	expect_outside(t, arg, FIX_GPA - 16, 64, "gpa 0x3ffffff0 len 64 outside");
}

static void test_addr_runs_off_region_end(struct tap *t, const void *arg)
{
	expect_outside(t, arg, FIX_GPA + FIX_BYTES - 10, 11, "len 11 outside");
}

static void test_zero_length(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	b = fix_buf(&f, 8, false, 0);
	b.len = 0;
	add(&f, &b, 1);
	expect_broken(t, &f, -EINVAL, "zero length");
	fix_teardown(&f);
}

/* The same rules for a descriptor after the first (the general walk, not
 * the one-descriptor fast path). */
static void test_second_descriptor_rules(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];

	fix_setup(&f, FMT(arg), 16, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, false, 0);
	b[1].len = 0;
	add(&f, b, 2);
	expect_broken(t, &f, -EINVAL, "desc 1: zero length");
	fix_teardown(&f);

	fix_setup(&f, FMT(arg), 16, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = (struct virtq_buf){ .gpa = FIX_GPA + FIX_BYTES, .len = 64 };
	add(&f, b, 2);
	expect_broken(t, &f, -EFAULT, "desc 1: buffer gpa");
	fix_teardown(&f);
}

static void test_readable_after_writable(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];

	fix_setup(&f, FMT(arg), 16, false, NULL);
	b[0] = fix_buf(&f, 64, true, 0);
	b[1] = fix_buf(&f, 64, false, 0);
	add(&f, b, 2);
	expect_broken(t, &f, -EINVAL, "device-readable after device-writable");
	fix_teardown(&f);
}

static void cap_4k(struct virtq_config *cfg)
{
	cfg->max_chain_bytes = 4096;
}

static void test_chain_over_byte_cap(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain c;

	fix_setup(&f, FMT(arg), 16, false, cap_4k);
	b[0] = fix_buf(&f, 2048, false, 0);
	b[1] = fix_buf(&f, 2048, true, 0);
	add(&f, b, 2);
	CHECK_EQ(t, pop(&f, &c), 1); /* exactly the cap is fine */
	b[1].len = 2049;
	add(&f, b, 2);
	expect_broken(t, &f, -E2BIG, "chain length 4097 exceeds cap 4096");
	fix_teardown(&f);
}

static void test_one_descriptor_over_cap(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;

	fix_setup(&f, FMT(arg), 16, false, cap_4k);
	b = fix_buf(&f, 4096, false, 0);
	add(&f, &b, 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	b.len = 4097;
	add(&f, &b, 1);
	expect_broken(t, &f, -E2BIG, "chain length 4097 exceeds cap 4096");
	fix_teardown(&f);
}

static void cap_max(struct virtq_config *cfg)
{
	cfg->max_chain_bytes = UINT32_MAX;
}

/* The byte cap is clamped to 2^31 whatever the configuration asks. */
static void test_cap_clamped(struct tap *t, const void *arg)
{
	struct fixture f;

	fix_setup(&f, FMT(arg), 16, false, cap_max);
	CHECK_EQ(t, f.vq.max_chain_bytes, 1u << 31);
	fix_teardown(&f);
}

/* The region the last buffer was found in is remembered; once it is
 * removed, a buffer at its old address is outside guest memory. */
static void test_removed_region_forgotten(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_chain c;
	char err[128];
	uint8_t *second = malloc(4096);
	struct guest_mem_region r = { .gpa = 0x100000000ull, .size = 4096,
				      .uva = 0x100000000ull, .hva = second };
	struct virtq_buf b = { .gpa = 0x100000000ull, .len = 64 };

	fix_setup(&f, FMT(arg), 16, false, NULL);
	CHECK_EQ(t, guest_mem_add_region(&f.mem, &r, err, sizeof(err)), 0);
	add(&f, &b, 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, f.vq.mem_hint, 1);
	CHECK_EQ(t, guest_mem_remove_region(&f.mem, r.gpa, r.size, NULL), 0);
	add(&f, &b, 1);
	expect_broken(t, &f, -EFAULT, "gpa 0x100000000 len 64 outside");
	fix_teardown(&f);
	free(second);
}

static void test_too_many_segments(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[VIRTQ_CHAIN_MAX_SEGS + 1];
	struct virtq_chain c;

	fix_setup(&f, FMT(arg), 512, false, NULL);
	for (int i = 0; i <= VIRTQ_CHAIN_MAX_SEGS; i++)
		b[i] = fix_buf(&f, 8, false, 0);
	add(&f, b, VIRTQ_CHAIN_MAX_SEGS);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.nread, VIRTQ_CHAIN_MAX_SEGS);
	add(&f, b, VIRTQ_CHAIN_MAX_SEGS + 1);
	expect_broken(t, &f, -E2BIG, "more than 128 segments");
	fix_teardown(&f);
}

/* The indirect cases: a good indirect chain from the driver, then one
 * thing made wrong. */
static void add_indirect(struct fixture *f, uint16_t n, void **table_out)
{
	struct virtq_buf b[64];
	uint64_t table = fix_alloc(f, (uint64_t)n * 16);

	for (uint16_t i = 0; i < n; i++)
		b[i] = fix_buf(f, 64, false, 0);
	virtq_driver_add_indirect(&f->drv, b, n, fix_hva(f, table), table);
	virtq_driver_kick_prepare(&f->drv);
	if (table_out)
		*table_out = fix_hva(f, table);
}

static void test_indirect_len_not_multiple(struct tap *t, const void *arg)
{
	struct fixture f;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	add_indirect(&f, 2, NULL);
	poke_len(&f, 0, 24);
	expect_broken(t, &f, -EINVAL, "indirect table length 24");
	fix_teardown(&f);
}

static void test_indirect_len_zero(struct tap *t, const void *arg)
{
	struct fixture f;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	add_indirect(&f, 2, NULL);
	poke_len(&f, 0, 0);
	expect_broken(t, &f, -EINVAL, "indirect table length 0");
	fix_teardown(&f);
}

static void test_indirect_too_large(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_chain c;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	add_indirect(&f, 16, NULL);
	CHECK_EQ(t, pop(&f, &c), 1); /* a table as long as the queue is fine */
	add_indirect(&f, 17, NULL);
	expect_broken(t, &f, -E2BIG, "indirect table of 17 descriptors exceeds queue size 16");
	fix_teardown(&f);
}

static void test_indirect_nested(struct tap *t, const void *arg)
{
	struct fixture f;
	void *table;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	add_indirect(&f, 3, &table);
	table_flags_or(&f, table, 1, VRING_DESC_F_INDIRECT);
	expect_broken(t, &f, -EINVAL, "indirect desc 1: nested INDIRECT");
	fix_teardown(&f);
}

static void no_indirect(struct virtq_config *cfg)
{
	cfg->indirect = false;
}

static void test_indirect_not_negotiated(struct tap *t, const void *arg)
{
	struct fixture f;

	fix_setup(&f, FMT(arg), 16, false, no_indirect);
	add_indirect(&f, 2, NULL);
	expect_broken(t, &f, -EINVAL, "INDIRECT without VIRTIO_RING_F_INDIRECT_DESC");
	fix_teardown(&f);
}

static void test_indirect_with_next(struct tap *t, const void *arg)
{
	struct fixture f;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	add_indirect(&f, 2, NULL);
	poke_flags_or(&f, 0, VRING_DESC_F_NEXT);
	expect_broken(t, &f, -EINVAL, "INDIRECT together with NEXT");
	fix_teardown(&f);
}

static void test_indirect_not_at_head(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];

	fix_setup(&f, FMT(arg), 16, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, b, 2);
	poke_flags_or(&f, 1, VRING_DESC_F_INDIRECT);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -EINVAL, "desc 1: INDIRECT not at chain head");
	fix_teardown(&f);
}

static void test_indirect_table_outside(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b = { .gpa = FIX_GPA + 0x100000, .len = 64 };
	uint8_t scratch[16];

	fix_setup(&f, FMT(arg), 16, false, NULL);
	virtq_driver_add_indirect(&f.drv, &b, 1, scratch, 0x2000);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -EFAULT, "indirect table gpa 0x2000 len 16");
	fix_teardown(&f);
}

static void test_indirect_table_misaligned(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b = { .gpa = FIX_GPA + 0x100000, .len = 64 };
	uint64_t table;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	table = fix_alloc(&f, 64) + 4;
	virtq_driver_add_indirect(&f.drv, &b, 1, fix_hva(&f, table), table);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -EINVAL, "not 8-byte aligned");
	fix_teardown(&f);
}

/* A broken queue writes nothing more into guest memory, and another
 * queue over the same memory goes on working. */
static void test_broken_queue_is_contained(struct tap *t, const void *arg)
{
	struct fixture f, g;
	struct virtq_buf good, bad = { .gpa = 0x10, .len = 8 };
	struct virtq_chain c;
	uint8_t before[4096];
	uint64_t ring_bytes = virtq_driver_ring_bytes(FMT(arg), 16);

	fix_setup(&f, FMT(arg), 16, false, NULL);
	fix_setup(&g, FMT(arg), 16, false, NULL);
	good = fix_buf(&f, 64, false, 0);
	add(&f, &good, 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	add(&f, &bad, 1);
	CHECK(t, pop(&f, &c) < 0);
	memcpy(before, f.hva, ring_bytes);
	virtq_push(&f.vq, c.token, 0);
	CHECK(t, !virtq_publish(&f.vq));
	CHECK(t, !virtq_enable_notify(&f.vq));
	virtq_disable_notify(&f.vq);
	CHECK(t, memcmp(before, f.hva, ring_bytes) == 0);

	good = fix_buf(&g, 64, false, 0);
	add(&g, &good, 1);
	CHECK_EQ(t, pop(&g, &c), 1);
	CHECK(t, !virtq_broken(&g.vq));
	fix_teardown(&f);
	fix_teardown(&g);
}

/* Many laps through a small ring: 16-bit indices and wrap counters roll
 * over, chains of 1 to 3 descriptors straddle the ring's end. */
static void test_many_laps(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[3];
	struct virtq_chain c;
	unsigned bad = 0;

	fix_setup(&f, FMT(arg), 8, true, NULL);
	for (int i = 0; i < 3; i++)
		b[i] = fix_buf(&f, 64, i == 2, 0);
	for (unsigned i = 0; i < 70000 * 3; i++) {
		uint16_t n = (uint16_t)(1 + i % 3), id;
		uint32_t len;
		int added = add(&f, &b[3 - n], n);

		if (pop(&f, &c) != 1 || c.token.id != added ||
		    c.nread + c.nwrite != n)
			bad++;
		virtq_push(&f.vq, c.token, c.write_bytes);
		virtq_publish(&f.vq);
		if (virtq_driver_reap(&f.drv, &id, &len) != 1 || id != added ||
		    len != 64)
			bad++;
	}
	CHECK_EQ(t, bad, 0);
	CHECK(t, !virtq_broken(&f.vq));
	fix_teardown(&f);
}

/* A batch of returns that crosses the ring's end (the packed wrap
 * counter flips in its middle), with and without bytes written: the
 * driver reaps each in order, with its id and length. */
static void test_push_batch_across_ring_end(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c[5];
	struct virtq_done done[5];
	int added[5];
	uint16_t id;
	uint32_t len;

	fix_setup(&f, FMT(arg), 8, false, NULL);
	b = fix_buf(&f, 64, true, 0);
	for (int lap = 0; lap < 3; lap++) {
		/* Start at slot 6 of 8: the batch ends in the next lap. */
		for (int i = 0; i < (lap == 0 ? 6 : 3); i++) {
			add(&f, &b, 1);
			CHECK_EQ(t, pop(&f, &c[0]), 1);
			virtq_push(&f.vq, c[0].token, 0);
			virtq_publish(&f.vq);
			CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
		}
		for (int i = 0; i < 5; i++)
			added[i] = add(&f, &b, 1);
		CHECK_EQ(t, virtq_pop_batch(&f.vq, &f.mem, c, 5), 5);
		for (int i = 0; i < 5; i++) {
			done[i].token = c[i].token;
			done[i].len = (uint32_t)(i % 2) * (10 + i);
		}
		virtq_push_batch(&f.vq, done, 5);
		virtq_publish(&f.vq);
		for (int i = 0; i < 5; i++) {
			CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
			CHECK_EQ(t, id, added[i]);
			CHECK_EQ(t, len, (i % 2) * (10 + i));
		}
		CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 0);
	}
	CHECK(t, !virtq_broken(&f.vq));
	fix_teardown(&f);
}

/* Used buffer notifications (2.7.10 / 2.8.10): with EVENT_IDX the device
 * signals only when it passes the driver's event index. */
static void test_interrupt_suppression(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;
	uint16_t id;
	uint32_t len;

	for (int ev = 0; ev <= 1; ev++) {
		fix_setup(&f, FMT(arg), 16, ev, NULL);
		b = fix_buf(&f, 64, false, 0);
		virtq_driver_set_interrupts(&f.drv, true);
		add(&f, &b, 1);
		pop(&f, &c);
		virtq_push(&f.vq, c.token, 0);
		CHECK(t, virtq_publish(&f.vq));
		CHECK(t, !virtq_publish(&f.vq)); /* nothing new */
		virtq_driver_reap(&f.drv, &id, &len);

		virtq_driver_set_interrupts(&f.drv, false);
		add(&f, &b, 1);
		pop(&f, &c);
		virtq_push(&f.vq, c.token, 0);
		CHECK(t, !virtq_publish(&f.vq));
		virtq_driver_reap(&f.drv, &id, &len);

		virtq_driver_set_interrupts(&f.drv, true);
		add(&f, &b, 1);
		pop(&f, &c);
		virtq_push(&f.vq, c.token, 0);
		CHECK(t, virtq_publish(&f.vq));
		fix_teardown(&f);
	}
}

/* Available buffer notifications: disable while draining, enable when
 * empty; enable reports buffers added in between. */
static void test_kick_suppression(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;

	for (int ev = 0; ev <= 1; ev++) {
		fix_setup(&f, FMT(arg), 16, ev, NULL);
		b = fix_buf(&f, 64, false, 0);
		CHECK(t, !virtq_enable_notify(&f.vq));
		virtq_driver_add(&f.drv, &b, 1);
		CHECK(t, virtq_driver_kick_prepare(&f.drv));

		virtq_disable_notify(&f.vq);
		CHECK_EQ(t, pop(&f, &c), 1);
		virtq_driver_add(&f.drv, &b, 1);
		/* Without EVENT_IDX NO_NOTIFY stops the kick; with it, the
		 * device's avail_event still points at the first chain. */
		CHECK(t, !virtq_driver_kick_prepare(&f.drv));
		CHECK(t, virtq_enable_notify(&f.vq)); /* one is waiting */
		CHECK_EQ(t, pop(&f, &c), 1);
		CHECK(t, !virtq_enable_notify(&f.vq));
		virtq_driver_add(&f.drv, &b, 1);
		CHECK(t, virtq_driver_kick_prepare(&f.drv));
		fix_teardown(&f);
	}
}

/* Disabling kicks twice stores once: the flag shares a cache line with
 * what the driver polls, and the forwarder disables before every round.
 * A mark written over the device's flag shows whether the second disable
 * wrote; enabling writes again, and so does the disable after it. */
static void test_disable_notify_once(struct tap *t, const void *arg)
{
	struct fixture f;
	uint16_t *flag;
	const uint16_t mark = 0x5a5a;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	flag = FMT(arg) ? &f.drv.device_event->flags : &f.drv.used->flags;
	virtq_disable_notify(&f.vq);
	CHECK(t, *flag != 0);
	*flag = mark;
	virtq_disable_notify(&f.vq);
	CHECK_EQ(t, *flag, mark);
	CHECK(t, !virtq_enable_notify(&f.vq));
	CHECK(t, *flag != mark);
	virtq_disable_notify(&f.vq);
	CHECK(t, *flag != mark && *flag != 0);
	fix_teardown(&f);
}

static uint16_t cfg_size;
static uint64_t cfg_shift[3];
static void bad_cfg(struct virtq_config *cfg)
{
	cfg->size = cfg_size;
	cfg->desc_addr += cfg_shift[0];
	cfg->driver_addr += cfg_shift[1];
	cfg->device_addr += cfg_shift[2];
}

static void test_init_checks(struct tap *t, const void *arg)
{
	static const struct {
		uint16_t size;
		uint64_t shift[3];
		int err;
		const char *reason;
	} cases[] = {
		{ 0, { 0, 0, 0 }, -EINVAL, "queue size 0 not in 1..32768" },
		{ 32769, { 0, 0, 0 }, -EINVAL, "queue size 32769 not in 1..32768" },
		{ 16, { 8, 0, 0 }, -EINVAL, "descriptor area" },
		{ 16, { 0, 1, 0 }, -EINVAL, "driver area" },
		{ 16, { 0, 0, 2 }, -EINVAL, "device area" },
		{ 16, { FIX_BYTES, 0, 0 }, -EFAULT, "descriptor area" },
		{ 16, { 0, FIX_BYTES, 0 }, -EFAULT, "driver area" },
		{ 16, { 0, 0, FIX_BYTES }, -EFAULT, "device area" },
	};
	struct fixture f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg_size = cases[i].size;
		memcpy(cfg_shift, cases[i].shift, sizeof(cfg_shift));
		fix_setup(&f, FMT(arg), 16, false, bad_cfg);
		CHECK_EQ(t, f.init_ret, cases[i].err);
		CHECK_STR(t, f.vq.reason, cases[i].reason);
		CHECK(t, virtq_broken(&f.vq));
		fix_teardown(&f);
	}
}

/* A region whose host mapping is offset from its guest address by an odd
 * amount: an aligned guest address lands on an unaligned host address,
 * which is refused (found by fuzz_vhost_user_msg). */
static void test_host_alignment(struct tap *t, const void *arg)
{
	struct fixture f;
	struct guest_mem_region *r;
	struct virtq_config cfg;

	fix_setup(&f, FMT(arg), 16, false, NULL);
	r = &f.mem.regions[0];
	r->hva += 5;
	r->size -= 5;
	cfg = virtq_driver_config(&f.drv);
	CHECK_EQ(t, virtq_init(&f.vq, &f.mem, &cfg), -EINVAL);
	CHECK_STR(t, f.vq.reason, "host address not aligned");
	r->hva -= 5;
	fix_teardown(&f);
}

/* GET_VRING_BASE then SET_VRING_BASE on a new queue resumes where the
 * old one stopped. */
static void test_base_resume(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;
	struct virtq_config cfg;
	uint16_t id;
	uint32_t len;

	fix_setup(&f, FMT(arg), 8, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	for (int i = 0; i < 11; i++) {
		add(&f, &b, 1);
		pop(&f, &c);
		virtq_push(&f.vq, c.token, 0);
		virtq_publish(&f.vq);
		virtq_driver_reap(&f.drv, &id, &len);
	}
	cfg = virtq_driver_config(&f.drv);
	cfg.base = virtq_base(&f.vq);
	CHECK_EQ(t, cfg.base, FMT(arg) ? 3 : 11); /* packed: lap 2, wrap 0 */
	CHECK_EQ(t, virtq_init(&f.vq, &f.mem, &cfg), 0);
	int added = add(&f, &b, 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.id, added);
	virtq_push(&f.vq, c.token, 0);
	virtq_publish(&f.vq);
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
	CHECK_EQ(t, id, added);
	fix_teardown(&f);
}

/* Chains given back are taken again, in order, across the ring's end. */
static void test_unpop(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain c[3];
	uint16_t id;
	uint32_t len;
	int ids[3];

	fix_setup(&f, FMT(arg), 4, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, true, 0);
	/* Move the ring near its end first. */
	for (int i = 0; i < 3; i++) {
		add(&f, b, 1);
		pop(&f, c);
		virtq_push(&f.vq, c[0].token, 0);
		virtq_publish(&f.vq);
		virtq_driver_reap(&f.drv, &id, &len);
	}
	ids[0] = add(&f, b, 1);
	ids[1] = add(&f, b, 2); /* straddles the end of a packed ring */
	CHECK_EQ(t, pop(&f, &c[0]), 1);
	CHECK_EQ(t, pop(&f, &c[1]), 1);
	virtq_unpop(&f.vq, 2, c[0].token.ring_slots + c[1].token.ring_slots);
	CHECK_EQ(t, pop(&f, &c[2]), 1);
	CHECK_EQ(t, c[2].token.id, ids[0]);
	CHECK_EQ(t, pop(&f, &c[2]), 1);
	CHECK_EQ(t, c[2].token.id, ids[1]);
	CHECK_EQ(t, c[2].nwrite, 1);
	CHECK_EQ(t, pop(&f, &c[2]), 0);
	CHECK(t, !virtq_broken(&f.vq));
	fix_teardown(&f);
}

static void in_order_cfg(struct virtq_config *cfg)
{
	cfg->in_order = true;
}

/* Sets up a queue with VIRTIO_F_IN_ORDER on both sides. */
static void setup_in_order(struct fixture *f, bool is_packed, uint16_t size)
{
	fix_setup(f, is_packed, size, false, in_order_cfg);
	virtq_driver_set_in_order(&f->drv);
}

/* The device side's used entry at slot s: split, ring entry s; packed,
 * the descriptor at ring position s (its id, its len). */
static void used_at(struct fixture *f, uint16_t s, uint16_t *id,
		    uint32_t *len)
{
	if (f->drv.packed) {
		*id = le16toh(f->drv.pdesc[s].id);
		*len = le32toh(f->drv.pdesc[s].len);
	} else {
		*id = (uint16_t)le32toh(f->drv.used->ring[s].id);
		*len = le32toh(f->drv.used->ring[s].len);
	}
}

/* In order (2.7.9, 2.8.8): a run of buffers with nothing written comes
 * back as one used entry, in the run's first slot, naming the run's last
 * buffer; a buffer with bytes written keeps its own entry (it closes the
 * run before it). The driver reaps every buffer, in order, with its len. */
static void test_in_order_folds_runs(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf rd, wr;
	struct virtq_chain c[8];
	struct virtq_done done[8];
	static const uint32_t lens[8] = { 0, 0, 0, 0, 0, 100, 200, 0 };
	int ids[8];
	uint16_t id;
	uint32_t len;

	setup_in_order(&f, FMT(arg), 16);
	rd = fix_buf(&f, 64, false, 0);
	wr = fix_buf(&f, 256, true, 0);
	for (int i = 0; i < 8; i++)
		ids[i] = add(&f, lens[i] ? &wr : &rd, 1);
	CHECK_EQ(t, virtq_pop_batch(&f.vq, &f.mem, c, 8), 8);
	for (int i = 0; i < 8; i++)
		done[i] = (struct virtq_done){ c[i].token, lens[i] };
	virtq_push_batch(&f.vq, done, 8);
	virtq_publish(&f.vq);
	/* Slot 0: the run 0..5 (five with nothing written, closed by 5);
	 * slot 6: buffer 6; slot 7: buffer 7, the batch's last. Slots 1..5
	 * were never written (the ring starts zeroed; packed: still the
	 * driver's available descriptors, ids 1..5). */
	used_at(&f, 0, &id, &len);
	CHECK_EQ(t, id, ids[5]);
	CHECK_EQ(t, len, 100);
	used_at(&f, 1, &id, &len);
	CHECK_EQ(t, id, FMT(arg) ? ids[1] : 0);
	CHECK_EQ(t, len, FMT(arg) ? 64 : 0);
	used_at(&f, 6, &id, &len);
	CHECK_EQ(t, id, ids[6]);
	CHECK_EQ(t, len, 200);
	used_at(&f, 7, &id, &len);
	CHECK_EQ(t, id, ids[7]);
	if (!FMT(arg))
		CHECK_EQ(t, le16toh(f.drv.used->idx), 8);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
		CHECK_EQ(t, id, ids[i]);
		CHECK_EQ(t, len, lens[i]);
	}
	CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 0);
	/* Around the ring several times, in batches that cross its end. */
	for (int lap = 0; lap < 12; lap++) {
		for (int i = 0; i < 5; i++)
			ids[i] = add(&f, i == 2 ? &wr : &rd, 1);
		CHECK_EQ(t, virtq_pop_batch(&f.vq, &f.mem, c, 8), 5);
		for (int i = 0; i < 5; i++)
			done[i] = (struct virtq_done){ c[i].token, i == 2 ? 7 : 0 };
		virtq_push_batch(&f.vq, done, 5);
		virtq_publish(&f.vq);
		for (int i = 0; i < 5; i++) {
			CHECK_EQ(t, virtq_driver_reap(&f.drv, &id, &len), 1);
			CHECK_EQ(t, id, ids[i]);
			CHECK_EQ(t, len, i == 2 ? 7u : 0u);
		}
	}
	CHECK(t, !virtq_broken(&f.vq));
	fix_teardown(&f);
}

/* In order, chains of several descriptors, given back and taken again:
 * the expected next head goes back with them (split), so the driver's
 * well-ordered ring is not taken for a misordered one. */
static void test_in_order_unpop(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[3];
	struct virtq_chain c[3];
	int ids[3];

	setup_in_order(&f, FMT(arg), 8);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, true, 0);
	b[2] = fix_buf(&f, 64, true, 0);
	ids[0] = add(&f, b, 3);
	ids[1] = add(&f, b, 1);
	ids[2] = add(&f, b, 2);
	CHECK_EQ(t, virtq_pop_batch(&f.vq, &f.mem, c, 1), 1);
	CHECK_EQ(t, virtq_pop_batch(&f.vq, &f.mem, c + 1, 2), 2);
	virtq_unpop(&f.vq, 2, c[1].token.ring_slots + c[2].token.ring_slots);
	CHECK_EQ(t, virtq_pop_batch(&f.vq, &f.mem, c + 1, 2), 2);
	CHECK(t, !virtq_broken(&f.vq));
	printf("# reason: %s\n", f.vq.reason);
	CHECK_EQ(t, c[1].token.id, ids[1]);
	CHECK_EQ(t, c[2].token.id, ids[2]);
	CHECK_EQ(t, c[0].token.ring_slots, 3);
	fix_teardown(&f);
}

int main(void)
{
#define BOTH(name, fn) { name " (split)", fn, &split }, { name " (packed)", fn, &packed }
	static const struct tap_case cases[] = {
		BOTH("one buffer round trip", test_roundtrip_one),
		BOTH("one writable buffer round trip", test_roundtrip_one_writable),
		BOTH("readable+writable chain round trip", test_roundtrip_read_write_chain),
		BOTH("indirect chain round trip", test_roundtrip_indirect),
		BOTH("buffer across touching regions splits", test_buffer_across_regions),
		BOTH("address outside guest memory", test_addr_outside_memory),
		BOTH("address+length wraps", test_addr_len_wraps),
		BOTH("buffer runs off its region", test_addr_runs_off_region_end),
		BOTH("buffer straddles its region's start", test_addr_straddles_region_start),
		BOTH("zero-length descriptor", test_zero_length),
		BOTH("readable after writable", test_readable_after_writable),
		BOTH("rules for a second descriptor", test_second_descriptor_rules),
		BOTH("one descriptor over the byte cap", test_one_descriptor_over_cap),
		BOTH("byte cap clamped to 2^31", test_cap_clamped),
		BOTH("removed region forgotten", test_removed_region_forgotten),
		BOTH("chain over the byte cap", test_chain_over_byte_cap),
		BOTH("chain over the segment cap", test_too_many_segments),
		BOTH("indirect length not a multiple of 16", test_indirect_len_not_multiple),
		BOTH("indirect length zero", test_indirect_len_zero),
		BOTH("indirect table longer than queue", test_indirect_too_large),
		BOTH("nested indirect", test_indirect_nested),
		BOTH("indirect not negotiated", test_indirect_not_negotiated),
		BOTH("indirect with next", test_indirect_with_next),
		BOTH("indirect not at head", test_indirect_not_at_head),
		BOTH("indirect table outside memory", test_indirect_table_outside),
		BOTH("indirect table misaligned", test_indirect_table_misaligned),
		BOTH("broken queue is contained", test_broken_queue_is_contained),
		BOTH("many laps through a small ring", test_many_laps),
		BOTH("batch of returns across the ring's end", test_push_batch_across_ring_end),
		BOTH("interrupt suppression", test_interrupt_suppression),
		BOTH("kick suppression", test_kick_suppression),
		BOTH("disabling kicks twice writes once", test_disable_notify_once),
		BOTH("init checks", test_init_checks),
		BOTH("ring at an unaligned host address", test_host_alignment),
		BOTH("base save and resume", test_base_resume),
		BOTH("unpop gives chains back", test_unpop),
		BOTH("in order: a run comes back as one used entry", test_in_order_folds_runs),
		BOTH("in order: chains given back are taken again", test_in_order_unpop),
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
