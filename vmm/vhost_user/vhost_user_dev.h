/* A vhost-user back end for one front end (one side of a link): the
 * protocol state (features, memory table, vrings) and a handler per
 * request. It has no event loop: the owner watches the socket and the
 * kick descriptors and is told (ops->queue_changed) when a queue's state
 * or descriptors change. A message that breaks a rule gets an error reply
 * where the front end waits for one, its descriptors closed, and a
 * message in dev->last_error; only a broken stream (bad framing) ends the
 * connection. */
#ifndef BULKHEAD_VHOST_USER_DEV_H
#define BULKHEAD_VHOST_USER_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "vhost_user_proto.h"
#include "virtq.h"

/* One queue pair: virtio-net's receiveq (0, the device writes) and
 * transmitq (1, the device reads). GET_QUEUE_NUM says 1; a front end
 * asking for more pairs is refused at start-up by its own check, and a
 * message naming a vring index >= 2 is refused here. */
#define VU_NUM_QUEUES 2
#define VU_RXQ 0
#define VU_TXQ 1

struct vu_queue {
	uint16_t num;        /* SET_VRING_NUM; 0 until set */
	uint32_t base;       /* SET_VRING_BASE, raw */
	bool addr_set;
	struct vu_vring_addr addr;
	int kick_fd;         /* -1: none */
	int call_fd;         /* -1: none (the front end polls) */
	int err_fd;          /* -1: none */
	bool enabled;        /* SET_VRING_ENABLE */
	bool started;        /* kick received, not stopped by GET_VRING_BASE */
	struct virtq vq;     /* the ring itself, set up when started */
};

struct vu_dev;

struct vu_dev_ops {
	/* Queue qidx started, stopped, was enabled or disabled, got a new
	 * kick descriptor, or broke: the owner re-reads its state. */
	void (*queue_changed)(void *opaque, struct vu_dev *dev, unsigned qidx);
};

struct vu_dev {
	const char *name;              /* for messages: "a", "b" */
	int sock;                      /* -1 when not connected */
	uint64_t offered_features;
	uint64_t features;             /* acked by SET_FEATURES */
	uint64_t protocol_features;    /* acked by SET_PROTOCOL_FEATURES */
	bool features_set;
	uint16_t mtu;                  /* NET_SET_MTU; 0: not set */
	uint32_t tx_max_chain_bytes;   /* byte cap for chains on queue 1 */
	struct guest_mem mem;
	struct {
		void *addr;
		size_t len;
	} maps[GUEST_MEM_MAX_REGIONS];  /* parallel to mem.regions */
	struct vu_queue q[VU_NUM_QUEUES];
	const struct vu_dev_ops *ops;
	void *opaque;
	char last_error[256];
	uint64_t protocol_errors;
};

/* The features a virtio-net back end of Bulkhead offers. */
uint64_t vu_net_offered_features(void);
uint64_t vu_offered_protocol_features(void);

void vu_dev_init(struct vu_dev *dev, const char *name, uint64_t features,
		 const struct vu_dev_ops *ops, void *opaque);

/* Takes a connected socket (the owner accepted it). */
void vu_dev_attach(struct vu_dev *dev, int sock);

/* Drops the connection and everything it set up: descriptors closed,
 * memory unmapped, queues reset. The owner is told about each queue. */
void vu_dev_detach(struct vu_dev *dev);

/* Reads and handles one message. Returns 0, or a negative errno when the
 * connection must end (peer closed, stream broken): the caller then calls
 * vu_dev_detach. */
int vu_dev_handle_socket(struct vu_dev *dev);

/* Handles one message already read (used by the socket path and by the
 * fuzzer). Takes ownership of msg's descriptors. Returns 0 when handled
 * (even if refused with an error reply), negative when the connection
 * must end. */
int vu_dev_handle_msg(struct vu_dev *dev, struct vu_msg *msg);

/* A queue ready to move data: started, enabled, ring healthy. */
static inline bool vu_queue_ready(const struct vu_dev *dev, unsigned qidx)
{
	const struct vu_queue *q = &dev->q[qidx];

	return dev->sock >= 0 && q->started && q->enabled && !q->vq.err;
}

static inline bool vu_has_feature(const struct vu_dev *dev, unsigned bit)
{
	return (dev->features >> bit) & 1;
}

/* Signals the driver that used buffers are there (eventfd write). */
void vu_queue_call(struct vu_dev *dev, unsigned qidx);

/* Reports a queue the ring code found broken: logs once, signals the
 * front end's error descriptor, tells the owner. */
void vu_queue_broken(struct vu_dev *dev, unsigned qidx);

#endif
