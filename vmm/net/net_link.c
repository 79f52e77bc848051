/* The link's data path, transmit side: each chain a guest (or the host's
 * tap) sends, checked and delivered or dropped, and the forward loops.
 * The receive side is net_link_rx.h, compiled into this unit; the link's
 * state is made and released in net_link_setup.c. */
#include "net_link.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net_link_rx.h"  /* the receive side, in this unit */
#include "net_offload.h"

unsigned net_hdr_len(const struct vu_dev *dev)
{
	/* 5.1.6: num_buffers is there with VERSION_1 or MRG_RXBUF. */
	return vu_has_feature(dev, VIRTIO_F_VERSION_1) ||
	       vu_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF) ? 12 : 10;
}

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void hdr_decode(const uint8_t *b, struct net_hdr *h)
{
	h->flags = b[0];
	h->gso_type = b[1];
	h->hdr_len = le16_at(b + 2);
	h->gso_size = le16_at(b + 4);
	h->csum_start = le16_at(b + 6);
	h->csum_offset = le16_at(b + 8);
}

struct seg_ctx {
	struct net_link *l;
	unsigned d;
	int first_result;
	unsigned delivered, lost;
};

/* One software segment: delivered with a plain header (checksums are
 * complete). */
static int deliver_segment(void *opaque, const uint8_t *frame, size_t len)
{
	struct seg_ctx *ctx = opaque;
	struct net_hdr h = { 0 };
	struct frame_src src = { .flat = frame };
	int r = rx_deliver(ctx->l, ctx->d, &h, &src, (uint32_t)len);

	if (ctx->delivered == 0 && ctx->lost == 0 && r == -ENOSPC) {
		/* Nothing delivered yet: the whole frame can wait. */
		ctx->first_result = r;
		return r;
	}
	if (r == 0)
		ctx->delivered++;
	else
		ctx->lost++;
	return 0;
}

/* Handles one transmitted chain. Returns 0 (delivered or dropped, the
 * chain is done) or -ENOSPC (the receiver is out of buffers: the chain
 * must wait). */
