#include "net_vu.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost_user_proto.h"

#define BIT(n) (1ull << (n))

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
	.num_queues = NET_NUM_QUEUES,
	.queues_note = "one pair",
	.queue_num = NET_NUM_QUEUES / 2,   /* GET_QUEUE_NUM counts pairs */
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
	.max_chain_bytes = { [NET_TXQ] = 128 * 1024 },
	.request = net_vu_request,
};
