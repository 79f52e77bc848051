/* The virtio-blk request parser (vmm/blk/blk_req.c) over chains a
 * driver-side queue made in guest memory: each kind of request, each
 * refusal with the exact bad value, and the bounds next to it that
 * still pass. */
#include <errno.h>
#include <linux/virtio_blk.h>

#include "blk_req.h"
#include "ring_fixture.h"
#include "tap.h"

#define CAP 2048ull   /* sectors: 1 MiB */

static const struct blk_volume vol = { .capacity_sectors = CAP, .flush = true,
				       .discard = true, .write_zeroes = true };

struct parsed {
	int ret;
	struct blk_req req;
	char why[192];
	uint8_t *status_hva;   /* where the chain's status byte really is */
};

/* The chain b[0..n) and a 1-byte status after it, added to f's queue,
 * popped and parsed for v; the fixture torn down. */
static struct parsed finish_parse(struct fixture *f, struct virtq_buf *b,
				  uint16_t n, bool status_writable,
				  const struct blk_volume *v)
{
	struct virtq_chain *c = malloc(sizeof(*c));
	struct parsed p;

	memset(&p, 0, sizeof(p));
	b[n] = fix_buf(f, 1, status_writable, 0xee);
	p.status_hva = fix_hva(f, b[n].gpa);
	n++;
	if (virtq_driver_add(&f->drv, b, n) < 0)
		abort();
	virtq_driver_kick_prepare(&f->drv);
	if (virtq_pop(&f->vq, &f->mem, c) != 1)
		abort();
	p.ret = blk_req_parse(c, v, &p.req, p.why, sizeof(p.why));
	/* Compared by address only: the fixture is gone after this. */
	p.status_hva = p.req.status == p.status_hva ? p.status_hva : NULL;
	fix_teardown(f);
	free(c);
	return p;
}

/* A request: a 16-byte header (split in two descriptors when split_hdr),
 * then `nbufs` data buffers, then a 1-byte status, parsed for v. */
static struct parsed parse_bufs(const struct blk_volume *v, uint32_t type,
				uint64_t sector, bool split_hdr,
				const struct virtq_buf *data, unsigned nbufs,
				bool status_writable)
{
	struct fixture f;
	struct virtq_buf b[8];
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	uint16_t n = 0;

	fix_setup(&f, false, 16, false, NULL);
	b[n] = fix_buf(&f, sizeof(h), false, 0);
	memcpy(fix_hva(&f, b[n].gpa), &h, sizeof(h));
	if (split_hdr) {
		b[n].len = 8;
		b[n + 1] = (struct virtq_buf){ b[n].gpa + 8, 8, false };
		n++;
	}
	n++;
	for (unsigned i = 0; i < nbufs; i++) {
		b[n] = fix_buf(&f, data[i].len, data[i].writable, 0x5a);
		n++;
	}
	return finish_parse(&f, b, n, status_writable, v);
}

static struct parsed parse_io(const struct blk_volume *v, uint32_t type,
			      uint64_t sector, uint32_t len)
{
	struct virtq_buf d = { .len = len, .writable = type != VIRTIO_BLK_T_OUT };

	return parse_bufs(v, type, sector, false, &d, len ? 1 : 0, true);
}

static void t_read(struct tap *t, const void *arg)
{
	struct parsed p = parse_io(&vol, VIRTIO_BLK_T_IN, 10, 4096);

	(void)arg;
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.type, VIRTIO_BLK_T_IN);
	CHECK_EQ(t, p.req.offset, 10 * 512);
	CHECK_EQ(t, p.req.len, 4096);
	CHECK(t, p.status_hva != NULL);
}

static void t_write_split(struct tap *t, const void *arg)
{
	struct virtq_buf d[2] = { { .len = 512 }, { .len = 3584 } };
	struct parsed p = parse_bufs(&vol, VIRTIO_BLK_T_OUT, 7, true, d, 2, true);

	(void)arg;
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.offset, 7 * 512);
	CHECK_EQ(t, p.req.len, 4096);
	CHECK(t, p.status_hva != NULL);
}

