/* The virtio-blk request parser (vmm/blk/blk_req.c) on any chain. The
 * ring's own checks have their fuzzers (fuzz_split_ring, fuzz_packed_ring);
 * this one starts from what they hand on, a chain of checked segments,
 * and fuzzes what the guest controls beyond them: the header's bytes and
 * how the chain is cut into readable and writable parts. Input: byte 0
 * the volume (bit 0 read-only, bit 1 flush, bits 2-7 capacity in 64 KiB
 * steps), byte 1 the segment count (1..8, its low 3 bits; bit 7 set:
 * DISCARD not offered, bit 6: WRITE_ZEROES not offered) and byte 2 how
 * many of them are readable; then a 16-bit length per segment (1..65536), then the bytes
 * the segments hold. Every segment is its own heap allocation of exactly
 * its length, so ASan sees any byte touched outside them.
 * After a parse, the worker's use of the result is replayed: the status
 * byte written; for a request that passed, its data read (OUT) or
 * written (IN, GET_ID) where the parser says it is, and its range
 * checked against the volume; a DISCARD's or WRITE_ZEROES's segments
 * each inside the volume, within the limits the config promised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>

#include "blk_req.h"
#include "sg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	static uint8_t scratch[BLK_MAX_IO + BLK_HDR_BYTES];
	struct blk_volume v;
	struct blk_req req;
	struct sg_pos pos;
	char why[192];
	unsigned nseg, nread;
	size_t at;

	if (size < 3)
		return 0;
	v.read_only = data[0] & 1;
	v.flush = data[0] & 2;
	v.capacity_sectors = (uint64_t)(data[0] >> 2) * 128;
	v.discard = !(data[1] & 0x80);
	v.write_zeroes = !(data[1] & 0x40);
	nseg = 1 + data[1] % 8;
	nread = data[2] % (nseg + 1);
	at = 3;
	if (size < at + 2 * nseg)
		return 0;
	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < nseg; i++) {
		uint32_t len = 1 + (uint32_t)(data[at] | data[at + 1] << 8);

		at += 2;
		c.seg[i].len = len;
		c.seg[i].hva = malloc(len);
		memset(c.seg[i].hva, 0, len);
		if (at < size)
			memcpy(c.seg[i].hva, data + at,
			       size - at < len ? size - at : len);
		if (i < nread)
			c.read_bytes += len;
		else
			c.write_bytes += len;
	}
	c.nread = (uint16_t)nread;
	c.nwrite = (uint16_t)(nseg - nread);

	int ret = blk_req_parse(&c, &v, &req, why, sizeof(why));

	/* A request that passed lies inside the volume, in whole sectors,
	 * no larger than the limit (and writes only to a writable one). */
	if (ret == 0 && (req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_OUT) &&
	    (req.offset / BLK_SECTOR + req.len / BLK_SECTOR > v.capacity_sectors ||
	     req.offset % BLK_SECTOR || req.len % BLK_SECTOR || req.len > BLK_MAX_IO ||
	     (req.type == VIRTIO_BLK_T_OUT && v.read_only)))
		abort();
	if (ret == 0 && (req.type == VIRTIO_BLK_T_DISCARD ||
			 req.type == VIRTIO_BLK_T_WRITE_ZEROES)) {
		if (req.nseg == 0 || req.nseg > BLK_DWZ_SEG_MAX || req.len ||
		    v.read_only || c.write_bytes != 1 ||
		    c.read_bytes != BLK_HDR_BYTES + req.nseg * BLK_DWZ_SEG_BYTES ||
		    (req.type == VIRTIO_BLK_T_DISCARD ? !v.discard : !v.write_zeroes))
			abort();
		for (unsigned i = 0; i < req.nseg; i++) {
			const struct blk_dwz_seg *g = &req.seg[i];

			if (!g->len || g->len % BLK_SECTOR || g->offset % BLK_SECTOR ||
			    g->len / BLK_SECTOR > BLK_DWZ_MAX_SECTORS ||
			    g->offset / BLK_SECTOR + g->len / BLK_SECTOR >
			    v.capacity_sectors ||
			    (g->unmap && req.type == VIRTIO_BLK_T_DISCARD))
				abort();
		}
	}
	if (req.status)
		*req.status = ret ? req.refused_status : VIRTIO_BLK_S_OK;
	if (ret == 0 && req.len) {
		sg_init(&pos, c.seg, nseg);
		sg_read(&pos, scratch, BLK_HDR_BYTES);
		if (req.type == VIRTIO_BLK_T_OUT)
			sg_read(&pos, scratch, req.len);
		else
			sg_write(&pos, scratch, req.len);
		/* A read's data ends just before the status byte. */
		if (req.type == VIRTIO_BLK_T_IN &&
		    (pos.i != nseg - 1 || pos.off != c.seg[nseg - 1].len - 1))
			abort();
	}
	for (unsigned i = 0; i < nseg; i++)
		free(c.seg[i].hva);
	return 0;
}
