/* A vhost-user back end for one front end (one side of a link), of any
 * device kind (struct vu_dev_kind): the protocol state (features, memory
 * table, vrings) and a handler per request. It has no event loop: the owner watches the socket and the
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
#include <sys/types.h>

#include "guest_mem.h"
#include "vhost_user_proto.h"
#include "virtq.h"

/* Vrings one back end can hold: as many as the largest kind asks for
 * (net: 8 queue pairs, NET_MAX_PAIRS). A compile-time bound keeps the
 * queues inside struct vu_dev: no allocation, and the data path reaches
 * a queue at a fixed offset. */
#define VU_MAX_QUEUES 16

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

/* What makes a back end a device of one kind (net, blk): one static const
 * table per kind (vmm/net/net_vu.c), so this layer names no device. Any
 * hook may be NULL. */
struct vu_dev_kind {
	const char *name;             /* for messages: "virtio-net" */
	unsigned num_queues;          /* vrings, 1..VU_MAX_QUEUES; an index
				       * beyond is refused */
	unsigned max_queues;          /* the most vu_dev_set_queues may set
				       * (net: 2 x NET_MAX_PAIRS); 0: as
				       * num_queues */
	const char *queues_note;      /* said with such an index ("one
				       * request queue"), or NULL */
	uint64_t queue_num;           /* GET_QUEUE_NUM's answer (net counts
				       * queue pairs) */
	uint64_t features;            /* virtio and vhost-user bits offered */
	uint64_t protocol_features;   /* protocol bits offered */
	/* Per queue, the bytes the driver may offer in one chain the
	 * device reads (virtq_config.max_chain_bytes); 0: the ring's own
	 * limits only. */
	uint32_t max_chain_bytes[VU_MAX_QUEUES];
	/* A request of the device's own (net: NET_SET_MTU), its shape
	 * already checked. Returns 0, or a negative errno from vu_refuse;
	 * NULL or -EOPNOTSUPP: refused as not handled. */
	int (*request)(struct vu_dev *dev, const struct vu_msg *msg);
	/* GET_CONFIG: bytes [offset, offset + len) of the device's config
	 * space into buf (len <= VU_CONFIG_MAX, the range checked). NULL:
	 * GET_CONFIG is refused as not supported. Returns 0 or -errno. */
	int (*get_config)(struct vu_dev *dev, uint32_t offset, uint8_t *buf,
			  uint32_t len);
	/* SET_CONFIG: the driver writes them (flags: VU_CONFIG_*). NULL:
	 * refused as not supported. Returns 0 or -errno. */
	int (*set_config)(struct vu_dev *dev, uint32_t offset,
			  const uint8_t *buf, uint32_t len, uint32_t flags);
	/* The device's own state back to a fresh connection's. */
	void (*reset)(struct vu_dev *dev);
};

/* The owner's side: the event loop that watches the socket and kicks. */
struct vu_dev_ops {
	/* Queue qidx started, stopped, was enabled or disabled, got a new
	 * kick descriptor, or broke: the owner re-reads its state. */
	void (*queue_changed)(void *opaque, struct vu_dev *dev, unsigned qidx);
};

/* Lines one side may put in the log per second (vu_log): a front end
 * that sends nothing but refused messages fills no disk (issue 19 saw
 * 46 MB/s into /run). The counters (protocol_errors, last_error in the
 * status) still see every one. */
#define VU_LOG_PER_SEC 20

struct vu_log_limit {
	int64_t second;       /* CLOCK_MONOTONIC second of the count */
	unsigned lines;       /* logged in it */
	uint64_t dropped;     /* not logged since the last line said so */
};

/* What one side may make the worker wait, in all, for the rest of its
 * messages, per second (and per message: its deadline, vu_msg_read).
 * Front ends send a message in one sendmsg, so it is all there by the
 * time its first byte is: they never wait. One that stops half-way, or
 * dribbles a byte at a time, would hold the worker and the other side
 * (one thread serves both); reconnecting after each cut message it still
 * gets no more than this. */
