/* The receiving side of the link's data path: receive chains taken a
 * batch at a time, given back unused, returned used; one frame put into
 * them (or written to a host port's tap), and counted. Included by
 * net_link.c alone, whose transmit side and forward loops call it: one
 * translation unit for the whole path, because as calls into another
 * file the common 64 B frame cost 3 to 5 instructions more
 * (tests/bench/net-link-callgrind.sh: 333.5 in one unit). */
#ifndef BULKHEAD_NET_LINK_RX_H
#define BULKHEAD_NET_LINK_RX_H

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_link.h"
#include "sg.h"

#define ETH_HLEN 14
#define ETH_ALEN 6
/* What a tap (the host's own port) takes: EtherType at offset 12. */
#define ETH_TYPE_OFF 12
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define NET_HDR_MAX 12
/* Guest segments written to a tap in one writev; a frame in more is
 * copied flat first. */
#define NET_TAP_IOV 16

/* The virtio-net header as read once from the sender (1.2 5.1.6). */
struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void hdr_encode(uint8_t *b, const struct net_hdr *h,
		       uint16_t num_buffers)
{
	b[0] = h->flags;
	b[1] = h->gso_type;
	put_le16(b + 2, h->hdr_len);
	put_le16(b + 4, h->gso_size);
	put_le16(b + 6, h->csum_start);
	put_le16(b + 8, h->csum_offset);
	put_le16(b + 10, num_buffers);
}

static bool side_is_tap(const struct net_link *l, unsigned d)
{
	return l->tap_fd[d] >= 0;
}

/* What the receiving side d negotiated; a tap negotiated nothing. */
static bool rx_has(const struct net_link *l, unsigned d, unsigned feature)
{
	return !side_is_tap(l, d) && vu_has_feature(&l->side[d], feature);
}

/* Whether the running forward's receiver (side d, its receive vring
 * l->rxq) takes frames. */
static bool rx_ready(const struct net_link *l, unsigned d)
{
	return side_is_tap(l, d) || vu_queue_ready(&l->side[d], l->rxq);
}

/* Whether side s may send a frame with this Ethernet header: its source
 * MAC is the side's own, when one was given. */
static bool mac_ok(const struct net_link *l, unsigned s, const uint8_t *eth)
{
	return !l->mac_set[s] || memcmp(eth + ETH_ALEN, l->mac[s], ETH_ALEN) == 0;
}

/* Whether a tap takes a frame with this Ethernet header (the copy read
 * once and checked): IPv4 and ARP, nothing else. The host port is IPv4
 * only, and with IPv6 one router advertisement from the driver VM would
 * route the host through it (docs/security.md). A VLAN tag (0x8100,
 * 0x88A8) is refused too: the host could hand it to a VLAN device. */
static bool tap_takes(const uint8_t *eth)
{
	uint16_t type = (uint16_t)(eth[ETH_TYPE_OFF] << 8 | eth[ETH_TYPE_OFF + 1]);

	return type == ETH_TYPE_IPV4 || type == ETH_TYPE_ARP;
}

/* Where the frame bytes come from: the sender's segments (the one-copy
 * path), the rest of its one segment, or the bounce buffer (a frame
 * finished in software). */
struct frame_src {
	/* The bytes in one place (then sg is unused): past the checked
	 * Ethernet header when there is one (eth_left), else all of them. */
	const uint8_t *flat;
	struct sg_pos sg;
	/* The Ethernet header as read once and checked (source MAC), when
	 * the rest comes from the sender's memory: the receiver gets this
	 * copy, not a second read a guest could have changed since. flat or
	 * sg is past it. */
	const uint8_t *eth;
	uint32_t eth_left;      /* 0 or ETH_HLEN until rx_deliver copies */
};

static void src_to_sg(struct sg_pos *dst, struct frame_src *src, uint32_t n)
{
	if (src->eth_left) {
		uint32_t k = n < src->eth_left ? n : src->eth_left;

		sg_write(dst, src->eth + (ETH_HLEN - src->eth_left), k);
		src->eth_left -= k;
		n -= k;
		if (!n)
			return;
	}
	if (src->flat) {
		sg_write(dst, src->flat, n);
		src->flat += n;
	} else {
		sg_copy(dst, &src->sg, n);
	}
}

