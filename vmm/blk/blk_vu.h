/* virtio-blk as a vhost-user device kind: one request queue, the
 * features offered, the config space (GET_CONFIG), the chain cap. */
#ifndef BULKHEAD_BLK_VU_H
#define BULKHEAD_BLK_VU_H

#include "vhost_user_dev.h"

#define BLK_NUM_QUEUES 1
#define BLK_REQQ 0

/* Data segments one request may have, and the bytes in each, as the
 * config space says (SEG_MAX, SIZE_MAX): Linux builds no request beyond
 * seg_max * size_max, which fits BLK_MAX_IO (blk_req.h). seg_max leaves
 * room in the ring code's 128 segments for the header, the status and
 * buffers split where guest memory regions meet. */
#define BLK_SEG_MAX 120u
#define BLK_SIZE_MAX 8192u

/* discard_sector_alignment: 64 KiB, the smallest chunk of an LVM thin
 * pool (sys-storage's): a guest that aligns its discards to it (Linux
 * takes it as the discard granularity) sends ranges the pool can free
 * whole. A hint only: the parser takes any whole sector. */
#define BLK_DISCARD_ALIGN_SECTORS 128u

extern const struct vu_dev_kind blk_vu_kind;

#endif
