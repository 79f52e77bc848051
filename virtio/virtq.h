/* Device-side virtqueue: split (virtio 1.2 section 2.7) and packed
 * (section 2.8) rings behind one interface.
 *
 * This is the one boundary where guest-written ring data enters the host.
 * Every descriptor field is loaded once into a local, checked, and never
 * read again; what leaves here (struct virtq_chain) holds only checked host
 * segments. Any rule broken by the driver marks the queue broken (virtio's
 * DEVICE_NEEDS_RESET), records why in vq->reason, and returns a negative
 * errno; a broken queue does nothing until virtq_init() runs again, and
 * nothing outside it is touched.
 *
 * Pure code over memory: no system calls, clocks or allocation. The caller
 * owns the event loop, kicks and calls. */
#ifndef BULKHEAD_VIRTQ_H
#define BULKHEAD_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "guest_mem.h"

/* The largest queue either format allows (virtio 1.2: 2^15). */
#define VIRTQ_MAX_SIZE 32768

/* Segments one chain may carry. Linux virtio-net sends at most
 * MAX_SKB_FRAGS + 2 = 19; virtio-blk's default seg_max is 126. A longer
 * chain is rejected with -E2BIG rather than truncated. */
#define VIRTQ_CHAIN_MAX_SEGS 128

#define VIRTQ_REASON_LEN 160

/* What a device needs to return a chain: the split head index or the
 * packed buffer id, and how many slots of the descriptor table (split:
 * 1 for an indirect chain) or ring (packed) the chain took. */
struct virtq_token {
	uint16_t id;
	uint16_t ring_slots;
};

/* A checked chain: seg[0..nread) are device-readable,
 * seg[nread..nread+nwrite) device-writable, in ring order. */
struct virtq_chain {
	struct virtq_token token;
	uint16_t nread;
	uint16_t nwrite;
	uint32_t read_bytes;
	uint32_t write_bytes;
	struct guest_seg seg[VIRTQ_CHAIN_MAX_SEGS];
};

enum virtq_addr_space {
	VIRTQ_ADDR_GPA, /* guest-physical (virtio transports) */
	VIRTQ_ADDR_UVA, /* front end's virtual addresses (vhost-user) */
};

struct virtq_config {
	uint16_t size;
	bool packed;
	bool event_idx;  /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;   /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	/* VIRTIO_F_IN_ORDER negotiated: the driver uses descriptors in ring
	 * order (split: heads follow each other in the table, checked), and
	 * the device may return a run of buffers with one used entry. */
	bool in_order;
	/* Largest total of descriptor lengths in one chain; a larger chain
	 * is refused (-E2BIG). Zero means the default, 16 MiB. */
	uint32_t max_chain_bytes;
	enum virtq_addr_space addr_space;
	uint64_t desc_addr;   /* descriptor table / descriptor ring */
	uint64_t driver_addr; /* split: avail ring; packed: driver event */
	uint64_t device_addr; /* split: used ring; packed: device event */
	/* Where to resume (vhost-user SET_VRING_BASE): split, the next avail
	 * index; packed, the next ring position | wrap counter << 15. */
	uint16_t base;
};

struct virtq_split_state {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t mask;
	uint16_t last_avail;      /* next avail entry to take */
	uint16_t avail_shadow;    /* avail->idx as last read and checked */
	uint16_t used_idx;        /* next used entry to fill */
	uint16_t used_published;  /* used->idx as last stored */
	uint16_t signalled_used;  /* used->idx at the last notify decision */
	bool signalled_valid;
	/* VIRTIO_F_IN_ORDER: the head the next chain must have, checked when
	 * inorder_check is 0xffff (in order, and a first chain was seen: a
	 * ring resumed at some base starts wherever the driver stands). */
	uint16_t inorder_next;
	uint16_t inorder_check;
};

struct virtq_packed_state {
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver_event; /* read by device */
	struct vring_packed_desc_event *device_event; /* written by device */
	uint16_t avail_pos;
	uint16_t used_pos;
	uint16_t signalled_pos;   /* used_pos at the last notify decision */
	bool avail_wrap;
	bool used_wrap;
	bool signalled_wrap;
	bool signalled_valid;
	bool pending;             /* used entries since the last decision */
};

struct virtq {
	uint16_t size;
	bool is_packed;
	bool event_idx;
	bool indirect;
	bool in_order;
	/* Kicks turned off by *_disable_notify and not turned on since: a
	 * second disable writes nothing. The flag shares a cache line with
	 * what the driver polls (split: used->idx), and a store, even of
	 * the same value, takes the line from the driver's core. */
	bool notify_off;
	uint32_t max_chain_bytes;
	uint32_t mem_hint;        /* region index of the last buffer found */
	int err;                  /* 0, or the negative errno that broke it */
	char reason[VIRTQ_REASON_LEN];
	union {
		struct virtq_split_state split;
		struct virtq_packed_state packed;
	};
};

/* Bytes each part of a ring of this size occupies (for mapping checks
 * and for the driver side's layout). */