/* Returns received chains to side d and signals it. */
static void rx_flush(struct net_link *l, unsigned d)
{
	struct vu_dev *dev = &l->side[d];
	struct vu_queue *q = &dev->q[l->rxq];

	if (l->rx_ndone == 0 || side_is_tap(l, d))
		return;
	if (q->started && !q->vq.err) {
		virtq_push_batch(&q->vq, l->rx_done, l->rx_ndone);
		if (virtq_publish(&q->vq))
			vu_queue_call(dev, l->rxq);
		l->queue_used[d][l->rxq] += l->rx_ndone;
	}
	l->rx_ndone = 0;
}

/* Makes at least `want` receive chains of side d cached, taking up to a
 * batch at a time (one pass over the avail ring per batch, not per
 * buffer). Returns 0, -ENOSPC (the receiver has no more now), or -EPIPE
 * (its queue broke). */
static int rx_fill(struct net_link *l, unsigned d, unsigned want)
{
	struct vu_dev *dev = &l->side[d];
	struct virtq *vq = &dev->q[l->rxq].vq;

	while (l->rx_cached < want) {
		unsigned end = l->rx_first + l->rx_cached;
		int n;

		if (NET_RX_CACHE - end < NET_BATCH) {
			/* Slide the unused chains to the front (a few, now
			 * and then). */
			memmove(l->rx, l->rx + l->rx_first,
				l->rx_cached * sizeof(*l->rx));
			l->rx_first = 0;
			end = l->rx_cached;
		}
		n = virtq_pop_batch(vq, &dev->mem, l->rx + end, NET_BATCH);
		if (n < 0 || virtq_broken(vq)) {
			vu_queue_broken(dev, l->rxq);
			l->rx_cached = 0;
			l->rx_ok = false;
			return -EPIPE;
		}
		if (n == 0)
			return -ENOSPC;
		l->rx_cached += (unsigned)n;
	}
	return 0;
}

/* Gives back the receive chains taken but not used (the last taken). */
static void rx_give_back(struct net_link *l, unsigned d)
{
	struct vu_queue *q = &l->side[d].q[l->rxq];

	if (side_is_tap(l, d))
		return;
	if (l->rx_cached && q->started && !q->vq.err) {
		/* Summed here, for the few left, rather than kept up to date
		 * for every chain taken and used. */
		unsigned slots = 0;

		for (unsigned i = 0; i < l->rx_cached; i++)
			slots += l->rx[l->rx_first + i].token.ring_slots;
		virtq_unpop(&q->vq, l->rx_cached, slots);
	}
	l->rx_first = l->rx_cached = 0;
}

/* One frame to the tap of side d: the guest's segments in one writev, no
 * header (the tap has none). The kernel takes a frame whole or not at
 * all; one it refuses (the interface is down, its queue is full) is
 * dropped, as a NIC would. Returns 0 or -EPIPE. */
static int tap_write(struct net_link *l, unsigned d, struct frame_src *src,
		     uint32_t frame_len)
{
	struct iovec iov[NET_TAP_IOV];
	int n = 0;

	if (src->eth_left) {
		iov[n++] = (struct iovec){ (void *)src->eth, ETH_HLEN };
		frame_len -= ETH_HLEN;
	}
	if (src->flat) {
		iov[n++] = (struct iovec){ (void *)src->flat, frame_len };
	} else {
		struct sg_pos p = src->sg;
		uint32_t left = frame_len;

		while (left && n < NET_TAP_IOV) {
			const struct guest_seg *g = &p.seg[p.i];
			uint32_t take = g->len - p.off < left ? g->len - p.off : left;

			iov[n++] = (struct iovec){ g->hva + p.off, take };
			left -= take;
			p.i++;
			p.off = 0;
		}
		if (left) {
			/* Too many segments: flat first (the checked header,
			 * then the rest). */
			uint32_t eth = src->eth_left;

			if (eth)
				memcpy(l->bounce, src->eth, ETH_HLEN);
			sg_read(&src->sg, l->bounce + eth, frame_len);
			iov[0] = (struct iovec){ l->bounce, eth + frame_len };
			n = 1;
		}
	}
	frame_len += src->eth_left;
	return writev(l->tap_fd[d], iov, n) == (ssize_t)frame_len ? 0 : -EPIPE;
}

