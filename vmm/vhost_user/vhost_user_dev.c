#include "vhost_user_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user_mem.h"
#include "vhost_user_msg.h"

#define BIT(n) (1ull << (n))

static void queue_reset(struct vu_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = q->err_fd = -1;
}

void vu_dev_init(struct vu_dev *dev, const char *name,
		 const struct vu_dev_kind *kind, const struct vu_dev_ops *ops,
		 void *opaque)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->kind = kind;
	dev->sock = -1;
	dev->offered_features = kind->features;
	dev->nqueues = kind->num_queues;
	dev->queue_num = kind->queue_num;
	dev->ops = ops;
	dev->opaque = opaque;
	guest_mem_init(&dev->mem);
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		queue_reset(&dev->q[i]);
}

int vu_dev_set_queues(struct vu_dev *dev, unsigned nqueues,
		      uint64_t queue_num)
{
	unsigned max = dev->kind->max_queues ? dev->kind->max_queues
					     : dev->kind->num_queues;

	if (nqueues == 0 || nqueues > max || max > VU_MAX_QUEUES)
		return -EINVAL;
	dev->nqueues = nqueues;
	dev->queue_num = queue_num;
	return 0;
}

static void notify_owner(struct vu_dev *dev, unsigned qidx)
{
	if (dev->ops && dev->ops->queue_changed)
		dev->ops->queue_changed(dev->opaque, dev, qidx);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vu_log(struct vu_dev *dev, const char *fmt, ...)
{
	struct vu_log_limit *lim = &dev->log;
	struct timespec now;
	char line[320];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != lim->second) {
		if (lim->dropped)
			bh_log("side %s: %" PRIu64 " lines not logged (more than "
			       "%d a second)", dev->name, lim->dropped,
			       VU_LOG_PER_SEC);
		lim->second = now.tv_sec;
		lim->lines = 0;
		lim->dropped = 0;
	}
	if (lim->lines >= VU_LOG_PER_SEC) {
		lim->dropped++;
		return;
	}
	lim->lines++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bh_log("side %s: %s", dev->name, line);
}

int vu_refuse(struct vu_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->last_error, sizeof(dev->last_error), fmt, ap);
	va_end(ap);
	dev->protocol_errors++;
	vu_log(dev, "%s", dev->last_error);
	return err;
}

static void queue_stop(struct vu_dev *dev, unsigned qidx)
{
	struct vu_queue *q = &dev->q[qidx];

	if (q->started)
		q->base = virtq_base(&q->vq);
	q->started = false;
	notify_owner(dev, qidx);
}

static void queue_clear(struct vu_dev *dev, unsigned qidx)
{
	struct vu_queue *q = &dev->q[qidx];

	close_fd(&q->kick_fd);
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	queue_reset(q);
	notify_owner(dev, qidx);
}

/* Back to the state of a fresh connection, socket kept. */
static void dev_reset(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++)
		queue_clear(dev, i);
	vu_mem_clear(dev);
	dev->features = 0;
	dev->protocol_features = 0;
	dev->features_set = false;
	dev->mtu = 0;
	if (dev->kind->reset)
		dev->kind->reset(dev);
}

void vu_dev_attach(struct vu_dev *dev, int sock)
{
	dev->sock = sock;
	dev->last_error[0] = '\0';
}

void vu_dev_detach(struct vu_dev *dev)
{
	close_fd(&dev->sock);
	dev_reset(dev);
}

