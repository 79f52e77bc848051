#include "vhost_user_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user_msg.h"

#define BIT(n) (1ull << (n))

uint64_t vu_net_offered_features(void)
{
	return BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ANY_LAYOUT) |
	       BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	       BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
	       BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
	       BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
	       BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
	       BIT(VIRTIO_NET_F_MTU) | BIT(VU_F_PROTOCOL_FEATURES);
}

uint64_t vu_offered_protocol_features(void)
{
	return BIT(VU_PROTOCOL_F_MQ) | BIT(VU_PROTOCOL_F_REPLY_ACK) |
	       BIT(VU_PROTOCOL_F_MTU) | BIT(VU_PROTOCOL_F_RESET_DEVICE) |
	       BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
}

static void queue_reset(struct vu_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = q->err_fd = -1;
}

void vu_dev_init(struct vu_dev *dev, const char *name, uint64_t features,
		 const struct vu_dev_ops *ops, void *opaque)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->sock = -1;
	dev->offered_features = features;
	dev->ops = ops;
	dev->opaque = opaque;
	/* A 64 KiB TSO frame with its header fits; a guest claiming more
	 * in one transmit chain is broken or hostile. */
	dev->tx_max_chain_bytes = 128 * 1024;
	guest_mem_init(&dev->mem);
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++)
		queue_reset(&dev->q[i]);
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

/* Records a refused request: the reason is kept for status and logged. */
static int refuse(struct vu_dev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct vu_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->last_error, sizeof(dev->last_error), fmt, ap);
	va_end(ap);
	dev->protocol_errors++;
	bh_log("side %s: %s", dev->name, dev->last_error);
	return err;
}

static void unmap_region(struct vu_dev *dev, unsigned i)
{
	if (dev->maps[i].addr)
		munmap(dev->maps[i].addr, dev->maps[i].len);
	dev->maps[i].addr = NULL;
	dev->maps[i].len = 0;
}

static void unmap_all(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->mem.nregions; i++)
		unmap_region(dev, i);
	guest_mem_init(&dev->mem);
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
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++)
		queue_clear(dev, i);
	unmap_all(dev);
	dev->features = 0;
	dev->protocol_features = 0;
	dev->features_set = false;
	dev->mtu = 0;
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
		bh_log("side %s: queue %u: call: %s", dev->name, qidx,
		       strerror(errno));
}

void vu_queue_broken(struct vu_dev *dev, unsigned qidx)
{
	struct vu_queue *q = &dev->q[qidx];
	uint64_t one = 1;

	bh_log("side %s: queue %u broken: %s", dev->name, qidx, q->vq.reason);
	if (q->err_fd >= 0 && write(q->err_fd, &one, sizeof(one)) < 0)
		bh_log("side %s: queue %u: err fd: %s", dev->name, qidx,
		       strerror(errno));
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
		.max_chain_bytes = qidx == VU_TXQ ? dev->tx_max_chain_bytes : 0,
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
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
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
	if (index >= VU_NUM_QUEUES)
		return refuse(dev, -EINVAL,
			      "%s: vring index %u out of range (%d queues: one pair)",
			      vu_request_name(msg->hdr.request), index,
			      VU_NUM_QUEUES);
	return 0;
}

/* Maps one region after checking it against its file: a region larger
 * than the file would fault (SIGBUS) on first touch. */
static int map_region(struct vu_dev *dev, const struct vu_mem_region *r,
		      int fd, struct guest_mem_region *out, void **map,
		      size_t *map_len)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t aligned = r->mmap_offset & ~(uint64_t)(page - 1);
	uint64_t lead = r->mmap_offset - aligned;
	struct stat st;
	void *addr;

	if (r->size == 0 || r->mmap_offset > UINT64_MAX - r->size ||
	    r->size > SIZE_MAX - lead)
		return refuse(dev, -EINVAL,
			      "memory region gpa 0x%" PRIx64 ": size 0x%" PRIx64
			      " offset 0x%" PRIx64 " invalid",
			      r->gpa, r->size, r->mmap_offset);
	if (fstat(fd, &st) != 0)
		return refuse(dev, -errno, "memory region gpa 0x%" PRIx64
			      ": fstat: %s", r->gpa, strerror(errno));
	if (S_ISREG(st.st_mode) &&
	    r->mmap_offset + r->size > (uint64_t)st.st_size)
		return refuse(dev, -EINVAL,
			      "memory region gpa 0x%" PRIx64 ": offset 0x%" PRIx64
			      " + size 0x%" PRIx64 " beyond its file (0x%" PRIx64
			      " bytes)", r->gpa, r->mmap_offset, r->size,
			      (uint64_t)st.st_size);
	addr = mmap(NULL, r->size + lead, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, (off_t)aligned);
	if (addr == MAP_FAILED)
		return refuse(dev, -errno, "memory region gpa 0x%" PRIx64
			      " size 0x%" PRIx64 ": mmap: %s", r->gpa, r->size,
			      strerror(errno));
	*map = addr;
	*map_len = r->size + lead;
	*out = (struct guest_mem_region){
		.gpa = r->gpa,
		.size = r->size,
		.uva = r->uva,
		.offset = r->mmap_offset,
		.hva = (uint8_t *)addr + lead,
	};
	return 0;
}

