/* The link's data path: frames one side transmits are copied, once, from
 * its guest memory into the other side's receive buffers. The host reads
 * no more than the virtio-net header and the Ethernet source address;
 * offloads the receiver did not negotiate are finished in software. */
#ifndef BULKHEAD_NET_LINK_H
#define BULKHEAD_NET_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "net_vu.h"
#include "vhost_user_dev.h"

enum net_drop {
	NET_DROP_SPOOFED,       /* source MAC is not the side's own */
	NET_DROP_MALFORMED,     /* runt, bad header, offload not negotiated */
	NET_DROP_OVERSIZE,      /* frame longer than 64 KiB + headers */
	NET_DROP_PEER_DOWN,     /* receiver not connected or its queue down */
	NET_DROP_RX_TOO_SMALL,  /* receiver's buffers cannot hold the frame */
	NET_DROP_NO_RX_BUFFER,  /* receiver ran out mid-way through segments */
	NET_DROP_NOT_IPV4_ARP,  /* toward a tap: neither IPv4 nor ARP */
	NET_DROP_MAX,
};

const char *net_drop_name(enum net_drop reason);

/* Counters for the frames one side sends. */
struct net_dir_stats {
	uint64_t packets;        /* frames delivered */
	uint64_t bytes;          /* their Ethernet bytes */
	uint64_t gso_frames;     /* delivered whole as one TSO segment */
	uint64_t tso_segmented;  /* cut in software for the receiver */
	uint64_t csum_completed; /* checksummed in software */
	uint64_t drops[NET_DROP_MAX];
};

/* The largest frame a link carries: a 64 KiB IP packet, its Ethernet
 * header (14 bytes) and one VLAN tag (4). */
#define NET_MAX_FRAME (65535 + 14 + 4)

#define NET_BATCH 32
/* Receive buffers one frame may take (a 64 KiB segment in 1.5 KiB
 * mergeable buffers needs 45). */
#define NET_RX_PER_FRAME 64
/* Room for one frame's buffers plus a batch taken ahead. */
#define NET_RX_CACHE (NET_RX_PER_FRAME + NET_BATCH)

struct net_link {
	struct vu_dev side[2];
	/* Queue pairs each side has (net_link_set_pairs; 1 by default). */
	unsigned pairs;
	/* A side that is the host's tap (a host port) instead of a
	 * vhost-user front end: its descriptor, else -1. */
	int tap_fd[2];
	/* A frame read from the tap that waits for the other side's
	 * receive buffers (tap_len bytes; 0: none). */
	uint8_t *tap_buf;
	uint32_t tap_len;
	bool mac_set[2];
	uint8_t mac[2][6];
	struct net_dir_stats stats[2];  /* indexed by sending side */
	/* Per side and vring: entries returned used, counted per batch:
	 * transmit chains taken, receive buffers filled (a frame in
	 * mergeable buffers fills several; a host port's tap: none). */
	uint64_t queue_used[2][2 * NET_MAX_PAIRS];
	/* Each side's virtio-net header length, for the running forward. */
	uint32_t hdr_len[2];
	/* Side s's frames wait for receive buffers on the other side (as
	 * the last forward of side s found them). */
	bool blocked[2];
	/* The receiving side's receive vring of the running (or last)
	 * forward: the one pair the sender's frames go to (net_link_forward). */
	unsigned rxq;
	/* The running forward's receiver is ready (connected, its receive
	 * queue started, enabled, not broken): decided once per call, and
	 * cleared when its queue breaks during the call. */
	bool rx_ok;
	struct virtq_chain *tx;          /* NET_BATCH */
	/* Receive chains taken from the receiver in batches and not yet
	 * used: rx[rx_first .. rx_first + rx_cached). Given back
	 * (virtq_unpop, their ring slots summed then) at the end of every
	 * forward. */
	struct virtq_chain *rx;          /* NET_RX_CACHE */
	unsigned rx_first, rx_cached;
	struct virtq_done tx_done[NET_BATCH];
	struct virtq_done rx_done[2 * NET_RX_PER_FRAME];
	unsigned rx_ndone;
	uint8_t *bounce;                 /* one whole frame */
	uint8_t *seg_buf;                /* one software segment */
	char err[200];
};

/* Allocates the buffers and sets both sides up. Returns 0 or -ENOMEM. */
int net_link_init(struct net_link *l, const struct vu_dev_ops *ops,
		  void *opaque);
void net_link_destroy(struct net_link *l);

/* Both sides serve pairs queue pairs (1..NET_MAX_PAIRS), before either
 * connects. Returns 0 or -EINVAL. */
int net_link_set_pairs(struct net_link *l, unsigned pairs);

/* Moves up to budget batches of frames sent by side s on its queue pair
 * `pair` to the other side, into one of its receive queues: the same
 * pair when it is ready, else the (pair mod m)-th of its m ready pairs
 * (a receiver that enabled fewer pairs, or others, still gets every
 * frame; l->rxq says which was used). Returns the frames taken. Sets
 * blocked[s] when the receiver has no room (nothing is lost: the frames
 * stay in the sender's ring). */
unsigned net_link_forward(struct net_link *l, unsigned s, unsigned pair,
			  unsigned budget);

/* The receive pair of side d that frames side !d sends on its pair
 * `pair` go to (as net_link_forward chooses it). */
unsigned net_link_rx_pair(const struct net_link *l, unsigned d, unsigned pair);

/* Makes side s the host's tap: fd is a non-blocking tap (IFF_TAP |
 * IFF_NO_PI, no virtio-net header, no offloads), owned by the link from
 * now on. Frames the other side sends are finished in software (what a
 * receiver without offloads gets) and written to it; frames read from it
 * go to the other side. Returns 0 or -ENOMEM. */
int net_link_set_tap(struct net_link *l, unsigned s, int fd);

/* Virtio-net header length for this side's negotiated features. */
unsigned net_hdr_len(const struct vu_dev *dev);

#endif
