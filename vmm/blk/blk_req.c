#include "blk_req.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_blk.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sg.h"

static const char *const refusal_names[BLK_REFUSE_COUNT] = {
	[BLK_OK] = "ok",
	[BLK_REFUSE_LAYOUT] = "bad_layout",
	[BLK_REFUSE_UNSUPPORTED] = "unsupported",
	[BLK_REFUSE_PAST_END] = "past_end",
	[BLK_REFUSE_MISALIGNED] = "misaligned",
	[BLK_REFUSE_OVERSIZE] = "oversize",
	[BLK_REFUSE_READ_ONLY] = "read_only",
	[BLK_REFUSE_BAD_FLAGS] = "bad_flags",
};

const char *blk_refusal_name(enum blk_refusal r)
{
	return r < BLK_REFUSE_COUNT ? refusal_names[r] : "?";
}

static int refuse(struct blk_req *req, enum blk_refusal r, int err,
		  char *why, unsigned whylen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int refuse(struct blk_req *req, enum blk_refusal r, int err,
		  char *why, unsigned whylen, const char *fmt, ...)
{
	va_list ap;

	req->refusal = r;
	/* 5.2.6.2: UNSUPP for a type not offered and for DISCARD or
	 * WRITE_ZEROES flags the device does not know (or unmap on a
	 * DISCARD); IOERR for the rest. */
	req->refused_status = r == BLK_REFUSE_UNSUPPORTED ||
			      r == BLK_REFUSE_BAD_FLAGS ?
		VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* IN and OUT: the range checked against the volume. The sector is
 * compared with the capacity before anything is multiplied, so no sum
 * or product can wrap. */
static int check_range(struct blk_req *req, const struct blk_volume *v,
		       uint64_t sector, char *why, unsigned whylen)
{
	if (req->len % BLK_SECTOR)
		return refuse(req, BLK_REFUSE_MISALIGNED, -EINVAL, why, whylen,
			      "data length %" PRIu32 " not a multiple of %u",
			      req->len, BLK_SECTOR);
	if (req->len > BLK_MAX_IO)
		return refuse(req, BLK_REFUSE_OVERSIZE, -E2BIG, why, whylen,
			      "data length %" PRIu32 " > %u", req->len,
			      BLK_MAX_IO);
	if (sector > v->capacity_sectors ||
	    req->len / BLK_SECTOR > v->capacity_sectors - sector)
		return refuse(req, BLK_REFUSE_PAST_END, -ERANGE, why, whylen,
			      "sector %" PRIu64 " + %" PRIu32 " sectors past "
			      "the end (%" PRIu64 " sectors)", sector,
			      req->len / BLK_SECTOR, v->capacity_sectors);
	req->offset = sector * BLK_SECTOR;
	return 0;
}

/* DISCARD and WRITE_ZEROES: after the header, whole 16-byte segments,
 * at least one and at most BLK_DWZ_SEG_MAX; then the status byte alone.
 * The segment array is copied out of the chain once (pos is just past
 * the header) and each segment decided on that copy. */
static int parse_dwz(const struct virtq_chain *c, struct sg_pos *pos,
		     const struct blk_volume *v, struct blk_req *req,
		     char *why, unsigned whylen)
{
	struct virtio_blk_discard_write_zeroes raw[BLK_DWZ_SEG_MAX];
	const char *name = req->type == VIRTIO_BLK_T_DISCARD ?
			   "discard" : "write zeroes";
	uint32_t data = c->read_bytes - BLK_HDR_BYTES;

	if (c->write_bytes != 1 || data == 0 || data % BLK_DWZ_SEG_BYTES)
		return refuse(req, BLK_REFUSE_LAYOUT, -EINVAL, why, whylen,
			      "%s: %" PRIu32 " segment bytes, %" PRIu32
			      " writable bytes: needs whole %u-byte segments "
			      "(at least one) and 1", name, data,
			      c->write_bytes, BLK_DWZ_SEG_BYTES);
	if (data / BLK_DWZ_SEG_BYTES > BLK_DWZ_SEG_MAX)
		return refuse(req, BLK_REFUSE_OVERSIZE, -E2BIG, why, whylen,
			      "%s: %" PRIu32 " segments > %u", name,
			      data / BLK_DWZ_SEG_BYTES, BLK_DWZ_SEG_MAX);
	if (v->read_only)
		return refuse(req, BLK_REFUSE_READ_ONLY, -EROFS, why, whylen,
			      "%s on a read-only volume", name);
	req->nseg = data / BLK_DWZ_SEG_BYTES;
	sg_read(pos, (uint8_t *)raw, data);
	for (unsigned i = 0; i < req->nseg; i++) {
		uint64_t sector = le64toh(raw[i].sector);
		uint32_t num = le32toh(raw[i].num_sectors);
		uint32_t flags = le32toh(raw[i].flags);
		struct blk_dwz_seg *seg = &req->seg[i];

		/* Bits 1..31 are reserved; unmap has no meaning on a
		 * DISCARD (5.2.6.2: UNSUPP for both). */
		if (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
		    (flags && req->type == VIRTIO_BLK_T_DISCARD))
			return refuse(req, BLK_REFUSE_BAD_FLAGS, -EOPNOTSUPP,
				      why, whylen, "%s segment %u: flags 0x%"
				      PRIx32 " not supported", name, i, flags);
		if (num == 0)
			return refuse(req, BLK_REFUSE_LAYOUT, -EINVAL, why,
				      whylen, "%s segment %u: 0 sectors", name, i);
		if (num > BLK_DWZ_MAX_SECTORS)
			return refuse(req, BLK_REFUSE_OVERSIZE, -E2BIG, why,
				      whylen, "%s segment %u: %" PRIu32
				      " sectors > %u", name, i, num,
				      BLK_DWZ_MAX_SECTORS);
		/* Compared before multiplying, as for IN and OUT. */
		if (sector > v->capacity_sectors ||
		    num > v->capacity_sectors - sector)
			return refuse(req, BLK_REFUSE_PAST_END, -ERANGE, why,
				      whylen, "%s segment %u: sector %" PRIu64
				      " + %" PRIu32 " sectors past the end (%"
				      PRIu64 " sectors)", name, i, sector, num,
				      v->capacity_sectors);
		seg->offset = sector * BLK_SECTOR;
		seg->len = num * BLK_SECTOR;
		seg->unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	}
	return 0;
}

int blk_req_parse(const struct virtq_chain *c, const struct blk_volume *v,
		  struct blk_req *req, char *why, unsigned whylen)
{
	struct virtio_blk_outhdr hdr;
	struct sg_pos pos;
	uint32_t nseg = (uint32_t)c->nread + c->nwrite;
	uint64_t sector;

	memset(req, 0, offsetof(struct blk_req, seg));
	/* The status byte: the last byte the device may write (the spec
	 * puts it last; with VERSION_1 descriptor boundaries mean nothing,
	 * so only the byte counts matter). */
	if (c->write_bytes) {
		const struct guest_seg *last = &c->seg[nseg - 1];

		req->status = last->hva + last->len - 1;
	}
	if (c->read_bytes < BLK_HDR_BYTES || !c->write_bytes)
		return refuse(req, BLK_REFUSE_LAYOUT, -EINVAL, why, whylen,
			      "chain of %" PRIu32 " readable, %" PRIu32
			      " writable bytes: needs a %u-byte header and a "
			      "status byte", c->read_bytes, c->write_bytes,
			      BLK_HDR_BYTES);
	/* The header, read once: everything below decides on this copy. */
	sg_init(&pos, c->seg, nseg);
	sg_read(&pos, (uint8_t *)&hdr, sizeof(hdr));
	/* VERSION_1: little-endian. */
	req->type = le32toh(hdr.type);
	sector = le64toh(hdr.sector);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (c->read_bytes != BLK_HDR_BYTES)
			return refuse(req, BLK_REFUSE_LAYOUT, -EINVAL, why, whylen,
				      "type %" PRIu32 ": %" PRIu32 " readable "
				      "bytes, not %u", req->type, c->read_bytes,
				      BLK_HDR_BYTES);
		req->len = c->write_bytes - 1;
		if (req->type == VIRTIO_BLK_T_GET_ID) {
			if (req->len > BLK_ID_BYTES)
				req->len = BLK_ID_BYTES;
			return 0;
		}
		return check_range(req, v, sector, why, whylen);
	case VIRTIO_BLK_T_OUT:
		if (c->write_bytes != 1)
			return refuse(req, BLK_REFUSE_LAYOUT, -EINVAL, why, whylen,
				      "write: %" PRIu32 " writable bytes, not 1",
				      c->write_bytes);
		if (v->read_only)
			return refuse(req, BLK_REFUSE_READ_ONLY, -EROFS, why,
				      whylen, "write to sector %" PRIu64
				      " of a read-only volume", sector);
		req->len = c->read_bytes - BLK_HDR_BYTES;
		return check_range(req, v, sector, why, whylen);
	case VIRTIO_BLK_T_FLUSH:
		if (!v->flush)
			break;
		if (c->read_bytes != BLK_HDR_BYTES || c->write_bytes != 1)
			return refuse(req, BLK_REFUSE_LAYOUT, -EINVAL, why, whylen,
				      "flush: %" PRIu32 " readable, %" PRIu32
				      " writable bytes, not %u and 1",
				      c->read_bytes, c->write_bytes,
				      BLK_HDR_BYTES);
		return 0;
	case VIRTIO_BLK_T_DISCARD:
		if (!v->discard)
			break;
		return parse_dwz(c, &pos, v, req, why, whylen);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!v->write_zeroes)
			break;
		return parse_dwz(c, &pos, v, req, why, whylen);
	default:
		break;
	}
	return refuse(req, BLK_REFUSE_UNSUPPORTED, -EOPNOTSUPP, why, whylen,
		      "request type %" PRIu32 " not supported", req->type);
}
