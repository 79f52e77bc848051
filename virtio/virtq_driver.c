#include "virtq_driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtq_internal.h"

#define AVAIL_BIT (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_BIT (1u << VRING_PACKED_DESC_F_USED)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

struct ring_offsets {
	uint64_t driver, device, total;
};

static struct ring_offsets offsets_of(bool packed, uint16_t size)
{
	struct virtq_layout l = virtq_layout_of(packed, size);
	struct ring_offsets o;

	o.driver = l.desc_bytes;
	o.device = align_up(o.driver + l.driver_bytes, 64);
	o.total = align_up(o.device + l.device_bytes, 64);
	return o;
}

uint64_t virtq_driver_ring_bytes(bool packed, uint16_t size)
{
	return offsets_of(packed, size).total;
}

int virtq_driver_init(struct virtq_driver *drv, bool packed, uint16_t size,
		      bool event_idx, void *ring_hva, uint64_t ring_gpa)
{
	struct ring_offsets o = offsets_of(packed, size);
	uint8_t *base = ring_hva;

	memset(drv, 0, sizeof(*drv));
	if (size == 0 || size > VIRTQ_MAX_SIZE ||
	    (!packed && (size & (size - 1))))
		return -EINVAL;
	memset(ring_hva, 0, o.total);
	drv->size = size;
	drv->packed = packed;
	drv->event_idx = event_idx;
	drv->desc_gpa = ring_gpa;
	drv->driver_gpa = ring_gpa + o.driver;
	drv->device_gpa = ring_gpa + o.device;
	drv->num_free = size;
	drv->next_free = calloc(size, sizeof(uint16_t));
	drv->chain_len = calloc(size, sizeof(uint16_t));
	drv->id_slots = calloc(size, sizeof(uint16_t));
	drv->pos_id = calloc(size, sizeof(uint16_t));
	drv->write_len = calloc(size, sizeof(uint32_t));
	if (!drv->next_free || !drv->chain_len || !drv->id_slots ||
	    !drv->pos_id || !drv->write_len) {
		virtq_driver_destroy(drv);
		return -ENOMEM;
	}
	/* Free list of descriptors (split) or buffer ids (packed). */
	for (uint16_t i = 0; i < size; i++)
		drv->next_free[i] = (uint16_t)(i + 1);
	if (packed) {
		drv->pdesc = (void *)base;
		drv->driver_event = (void *)(base + o.driver);
		drv->device_event = (void *)(base + o.device);
		drv->avail_wrap = drv->used_wrap = drv->kicked_wrap = true;
	} else {
		drv->desc = (void *)base;
		drv->avail = (void *)(base + o.driver);
		drv->used = (void *)(base + o.device);
	}
	return 0;
}

void virtq_driver_destroy(struct virtq_driver *drv)
{
	free(drv->next_free);
	free(drv->chain_len);
	free(drv->id_slots);
	free(drv->pos_id);
	free(drv->write_len);
	drv->next_free = drv->chain_len = drv->id_slots = drv->pos_id = NULL;
	drv->write_len = NULL;
}

void virtq_driver_set_in_order(struct virtq_driver *drv)
{
	drv->in_order = true;
}

struct virtq_config virtq_driver_config(const struct virtq_driver *drv)
{
	struct virtq_config c = {
		.size = drv->size,
		.packed = drv->packed,
		.event_idx = drv->event_idx,
		.indirect = true,
		.in_order = drv->in_order,
		.addr_space = VIRTQ_ADDR_GPA,
		.desc_addr = drv->desc_gpa,
		.driver_addr = drv->driver_gpa,
		.device_addr = drv->device_gpa,
		.base = drv->packed ? (uint16_t)(1u << 15) : 0,
	};
	return c;
}

static uint16_t buf_flags(const struct virtq_buf *b)
{
	return b->writable ? VRING_DESC_F_WRITE : 0;
}

static uint32_t bufs_write_len(const struct virtq_buf *bufs, uint16_t n)
{
	uint32_t sum = 0;

	for (uint16_t i = 0; i < n; i++)
		sum += bufs[i].writable ? bufs[i].len : 0;
	return sum;
}