/* The next receive chain of side d (a vhost-user side) when it is one
 * segment of at least len bytes, with room in rx_done for it; else NULL
 * (nothing taken: rx_deliver's general path decides). */
static inline const struct virtq_chain *rx_one_seg(struct net_link *l,
						   unsigned d, uint64_t len)
{
	const struct virtq_chain *c;

	if (l->rx_ndone + NET_RX_PER_FRAME > sizeof(l->rx_done) / sizeof(l->rx_done[0]) ||
	    (!l->rx_cached && rx_fill(l, d, 1) != 0))
		return NULL;
	c = &l->rx[l->rx_first];
	return c->nwrite == 1 && c->seg[c->nread].len >= len ? c : NULL;
}

/* Records chain c as used for len bytes (returned at rx_flush). */
static inline void rx_done_add(struct net_link *l, const struct virtq_chain *c,
			       uint32_t len)
{
	l->rx_done[l->rx_ndone].token = c->token;
	l->rx_done[l->rx_ndone].len = len;
	l->rx_ndone++;
}

/* Records chain c (the first cached) as used for len bytes. */
static inline void rx_one_done(struct net_link *l, const struct virtq_chain *c,
			       uint32_t len)
{
	rx_done_add(l, c, len);
	l->rx_first++;
	l->rx_cached--;
}

/* Where the frame's bytes after the checked Ethernet header (or all of
 * them, without one) are when they sit in one place: flat, or the rest of
 * one guest segment; else NULL. */
static inline const uint8_t *src_contiguous(const struct frame_src *src,
					    uint32_t len)
{
	const struct sg_pos *p = &src->sg;

	if (src->flat)
		return src->flat;
	if (p->i >= p->nseg || p->seg[p->i].len - p->off < len)
		return NULL;
	return p->seg[p->i].hva + p->off;
}

/* The common frame: its bytes in one place going whole into one receive
 * buffer of one segment, after HDR (the virtio-net header as the receiver
 * gets it, NET_HDR_MAX bytes of which it takes hlen). Copies of known size,
 * no segment walk. Returns false (nothing done) when the frame is not that
 * simple. */
static inline __attribute__((always_inline)) bool
rx_put_simple(struct net_link *l, unsigned d,
	      const uint8_t hdr[NET_HDR_MAX], struct frame_src *src,
	      uint32_t frame_len)
{
	uint32_t hlen = l->hdr_len[d];
	/* What comes from the sender's memory: all of it, or all but the
	 * checked Ethernet header (whole here: rx_deliver's general path is
	 * the only one that consumes it in parts). */
	uint32_t eth = src->eth_left;
	const struct virtq_chain *c;
	const uint8_t *from;

	if (!(c = rx_one_seg(l, d, hlen + (uint64_t)frame_len)) ||
	    !(from = src_contiguous(src, frame_len - eth)))
		return false;
	uint8_t *to = c->seg[c->nread].hva;

	if (hlen == 12)
		memcpy(to, hdr, 12);
	else
		memcpy(to, hdr, 10);
	if (eth)
		memcpy(to + hlen, src->eth, ETH_HLEN);
	memcpy(to + hlen + eth, from, frame_len - eth);
	rx_one_done(l, c, hlen + frame_len);
	return true;
}

/* Puts one frame (header h, frame_len bytes from src) into side d's
 * receive buffers. Returns 0, -ENOSPC (no buffers now: nothing taken),
 * -EMSGSIZE (the buffers cannot hold it: nothing taken), -EPIPE (the
 * queue broke). */
static int rx_deliver(struct net_link *l, unsigned d, const struct net_hdr *h,
		      struct frame_src *src, uint32_t frame_len)
{
	struct vu_dev *dev = &l->side[d];
	bool mrg;
	uint32_t hlen;
	uint64_t total, have = 0;
	unsigned used = 0;
	uint8_t hdr[NET_HDR_MAX];
	struct virtq_chain *first;
	int r;

