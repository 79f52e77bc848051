#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "guest_mem.h"
#include "tap.h"

static uint8_t backing[3][4096];

/* Three regions: two that touch in guest-physical space (0x1000 and
 * 0x2000) and one after a hole (0x10000). */
static void setup(struct guest_mem *mem)
{
	static const uint64_t gpa[3] = { 0x1000, 0x2000, 0x10000 };
	char err[128];

	guest_mem_init(mem);
	for (int i = 0; i < 3; i++) {
		struct guest_mem_region r = { .gpa = gpa[i], .size = 4096,
					      .uva = 0x100000 * (i + 1),
					      .hva = backing[i] };

		if (guest_mem_add_region(mem, &r, err, sizeof(err)) != 0)
			abort();
	}
}

static void test_translate_inside(struct tap *t, const void *arg)
{
	struct guest_mem mem;

	(void)arg;
	setup(&mem);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x1000, 4096) == backing[0]);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x1ff0, 16) == backing[0] + 0xff0);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x10010, 1) == backing[2] + 0x10);
	CHECK(t, guest_mem_uva_to_hva(&mem, 0x200008, 8) == backing[1] + 8);
}

/* The last byte one past a region, a start below every region, a length
 * crossing the end, and a length that would wrap a 64-bit sum. */
static void test_translate_rejects_outside(struct tap *t, const void *arg)
{
	struct guest_mem mem;

	(void)arg;
	setup(&mem);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x0fff, 1) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x3000, 1) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x1ff0, 17) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x10000, 4097) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x10008, UINT64_MAX) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, UINT64_MAX, 2) == NULL);
	CHECK(t, guest_mem_uva_to_hva(&mem, 0x200ff0, 0x20) == NULL);
}

static void test_segs_split_across_touching_regions(struct tap *t,
						    const void *arg)
{
	struct guest_mem mem;
	struct guest_seg segs[4];
	uint32_t n = 0;

	(void)arg;
	setup(&mem);
	CHECK_EQ(t, guest_mem_gpa_to_segs(&mem, 0x1f00, 0x200, segs, &n, 4), 0);
	CHECK_EQ(t, n, 2);
	CHECK(t, segs[0].hva == backing[0] + 0xf00);
	CHECK_EQ(t, segs[0].len, 0x100);
	CHECK(t, segs[1].hva == backing[1]);
	CHECK_EQ(t, segs[1].len, 0x100);
}

static void test_segs_reject_hole_and_overflow(struct tap *t, const void *arg)
{
	struct guest_mem mem;
	struct guest_seg segs[4];
	uint32_t n = 0;

	(void)arg;
	setup(&mem);
	/* 0x2f00..0x3100 runs off region 1 into the hole at 0x3000. */
	CHECK_EQ(t, guest_mem_gpa_to_segs(&mem, 0x2f00, 0x200, segs, &n, 4),
		 -EFAULT);
	n = 0;
	CHECK_EQ(t, guest_mem_gpa_to_segs(&mem, UINT64_MAX - 4, 100, segs, &n, 4),
		 -EFAULT);
	/* Needs two segments, room for one. */
	n = 3;
	CHECK_EQ(t, guest_mem_gpa_to_segs(&mem, 0x1f00, 0x200, segs, &n, 4),
		 -E2BIG);
}

static void test_add_region_checks(struct tap *t, const void *arg)
{
	struct guest_mem mem;
	char err[128];
	struct guest_mem_region r = { .gpa = 0x1800, .size = 0x1000,
				      .uva = 0x900000, .hva = backing[0] };

	(void)arg;
	setup(&mem);
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "overlaps region gpa 0x1000");
	r.gpa = 0x50000;
	r.uva = 0x100800; /* overlaps region 0 in the front end's space */
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.uva = 0x900000;
	r.size = 0;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "size 0");
	r.size = 0x1000;
	r.gpa = UINT64_MAX - 0x10;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "wraps");
	r.gpa = 0x50000;
	r.hva = NULL;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.hva = backing[0];
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), 0);
	CHECK_EQ(t, mem.nregions, 4);
}

/* Edges: a range ending exactly at 2^64 wraps; one ending a byte short
 * does not. Overlaps by a single byte, at either end, in either address
 * space, are overlaps. */
