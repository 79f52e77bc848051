/* virtio-blk requests (virtio 1.2 section 5.2.6), parsed from a checked
 * chain: the one boundary where a guest's block request enters the host.
 * The 16-byte header is copied once into a local and every decision is
 * made on that copy; a request the volume cannot take (past its end,
 * misaligned, too large, a bad layout, a type not offered, a write to a
 * read-only volume) is refused here, with the reason, and never reaches
 * the NBD server.
 *
 * Pure code over the chain's segments: no I/O, no allocation. */
#ifndef BULKHEAD_BLK_REQ_H
#define BULKHEAD_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

/* virtio-blk counts in 512-byte sectors whatever the block size. */
#define BLK_SECTOR 512u
/* The header every request starts with: type, reserved, sector. */
#define BLK_HDR_BYTES 16u
/* GET_ID's answer: up to 20 bytes, not NUL-terminated when all used. */
#define BLK_ID_BYTES 20u
/* The largest data transfer one request may carry. The config space
 * promises no more (seg_max * size_max, blk_vu.c); the worker holds one
 * bounce buffer of this size at most per request in flight. */
#define BLK_MAX_IO (1024u * 1024u)
/* DISCARD and WRITE_ZEROES (virtio 1.2 5.2.6): segments of 16 bytes
 * (sector, num_sectors, flags) after the header. The config space
 * promises at most this many segments per request (max_discard_seg,
 * max_write_zeroes_seg): each segment becomes one NBD command, and the
 * parsed copies live in the request's slot. */
#define BLK_DWZ_SEG_BYTES 16u
#define BLK_DWZ_SEG_MAX 16u
/* And at most this many sectors per segment (max_discard_sectors,
 * max_write_zeroes_sectors): 2 GiB, below NBD's 32-bit request length
 * (libnbd refuses a count above 4 GiB - 1). */
#define BLK_DWZ_MAX_SECTORS (4u * 1024u * 1024u)

/* Why a request was refused (counted per reason in the status). */
enum blk_refusal {
	BLK_OK = 0,
	BLK_REFUSE_LAYOUT,      /* header short, parts of the wrong size */
	BLK_REFUSE_UNSUPPORTED, /* a type not offered */
	BLK_REFUSE_PAST_END,    /* [sector, sector + len) beyond capacity */
	BLK_REFUSE_MISALIGNED,  /* length not a multiple of 512 */
	BLK_REFUSE_OVERSIZE,    /* more than BLK_MAX_IO */
	BLK_REFUSE_READ_ONLY,   /* a write to a read-only volume */
	BLK_REFUSE_BAD_FLAGS,   /* DISCARD/WRITE_ZEROES: reserved flag bits,
				 * or unmap on a DISCARD (UNSUPP, 5.2.6.2) */
	BLK_REFUSE_COUNT,
};

/* What the parser knows of the volume. */
struct blk_volume {
	uint64_t capacity_sectors;
	bool read_only;
	bool flush;             /* VIRTIO_BLK_F_FLUSH offered */
	bool discard;           /* VIRTIO_BLK_F_DISCARD offered */
	bool write_zeroes;      /* VIRTIO_BLK_F_WRITE_ZEROES offered */
};

/* One checked DISCARD or WRITE_ZEROES segment: inside the volume,
 * 1..BLK_DWZ_MAX_SECTORS sectors. In bytes, ready for NBD. */
struct blk_dwz_seg {
	uint64_t offset;
	uint32_t len;
	/* WRITE_ZEROES: the guest allows the range to be deallocated
	 * (VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP); without it the zeroes must
	 * be written (NBD_CMD_FLAG_NO_HOLE). Always false for DISCARD. */
	bool unmap;
};

/* A parsed request. Data lies in the chain from byte BLK_HDR_BYTES on
 * (readable for OUT, writable for IN and GET_ID). */
struct blk_req {
	uint32_t type;          /* VIRTIO_BLK_T_* */
	uint64_t offset;        /* bytes: sector * 512 (IN, OUT) */
	uint32_t len;           /* data bytes (0 for DISCARD, WRITE_ZEROES) */
	/* Where the status byte goes: the chain's last writable byte; NULL
	 * when the chain has no writable byte (nothing can be said). */
	uint8_t *status;
	enum blk_refusal refusal;
	/* The status a refused request gets: VIRTIO_BLK_S_IOERR or
	 * VIRTIO_BLK_S_UNSUPP. */
	uint8_t refused_status;
	/* DISCARD and WRITE_ZEROES: the segments, copied from the chain
	 * once and checked; seg[0..nseg) only. Last, and not cleared for
	 * other requests: 256 bytes no read or write uses. */
	unsigned nseg;
	struct blk_dwz_seg seg[BLK_DWZ_SEG_MAX];
};

/* Parses chain c for volume v into *req. Returns 0 when the request may
 * go on, or a negative errno (-EINVAL layout, -EOPNOTSUPP type or flags,
 * -ERANGE past the end, -EINVAL misaligned, -E2BIG oversize or too many
 * segments, -EROFS) with
 * req->refusal and req->refused_status set and the offending value in
 * why (whylen bytes). */
int blk_req_parse(const struct virtq_chain *c, const struct blk_volume *v,
		  struct blk_req *req, char *why, unsigned whylen);

/* The refusal's name in the status ("past_end"). */
const char *blk_refusal_name(enum blk_refusal r);

#endif
