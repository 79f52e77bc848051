/* virtio-net as a vhost-user device kind: its queues, the features and
 * protocol features it offers, its limits and its own request. */
#ifndef BULKHEAD_NET_VU_H
#define BULKHEAD_NET_VU_H

#include "vhost_user_dev.h"

/* One queue pair: virtio-net's receiveq (0, the device writes) and
 * transmitq (1, the device reads). GET_QUEUE_NUM says 1; a front end
 * asking for more pairs is refused at start-up by its own check, and a
 * message naming a vring index >= 2 is refused. */
#define NET_NUM_QUEUES 2
#define NET_RXQ 0
#define NET_TXQ 1

extern const struct vu_dev_kind net_vu_kind;

#endif
