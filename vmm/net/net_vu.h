/* virtio-net as a vhost-user device kind: its queues, the features and
 * protocol features it offers, its limits and its own request. */
#ifndef BULKHEAD_NET_VU_H
#define BULKHEAD_NET_VU_H

#include "vhost_user_dev.h"

/* Queue pairs: pair i is virtio-net's receiveq i (vring 2i, the device
 * writes) and transmitq i (vring 2i + 1, the device reads). A link
 * serves 1..NET_MAX_PAIRS of them (bulkhead-link --queues): GET_QUEUE_NUM
 * says how many, VIRTIO_NET_F_MQ is offered when more than one, and a
 * message naming a vring past them is refused. No control queue: with
 * vhost-user the front end (QEMU, DPDK's virtio_user) keeps it and says
 * which pairs the driver uses with SET_VRING_ENABLE. 8: QEMU's and the
 * Linux driver's pairs follow vCPUs, and the topology's VMs have few. */
#define NET_MAX_PAIRS 8
#define NET_RXQ 0
#define NET_TXQ 1

static inline unsigned net_rxq(unsigned pair)
{
	return 2 * pair + NET_RXQ;
}

static inline unsigned net_txq(unsigned pair)
{
	return 2 * pair + NET_TXQ;
}

/* Makes dev (of net_vu_kind, not connected) serve pairs queue pairs.
 * Returns 0 or -EINVAL when pairs is not in 1..NET_MAX_PAIRS. */
int net_vu_set_pairs(struct vu_dev *dev, unsigned pairs);

extern const struct vu_dev_kind net_vu_kind;

#endif