static void t_flush_get_id(struct tap *t, const void *arg)
{
	struct blk_volume noflush = vol;
	struct parsed p;

	(void)arg;
	p = parse_io(&vol, VIRTIO_BLK_T_FLUSH, 0, 0);
	CHECK_EQ(t, p.ret, 0);
	noflush.flush = false;
	p = parse_io(&noflush, VIRTIO_BLK_T_FLUSH, 0, 0);
	CHECK_EQ(t, p.ret, -EOPNOTSUPP);
	CHECK_EQ(t, p.req.refused_status, VIRTIO_BLK_S_UNSUPP);
	/* A flush carrying data is malformed. */
	p = parse_io(&vol, VIRTIO_BLK_T_FLUSH, 0, 512);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	p = parse_io(&vol, VIRTIO_BLK_T_GET_ID, 0, 20);
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.len, 20);
	/* A larger buffer gets 20 bytes, no more. */
	p = parse_io(&vol, VIRTIO_BLK_T_GET_ID, 0, 64);
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.len, BLK_ID_BYTES);
}

static void t_past_end(struct tap *t, const void *arg)
{
	struct parsed p;

	(void)arg;
	/* The last sector: in. */
	p = parse_io(&vol, VIRTIO_BLK_T_IN, CAP - 1, 512);
	CHECK_EQ(t, p.ret, 0);
	/* The last sector and one more; the first sector past. */
	p = parse_io(&vol, VIRTIO_BLK_T_IN, CAP - 1, 1024);
	CHECK_EQ(t, p.ret, -ERANGE);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_PAST_END);
	CHECK_EQ(t, p.req.refused_status, VIRTIO_BLK_S_IOERR);
	CHECK_STR(t, p.why, "sector 2047 + 2 sectors past the end (2048 sectors)");
	p = parse_io(&vol, VIRTIO_BLK_T_OUT, CAP, 512);
	CHECK_EQ(t, p.ret, -ERANGE);
	/* sector * 512 wraps 64 bits to 0. */
	p = parse_io(&vol, VIRTIO_BLK_T_IN, 1ull << 55, 512);
	CHECK_EQ(t, p.ret, -ERANGE);
	p = parse_io(&vol, VIRTIO_BLK_T_IN, ~0ull, 512);
	CHECK_EQ(t, p.ret, -ERANGE);
}

static void t_misaligned_oversize(struct tap *t, const void *arg)
{
	struct blk_volume big = vol;
	struct parsed p;

	(void)arg;
	p = parse_io(&vol, VIRTIO_BLK_T_OUT, 0, 100);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_MISALIGNED);
	CHECK_STR(t, p.why, "data length 100 not a multiple of 512");
	p = parse_io(&vol, VIRTIO_BLK_T_IN, 0, 513);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_MISALIGNED);
	big.capacity_sectors = 1ull << 30;
	p = parse_io(&big, VIRTIO_BLK_T_IN, 0, BLK_MAX_IO);
	CHECK_EQ(t, p.ret, 0);
	p = parse_io(&big, VIRTIO_BLK_T_IN, 0, BLK_MAX_IO + 512);
	CHECK_EQ(t, p.ret, -E2BIG);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_OVERSIZE);
}

static void t_read_only(struct tap *t, const void *arg)
{
	struct blk_volume ro = vol;
	struct parsed p;

	(void)arg;
	ro.read_only = true;
	p = parse_io(&ro, VIRTIO_BLK_T_OUT, 0, 512);
	CHECK_EQ(t, p.ret, -EROFS);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_READ_ONLY);
	p = parse_io(&ro, VIRTIO_BLK_T_IN, 0, 512);
	CHECK_EQ(t, p.ret, 0);
}

static void t_layout(struct tap *t, const void *arg)
{
	struct virtq_buf wr = { .len = 512, .writable = true };
	struct virtq_buf rd = { .len = 512 };
	struct virtq_buf both[2] = { { .len = 512 }, { .len = 512, .writable = true } };
	struct parsed p;

	(void)arg;
	/* No status byte: nothing can be said, the status stays NULL. */
	p = parse_bufs(&vol, VIRTIO_BLK_T_OUT, 0, false, &rd, 1, false);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	CHECK(t, p.req.status == NULL);
	/* A write with writable data. */
	p = parse_bufs(&vol, VIRTIO_BLK_T_OUT, 0, false, &wr, 1, true);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_STR(t, p.why, "write: 513 writable bytes, not 1");
	/* A read with readable data (528 readable bytes). */
	p = parse_bufs(&vol, VIRTIO_BLK_T_IN, 0, false, &rd, 1, true);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_STR(t, p.why, "528 readable bytes, not 16");
	p = parse_bufs(&vol, VIRTIO_BLK_T_IN, 0, false, both, 2, true);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	/* The status where it belongs even when refused. */
	CHECK(t, p.status_hva != NULL);
}