#define VU_WAIT_PER_SEC_MS 50

struct vu_wait_budget {
	int64_t second;       /* CLOCK_MONOTONIC second of the sum */
	int64_t waited_us;    /* waited in it */
	uint64_t total_us;    /* waited since the back end was made */
};

struct vu_dev {
	const char *name;              /* for messages: "a", "b" */
	const struct vu_dev_kind *kind;
	int sock;                      /* -1 when not connected */
	uint64_t offered_features;     /* kind->features */
	uint64_t features;             /* acked by SET_FEATURES */
	uint64_t protocol_features;    /* acked by SET_PROTOCOL_FEATURES */
	bool features_set;
	/* NET_SET_MTU, a vhost-user request of its own that the net kind
	 * takes; 0: not set (and never set for other kinds). */
	uint16_t mtu;
	struct guest_mem mem;
	/* Counts the times mappings went away (a new table, a region
	 * removed, a reset): a device that holds host addresses of guest
	 * buffers across messages (blk's requests at its server) compares
	 * it before using them. */
	uint64_t mem_gen;
	struct {
		void *addr;
		size_t len;
		/* ADD_MEM_REGs of this very region not yet removed: QEMU
		 * sends each region once per queue pair's vhost device. */
		unsigned refs;
		/* The file it maps: an ADD_MEM_REG of the same addresses over
		 * another file is not "the same region". */
		dev_t file_dev;
		ino_t file_ino;
	} maps[GUEST_MEM_MAX_REGIONS];  /* parallel to mem.regions */
	/* Vrings in use: kind->num_queues, or fewer (vu_dev_set_queues);
	 * an index at or past it is refused. queue_num: GET_QUEUE_NUM's
	 * answer (net: nqueues / 2 pairs). */
	unsigned nqueues;
	uint64_t queue_num;
	struct vu_queue q[VU_MAX_QUEUES];  /* nqueues in use */
	const struct vu_dev_ops *ops;
	void *opaque;
	char last_error[256];
	uint64_t protocol_errors;
	/* Kept across connections: reconnecting buys no more lines, and no
	 * more waiting. */
	struct vu_log_limit log;
	struct vu_wait_budget wait;
};

/* A back end of this kind (kind outlives it), not connected. */
void vu_dev_init(struct vu_dev *dev, const char *name,
		 const struct vu_dev_kind *kind, const struct vu_dev_ops *ops,
		 void *opaque);

/* Uses nqueues vrings (1..kind->max_queues) and answers GET_QUEUE_NUM
 * with queue_num, instead of the kind's. Before any connection. Returns
 * 0, or -EINVAL (nothing changed) when nqueues is out of range. */
int vu_dev_set_queues(struct vu_dev *dev, unsigned nqueues,
		      uint64_t queue_num);

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

/* Queue q of dev ready to move data: connected, started, enabled, ring
 * healthy. */
static inline bool vu_queue_ready_q(const struct vu_dev *dev,
				    const struct vu_queue *q)
{
	return dev->sock >= 0 && q->started && q->enabled && !q->vq.err;
}

static inline bool vu_queue_ready(const struct vu_dev *dev, unsigned qidx)
{
	return vu_queue_ready_q(dev, &dev->q[qidx]);
}

static inline bool vu_has_feature(const struct vu_dev *dev, unsigned bit)
{
	return (dev->features >> bit) & 1;
}

/* Signals the driver that used buffers are there (eventfd write). */
void vu_queue_call(struct vu_dev *dev, unsigned qidx);

/* Logs one line about this side ("side NAME: ..."), at most
 * VU_LOG_PER_SEC a second; the first line after a second that dropped
 * some says how many. */
void vu_log(struct vu_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records a refused request: the reason goes to dev->last_error and the
 * log (vu_log), protocol_errors counts it. Returns err. For kinds' hooks
 * too. */
int vu_refuse(struct vu_dev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports a queue the ring code found broken: logs once, signals the
 * front end's error descriptor, tells the owner. */
void vu_queue_broken(struct vu_dev *dev, unsigned qidx);

#endif
