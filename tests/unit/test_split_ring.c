/* Split-ring rules (virtio 1.2 2.7): the avail index, heads, next links,
 * loops, batching of used updates, resuming after a crash. */
#include <errno.h>
#include <stdint.h>

#include "ring_fixture.h"
#include "tap.h"

static int pop(struct fixture *f, struct virtq_chain *c)
{
	return split_ring_pop_batch(&f->vq, &f->mem, c, 1);
}

static void expect_broken(struct tap *t, struct fixture *f, int want_err,
			  const char *want_reason)
{
	struct virtq_chain c;

	CHECK_EQ(t, pop(f, &c), want_err);
	CHECK_STR(t, f->vq.reason, want_reason);
	printf("# reason: %s\n", f->vq.reason);
}

static void test_avail_idx_too_far_ahead(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, &b, 1);
	virtq_driver_kick_prepare(&f.drv);
	/* Exactly a full queue ahead is legal (ring entries past the first
	 * still name head 0, a valid chain)... */
	f.drv.avail->idx = htole16(16);
	CHECK_EQ(t, pop(&f, &c), 1);
	fix_teardown(&f);

	/* ...one more is not. */
	fix_setup(&f, false, 16, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, &b, 1);
	virtq_driver_kick_prepare(&f.drv);
	f.drv.avail->idx = htole16(17);
	expect_broken(t, &f, -EINVAL, "avail idx 17 is 17 ahead of last seen 0 (queue size 16)");
	fix_teardown(&f);
}

static void test_head_out_of_range(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, &b, 1);
	f.drv.avail->ring[0] = htole16(16);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -EINVAL, "avail ring[0]: head 16 >= queue size 16");
	fix_teardown(&f);
}

static void test_next_out_of_range(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, b, 2);
	f.drv.desc[0].next = htole16(16);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -EINVAL, "desc 0: next 16 >= queue size 16");
	fix_teardown(&f);
}

static void test_indirect_next_out_of_range(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[3];
	uint64_t table = 0;
	struct vring_desc *tab;

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	for (int i = 0; i < 3; i++)
		b[i] = fix_buf(&f, 64, false, 0);
	table = fix_alloc(&f, 3 * 16);
	tab = fix_hva(&f, table);
	virtq_driver_add_indirect(&f.drv, b, 3, tab, table);
	tab[1].next = htole16(3);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -EINVAL, "desc 1: next 3 >= indirect table size 3");
	fix_teardown(&f);
}

static void test_loop(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[3];

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	for (int i = 0; i < 3; i++)
		b[i] = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, b, 3);
	f.drv.desc[2].flags |= htole16(VRING_DESC_F_NEXT);
	f.drv.desc[2].next = htole16(0);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -ELOOP, "chain at head 0: longer than 16 descriptors (loop)");
	fix_teardown(&f);
}

/* A loop that closes exactly at the queue size: the walk must stop with
 * ELOOP before it reads desc 0 a second time (which would report
 * readable-after-writable instead). */
static void test_loop_at_queue_size(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[16];

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	for (int i = 0; i < 16; i++)
		b[i] = fix_buf(&f, 8, i > 0, 0);
	virtq_driver_add(&f.drv, b, 16);
	f.drv.desc[15].flags |= htole16(VRING_DESC_F_NEXT);
	f.drv.desc[15].next = htole16(0);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -ELOOP, "longer than 16 descriptors");
	fix_teardown(&f);
}

static void test_loop_in_indirect(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	uint64_t table;
	struct vring_desc *tab;

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	for (int i = 0; i < 2; i++)
		b[i] = fix_buf(&f, 64, false, 0);
	table = fix_alloc(&f, 2 * 16);
	tab = fix_hva(&f, table);
	virtq_driver_add_indirect(&f.drv, b, 2, tab, table);
	tab[1].flags |= htole16(VRING_DESC_F_NEXT);
	tab[1].next = htole16(1);
	virtq_driver_kick_prepare(&f.drv);
	expect_broken(t, &f, -ELOOP, "longer than 2 descriptors");
	fix_teardown(&f);
}

/* The full queue as one chain is legal (2.7.5.3.1 bounds it by the
 * queue size, not below). */