void vu_queue_call(struct vu_dev *dev, unsigned qidx)
{
	uint64_t one = 1;

	if (dev->q[qidx].call_fd >= 0 &&
	    write(dev->q[qidx].call_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		vu_log(dev, "queue %u: call: %s", qidx, strerror(errno));
}

void vu_queue_broken(struct vu_dev *dev, unsigned qidx)
{
	struct vu_queue *q = &dev->q[qidx];
	uint64_t one = 1;

	vu_log(dev, "queue %u broken: %s", qidx, q->vq.reason);
	if (q->err_fd >= 0 && write(q->err_fd, &one, sizeof(one)) < 0)
		vu_log(dev, "queue %u: err fd: %s", qidx, strerror(errno));
	notify_owner(dev, qidx);
}

/* Sets up the ring from what SET_VRING_NUM/ADDR/BASE said, against the
 * current memory table. A bad ring leaves the queue started but broken,
 * with the reason in q->vq.reason (status shows it). */
static void queue_start(struct vu_dev *dev, unsigned qidx)
{
	struct vu_queue *q = &dev->q[qidx];
	bool packed = vu_has_feature(dev, VIRTIO_F_RING_PACKED);
	struct virtq_config cfg = {
		.size = q->num,
		.packed = packed,
		.event_idx = vu_has_feature(dev, VIRTIO_RING_F_EVENT_IDX),
		.indirect = vu_has_feature(dev, VIRTIO_RING_F_INDIRECT_DESC),
		.in_order = vu_has_feature(dev, VIRTIO_F_IN_ORDER),
		.max_chain_bytes = dev->kind->max_chain_bytes[qidx],
		.addr_space = VIRTQ_ADDR_UVA,
		.desc_addr = q->addr.desc_uva,
		.driver_addr = q->addr.avail_uva,
		.device_addr = q->addr.used_uva,
		/* Packed: avail position and wrap in the low 16 bits (the
		 * used half is the same: nothing is in flight here). */
		.base = (uint16_t)q->base,
	};

	q->started = true;
	if (!q->addr_set) {
		memset(&q->vq, 0, sizeof(q->vq));
		q->vq.err = -EINVAL;
		snprintf(q->vq.reason, sizeof(q->vq.reason),
			 "kick before SET_VRING_ADDR");
	} else if (virtq_init(&q->vq, &dev->mem, &cfg) == 0) {
		notify_owner(dev, qidx);
		return;
	}
	vu_queue_broken(dev, qidx);
}

/* After the memory table changed, started rings are set up again at the
 * position they had: their host addresses may have moved. */
static void queues_remap(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++) {
		struct vu_queue *q = &dev->q[i];

		if (!q->started)
			continue;
		if (!q->vq.err)
			q->base = virtq_base(&q->vq);
		queue_start(dev, i);
	}
}

static int check_index(struct vu_dev *dev, const struct vu_msg *msg,
		       uint32_t index)
{
	const struct vu_dev_kind *k = dev->kind;

	/* The one check of a vring index, for every request that names
	 * one: against the vrings in use (net: 2 x the pairs GET_QUEUE_NUM
	 * says), so a front end that asks past them reaches no queue. */
	if (index >= dev->nqueues)
		return vu_refuse(dev, -EINVAL,
				 "%s: vring index %u out of range (%u queues%s%s)",
				 vu_request_name(msg->hdr.request), index,
				 dev->nqueues, k->queues_note ? ": " : "",
				 k->queues_note ? k->queues_note : "");
	return 0;
}

/* Takes a kick/call/err descriptor from the message into *slot. It is
 * made non-blocking: whatever the front end passed (a full pipe, an
 * eventfd at its maximum), writing or reading it must never stall the
 * link. */
static void take_fd(struct vu_msg *msg, int *slot)
{
	close_fd(slot);
	if (msg->nfds == 1) {
		int flags = fcntl(msg->fds[0], F_GETFL);

		if (flags >= 0)
			fcntl(msg->fds[0], F_SETFL, flags | O_NONBLOCK);
		*slot = msg->fds[0];
		msg->fds[0] = -1;
	}
}

/* Handles a checked message. *reply / *reply_size: a GET_* answer. */
static int dispatch(struct vu_dev *dev, struct vu_msg *msg,
		    union vu_payload *reply, uint32_t *reply_size)
{
	const union vu_payload *p = &msg->payload;
	uint32_t index = 0;
	int ret;

	switch (msg->hdr.request) {
	case VU_GET_FEATURES:
		reply->u64 = dev->offered_features;
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_SET_FEATURES:
		if (p->u64 & ~dev->offered_features)
			return vu_refuse(dev, -EINVAL,
					 "SET_FEATURES 0x%" PRIx64 " has bits 0x%" PRIx64
					 " never offered", p->u64,
					 p->u64 & ~dev->offered_features);
		dev->features = p->u64;
		dev->features_set = true;
		/* Without PROTOCOL_FEATURES a ring runs as soon as it has
		 * a kick; with it, only after SET_VRING_ENABLE. */
		if (!vu_has_feature(dev, VU_F_PROTOCOL_FEATURES))
			for (unsigned i = 0; i < dev->nqueues; i++)
				dev->q[i].enabled = true;
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		reply->u64 = dev->kind->protocol_features;
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_SET_PROTOCOL_FEATURES:
		if (p->u64 & ~dev->kind->protocol_features)
			return vu_refuse(dev, -EINVAL,
					 "SET_PROTOCOL_FEATURES 0x%" PRIx64
					 " has bits never offered", p->u64);
		dev->protocol_features = p->u64;
		return 0;
	case VU_SET_OWNER:
		return 0;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		dev_reset(dev);
		return 0;
	case VU_GET_QUEUE_NUM:
		reply->u64 = dev->queue_num;
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_GET_MAX_MEM_SLOTS:
		reply->u64 = GUEST_MEM_MAX_REGIONS;
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_SET_MEM_TABLE:
		/* Started rings follow the new table, or break without one. */
		ret = vu_mem_set_table(dev, &p->mem, msg->fds);
		queues_remap(dev);
		return ret;
	case VU_ADD_MEM_REG:
		ret = vu_mem_add(dev, &p->mem_one.region, msg->fds[0]);
		queues_remap(dev);
		return ret;
	case VU_REM_MEM_REG:
		ret = vu_mem_remove(dev, &p->mem_one.region);
		if (ret == 0)
			queues_remap(dev);
		return ret;
	case VU_GET_CONFIG:
		/* vu_msg_check let it through only for a kind with the
		 * hook, with offset + size inside VU_CONFIG_MAX. */
		reply->config = (struct vu_config){
			.offset = p->config.offset,
			.size = p->config.size,
			.flags = p->config.flags,
		};
		ret = dev->kind->get_config(dev, p->config.offset,
					    reply->config.region, p->config.size);
		if (ret < 0)
			return ret;
		*reply_size = VU_CONFIG_HDR + p->config.size;
		return 0;
	case VU_SET_CONFIG:
		return dev->kind->set_config(dev, p->config.offset,
					     p->config.region, p->config.size,
					     p->config.flags);
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		index = (uint32_t)(p->u64 & VU_VRING_IDX_MASK);
		break;
	case VU_SET_VRING_ADDR:
		index = p->addr.index;
		break;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		index = p->state.index;
		break;
	default:
		/* The kind's own requests (net: NET_SET_MTU). */
		ret = dev->kind->request ? dev->kind->request(dev, msg)
					 : -EOPNOTSUPP;
		if (ret == -EOPNOTSUPP)
			return vu_refuse(dev, ret, "%s not handled",
					 vu_request_name(msg->hdr.request));
		return ret;
	}

	ret = check_index(dev, msg, index);
	if (ret < 0)
		return ret;
	struct vu_queue *q = &dev->q[index];

	switch (msg->hdr.request) {
	case VU_SET_VRING_NUM:
		if (p->state.num == 0 || p->state.num > VIRTQ_MAX_SIZE)
			return vu_refuse(dev, -EINVAL,
					 "SET_VRING_NUM: queue %u size %u not in 1..%d",
					 index, p->state.num, VIRTQ_MAX_SIZE);
		q->num = (uint16_t)p->state.num;
		return 0;
	case VU_SET_VRING_ADDR:
		q->addr = p->addr;
		q->addr_set = true;
		if (q->started)
			queues_remap(dev);
		return 0;
	case VU_SET_VRING_BASE:
		if (!vu_has_feature(dev, VIRTIO_F_RING_PACKED) &&
		    p->state.num > 0xffff)
			return vu_refuse(dev, -EINVAL,
					 "SET_VRING_BASE: queue %u base %u > 65535",
					 index, p->state.num);
		q->base = p->state.num;
		return 0;
	case VU_GET_VRING_BASE:
		queue_stop(dev, index);
		close_fd(&q->kick_fd);
		reply->state.index = index;
		reply->state.num = vu_has_feature(dev, VIRTIO_F_RING_PACKED)
				   ? (q->base & 0xffff) | (q->base & 0xffff) << 16
				   : q->base & 0xffff;
		*reply_size = sizeof(reply->state);
		return 0;
	case VU_SET_VRING_KICK:
		take_fd(msg, &q->kick_fd);
		if (q->started && !q->vq.err)
			q->base = virtq_base(&q->vq);
		queue_start(dev, index);
		return 0;
	case VU_SET_VRING_CALL:
		take_fd(msg, &q->call_fd);
		return 0;
	case VU_SET_VRING_ERR:
		take_fd(msg, &q->err_fd);
		return 0;
	case VU_SET_VRING_ENABLE:
		if (p->state.num > 1)
			return vu_refuse(dev, -EINVAL,
					 "SET_VRING_ENABLE: queue %u value %u not 0 or 1",
					 index, p->state.num);
		q->enabled = p->state.num;
		notify_owner(dev, index);
		return 0;
	default:
		return vu_refuse(dev, -EOPNOTSUPP, "%s not handled",
				 vu_request_name(msg->hdr.request));
	}
}

int vu_dev_handle_msg(struct vu_dev *dev, struct vu_msg *msg)
{
	union vu_payload reply;
	uint32_t reply_size = 0;
	char err[200];
	uint64_t optional = (dev->kind->get_config ? VU_REQUEST_BIT(VU_GET_CONFIG) : 0) |
			    (dev->kind->set_config ? VU_REQUEST_BIT(VU_SET_CONFIG) : 0);
	int ret = vu_msg_check(msg, optional, err, sizeof(err));

	if (ret < 0)
		vu_refuse(dev, ret, "%s", err);
	else
		ret = dispatch(dev, msg, &reply, &reply_size);
	vu_msg_close_fds(msg);

	if (vu_request_has_reply(msg->hdr.request)) {
		/* A refused GET_* still gets an answer, an empty one, so
		 * the front end fails its request instead of hanging. */
		if (ret < 0)
			reply_size = 0;
		if (dev->sock >= 0 &&
		    vu_msg_reply(dev->sock, msg, &reply, reply_size) < 0)
			return -EPIPE;
	} else if ((msg->hdr.flags & VU_FLAG_NEED_REPLY) &&
		   (dev->protocol_features & BIT(VU_PROTOCOL_F_REPLY_ACK))) {
		uint64_t status = ret < 0 ? 1 : 0;

		if (dev->sock >= 0 &&
		    vu_msg_reply(dev->sock, msg, &status, sizeof(status)) < 0)
			return -EPIPE;
	}
	return 0;
}

int vu_dev_handle_socket(struct vu_dev *dev)
{
	struct vu_wait_budget *b = &dev->wait;
	struct timespec now;
	struct vu_msg msg;
	char err[200];
	int64_t waited, left;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != b->second) {
		b->second = now.tv_sec;
		b->waited_us = 0;
	}
	left = VU_WAIT_PER_SEC_MS * 1000 - b->waited_us;
	ret = vu_msg_read(dev->sock, &msg, left > 0 ? left : 0, &waited, err,
			  sizeof(err));
	b->waited_us += waited;
	b->total_us += (uint64_t)waited;

	if (ret == -ECONNRESET)
		return ret;
	if (ret == -EAGAIN)
		return 0;
	if (ret < 0) {
		/* The stream is out of step: nothing after this can be
		 * trusted to start at a header. */
		vu_refuse(dev, ret, "%s", err);
		return ret;
	}
	return vu_dev_handle_msg(dev, &msg);
}