static void t_short_header(struct tap *t, const void *arg)
{
	struct fixture f;
	struct virtq_buf b[2];
	struct virtq_chain *c = malloc(sizeof(*c));
	struct blk_req req;
	char why[192];

	(void)arg;
	fix_setup(&f, false, 16, false, NULL);
	b[0] = fix_buf(&f, 15, false, 0);
	b[1] = fix_buf(&f, 1, true, 0);
	virtq_driver_add(&f.drv, b, 2);
	virtq_driver_kick_prepare(&f.drv);
	CHECK_EQ(t, virtq_pop(&f.vq, &f.mem, c), 1);
	CHECK_EQ(t, blk_req_parse(c, &vol, &req, why, sizeof(why)), -EINVAL);
	CHECK_EQ(t, req.refusal, BLK_REFUSE_LAYOUT);
	CHECK_STR(t, why, "chain of 15 readable, 1 writable bytes");
	fix_teardown(&f);
	free(c);
}

/* A DISCARD or WRITE_ZEROES of nseg segments (sector, sectors, flags
 * each), in one readable buffer after the header (or cut into 16-byte
 * buffers when split), then extra_write writable bytes before the
 * status byte. */
static struct parsed parse_dwz(const struct blk_volume *v, uint32_t type,
			       const uint64_t (*segs)[3], unsigned nseg,
			       uint32_t extra_bytes, bool split)
{
	struct fixture f;
	struct virtq_buf b[24];
	struct virtio_blk_outhdr h = { .type = type };
	uint16_t n = 0;

	fix_setup(&f, false, 32, false, NULL);
	b[n] = fix_buf(&f, sizeof(h), false, 0);
	memcpy(fix_hva(&f, b[n++].gpa), &h, sizeof(h));
	if (nseg) {
		struct virtq_buf d = fix_buf(&f, nseg * 16 + extra_bytes, false, 0);
		uint8_t *at = fix_hva(&f, d.gpa);

		for (unsigned i = 0; i < nseg; i++) {
			struct virtio_blk_discard_write_zeroes g = {
				.sector = segs[i][0],
				.num_sectors = (uint32_t)segs[i][1],
				.flags = (uint32_t)segs[i][2],
			};

			memcpy(at + 16 * i, &g, sizeof(g));
		}
		if (split && nseg + extra_bytes / 16 < 20) {
			for (unsigned i = 0; i < nseg; i++)
				b[n++] = (struct virtq_buf){ d.gpa + 16 * i, 16, false };
			if (extra_bytes)
				b[n++] = (struct virtq_buf){ d.gpa + 16 * nseg,
							     extra_bytes, false };
		} else {
			b[n++] = d;
		}
	}
	return finish_parse(&f, b, n, true, v);
}

#define UNMAP VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP

static void t_discard(struct tap *t, const void *arg)
{
	const uint64_t one[][3] = { { 8, 16, 0 } };
	const uint64_t three[][3] = { { 0, 1, 0 }, { 100, 28, 0 },
				      { CAP - 8, 8, 0 } };
	struct parsed p;

	(void)arg;
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, one, 1, 0, false);
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.nseg, 1);
	CHECK_EQ(t, p.req.seg[0].offset, 8 * 512);
	CHECK_EQ(t, p.req.seg[0].len, 16 * 512);
	CHECK(t, !p.req.seg[0].unmap);
	CHECK_EQ(t, p.req.len, 0);
	CHECK(t, p.status_hva != NULL);
	/* Three segments, each its own descriptor; the last ends at the
	 * volume's last sector. */
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, three, 3, 0, true);
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.nseg, 3);
	CHECK_EQ(t, p.req.seg[1].offset, 100 * 512);
	CHECK_EQ(t, p.req.seg[1].len, 28 * 512);
	CHECK_EQ(t, p.req.seg[2].offset, (CAP - 8) * 512);
}