static void test_chain_as_long_as_queue(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[16];
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	for (int i = 0; i < 16; i++)
		b[i] = fix_buf(&f, 8, false, 0);
	virtq_driver_add(&f.drv, b, 16);
	virtq_driver_kick_prepare(&f.drv);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.nread, 16);
	fix_teardown(&f);
}

/* Used elements stay private until publish stores used->idx once. */
static void test_used_batching(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c[3];

	(void)arg;
	fix_setup(&f, false, 16, true, NULL);
	b = fix_buf(&f, 64, false, 0);
	for (int i = 0; i < 3; i++)
		virtq_driver_add(&f.drv, &b, 1);
	virtq_driver_kick_prepare(&f.drv);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(t, pop(&f, &c[i]), 1);
		split_ring_push(&f.vq, c[i].token, 0);
	}
	CHECK_EQ(t, le16toh(f.drv.used->idx), 0);
	CHECK(t, split_ring_publish(&f.vq));
	CHECK_EQ(t, le16toh(f.drv.used->idx), 3);
	fix_teardown(&f);
}

/* A back end that died after taking chains but before returning them:
 * the new one is told base 5 but used->idx is 3, and takes chains 3 and 4
 * again instead of leaving the driver waiting for them forever. */
static uint16_t base_for_resume;
static void set_base(struct virtq_config *cfg)
{
	cfg->base = base_for_resume;
}

static void test_resume_from_used_idx(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;
	struct virtq_config cfg;
	int ids[5];

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	for (int i = 0; i < 5; i++)
		ids[i] = virtq_driver_add(&f.drv, &b, 1);
	virtq_driver_kick_prepare(&f.drv);
	for (int i = 0; i < 5; i++) {
		pop(&f, &c);
		if (i < 3)
			split_ring_push(&f.vq, c.token, 0);
	}
	split_ring_publish(&f.vq);
	cfg = virtq_driver_config(&f.drv);
	cfg.base = virtq_base(&f.vq);
	CHECK_EQ(t, cfg.base, 5);
	CHECK_EQ(t, virtq_init(&f.vq, &f.mem, &cfg), 0);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.id, ids[3]);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.id, ids[4]);
	CHECK_EQ(t, pop(&f, &c), 0);
	fix_teardown(&f);

	/* base more than a queue past used->idx cannot be real. */
	base_for_resume = 17;
	fix_setup(&f, false, 16, false, set_base);
	CHECK_EQ(t, f.init_ret, -EINVAL);
	CHECK_STR(t, f.vq.reason, "base 17 is 17 past used idx 0");
	fix_teardown(&f);
}

static void size_12(struct virtq_config *cfg)
{
	cfg->size = 12;
}

static void test_size_not_power_of_two(struct tap *t, const void *arg)
{
	struct fixture f;

	(void)arg;
	fix_setup(&f, false, 16, false, size_12);
	CHECK_EQ(t, f.init_ret, -EINVAL);
	CHECK_STR(t, f.vq.reason, "split queue size 12 is not a power of 2");
	fix_teardown(&f);
}

/* The chain handed out is a copy: the guest rewriting the descriptor
 * after the pop changes nothing the device holds (no double fetch). */
static void test_chain_is_a_copy(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b;
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	b = fix_buf(&f, 64, false, 0);
	virtq_driver_add(&f.drv, &b, 1);
	virtq_driver_kick_prepare(&f.drv);
	CHECK_EQ(t, pop(&f, &c), 1);
	f.drv.desc[0].len = htole32(0x7fffffff);
	f.drv.desc[0].addr = htole64(0);
	CHECK_EQ(t, c.seg[0].len, 64);
	CHECK(t, c.seg[0].hva == fix_hva(&f, b.gpa));
	fix_teardown(&f);
}

static void in_order_cfg(struct virtq_config *cfg)
{
	cfg->in_order = true;
}

/* A front end that negotiated VIRTIO_F_IN_ORDER but makes a head
 * available out of table order (2.7.5): its queue breaks with the value
 * named; the first chain taken sets where the order starts (a resumed
 * ring starts wherever the driver stands). */
/* Three one-descriptor chains whose heads the driver made available as
 * 0, 2, 1, on a queue with or without IN_ORDER. */