static int tx_one(struct net_link *l, unsigned s, const struct virtq_chain *c)
{
	struct vu_dev *from = &l->side[s];
	unsigned d = !s;
	struct net_dir_stats *st = &l->stats[s];
	uint32_t hlen = l->hdr_len[s];
	uint8_t hbuf[NET_HDR_MAX], eth[ETH_HLEN];
	struct frame_src src;
	struct net_hdr h;
	uint32_t frame_len;
	uint8_t gso;
	bool need_seg, need_csum;

	if (c->read_bytes < hlen + ETH_HLEN) {
		st->drops[NET_DROP_MALFORMED]++;
		return 0;
	}
	frame_len = c->read_bytes - hlen;
	if (frame_len > NET_MAX_FRAME) {
		st->drops[NET_DROP_OVERSIZE]++;
		return 0;
	}
	/* Header and Ethernet header are copied out once; everything below
	 * decides on these copies. */
	if (c->nread == 1) {
		/* The common chain, one segment: two copies of constant size,
		 * no segment walk, and the rest of the frame is flat. The
		 * segment holds hlen + ETH_HLEN >= 24 bytes, so NET_HDR_MAX
		 * can be copied whatever hlen is (a 10-byte header's copy
		 * carries two frame bytes, unused). */
		const uint8_t *p = c->seg[0].hva;

		memcpy(hbuf, p, NET_HDR_MAX);
		memcpy(eth, p + hlen, ETH_HLEN);
		src.flat = p + hlen + ETH_HLEN;
	} else {
		src.flat = NULL;
		sg_init(&src.sg, c->seg, c->nread);
		sg_read(&src.sg, hbuf, hlen);
		sg_read(&src.sg, eth, ETH_HLEN);
	}
	/* eth, read once: checked here, and what the receiver gets. */
	src.eth = eth;
	src.eth_left = ETH_HLEN;
	if (!mac_ok(l, s, eth)) {
		st->drops[NET_DROP_SPOOFED]++;
		return 0;
	}

	/* A plain frame (flags and gso_type 0: no checksum to finish, no
	 * segment): nothing else in its header to decode or check, nothing
	 * to do in software. */
	if ((hbuf[0] | hbuf[1]) == 0) {
		if (!l->rx_ok) {
			st->drops[NET_DROP_PEER_DOWN]++;
			return 0;
		}
		return count_delivery(st, rx_deliver_plain(l, d, &src, frame_len),
				      frame_len);
	}

	/* 5.1.6.2: what a driver may put in a transmit header, given what
	 * it negotiated. */
	hdr_decode(hbuf, &h);
	gso = h.gso_type;
	if ((h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
	     gso != VIRTIO_NET_HDR_GSO_TCPV6) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV4 &&
	     !vu_has_feature(from, VIRTIO_NET_F_HOST_TSO4)) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 &&
	     !vu_has_feature(from, VIRTIO_NET_F_HOST_TSO6)) ||
	    (gso != VIRTIO_NET_HDR_GSO_NONE && h.gso_size == 0) ||
	    ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	     (!vu_has_feature(from, VIRTIO_NET_F_CSUM) ||
	      h.csum_start >= frame_len || frame_len - h.csum_start < 2u ||
	      h.csum_offset > frame_len - h.csum_start - 2u))) {
		st->drops[NET_DROP_MALFORMED]++;
		return 0;
	}
	if (!l->rx_ok) {
		st->drops[NET_DROP_PEER_DOWN]++;
		return 0;
	}

	need_seg = (gso == VIRTIO_NET_HDR_GSO_TCPV4 &&
		    !rx_has(l, d, VIRTIO_NET_F_GUEST_TSO4)) ||
		   (gso == VIRTIO_NET_HDR_GSO_TCPV6 &&
		    !rx_has(l, d, VIRTIO_NET_F_GUEST_TSO6));
	need_csum = (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    !rx_has(l, d, VIRTIO_NET_F_GUEST_CSUM);
	if (!need_seg && !need_csum) {
		/* The receiver takes the frame as it is: one copy. */
		int r = rx_deliver(l, d, &h, &src, frame_len);

		if (r == 0 && gso != VIRTIO_NET_HDR_GSO_NONE)
			st->gso_frames++;
		return count_delivery(st, r, frame_len);
	}

	/* A tap negotiated no offloads, so every frame with flags or GSO on
	 * its way to one comes here: refused before it is cut or summed
	 * (counted once, not per segment). */
	if (side_is_tap(l, d) && !tap_takes(eth)) {
		st->drops[NET_DROP_NOT_IPV4_ARP]++;
		return 0;
	}
	/* Finished in software: the frame is read once into the bounce
	 * buffer, where the guest cannot change it under us. */
	memcpy(l->bounce, eth, ETH_HLEN);
	if (src.flat)
		memcpy(l->bounce + ETH_HLEN, src.flat, frame_len - ETH_HLEN);
	else
		sg_read(&src.sg, l->bounce + ETH_HLEN, frame_len - ETH_HLEN);
	if (need_seg) {
		struct seg_ctx ctx = { .l = l, .d = d };
		int n = net_tso_segment(l->bounce, frame_len, h.gso_size,
					l->seg_buf, NET_MAX_FRAME,
					deliver_segment, &ctx, l->err,
					sizeof(l->err));

		if (ctx.first_result == -ENOSPC)
			return -ENOSPC;
		if (n < 0) {
			st->drops[NET_DROP_MALFORMED]++;
			return 0;
		}
		st->tso_segmented += ctx.delivered;
		st->drops[NET_DROP_NO_RX_BUFFER] += ctx.lost;
		if (ctx.delivered) {
			st->packets++;
			st->bytes += frame_len;
		}
		return 0;
	}
	if (net_csum_complete(l->bounce, frame_len, h.csum_start, h.csum_offset,
			      l->err, sizeof(l->err)) < 0) {
		st->drops[NET_DROP_MALFORMED]++;
		return 0;
	}
	struct net_hdr plain = { 0 };
	struct frame_src flat = { .flat = l->bounce };
	int r = count_delivery(st, rx_deliver(l, d, &plain, &flat, frame_len),
			       frame_len);

	if (r == 0)
		st->csum_completed++;
	return r;
}

/* Frames the host sent into side s's tap, to the other side: read one at a
 * time (a tap gives one frame per read), checked like a guest's (length,
 * source MAC), delivered with a plain header (the tap gives complete
 * checksums, no GSO: no offloads were turned on). */