static void t_write_zeroes(struct tap *t, const void *arg)
{
	const uint64_t segs[][3] = { { 8, 16, UNMAP }, { 64, 8, 0 } };
	struct parsed p;

	(void)arg;
	p = parse_dwz(&vol, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2, 0, false);
	CHECK_EQ(t, p.ret, 0);
	CHECK_EQ(t, p.req.nseg, 2);
	CHECK(t, p.req.seg[0].unmap);
	CHECK(t, !p.req.seg[1].unmap);
	CHECK_EQ(t, p.req.seg[1].offset, 64 * 512);
	CHECK_EQ(t, p.req.seg[1].len, 8 * 512);
}

/* Each refusal of a DISCARD or WRITE_ZEROES, with the exact bad value
 * and the bound next to it that still passes. */
static void t_dwz_refused(struct tap *t, const void *arg)
{
	uint64_t segs[BLK_DWZ_SEG_MAX + 1][3];
	const uint64_t last[][3] = { { CAP - 1, 2, 0 } };
	const uint64_t wrap[][3] = { { ~0ull - 3, 8, 0 } };
	const uint64_t big[][3] = { { 1ull << 56, 1, 0 } };
	const uint64_t zero[][3] = { { 8, 0, 0 } };
	const uint64_t unmap[][3] = { { 8, 8, UNMAP } };
	const uint64_t reserved[][3] = { { 8, 8, 2 } };
	const uint64_t high[][3] = { { 8, 8, 0x80000001 } };
	const uint64_t huge[][3] = { { 0, BLK_DWZ_MAX_SECTORS + 1, 0 } };
	struct blk_volume bigvol = vol, ro = vol, none = vol;
	struct parsed p;

	(void)arg;
	for (unsigned i = 0; i <= BLK_DWZ_SEG_MAX; i++) {
		segs[i][0] = i * 8;
		segs[i][1] = 8;
		segs[i][2] = 0;
	}
	/* Segments: 16 pass, 17 are more than the config promised. */
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, segs, BLK_DWZ_SEG_MAX, 0, false);
	CHECK_EQ(t, p.ret, 0);
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, segs, BLK_DWZ_SEG_MAX + 1, 0,
		      false);
	CHECK_EQ(t, p.ret, -E2BIG);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_OVERSIZE);
	CHECK_STR(t, p.why, "discard: 17 segments > 16");
	/* Past the end: the last sector and one more. */
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, last, 1, 0, false);
	CHECK_EQ(t, p.ret, -ERANGE);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_PAST_END);
	CHECK_EQ(t, p.req.refused_status, VIRTIO_BLK_S_IOERR);
	CHECK_STR(t, p.why, "discard segment 0: sector 2047 + 2 sectors past "
		  "the end (2048 sectors)");
	/* sector + num wraps 64 bits; sector * 512 wraps to 0. */
	p = parse_dwz(&vol, VIRTIO_BLK_T_WRITE_ZEROES, wrap, 1, 0, false);
	CHECK_EQ(t, p.ret, -ERANGE);
	CHECK_STR(t, p.why, "write zeroes segment 0: sector 18446744073709551612 "
		  "+ 8 sectors past the end (2048 sectors)");
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, big, 1, 0, false);
	CHECK_EQ(t, p.ret, -ERANGE);
	/* The bad segment after good ones: the whole request refused. */
	segs[2][0] = CAP;
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, segs, 3, 0, false);
	CHECK_EQ(t, p.ret, -ERANGE);
	CHECK_STR(t, p.why, "discard segment 2: sector 2048 + 8 sectors past "
		  "the end (2048 sectors)");
	/* Sectors per segment: the limit passes, one more does not. */
	bigvol.capacity_sectors = 1ull << 40;
	{
		const uint64_t max[][3] = { { 0, BLK_DWZ_MAX_SECTORS, 0 } };

		p = parse_dwz(&bigvol, VIRTIO_BLK_T_WRITE_ZEROES, max, 1, 0, false);
		CHECK_EQ(t, p.ret, 0);
		CHECK_EQ(t, p.req.seg[0].len, BLK_DWZ_MAX_SECTORS * 512u);
	}
	p = parse_dwz(&bigvol, VIRTIO_BLK_T_WRITE_ZEROES, huge, 1, 0, false);
	CHECK_EQ(t, p.ret, -E2BIG);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_OVERSIZE);
	CHECK_STR(t, p.why, "write zeroes segment 0: 4194305 sectors > 4194304");
	/* Zero sectors. */
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, zero, 1, 0, false);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	CHECK_STR(t, p.why, "discard segment 0: 0 sectors");
	/* Flags: unmap on a DISCARD, a reserved bit, a high one with unmap;
	 * UNSUPP (5.2.6.2). Unmap on WRITE_ZEROES passes (t_write_zeroes). */
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, unmap, 1, 0, false);
	CHECK_EQ(t, p.ret, -EOPNOTSUPP);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_BAD_FLAGS);
	CHECK_EQ(t, p.req.refused_status, VIRTIO_BLK_S_UNSUPP);
	CHECK_STR(t, p.why, "discard segment 0: flags 0x1 not supported");
	p = parse_dwz(&vol, VIRTIO_BLK_T_WRITE_ZEROES, reserved, 1, 0, false);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_BAD_FLAGS);
	CHECK_STR(t, p.why, "write zeroes segment 0: flags 0x2 not supported");
	p = parse_dwz(&vol, VIRTIO_BLK_T_WRITE_ZEROES, high, 1, 0, false);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_BAD_FLAGS);
	CHECK_STR(t, p.why, "write zeroes segment 0: flags 0x80000001 not supported");
	/* Layout: no segment; 8 bytes more than whole segments. */
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, NULL, 0, 0, false);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	CHECK_STR(t, p.why, "discard: 0 segment bytes, 1 writable bytes");
	p = parse_dwz(&vol, VIRTIO_BLK_T_DISCARD, segs, 1, 8, true);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	CHECK_STR(t, p.why, "discard: 24 segment bytes, 1 writable bytes");
	/* A read-only volume; a volume where neither was offered. */
	ro.read_only = true;
	p = parse_dwz(&ro, VIRTIO_BLK_T_WRITE_ZEROES, segs, 1, 0, false);
	CHECK_EQ(t, p.ret, -EROFS);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_READ_ONLY);
	none.discard = none.write_zeroes = false;
	p = parse_dwz(&none, VIRTIO_BLK_T_DISCARD, segs, 1, 0, false);
	CHECK_EQ(t, p.ret, -EOPNOTSUPP);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_UNSUPPORTED);
	p = parse_dwz(&none, VIRTIO_BLK_T_WRITE_ZEROES, segs, 1, 0, false);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_UNSUPPORTED);
}