	if (side_is_tap(l, d))
		return tap_write(l, d, src, frame_len);
	hlen = l->hdr_len[d];
	hdr_encode(hdr, h, 1);
	if (rx_put_simple(l, d, hdr, src, frame_len))
		return 0;
	mrg = vu_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);
	total = hlen + (uint64_t)frame_len;
	if (l->rx_ndone + NET_RX_PER_FRAME > sizeof(l->rx_done) / sizeof(l->rx_done[0]))
		rx_flush(l, d);
	/* Count the cached chains this frame needs, taking more as needed;
	 * nothing is consumed until the frame is known to fit. */
	while (have < total) {
		if (used == NET_RX_PER_FRAME)
			return -EMSGSIZE;
		r = rx_fill(l, d, used + 1);
		if (r < 0)
			return r;
		have += l->rx[l->rx_first + used].write_bytes;
		used++;
		if (!mrg)
			break;
	}
	first = &l->rx[l->rx_first];
	/* The header goes whole into the first buffer (5.1.6.3.1). */
	if (have < total || first->write_bytes < hlen)
		return -EMSGSIZE;
	/* Encoded above with one buffer; now the count it takes. */
	put_le16(hdr + 10, (uint16_t)used);
	uint32_t left = frame_len;

	for (unsigned k = 0; k < used; k++) {
		struct virtq_chain *c = &first[k];
		struct sg_pos dst;
		uint32_t room = c->write_bytes, put = 0;

		if (k != 0 && c->nwrite == 1 && src->flat && !src->eth_left) {
			/* A merged frame's later buffers, one segment each,
			 * from a flat source: one copy each, no walk (a 64 KiB
			 * segment takes 17 such 4 KiB buffers). */
			uint32_t n = room < left ? room : left;

			memcpy(c->seg[c->nread].hva, src->flat, n);
			src->flat += n;
			left -= n;
			rx_done_add(l, c, n);
			continue;
		}
		sg_init(&dst, c->seg + c->nread, c->nwrite);
		if (k == 0) {
			sg_write(&dst, hdr, hlen);
			room -= hlen;
			put = hlen;
		}
		uint32_t n = room < left ? room : left;

		src_to_sg(&dst, src, n);
		left -= n;
		rx_done_add(l, c, put + n);
	}
	l->rx_first += used;
	l->rx_cached -= used;
	return 0;
}

/* A plain frame from a guest's transmit chain (tx_one): a header of
 * zeros (whatever else the sender left in its unused fields stays with
 * it), the checked Ethernet header, the rest from the sender's memory.
 * The common case, one segment into one buffer, without rx_deliver's
 * general path. */
static int rx_deliver_plain(struct net_link *l, unsigned d,
			    struct frame_src *src, uint32_t frame_len)
{
	/* What hdr_encode makes of a zero header with one buffer. */
	static const uint8_t plain_hdr[NET_HDR_MAX] = { [10] = 1 };
	static const struct net_hdr plain = { 0 };

	/* Under the tap test every frame paid already: the EtherType check
	 * costs the VM-to-VM path nothing. */
	if (side_is_tap(l, d))
		return tap_takes(src->eth) ? tap_write(l, d, src, frame_len)
					   : -EPROTO;
	if (rx_put_simple(l, d, plain_hdr, src, frame_len))
		return 0;
	return rx_deliver(l, d, &plain, src, frame_len);
}

/* Counts the outcome of one delivery attempt; -ENOSPC is passed on.
 * -EPROTO: a tap does not take the frame's EtherType. */
static int count_delivery(struct net_dir_stats *st, int r, uint32_t len)
{
	switch (r) {
	case 0:
		st->packets++;
		st->bytes += len;
		return 0;
	case -ENOSPC:
		return r;
	case -EMSGSIZE:
		st->drops[NET_DROP_RX_TOO_SMALL]++;
		return 0;
	case -EPROTO:
		st->drops[NET_DROP_NOT_IPV4_ARP]++;
		return 0;
	default:
		st->drops[NET_DROP_PEER_DOWN]++;
		return 0;
	}
}

#endif