/* Adds region r (its descriptor fd) to the table. */
static int add_region(struct vu_dev *dev, const struct vu_mem_region *r,
		      int fd)
{
	struct guest_mem_region g;
	char err[160];
	void *map = NULL;
	size_t len = 0;
	int ret = map_region(dev, r, fd, &g, &map, &len);

	if (ret < 0)
		return ret;
	ret = guest_mem_add_region(&dev->mem, &g, err, sizeof(err));
	if (ret < 0) {
		munmap(map, len);
		return refuse(dev, ret, "%s", err);
	}
	dev->maps[dev->mem.nregions - 1].addr = map;
	dev->maps[dev->mem.nregions - 1].len = len;
	return 0;
}

static int handle_set_mem_table(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct vu_mem_table *t = &msg->payload.mem;
	int ret = 0;

	/* All or nothing: the old table goes, the new one is built from
	 * scratch; on a bad region no table is left (rings stop). */
	unmap_all(dev);
	for (uint32_t i = 0; i < t->nregions && ret == 0; i++)
		ret = add_region(dev, &t->regions[i], msg->fds[i]);
	if (ret < 0)
		unmap_all(dev);
	queues_remap(dev);
	return ret;
}

static int handle_rem_mem_reg(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct vu_mem_region *r = &msg->payload.mem_one.region;
	struct guest_mem_region gone;

	for (unsigned i = 0; i < dev->mem.nregions; i++) {
		if (dev->mem.regions[i].gpa != r->gpa ||
		    dev->mem.regions[i].size != r->size)
			continue;
		void *addr = dev->maps[i].addr;
		size_t len = dev->maps[i].len;

		guest_mem_remove_region(&dev->mem, r->gpa, r->size, &gone);
		memmove(&dev->maps[i], &dev->maps[i + 1],
			(dev->mem.nregions - i) * sizeof(dev->maps[0]));
		munmap(addr, len);
		queues_remap(dev);
		return 0;
	}
	return refuse(dev, -ENOENT,
		      "REM_MEM_REG: no region at gpa 0x%" PRIx64 " size 0x%" PRIx64,
		      r->gpa, r->size);
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
			return refuse(dev, -EINVAL,
				      "SET_FEATURES 0x%" PRIx64 " has bits 0x%" PRIx64
				      " never offered", p->u64,
				      p->u64 & ~dev->offered_features);
		dev->features = p->u64;
		dev->features_set = true;
		/* Without PROTOCOL_FEATURES a ring runs as soon as it has
		 * a kick; with it, only after SET_VRING_ENABLE. */
		if (!vu_has_feature(dev, VU_F_PROTOCOL_FEATURES))
			for (unsigned i = 0; i < VU_NUM_QUEUES; i++)
				dev->q[i].enabled = true;
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		reply->u64 = vu_offered_protocol_features();
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_SET_PROTOCOL_FEATURES:
		if (p->u64 & ~vu_offered_protocol_features())
			return refuse(dev, -EINVAL,
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
		reply->u64 = VU_NUM_QUEUES / 2;
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_GET_MAX_MEM_SLOTS:
		reply->u64 = GUEST_MEM_MAX_REGIONS;
		*reply_size = sizeof(reply->u64);
		return 0;
	case VU_SET_MEM_TABLE:
		return handle_set_mem_table(dev, msg);
	case VU_ADD_MEM_REG:
		ret = add_region(dev, &p->mem_one.region, msg->fds[0]);
		queues_remap(dev);
		return ret;
	case VU_REM_MEM_REG:
		return handle_rem_mem_reg(dev, msg);
	case VU_NET_SET_MTU:
		/* 68: the IPv4 minimum (RFC 791); 65535: virtio-net's mtu
		 * field is 16 bits. */
		if (p->u64 < 68 || p->u64 > 65535)
			return refuse(dev, -EINVAL,
				      "NET_SET_MTU %" PRIu64 " not in 68..65535",
				      p->u64);
		dev->mtu = (uint16_t)p->u64;
		return 0;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		index = (uint32_t)(p->u64 & VU_VRING_IDX_MASK);
		break;
	case VU_SET_VRING_ADDR:
		index = p->addr.index;
		break;
	default:
		index = p->state.index;
		break;
	}

	ret = check_index(dev, msg, index);
	if (ret < 0)
		return ret;
	struct vu_queue *q = &dev->q[index];

	switch (msg->hdr.request) {
	case VU_SET_VRING_NUM:
		if (p->state.num == 0 || p->state.num > VIRTQ_MAX_SIZE)
			return refuse(dev, -EINVAL,
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
			return refuse(dev, -EINVAL,
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
			return refuse(dev, -EINVAL,
				      "SET_VRING_ENABLE: queue %u value %u not 0 or 1",
				      index, p->state.num);
		q->enabled = p->state.num;
		notify_owner(dev, index);
		return 0;
	default:
		return refuse(dev, -EOPNOTSUPP, "%s not handled",
			      vu_request_name(msg->hdr.request));
	}
}

int vu_dev_handle_msg(struct vu_dev *dev, struct vu_msg *msg)
{
	union vu_payload reply;
	uint32_t reply_size = 0;
	char err[200];
	int ret = vu_msg_check(msg, err, sizeof(err));

	if (ret < 0)
		refuse(dev, ret, "%s", err);
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
	struct vu_msg msg;
	char err[200];
	int ret = vu_msg_read(dev->sock, &msg, err, sizeof(err));

	if (ret == -ECONNRESET)
		return ret;
	if (ret == -EAGAIN)
		return 0;
	if (ret < 0) {
		/* The stream is out of step: nothing after this can be
		 * trusted to start at a header. */
		refuse(dev, ret, "%s", err);
		return ret;
	}
	return vu_dev_handle_msg(dev, &msg);
}