/* A DISCARD whose status part is more than the one byte. */
static void t_dwz_writable_data(struct tap *t, const void *arg)
{
	struct virtq_buf wr = { .len = 16, .writable = true };
	struct parsed p;

	(void)arg;
	p = parse_bufs(&vol, VIRTIO_BLK_T_DISCARD, 0, false, &wr, 1, true);
	CHECK_EQ(t, p.ret, -EINVAL);
	CHECK_EQ(t, p.req.refusal, BLK_REFUSE_LAYOUT);
	CHECK_STR(t, p.why, "discard: 0 segment bytes, 17 writable bytes");
	CHECK(t, p.status_hva != NULL);
}

static void t_unsupported(struct tap *t, const void *arg)
{
	struct parsed p;

	(void)arg;
	p = parse_io(&vol, VIRTIO_BLK_T_SECURE_ERASE, 0, 16);
	CHECK_EQ(t, p.ret, -EOPNOTSUPP);
	CHECK_EQ(t, p.req.refused_status, VIRTIO_BLK_S_UNSUPP);
	p = parse_io(&vol, 0xdeadbeef, 0, 512);
	CHECK_EQ(t, p.ret, -EOPNOTSUPP);
	CHECK_STR(t, p.why, "request type 3735928559 not supported");
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "read: offset, length, status byte", t_read, NULL },
		{ "write: header split in two, data in two", t_write_split, NULL },
		{ "flush (offered or not), GET_ID cut at 20", t_flush_get_id, NULL },
		{ "past the end, and 64-bit wrap of sector * 512", t_past_end, NULL },
		{ "misaligned, oversize", t_misaligned_oversize, NULL },
		{ "write to a read-only volume", t_read_only, NULL },
		{ "bad layouts", t_layout, NULL },
		{ "a header shorter than 16 bytes", t_short_header, NULL },
		{ "types not offered", t_unsupported, NULL },
		{ "discard: one segment, three split", t_discard, NULL },
		{ "write zeroes: unmap honoured per segment", t_write_zeroes, NULL },
		{ "discard/write zeroes refusals with their values", t_dwz_refused, NULL },
		{ "discard with writable data", t_dwz_writable_data, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
