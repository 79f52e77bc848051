#include "blk_req.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_blk.h>
#include <stdarg.h>
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
	req->refused_status = r == BLK_REFUSE_UNSUPPORTED ?
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

int blk_req_parse(const struct virtq_chain *c, const struct blk_volume *v,
		  struct blk_req *req, char *why, unsigned whylen)
{
	struct virtio_blk_outhdr hdr;
	struct sg_pos pos;
	uint32_t nseg = (uint32_t)c->nread + c->nwrite;
	uint64_t sector;

	memset(req, 0, sizeof(*req));
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
	default:
		break;
	}
	return refuse(req, BLK_REFUSE_UNSUPPORTED, -EOPNOTSUPP, why, whylen,
		      "request type %" PRIu32 " not supported", req->type);
}
