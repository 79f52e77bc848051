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

static const struct blk_volume vol = { .capacity_sectors = CAP, .flush = true };

struct parsed {
	int ret;
	struct blk_req req;
	char why[192];
	uint8_t *status_hva;   /* where the chain's status byte really is */
};

/* A request: a 16-byte header (split in two descriptors when split_hdr),
 * then `nbufs` data buffers, then a 1-byte status, parsed for v. */
static struct parsed parse_bufs(const struct blk_volume *v, uint32_t type,
				uint64_t sector, bool split_hdr,
				const struct virtq_buf *data, unsigned nbufs,
				bool status_writable)
{
	struct fixture f;
	struct virtq_buf b[8];
	struct virtq_chain *c = malloc(sizeof(*c));
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	struct parsed p;
	uint16_t n = 0;

	memset(&p, 0, sizeof(p));
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
	b[n] = fix_buf(&f, 1, status_writable, 0xee);
	p.status_hva = fix_hva(&f, b[n].gpa);
	n++;
	if (virtq_driver_add(&f.drv, b, n) < 0)
		abort();
	virtq_driver_kick_prepare(&f.drv);
	if (virtq_pop(&f.vq, &f.mem, c) != 1)
		abort();
	p.ret = blk_req_parse(c, v, &p.req, p.why, sizeof(p.why));
	/* Compared by address only: the fixture is gone after this. */
	p.status_hva = p.req.status == p.status_hva ? p.status_hva : NULL;
	fix_teardown(&f);
	free(c);
	return p;
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

static void t_unsupported(struct tap *t, const void *arg)
{
	struct parsed p;

	(void)arg;
	p = parse_io(&vol, VIRTIO_BLK_T_DISCARD, 0, 16);
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
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
