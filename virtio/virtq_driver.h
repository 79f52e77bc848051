/* Driver-side (guest role) virtqueue, split and packed: adds buffers,
 * decides whether to kick, reaps used buffers. Tests and benchmarks use it
 * to play the guest against the device side over the same ring memory;
 * hostile-ring tests start from a well-formed chain it made and change one
 * field. It trusts the device (it is test code playing a guest). */
#ifndef BULKHEAD_VIRTQ_DRIVER_H
#define BULKHEAD_VIRTQ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct virtq_driver {
	uint16_t size;
	bool packed;
	bool event_idx;
	uint64_t desc_gpa, driver_gpa, device_gpa;

	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;      /* next avail entry (private until kick_prepare) */
	uint16_t kicked_avail;   /* avail->idx at the last kick decision */
	uint16_t last_used;
	uint16_t free_head;
	uint16_t *next_free;     /* private free list and chain links */

	/* packed */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_event; /* written by driver */
	struct vring_packed_desc_event *device_event; /* read by driver */
	uint16_t avail_pos, used_pos, kicked_pos;
	bool avail_wrap, used_wrap, kicked_wrap;
	uint16_t *id_slots;      /* ring slots of the chain with this id */

	uint16_t num_free;       /* descriptors (split) / slots (packed) */
	uint16_t *chain_len;     /* descriptors of the chain at head / id */

	/* VIRTIO_F_IN_ORDER (virtq_driver_set_in_order): descriptors (split)
	 * are used in table order, and one used entry may stand for a run of
	 * buffers ending with the one it names (virtio 1.2 2.7.9, 2.8.8). */
	bool in_order;
	bool batch_pending;      /* a used entry read, its run not all reaped */
	uint16_t batch_id;       /* the id that used entry names */
	uint32_t batch_len;      /* and its len */
	uint16_t next_head;      /* split: head of the next buffer to reap */
	uint16_t *pos_id;        /* packed: id of the chain at ring position */
	uint32_t *write_len;     /* writable bytes of the chain at head / id:
				  * a skipped buffer's len */
};

/* Ring memory the driver needs for a queue of this size (the caller
 * places it in guest memory, 64-byte aligned). */
uint64_t virtq_driver_ring_bytes(bool packed, uint16_t size);

/* Lays out the rings in ring_hva (guest-physical ring_gpa), zeroed.
 * Returns 0, -EINVAL (size) or -ENOMEM. */
int virtq_driver_init(struct virtq_driver *drv, bool packed, uint16_t size,
		      bool event_idx, void *ring_hva, uint64_t ring_gpa);
void virtq_driver_destroy(struct virtq_driver *drv);

/* Turns VIRTIO_F_IN_ORDER on (before the first add): chains take
 * descriptors in table order, and reaping follows runs. */
void virtq_driver_set_in_order(struct virtq_driver *drv);

/* The device-side configuration matching this driver's rings. */
struct virtq_config virtq_driver_config(const struct virtq_driver *drv);

/* Adds a chain of n buffers (readable first). Returns the chain's head
 * index (split) or buffer id (packed), or -ENOSPC. A split chain is
 * visible to the device after virtq_driver_kick_prepare; a packed one at
 * once. */
int virtq_driver_add(struct virtq_driver *drv, const struct virtq_buf *bufs,
		     uint16_t n);

/* Adds one INDIRECT descriptor whose table (n entries, written here) is at
 * table_hva / table_gpa. Returns head or id, or -ENOSPC. */
int virtq_driver_add_indirect(struct virtq_driver *drv,
			      const struct virtq_buf *bufs, uint16_t n,
			      void *table_hva, uint64_t table_gpa);

/* Publishes added chains and says whether the device wants a kick. */
bool virtq_driver_kick_prepare(struct virtq_driver *drv);

/* Takes one used buffer: returns 1 with *id and *len, or 0. */
int virtq_driver_reap(struct virtq_driver *drv, uint16_t *id, uint32_t *len);

/* Interrupt (used buffer notification) suppression, the driver's half. */
void virtq_driver_set_interrupts(struct virtq_driver *drv, bool enable);

#endif