static void setup_swapped_heads(struct fixture *f, bool in_order)
{
	struct virtq_buf b;

	fix_setup(f, false, 16, false, in_order ? in_order_cfg : NULL);
	if (in_order)
		virtq_driver_set_in_order(&f->drv);
	b = fix_buf(f, 64, false, 0);
	for (int i = 0; i < 3; i++)
		virtq_driver_add(&f->drv, &b, 1);
	f->drv.avail->ring[1] = htole16(2);
	f->drv.avail->ring[2] = htole16(1);
	virtq_driver_kick_prepare(&f->drv);
}

static void test_in_order_head_out_of_order(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_chain c;

	(void)arg;
	setup_swapped_heads(&f, true);
	CHECK_EQ(t, pop(&f, &c), 1);
	expect_broken(t, &f, -EINVAL,
		      "avail ring[1]: head 2, in order (VIRTIO_F_IN_ORDER) it must be 1");
	/* Nothing is returned on a broken queue, not even the chain taken
	 * before. */
	split_ring_push(&f.vq, c.token, 0);
	CHECK(t, !split_ring_publish(&f.vq));
	CHECK_EQ(t, le16toh(f.drv.used->idx), 0);
	fix_teardown(&f);

	/* The same ring without IN_ORDER is fine. */
	setup_swapped_heads(&f, false);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.id, 2);
	fix_teardown(&f);
}

/* In order, a chain's descriptors follow each other in the table
 * (2.7.5): a next pointing elsewhere, even inside the table, breaks the
 * queue. The head after a long chain is checked too. */
static void test_in_order_next_out_of_order(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain c;

	(void)arg;
	fix_setup(&f, false, 16, false, in_order_cfg);
	virtq_driver_set_in_order(&f.drv);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, true, 0);
	virtq_driver_add(&f.drv, b, 1);
	virtq_driver_add(&f.drv, b, 2); /* descriptors 1, 2 */
	f.drv.desc[1].next = htole16(5);
	virtq_driver_kick_prepare(&f.drv);
	CHECK_EQ(t, pop(&f, &c), 1);
	expect_broken(t, &f, -EINVAL,
		      "desc 1: next 5, in order (VIRTIO_F_IN_ORDER) it must be 2");
	fix_teardown(&f);

	fix_setup(&f, false, 16, false, in_order_cfg);
	virtq_driver_set_in_order(&f.drv);
	b[0] = fix_buf(&f, 64, false, 0);
	b[1] = fix_buf(&f, 64, true, 0);
	virtq_driver_add(&f.drv, b, 2); /* descriptors 0, 1 */
	virtq_driver_add(&f.drv, b, 1); /* descriptor 2 */
	virtq_driver_add(&f.drv, b, 1); /* descriptor 3 */
	f.drv.avail->ring[1] = htole16(3);
	virtq_driver_kick_prepare(&f.drv);
	CHECK_EQ(t, pop(&f, &c), 1);
	CHECK_EQ(t, c.token.ring_slots, 2);
	expect_broken(t, &f, -EINVAL,
		      "avail ring[1]: head 3, in order (VIRTIO_F_IN_ORDER) it must be 2");
	fix_teardown(&f);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "avail idx more than a queue ahead", test_avail_idx_too_far_ahead, NULL },
		{ "head index out of range", test_head_out_of_range, NULL },
		{ "next index out of range", test_next_out_of_range, NULL },
		{ "next out of range in indirect table", test_indirect_next_out_of_range, NULL },
		{ "descriptor loop", test_loop, NULL },
		{ "loop in indirect table", test_loop_in_indirect, NULL },
		{ "loop closing at the queue size", test_loop_at_queue_size, NULL },
		{ "chain as long as the queue", test_chain_as_long_as_queue, NULL },
		{ "used updates batched until publish", test_used_batching, NULL },
		{ "resume from used idx after a crash", test_resume_from_used_idx, NULL },
		{ "size not a power of two", test_size_not_power_of_two, NULL },
		{ "chain is a copy", test_chain_is_a_copy, NULL },
		{ "in order: head out of order", test_in_order_head_out_of_order, NULL },
		{ "in order: next out of order", test_in_order_next_out_of_order, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
