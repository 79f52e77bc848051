#include "blk_vu.h"

#include <endian.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>

#include "blk_dev.h"
#include "blk_req.h"
#include "vhost_user_proto.h"

#define BIT(n) (1ull << (n))

/* GET_CONFIG: the window of virtio-blk's config space (virtio 1.2
 * 5.2.4), built from the volume the worker connected to; bytes past the
 * structure read as zeros (the layer checked offset + len <= 256). */
static int blk_vu_get_config(struct vu_dev *dev, uint32_t offset,
			     uint8_t *buf, uint32_t len)
{
	const struct blk_dev *b = blk_dev_of(dev);
	struct virtio_blk_config cfg;
	uint8_t space[VU_CONFIG_MAX] = { 0 };

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = htole64(b->vol.capacity_sectors);
	cfg.size_max = htole32(BLK_SIZE_MAX);
	cfg.seg_max = htole32(BLK_SEG_MAX);
	cfg.blk_size = htole32(BLK_SECTOR);
	cfg.num_queues = htole16(BLK_NUM_QUEUES);
	/* DISCARD and WRITE_ZEROES limits (read by the guest only when the
	 * feature was offered; the parser holds it to them): per segment
	 * and per request, as blk_req.h says. */
	cfg.max_discard_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg.max_discard_seg = htole32(BLK_DWZ_SEG_MAX);
	cfg.discard_sector_alignment = htole32(BLK_DISCARD_ALIGN_SECTORS);
	cfg.max_write_zeroes_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg.max_write_zeroes_seg = htole32(BLK_DWZ_SEG_MAX);
	/* Zeroes with unmap allowed go out without NBD_CMD_FLAG_NO_HOLE: a
	 * server that can trim may then deallocate (5.2.4: cleared when it
	 * cannot). */
	cfg.write_zeroes_may_unmap = b->vol.discard;
	memcpy(space, &cfg, sizeof(cfg));
	memcpy(buf, space + offset, len);
	return 0;
}

/* FLUSH, DISCARD, WRITE_ZEROES and RO are offered per volume:
 * blk_dev_init takes away what the NBD server does not do (no flush, no
 * trim, no zero) or allow (writes). */
const struct vu_dev_kind blk_vu_kind = {
	.name = "virtio-blk",
	.num_queues = BLK_NUM_QUEUES,
	.queues_note = "one request queue",
	.queue_num = BLK_NUM_QUEUES,
	.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		    BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_BLK_F_FLUSH) |
		    BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_SIZE_MAX) |
		    BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_RO) |
		    BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
		    BIT(VU_F_PROTOCOL_FEATURES),
	/* CONFIG: QEMU 7.2's vhost-user-blk-pci refuses a back end without
	 * it (design.md, December facts). */
	.protocol_features = BIT(VU_PROTOCOL_F_CONFIG) |
			     BIT(VU_PROTOCOL_F_REPLY_ACK) |
			     BIT(VU_PROTOCOL_F_RESET_DEVICE) |
			     BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS),
	/* Twice the largest request the config space allows plus header
	 * and status: a request between the two is refused by the parser
	 * (counted, the queue lives); a chain beyond it breaks the queue. */
	.max_chain_bytes = { [BLK_REQQ] = 2 * BLK_MAX_IO + 4096 },
	.get_config = blk_vu_get_config,
};