struct virtq_layout {
	uint64_t desc_bytes;
	uint64_t driver_bytes;
	uint64_t device_bytes;
};
struct virtq_layout virtq_layout_of(bool packed, uint16_t size);

/* Checks the configuration (size, alignment, each ring part inside one
 * guest memory region) and starts the queue at cfg->base. Returns 0 or a
 * negative errno, with vq broken and vq->reason set. */
int virtq_init(struct virtq *vq, const struct guest_mem *mem,
	       const struct virtq_config *cfg);

/* The index to hand back at GET_VRING_BASE, in SET_VRING_BASE's format. */
uint16_t virtq_base(const struct virtq *vq);

static inline bool virtq_broken(const struct virtq *vq)
{
	return vq->err != 0;
}

/* Takes up to max available chains into chains[]. Returns how many (0
 * when the driver has made nothing more available), or a negative errno
 * when the queue is broken before any chain is taken; a chain that breaks
 * the queue mid-batch ends the batch, the chains before it stay valid,
 * and the next call returns the errno. */
int split_ring_pop_batch(struct virtq *vq, const struct guest_mem *mem,
			 struct virtq_chain *chains, unsigned max);
int packed_ring_pop_batch(struct virtq *vq, const struct guest_mem *mem,
			  struct virtq_chain *chains, unsigned max);

/* Gives back the chains taken last, as if never taken: nchains chains
 * occupying ring_slots ring slots (the sum of their tokens' ring_slots).
 * For a device that found no room to put what they carry (a receive
 * queue's owner out of buffers): they are taken again, and checked again,
 * later. */
void virtq_unpop(struct virtq *vq, unsigned nchains, unsigned ring_slots);

/* A chain handed back: its token and the bytes written into it. */
struct virtq_done {
	struct virtq_token token;
	uint32_t len;
};

/* Returns n chains at once, in order. With VIRTIO_F_IN_ORDER, a run of
 * chains of which all but the last have len 0 (nothing written: transmit
 * buffers) is returned with one used entry, the run's last id in the
 * run's first slot (virtio 1.2 2.7.9, 2.8.8: the driver takes the
 * skipped buffers as wholly used, which for a buffer with nothing to
 * write is len 0). A chain with bytes written gets its own entry: a
 * receive buffer is rarely filled whole. */
void split_ring_push_batch(struct virtq *vq, const struct virtq_done *done,
			   unsigned n);
void packed_ring_push_batch(struct virtq *vq, const struct virtq_done *done,
			    unsigned n);

/* Returns a chain with len bytes written into its writable part. The
 * driver may see it at once (packed) or after virtq_publish (split). */
void split_ring_push(struct virtq *vq, struct virtq_token token, uint32_t len);
void packed_ring_push(struct virtq *vq, struct virtq_token token, uint32_t len);

/* Makes pushed entries visible and says whether the driver wants a used
 * buffer notification for them (EVENT_IDX or the no-interrupt flag). */
bool split_ring_publish(struct virtq *vq);
bool packed_ring_publish(struct virtq *vq);

/* Kick suppression: disable while draining; enable when empty. enable
 * returns true when the driver added buffers meanwhile (drain again). */
void split_ring_disable_notify(struct virtq *vq);
bool split_ring_enable_notify(struct virtq *vq);
void packed_ring_disable_notify(struct virtq *vq);
bool packed_ring_enable_notify(struct virtq *vq);

static inline int virtq_pop_batch(struct virtq *vq,
				  const struct guest_mem *mem,
				  struct virtq_chain *chains, unsigned max)
{
	return vq->is_packed ? packed_ring_pop_batch(vq, mem, chains, max)
			     : split_ring_pop_batch(vq, mem, chains, max);
}

/* One chain: 1 with *chain filled, 0 when none is available, or a
 * negative errno (the queue is broken). */
static inline int virtq_pop(struct virtq *vq, const struct guest_mem *mem,
			    struct virtq_chain *chain)
{
	return virtq_pop_batch(vq, mem, chain, 1);
}

static inline void virtq_push(struct virtq *vq, struct virtq_token token,
			      uint32_t len)
{
	if (vq->is_packed)
		packed_ring_push(vq, token, len);
	else
		split_ring_push(vq, token, len);
}

static inline void virtq_push_batch(struct virtq *vq,
				    const struct virtq_done *done, unsigned n)
{
	if (vq->is_packed)
		packed_ring_push_batch(vq, done, n);
	else
		split_ring_push_batch(vq, done, n);
}

static inline bool virtq_publish(struct virtq *vq)
{
	return vq->is_packed ? packed_ring_publish(vq) : split_ring_publish(vq);
}

static inline void virtq_disable_notify(struct virtq *vq)
{
	if (vq->is_packed)
		packed_ring_disable_notify(vq);
	else
		split_ring_disable_notify(vq);
}

static inline bool virtq_enable_notify(struct virtq *vq)
{
	return vq->is_packed ? packed_ring_enable_notify(vq)
			  : split_ring_enable_notify(vq);
}

#endif