static unsigned forward_from_tap(struct net_link *l, unsigned s,
				 unsigned budget)
{
	struct net_dir_stats *st = &l->stats[s];
	unsigned d = !s, handled = 0;

	l->blocked[s] = false;
	for (unsigned k = 0; k < budget * NET_BATCH; k++) {
		if (l->tap_len == 0) {
			ssize_t n = read(l->tap_fd[s], l->tap_buf, NET_MAX_FRAME);

			if (n < 0)
				break;  /* EAGAIN: nothing more now */
			handled++;
			if (n < ETH_HLEN) {
				st->drops[NET_DROP_MALFORMED]++;
				continue;
			}
			if (!mac_ok(l, s, l->tap_buf)) {
				st->drops[NET_DROP_SPOOFED]++;
				continue;
			}
			l->tap_len = (uint32_t)n;
		}
		if (!rx_ready(l, d)) {
			st->drops[NET_DROP_PEER_DOWN]++;
			l->tap_len = 0;
			continue;
		}
		struct net_hdr plain = { 0 };
		struct frame_src src = { .flat = l->tap_buf };
		int r = rx_deliver(l, d, &plain, &src, l->tap_len);

		if (r == -ENOSPC) {
			/* Kept in tap_buf until the receiver posts buffers. */
			l->blocked[s] = true;
			break;
		}
		count_delivery(st, r, l->tap_len);
		l->tap_len = 0;
	}
	rx_flush(l, d);
	rx_give_back(l, d);
	return handled;
}

/* The receiver's pair is not ready: the (pair mod m)-th of its m ready
 * ones, in index order (a front end may enable them in any order); pair
 * itself when none is (the frames are then dropped as peer_down). Out of
 * the common path. */
static __attribute__((noinline)) unsigned
rx_pair_other(const struct net_link *l, unsigned d, unsigned pair)
{
	unsigned ready[NET_MAX_PAIRS], n = 0;

	for (unsigned p = 0; p < l->pairs; p++)
		if (vu_queue_ready(&l->side[d], net_rxq(p)))
			ready[n++] = p;
	return n ? ready[pair % n] : pair;
}

unsigned net_link_rx_pair(const struct net_link *l, unsigned d, unsigned pair)
{
	/* A tap is one queue; so is a side with one pair. */
	if (side_is_tap(l, d) || vu_queue_ready(&l->side[d], net_rxq(pair)))
		return pair;
	return rx_pair_other(l, d, pair);
}

unsigned net_link_forward(struct net_link *l, unsigned s, unsigned pair,
			  unsigned budget)
{
	struct vu_dev *from = &l->side[s];
	/* Only the queue's address lives across the frame loop: its index
	 * (for a call, a break, the count) is found from it where needed.
	 * One more live value there cost about 4 instructions per frame
	 * (callgrind: 250.7 against 246.4). */
	struct vu_queue *txq = &from->q[net_txq(pair)];
	unsigned handled = 0;

	if (pair >= l->pairs)
		return 0;
	/* Features and queue states change only between calls (the event
	 * loop handles the messages): the header lengths and the receive
	 * queue once per call, not per frame. */
	l->hdr_len[0] = net_hdr_len(&l->side[0]);
	l->hdr_len[1] = net_hdr_len(&l->side[1]);
	l->rxq = net_rxq(net_link_rx_pair(l, !s, pair));
	if (side_is_tap(l, s))
		return forward_from_tap(l, s, budget);
	l->rx_ok = rx_ready(l, !s);
	l->blocked[s] = false;
	while (budget-- > 0 && vu_queue_ready_q(from, txq)) {
		int n = virtq_pop_batch(&txq->vq, &from->mem, l->tx, NET_BATCH);
		int i;

		if (n < 0 || virtq_broken(&txq->vq))
			vu_queue_broken(from, (unsigned)(txq - from->q));
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (tx_one(l, s, &l->tx[i]) == -ENOSPC) {
				unsigned slots = 0;

				for (int k = i; k < n; k++)
					slots += l->tx[k].token.ring_slots;
				virtq_unpop(&txq->vq, (unsigned)(n - i), slots);
				l->blocked[s] = true;
				break;
			}
			l->tx_done[i].token = l->tx[i].token;
			l->tx_done[i].len = 0;
		}
		virtq_push_batch(&txq->vq, l->tx_done, (unsigned)i);
		if (virtq_publish(&txq->vq))
			vu_queue_call(from, (unsigned)(txq - from->q));
		rx_flush(l, !s);
		rx_give_back(l, !s);
		handled += (unsigned)i;
		if (l->blocked[s] || n < NET_BATCH)
			break;
	}
	/* Per queue, once per call: which pairs carry what (the status). */
	l->queue_used[s][txq - from->q] += handled;
	return handled;
}
