/* Copies between checked guest segments (struct guest_seg lists from
 * virtio/) and flat host buffers. */
#ifndef BULKHEAD_SG_H
#define BULKHEAD_SG_H

#include <stdint.h>
#include <string.h>

#include "guest_mem.h"

/* A position in a segment list. */
struct sg_pos {
	const struct guest_seg *seg;
	uint32_t nseg;
	uint32_t i;
	uint32_t off;
};

static inline void sg_init(struct sg_pos *p, const struct guest_seg *seg,
			   uint32_t nseg)
{
	p->seg = seg;
	p->nseg = nseg;
	p->i = 0;
	p->off = 0;
}

/* Copies len bytes out of the list into dst; the caller checked that
 * they are there. */
static inline void sg_read(struct sg_pos *p, uint8_t *dst, uint32_t len)
{
	/* Headers (10-14 bytes, a constant at the call) nearly always sit
	 * in the current segment: one fixed-size copy the compiler inlines. */
	if (p->i < p->nseg && p->seg[p->i].len - p->off > len) {
		memcpy(dst, p->seg[p->i].hva + p->off, len);
		p->off += len;
		return;
	}
	while (len) {
		const struct guest_seg *s = &p->seg[p->i];
		uint32_t take = s->len - p->off < len ? s->len - p->off : len;

		memcpy(dst, s->hva + p->off, take);
		dst += take;
		len -= take;
		p->off += take;
		if (p->off == s->len) {
			p->i++;
			p->off = 0;
		}
	}
}

/* Copies len bytes from src into the list. */
static inline void sg_write(struct sg_pos *p, const uint8_t *src,
			    uint32_t len)
{
	if (p->i < p->nseg && p->seg[p->i].len - p->off > len) {
		memcpy(p->seg[p->i].hva + p->off, src, len);
		p->off += len;
		return;
	}
	while (len) {
		const struct guest_seg *s = &p->seg[p->i];
		uint32_t take = s->len - p->off < len ? s->len - p->off : len;

		memcpy(s->hva + p->off, src, take);
		src += take;
		len -= take;
		p->off += take;
		if (p->off == s->len) {
			p->i++;
			p->off = 0;
		}
	}
}

/* Copies len bytes from one list to another: the link's one copy, guest
 * memory to guest memory. */
static inline void sg_copy(struct sg_pos *dst, struct sg_pos *src,
			   uint32_t len)
{
	while (len) {
		const struct guest_seg *d = &dst->seg[dst->i];
		const struct guest_seg *s = &src->seg[src->i];
		uint32_t take = d->len - dst->off;

		if (s->len - src->off < take)
			take = s->len - src->off;
		if (len < take)
			take = len;
		memcpy(d->hva + dst->off, s->hva + src->off, take);
		len -= take;
		dst->off += take;
		src->off += take;
		if (dst->off == d->len) {
			dst->i++;
			dst->off = 0;
		}
		if (src->off == s->len) {
			src->i++;
			src->off = 0;
		}
	}
}

#endif