static int split_add(struct virtq_driver *drv, const struct virtq_buf *bufs,
		     uint16_t n, uint16_t head_flags)
{
	uint16_t head = drv->free_head, idx = head;

	if (n == 0 || n > drv->num_free)
		return -ENOSPC;
	for (uint16_t i = 0; i < n; i++) {
		struct vring_desc *d = &drv->desc[idx];
		/* In order: the table is used as a ring (2.7.5). */
		uint16_t next = drv->in_order ? (uint16_t)((idx + 1) & (drv->size - 1))
					      : drv->next_free[idx];

		d->addr = htole64(bufs[i].gpa);
		d->len = htole32(bufs[i].len);
		d->flags = htole16(buf_flags(&bufs[i]) | head_flags |
				   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		d->next = htole16(i + 1 < n ? next : 0);
		idx = next;
	}
	drv->free_head = idx;
	drv->num_free = (uint16_t)(drv->num_free - n);
	drv->chain_len[head] = n;
	drv->write_len[head] = head_flags ? 0 : bufs_write_len(bufs, n);
	drv->avail->ring[drv->avail_idx & (drv->size - 1)] = htole16(head);
	drv->avail_idx++;
	return head;
}

static void packed_write(struct vring_packed_desc *d, uint64_t gpa,
			 uint32_t len, uint16_t id, uint16_t flags)
{
	d->addr = htole64(gpa);
	d->len = htole32(len);
	d->id = htole16(id);
	d->flags = htole16(flags);
}

static int packed_add(struct virtq_driver *drv, const struct virtq_buf *bufs,
		      uint16_t n, uint16_t head_flags)
{
	uint16_t id = drv->free_head, pos = drv->avail_pos;
	uint16_t head_pos = pos, head_desc_flags = 0;
	bool wrap = drv->avail_wrap;
	uint16_t avail_used = wrap ? AVAIL_BIT : USED_BIT;

	if (n == 0 || n > drv->num_free)
		return -ENOSPC;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t flags = buf_flags(&bufs[i]) | head_flags | avail_used |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		if (i == 0) {
			/* The head's flags go last: the device must never see
			 * a half-written chain (2.8.6). */
			head_desc_flags = flags;
			packed_write(&drv->pdesc[pos], bufs[i].gpa, bufs[i].len,
				     id, 0);
			drv->pdesc[pos].flags = htole16(wrap ? USED_BIT : AVAIL_BIT);
		} else {
			packed_write(&drv->pdesc[pos], bufs[i].gpa, bufs[i].len,
				     id, flags);
		}
		if (++pos == drv->size) {
			pos = 0;
			wrap = !wrap;
			avail_used = wrap ? AVAIL_BIT : USED_BIT;
		}
	}
	drv->free_head = drv->next_free[id];
	drv->num_free = (uint16_t)(drv->num_free - n);
	drv->id_slots[id] = n;
	drv->write_len[id] = head_flags ? 0 : bufs_write_len(bufs, n);
	drv->pos_id[head_pos] = id;
	drv->avail_pos = pos;
	drv->avail_wrap = wrap;
	__atomic_store_n(&drv->pdesc[head_pos].flags, htole16(head_desc_flags),
			 __ATOMIC_RELEASE);
	return id;
}

int virtq_driver_add(struct virtq_driver *drv, const struct virtq_buf *bufs,
		     uint16_t n)
{
	return drv->packed ? packed_add(drv, bufs, n, 0)
			   : split_add(drv, bufs, n, 0);
}

