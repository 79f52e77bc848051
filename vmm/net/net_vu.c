#include "net_vu.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost_user_proto.h"

#define BIT(n) (1ull << (n))

_Static_assert(2 * NET_MAX_PAIRS <= VU_MAX_QUEUES, "pairs beyond VU_MAX_QUEUES");

int net_vu_set_pairs(struct vu_dev *dev, unsigned pairs)
{
	if (pairs == 0 || pairs > NET_MAX_PAIRS)
		return -EINVAL;
	if (vu_dev_set_queues(dev, 2 * pairs, pairs) < 0)
		return -EINVAL;
	/* 5.1.3: VIRTIO_NET_F_MQ, the device has more than one pair. With
	 * one the link offers what it always did. */
	if (pairs > 1)
		dev->offered_features |= BIT(VIRTIO_NET_F_MQ);
	else
		dev->offered_features &= ~BIT(VIRTIO_NET_F_MQ);
	return 0;
}

/* NET_SET_MTU, the one request of net's own. */
static int net_vu_request(struct vu_dev *dev, const struct vu_msg *msg)
{
	uint64_t mtu = msg->payload.u64;

	if (msg->hdr.request != VU_NET_SET_MTU)
		return -EOPNOTSUPP;
	/* 68: the IPv4 minimum (RFC 791); 65535: virtio-net's mtu field is
	 * 16 bits. */
	if (mtu < 68 || mtu > 65535)
		return vu_refuse(dev, -EINVAL,
				 "NET_SET_MTU %" PRIu64 " not in 68..65535", mtu);
	dev->mtu = (uint16_t)mtu;
	return 0;
}

const struct vu_dev_kind net_vu_kind = {
	.name = "virtio-net",
	/* One pair unless the link says more (net_vu_set_pairs). */
	.num_queues = 2,
	.max_queues = 2 * NET_MAX_PAIRS,
	.queues_note = "2 per queue pair",
	.queue_num = 1,   /* GET_QUEUE_NUM counts pairs */
	.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ANY_LAYOUT) |
		    BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		    BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_F_RING_PACKED) |
		    /* The link takes and returns chains in ring order;
		     * a transmit batch then goes back in one used entry. */
		    BIT(VIRTIO_F_IN_ORDER) |
		    BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CSUM) |
		    BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
		    BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
		    BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_MTU) |
		    BIT(VU_F_PROTOCOL_FEATURES),
	.protocol_features = BIT(VU_PROTOCOL_F_MQ) | BIT(VU_PROTOCOL_F_REPLY_ACK) |
			     BIT(VU_PROTOCOL_F_MTU) |
			     BIT(VU_PROTOCOL_F_RESET_DEVICE) |
			     BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS),
	/* A 64 KiB TSO frame with its header fits; a guest claiming more in
	 * one transmit chain is broken or hostile. Receive chains are the
	 * device's to fill: no cap. */
	.max_chain_bytes = { [1] = 128 * 1024, [3] = 128 * 1024,
			     [5] = 128 * 1024, [7] = 128 * 1024,
			     [9] = 128 * 1024, [11] = 128 * 1024,
			     [13] = 128 * 1024, [15] = 128 * 1024 },
	.request = net_vu_request,
};