static void test_add_region_edges(struct tap *t, const void *arg)
{
	struct guest_mem mem;
	char err[128];
	struct guest_mem_region r = { .size = 0x1000, .hva = backing[0] };

	(void)arg;
	setup(&mem);
	r.gpa = 0x50000;
	r.uva = UINT64_MAX - 0x10;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "wraps");
	r.uva = 0x900000;
	r.gpa = UINT64_MAX - 0xfff;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.gpa = UINT64_MAX - 0x1000;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), 0);

	setup(&mem);
	r.uva = 0x900000;
	r.gpa = 0x1fff; /* first byte is region 0's last */
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.gpa = 0x1; /* last byte is region 0's first */
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.gpa = 0x50000;
	r.uva = 0x100fff; /* one byte of region 0 in the front end's space */
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.uva = 0xff001;
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), -EINVAL);
	r.uva = 0xff000; /* ends where region 0 starts: fine */
	CHECK_EQ(t, guest_mem_add_region(&mem, &r, err, sizeof(err)), 0);
}

/* Lengths at a region's end: the last byte fits, one more does not, and
 * an empty range past the end is not inside. */
static void test_translate_edges(struct tap *t, const void *arg)
{
	struct guest_mem mem;

	(void)arg;
	setup(&mem);
	CHECK(t, guest_mem_uva_to_hva(&mem, 0x200ff0, 0x10) != NULL);
	CHECK(t, guest_mem_uva_to_hva(&mem, 0x200ff0, 0x11) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x3000, 0) == NULL);
	CHECK(t, guest_mem_uva_to_hva(&mem, 0x201000, 0) == NULL);
}

/* No room: the segment array is not written past max. */
static void test_segs_respect_max(struct tap *t, const void *arg)
{
	struct guest_mem mem;
	struct guest_seg segs[5];
	uint32_t n = 3;

	(void)arg;
	setup(&mem);
	segs[4].len = 0xdead;
	CHECK_EQ(t, guest_mem_gpa_to_segs(&mem, 0x1f00, 0x200, segs, &n, 4),
		 -E2BIG);
	CHECK_EQ(t, segs[4].len, 0xdead);
}

static void test_table_full(struct tap *t, const void *arg)
{
	struct guest_mem mem;
	char err[128];

	(void)arg;
	guest_mem_init(&mem);
	for (int i = 0; i <= GUEST_MEM_MAX_REGIONS; i++) {
		struct guest_mem_region r = { .gpa = 0x1000ull * i, .size = 0x1000,
					      .uva = 0x1000ull * i,
					      .hva = backing[0] };
		int ret = guest_mem_add_region(&mem, &r, err, sizeof(err));

		CHECK_EQ(t, ret, i < GUEST_MEM_MAX_REGIONS ? 0 : -ENOSPC);
	}
}

static void test_remove_region(struct tap *t, const void *arg)
{
	struct guest_mem mem;
	struct guest_mem_region gone;

	(void)arg;
	setup(&mem);
	CHECK_EQ(t, guest_mem_remove_region(&mem, 0x2000, 4096, &gone), 0);
	CHECK(t, gone.hva == backing[1]);
	CHECK_EQ(t, mem.nregions, 2);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x2000, 1) == NULL);
	CHECK(t, guest_mem_gpa_to_hva(&mem, 0x10000, 1) == backing[2]);
	CHECK_EQ(t, guest_mem_remove_region(&mem, 0x2000, 4096, NULL), -ENOENT);
	CHECK_EQ(t, guest_mem_remove_region(&mem, 0x1000, 8192, NULL), -ENOENT);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "translate inside regions", test_translate_inside, NULL },
		{ "translate rejects outside and wrapping ranges",
		  test_translate_rejects_outside, NULL },
		{ "buffer across touching regions splits",
		  test_segs_split_across_touching_regions, NULL },
		{ "buffer across a hole or wrapping is refused",
		  test_segs_reject_hole_and_overflow, NULL },
		{ "add_region checks size, wrap, overlap, mapping",
		  test_add_region_checks, NULL },
		{ "region table full", test_table_full, NULL },
		{ "add_region edges: 2^64, one-byte overlaps", test_add_region_edges, NULL },
		{ "translate edges", test_translate_edges, NULL },
		{ "segments stop at max", test_segs_respect_max, NULL },
		{ "remove region", test_remove_region, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