int virtq_driver_add_indirect(struct virtq_driver *drv,
			      const struct virtq_buf *bufs, uint16_t n,
			      void *table_hva, uint64_t table_gpa)
{
	struct virtq_buf table = {
		.gpa = table_gpa,
		.len = (uint32_t)(n * 16u),
		.writable = false,
	};

	/* Entries are written with memcpy: tests place tables at odd
	 * addresses on purpose. */
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *slot = (uint8_t *)table_hva + 16u * i;

		if (drv->packed) {
			struct vring_packed_desc d;

			packed_write(&d, bufs[i].gpa, bufs[i].len, 0,
				     buf_flags(&bufs[i]));
			memcpy(slot, &d, sizeof(d));
		} else {
			struct vring_desc d = {
				.addr = htole64(bufs[i].gpa),
				.len = htole32(bufs[i].len),
				.flags = htole16(buf_flags(&bufs[i]) |
						 (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
				.next = htole16((uint16_t)(i + 1 < n ? i + 1 : 0)),
			};

			memcpy(slot, &d, sizeof(d));
		}
	}
	return drv->packed ? packed_add(drv, &table, 1, VRING_DESC_F_INDIRECT)
			   : split_add(drv, &table, 1, VRING_DESC_F_INDIRECT);
}

bool virtq_driver_kick_prepare(struct virtq_driver *drv)
{
	if (drv->packed) {
		uint32_t event;
		uint16_t old_pos = drv->kicked_pos;
		bool old_wrap = drv->kicked_wrap;

		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		event = ring_load32(drv->device_event);
		drv->kicked_pos = drv->avail_pos;
		drv->kicked_wrap = drv->avail_wrap;
		switch (event >> 16) {
		case VRING_PACKED_EVENT_FLAG_DISABLE:
			return false;
		case VRING_PACKED_EVENT_FLAG_DESC:
			return packed_event_passed(drv->size, drv->avail_pos,
						   drv->avail_wrap, old_pos,
						   old_wrap, event & 0xffff);
		default:
			return old_pos != drv->avail_pos ||
			       old_wrap != drv->avail_wrap;
		}
	}

	uint16_t old = drv->kicked_avail, new_idx = drv->avail_idx;

	__atomic_store_n(&drv->avail->idx, htole16(new_idx), __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	drv->kicked_avail = new_idx;
	if (drv->event_idx)
		return vring_need_event(ring_load16(&drv->used->ring[drv->size]),
					new_idx, old);
	return old != new_idx &&
	       !(ring_load16(&drv->used->flags) & VRING_USED_F_NO_NOTIFY);
}

static void free_split_chain(struct virtq_driver *drv, uint16_t head)
{
	uint16_t n = drv->chain_len[head], last = head;

	for (uint16_t i = 1; i < n; i++)
		last = drv->next_free[last];
	drv->next_free[last] = drv->free_head;
	drv->free_head = head;
	drv->num_free = (uint16_t)(drv->num_free + n);
}

/* The used entry at the driver's next used slot, when the device has
 * written it: 1 with its id and len, else 0. */
static int used_entry(struct virtq_driver *drv, uint16_t *id, uint32_t *len)
{
	if (drv->packed) {
		struct vring_packed_desc *d = &drv->pdesc[drv->used_pos];
		uint16_t flags = le16toh(__atomic_load_n(&d->flags,
							 __ATOMIC_ACQUIRE));
		bool avail = flags & AVAIL_BIT, used = flags & USED_BIT;

		if (avail != used || used != drv->used_wrap)
			return 0;
		*id = le16toh(d->id);
		*len = le32toh(d->len);
		return 1;
	}

	uint16_t used_idx = le16toh(__atomic_load_n(&drv->used->idx,
						    __ATOMIC_ACQUIRE));
	struct vring_used_elem *e;

	if (used_idx == drv->last_used)
		return 0;
	e = &drv->used->ring[drv->last_used & (drv->size - 1)];
	*id = (uint16_t)le32toh(e->id);
	*len = le32toh(e->len);
	return 1;
}

/* Packed: the buffer id at the next used position is free again; the
 * position moves past its slots. */
static void packed_release(struct virtq_driver *drv, uint16_t id)
{
	uint32_t pos = (uint32_t)drv->used_pos + drv->id_slots[id];

	if (pos >= drv->size) {
		pos -= drv->size;
		drv->used_wrap = !drv->used_wrap;
	}
	drv->used_pos = (uint16_t)pos;
	drv->num_free = (uint16_t)(drv->num_free + drv->id_slots[id]);
	drv->next_free[id] = drv->free_head;
	drv->free_head = id;
}

/* In order: the buffer at the front is reaped; when it is the one the
 * pending used entry names, with that entry's len, else as wholly used
 * (2.7.9, 2.8.8). Returns 0 when no used entry is pending and none new. */
static int reap_in_order(struct virtq_driver *drv, uint16_t *id,
			 uint32_t *len)
{
	if (!drv->batch_pending) {
		if (!used_entry(drv, &drv->batch_id, &drv->batch_len))
			return 0;
		drv->batch_pending = true;
	}
	if (drv->packed) {
		*id = drv->pos_id[drv->used_pos];
		packed_release(drv, *id);
	} else {
		/* Descriptors are used in table order: the chain's slots
		 * are free again by moving past them. */
		*id = drv->next_head;
		drv->next_head = (uint16_t)((*id + drv->chain_len[*id]) &
					    (drv->size - 1));
		drv->num_free = (uint16_t)(drv->num_free + drv->chain_len[*id]);
		drv->last_used++;
	}
	if (*id == drv->batch_id) {
		*len = drv->batch_len;
		drv->batch_pending = false;
	} else {
		*len = drv->write_len[*id];
	}
	return 1;
}

int virtq_driver_reap(struct virtq_driver *drv, uint16_t *id, uint32_t *len)
{
	if (drv->in_order)
		return reap_in_order(drv, id, len);
	if (!used_entry(drv, id, len))
		return 0;
	if (drv->packed) {
		packed_release(drv, *id);
	} else {
		drv->last_used++;
		free_split_chain(drv, *id);
	}
	return 1;
}

void virtq_driver_set_interrupts(struct virtq_driver *drv, bool enable)
{
	if (drv->packed) {
		uint16_t flags = enable ? VRING_PACKED_EVENT_FLAG_ENABLE
					: VRING_PACKED_EVENT_FLAG_DISABLE;

		if (enable && drv->event_idx) {
			ring_store16(&drv->driver_event->off_wrap,
				     (uint16_t)(drv->used_pos |
						(drv->used_wrap << 15)));
			flags = VRING_PACKED_EVENT_FLAG_DESC;
		}
		ring_store16(&drv->driver_event->flags, flags);
	} else if (drv->event_idx) {
		/* used_event: interrupt once the device passes last_used;
		 * "disabled" parks it half a ring behind. */
		ring_store16(&drv->avail->ring[drv->size],
			     enable ? drv->last_used
				    : (uint16_t)(drv->last_used - 0x8000));
	} else {
		ring_store16(&drv->avail->flags,
			     enable ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
