#define _GNU_SOURCE
#include "vu_frontend.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BIT(n) (1ull << (n))

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* fe->sock connected to path (retrying for up to timeout_ms). */
static int connect_sock(struct fe *fe, const char *path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	for (int waited = 0;; waited += 20) {
		fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fe->sock < 0)
			return -errno;
		if (connect(fe->sock, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return 0;
		close(fe->sock);
		fe->sock = -1;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(20);
	}
}

int fe_connect(struct fe *fe, const char *path, int timeout_ms)
{
	memset(fe, 0, sizeof(*fe));
	fe->memfd = -1;
	for (int i = 0; i < 2; i++)
		fe->kick[i] = fe->call[i] = -1;
	return connect_sock(fe, path, timeout_ms);
}

/* The connection and the queues' eventfds closed; memory and rings
 * kept. */
static void close_connection(struct fe *fe)
{
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	for (int i = 0; i < 2; i++) {
		if (fe->kick[i] >= 0)
			close(fe->kick[i]);
		if (fe->call[i] >= 0)
			close(fe->call[i]);
		fe->kick[i] = fe->call[i] = -1;
	}
}

void fe_close(struct fe *fe)
{
	if (fe->borrowed) {
		/* A further pair: its eventfds and rings are its own, the
		 * connection and memory the first fe's. */
		for (int i = 0; i < 2; i++) {
			if (fe->kick[i] >= 0)
				close(fe->kick[i]);
			if (fe->call[i] >= 0)
				close(fe->call[i]);
			virtq_driver_destroy(&fe->q[i]);
		}
		memset(fe, 0, sizeof(*fe));
		fe->sock = fe->memfd = -1;
		return;
	}
	close_connection(fe);
	for (int i = 0; i < 2; i++)
		virtq_driver_destroy(&fe->q[i]);
	if (fe->mem)
		munmap(fe->mem, fe->mem_size);
	if (fe->memfd >= 0)
		close(fe->memfd);
	memset(fe, 0, sizeof(*fe));
	fe->sock = fe->memfd = -1;
}

int fe_send(struct fe *fe, uint32_t request, uint32_t flags,
	    const void *payload, uint32_t size, const int *fds, unsigned nfds)
{
	struct vu_hdr hdr = { .request = request, .flags = flags, .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = payload ? size : 0 },
	};
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = payload ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	return sendmsg(fe->sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int fe_recv(struct fe *fe, struct vu_msg *reply, int timeout_ms)
{
	struct pollfd p = { .fd = fe->sock, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recv(fe->sock, &reply->hdr, sizeof(reply->hdr), MSG_WAITALL);
	if (n == 0)
		return -ECONNRESET;
	if (n != sizeof(reply->hdr) || reply->hdr.size > sizeof(reply->payload))
		return -EPROTO;
	if (reply->hdr.size &&
	    recv(fe->sock, &reply->payload, reply->hdr.size, MSG_WAITALL) !=
		    (ssize_t)reply->hdr.size)
		return -EPROTO;
	return (int)reply->hdr.size;
}

int fe_get_u64(struct fe *fe, uint32_t request, uint64_t *value)
{
	struct vu_msg r;
	int ret = fe_send(fe, request, VU_VERSION, NULL, 0, NULL, 0);

	if (ret < 0)
		return ret;
	ret = fe_recv(fe, &r, 2000);
	if (ret < 0)
		return ret;
	if (ret != sizeof(uint64_t))
		return -EPROTO;
	*value = r.payload.u64;
	return 0;
}

/* A request that wants REPLY_ACK: returns 0 when the back end said yes. */
static int send_acked(struct fe *fe, uint32_t request, const void *payload,
		      uint32_t size, const int *fds, unsigned nfds)
{
	struct vu_msg r;
	int ret = fe_send(fe, request, VU_VERSION | VU_FLAG_NEED_REPLY, payload,
			  size, fds, nfds);

	if (ret < 0)
		return ret;
	ret = fe_recv(fe, &r, 2000);
	if (ret < 0)
		return ret;
	return ret == sizeof(uint64_t) && r.payload.u64 == 0 ? 0 : -EIO;
}

void *fe_hva(struct fe *fe, uint64_t gpa)
{
	return fe->mem + (gpa - FE_GPA_BASE);
}

static uint64_t fe_alloc(struct fe *fe, uint64_t bytes)
{
	uint64_t gpa = FE_GPA_BASE + fe->next_buf;

	fe->next_buf = (fe->next_buf + bytes + 63) & ~63ull;
	return gpa;
}

/* Protocol features (REPLY_ACK when offered), SET_OWNER, SET_FEATURES
 * with fe->features. */
static int send_features(struct fe *fe)
{
	uint64_t proto;
	int ret;

	if (fe->features & BIT(VU_F_PROTOCOL_FEATURES)) {
		if ((ret = fe_get_u64(fe, VU_GET_PROTOCOL_FEATURES, &proto)) < 0)
			return ret;
		fe->protocol_features = proto & BIT(VU_PROTOCOL_F_REPLY_ACK);
		ret = fe_send(fe, VU_SET_PROTOCOL_FEATURES, VU_VERSION,
			      &fe->protocol_features, 8, NULL, 0);
		if (ret < 0)
			return ret;
	}
	if ((ret = fe_send(fe, VU_SET_OWNER, VU_VERSION, NULL, 0, NULL, 0)) < 0 ||
	    (ret = send_acked(fe, VU_SET_FEATURES, &fe->features, 8, NULL, 0)) < 0)
		return ret;
	return 0;
}

static int send_mem_table(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 1 };

	t.regions[0] = (struct vu_mem_region){ .gpa = FE_GPA_BASE,
					       .size = fe->mem_size,
					       .uva = (uint64_t)(uintptr_t)fe->mem };
	return send_acked(fe, VU_SET_MEM_TABLE, &t, 8 + sizeof(t.regions[0]),
			  &fe->memfd, 1);
}

/* Hands queue qi's rings (laid out already) to the back end, resuming
 * at base, with new kick and call eventfds, and enables it (unless
 * !enable). */
static int send_queue_en(struct fe *fe, uint32_t qi, uint32_t base_num,
			 bool enable)
{
	struct virtq_config c = virtq_driver_config(&fe->q[qi]);
	uint32_t vi = fe->vring_base + qi;
	struct vu_vring_state num = { vi, fe->qsize }, base = { vi, base_num };
	struct vu_vring_addr addr = {
		.index = vi,
		.desc_uva = (uint64_t)(uintptr_t)fe_hva(fe, c.desc_addr),
		.avail_uva = (uint64_t)(uintptr_t)fe_hva(fe, c.driver_addr),
		.used_uva = (uint64_t)(uintptr_t)fe_hva(fe, c.device_addr),
	};
	uint64_t idx = vi;
	int ret;

	fe->kick[qi] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fe->call[qi] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if ((ret = send_acked(fe, VU_SET_VRING_NUM, &num, 8, NULL, 0)) < 0 ||
	    (ret = send_acked(fe, VU_SET_VRING_BASE, &base, 8, NULL, 0)) < 0 ||
	    (ret = send_acked(fe, VU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0)) < 0 ||
	    (ret = send_acked(fe, VU_SET_VRING_CALL, &idx, 8, &fe->call[qi], 1)) < 0 ||
	    (ret = send_acked(fe, VU_SET_VRING_KICK, &idx, 8, &fe->kick[qi], 1)) < 0 ||
	    (enable && (ret = fe_enable(fe, vi, true)) < 0))
		return ret;
	return 0;
}

static int send_queue(struct fe *fe, uint32_t qi, uint32_t base_num)
{
	return send_queue_en(fe, qi, base_num, true);
}

int fe_enable(struct fe *fe, uint32_t index, bool on)
{
	struct vu_vring_state st = { index, on };

	if (fe->protocol_features & BIT(VU_PROTOCOL_F_REPLY_ACK))
		return send_acked(fe, VU_SET_VRING_ENABLE, &st, 8, NULL, 0);
	return fe_send(fe, VU_SET_VRING_ENABLE, VU_VERSION, &st, 8, NULL, 0);
}

/* Lays out queue qi of qf (its ring and buffers in mem's memory, from
 * mem's allocator: qf itself, or the first pair's fe), hands it to the
 * back end, enabled when `enable`. Returns 0 or a negative errno. */
static int setup_queue(struct fe *qf, struct fe *mem, uint32_t qi, bool enable)
{
	uint64_t ring = fe_alloc(mem, virtq_driver_ring_bytes(qf->packed,
							      qf->qsize));
	struct virtq_driver *d = &qf->q[qi];
	int ret;

	if (mem->next_buf > mem->mem_size)
		return -ENOMEM;
	ret = virtq_driver_init(d, qf->packed, qf->qsize,
				qf->features & BIT(VIRTIO_RING_F_EVENT_IDX),
				fe_hva(mem, ring), ring);
	if (ret < 0)
		return ret;
	if (qf->features & BIT(VIRTIO_F_IN_ORDER))
		virtq_driver_set_in_order(d);
	if ((ret = send_queue_en(qf, qi, qf->packed ? virtq_driver_config(d).base
						    : 0, enable)) < 0)
		return ret;
	virtq_driver_set_interrupts(d, false);
	qf->pool[qi] = fe_alloc(mem, (uint64_t)qf->qsize * FE_BUF_SIZE);
	if (qi == FE_TXQ)
		qf->big = fe_alloc(mem, 96 * 1024);
	return mem->next_buf > mem->mem_size ? -ENOMEM : 0;
}

int fe_start_pair(struct fe *pf, struct fe *fe, unsigned pair, bool enable)
{
	int ret;

	memset(pf, 0, sizeof(*pf));
	pf->sock = fe->sock;
	pf->memfd = -1;
	pf->mem = fe->mem;
	pf->mem_size = fe->mem_size;
	pf->features = fe->features;
	pf->protocol_features = fe->protocol_features;
	pf->packed = fe->packed;
	pf->qsize = fe->qsize;
	pf->hdr_len = fe->hdr_len;
	pf->vring_base = 2 * pair;
	pf->borrowed = true;
	for (int i = 0; i < 2; i++)
		pf->kick[i] = pf->call[i] = -1;
	for (uint32_t qi = 0; qi < 2; qi++)
		if ((ret = setup_queue(pf, fe, qi, enable)) < 0)
			return ret;
	return 0;
}

int fe_start(struct fe *fe, uint64_t want_features, bool packed,
	     uint16_t qsize, size_t mem_size)
{
	uint64_t offered;
	int ret;

	if ((ret = fe_get_u64(fe, VU_GET_FEATURES, &offered)) < 0)
		return ret;
	fe->features = offered & want_features;
	if (packed)
		fe->features |= offered & BIT(VIRTIO_F_RING_PACKED);
	else
		fe->features &= ~BIT(VIRTIO_F_RING_PACKED);
	fe->packed = packed;
	fe->qsize = qsize;
	fe->hdr_len = 12;
	if (offered & BIT(VU_F_PROTOCOL_FEATURES))
		fe->features |= BIT(VU_F_PROTOCOL_FEATURES);
	else
		fe->features &= ~BIT(VU_F_PROTOCOL_FEATURES);
	if ((ret = send_features(fe)) < 0)
		return ret;

	fe->mem_size = mem_size;
	/* A descriptor the caller set after fe_connect (a file of its own,
	 * mem_size bytes) is used as it is. */
	if (fe->memfd < 0) {
		fe->memfd = memfd_create("fe-guest", MFD_CLOEXEC);
		if (fe->memfd < 0 || ftruncate(fe->memfd, (off_t)mem_size) < 0)
			return -errno;
	}
	fe->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fe->memfd, 0);
	if (fe->mem == MAP_FAILED) {
		fe->mem = NULL;
		return -errno;
	}
	if ((ret = send_mem_table(fe)) < 0)
		return ret;

	for (uint32_t qi = 0; qi < (fe->nqueues ? fe->nqueues : 2); qi++)
		if ((ret = setup_queue(fe, fe, qi, true)) < 0)
			return ret;
	return 0;
}

int fe_resume(struct fe *fe, const char *path, int timeout_ms)
{
	uint64_t offered;
	int ret;

	if (fe->packed)
		return -EOPNOTSUPP;
	close_connection(fe);
	if ((ret = connect_sock(fe, path, timeout_ms)) < 0 ||
	    (ret = fe_get_u64(fe, VU_GET_FEATURES, &offered)) < 0)
		return ret;
	/* A new back end that offers less than was negotiated cannot take
	 * over the device (QEMU fails the reconnect likewise). */
	if ((offered & fe->features) != fe->features)
		return -EPROTO;
	if ((ret = send_features(fe)) < 0 || (ret = send_mem_table(fe)) < 0)
		return ret;
	for (uint32_t qi = 0; qi < (fe->nqueues ? fe->nqueues : 2); qi++) {
		uint16_t used = le16toh(__atomic_load_n(&fe->q[qi].used->idx,
							__ATOMIC_ACQUIRE));

		if ((ret = send_queue(fe, qi, used)) < 0)
			return ret;
	}
	return 0;
}

static uint64_t pool_buf(struct fe *fe, unsigned qi)
{
	uint64_t gpa = fe->pool[qi] + (uint64_t)fe->pool_next[qi] * FE_BUF_SIZE;

	fe->pool_next[qi] = (fe->pool_next[qi] + 1) % fe->qsize;
	return gpa;
}

void fe_kick(struct fe *fe, unsigned qi)
{
	uint64_t one = 1;

	if (virtq_driver_kick_prepare(&fe->q[qi]) &&
	    write(fe->kick[qi], &one, sizeof(one)) < 0)
		return;
}

int fe_post_rx(struct fe *fe, unsigned n)
{
	return fe_post_rx_len(fe, n, FE_BUF_SIZE);
}

/* Adds one receive buffer and remembers where it is. */
static int add_rx(struct fe *fe, uint64_t gpa, uint32_t len)
{
	struct virtq_buf b = { .gpa = gpa, .len = len, .writable = true };
	int id = virtq_driver_add(&fe->q[FE_RXQ], &b, 1);

	if (id < 0)
		return id;
	fe->buf_gpa[FE_RXQ][id] = gpa;
	fe->buf_len[id] = len;
	return 0;
}

int fe_post_rx_len(struct fe *fe, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = add_rx(fe, pool_buf(fe, FE_RXQ), len);

		if (ret < 0)
			return ret;
	}
	fe_kick(fe, FE_RXQ);
	return 0;
}

int fe_send_frame(struct fe *fe, const uint8_t *frame, size_t len)
{
	struct virtq_buf b;
	uint8_t *p;
	int id;

	if (len + fe->hdr_len > FE_BUF_SIZE)
		return -EMSGSIZE;
	b.gpa = pool_buf(fe, FE_TXQ);
	b.len = (uint32_t)(fe->hdr_len + len);
	b.writable = false;
	p = fe_hva(fe, b.gpa);
	memset(p, 0, fe->hdr_len);
	memcpy(p + fe->hdr_len, frame, len);
	id = virtq_driver_add(&fe->q[FE_TXQ], &b, 1);
	if (id < 0)
		return id;
	fe_kick(fe, FE_TXQ);
	return 0;
}

unsigned fe_reap_tx(struct fe *fe)
{
	uint16_t id;
	uint32_t len;
	unsigned n = 0;

	while (virtq_driver_reap(&fe->q[FE_TXQ], &id, &len) == 1)
		n++;
	return n;
}

/* Reaps one used receive buffer, waiting up to timeout_ms. */
static int reap_rx(struct fe *fe, uint16_t *id, uint32_t *len, int timeout_ms)
{
	for (int waited = 0;; waited++) {
		if (virtq_driver_reap(&fe->q[FE_RXQ], id, len) == 1)
			return *id < fe->qsize && *len <= FE_BUF_SIZE ? 0 : -EPROTO;
		if (waited >= timeout_ms)
			return -EAGAIN;
		sleep_ms(1);
	}
}

int fe_recv_frame_hdr(struct fe *fe, uint8_t *hdr, uint8_t *buf, size_t cap,
		      int timeout_ms)
{
	uint16_t id, nbufs = 1;
	uint32_t len;
	size_t got = 0;
	int ret = reap_rx(fe, &id, &len, timeout_ms);

	if (ret < 0)
		return ret;
	if (len < fe->hdr_len)
		return -EPROTO;
	memcpy(hdr, fe_hva(fe, fe->buf_gpa[FE_RXQ][id]), fe->hdr_len);
	if (fe->features & BIT(VIRTIO_NET_F_MRG_RXBUF))
		nbufs = (uint16_t)(hdr[10] | hdr[11] << 8);
	for (uint16_t k = 0; k < nbufs; k++) {
		uint32_t skip = k == 0 ? fe->hdr_len : 0;
		uint8_t *p;

		if (k > 0 && (ret = reap_rx(fe, &id, &len, 1000)) < 0)
			return ret;
		p = (uint8_t *)fe_hva(fe, fe->buf_gpa[FE_RXQ][id]) + skip;
		if (got + (len - skip) > cap)
			return -EMSGSIZE;
		memcpy(buf + got, p, len - skip);
		got += len - skip;
	}
	return (int)got;
}

int fe_recv_frame(struct fe *fe, uint8_t *buf, size_t cap, int timeout_ms)
{
	uint8_t hdr[12];

	return fe_recv_frame_hdr(fe, hdr, buf, cap, timeout_ms);
}

int fe_send_big(struct fe *fe, const uint8_t *hdr, const uint8_t *frame,
		size_t len)
{
	struct virtq_buf b = { .gpa = fe->big, .writable = false };
	uint8_t *p = fe_hva(fe, fe->big);
	int id;

	if (len + fe->hdr_len > 96 * 1024)
		return -EMSGSIZE;
	/* The big buffer is reused: wait until the last frame left it. */
	for (int waited = 0; fe->q[FE_TXQ].num_free < fe->qsize; waited++) {
		fe_reap_tx(fe);
		if (waited > 2000)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
	memcpy(p, hdr, fe->hdr_len);
	memcpy(p + fe->hdr_len, frame, len);
	b.len = (uint32_t)(fe->hdr_len + len);
	id = virtq_driver_add(&fe->q[FE_TXQ], &b, 1);
	if (id < 0)
		return id;
	fe_kick(fe, FE_TXQ);
	return 0;
}

uint64_t fe_alloc_buf(struct fe *fe, uint64_t bytes)
{
	uint64_t gpa;

	if (bytes > fe->mem_size || fe->next_buf > fe->mem_size - bytes)
		return 0;
	gpa = fe_alloc(fe, bytes);
	return gpa;
}

unsigned fe_tx_burst(struct fe *fe, uint64_t gpa, uint32_t stride,
		     unsigned nbufs, uint32_t len, unsigned max)
{
	struct virtq_driver *d = &fe->q[FE_TXQ];
	unsigned n;

	fe_reap_tx(fe);
	for (n = 0; n < max && d->num_free > 0; n++) {
		struct virtq_buf b = { .gpa = gpa + (uint64_t)fe->tx_next * stride,
				       .len = len, .writable = false };

		if (++fe->tx_next == nbufs)
			fe->tx_next = 0;
		if (virtq_driver_add(d, &b, 1) < 0)
			break;
	}
	if (n)
		fe_kick(fe, FE_TXQ);
	return n;
}

int fe_post_rx_bufs(struct fe *fe, uint64_t gpa, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = add_rx(fe, gpa + (uint64_t)i * len, len);

		if (ret < 0)
			return ret;
	}
	fe_kick(fe, FE_RXQ);
	return 0;
}

unsigned fe_rx_burst(struct fe *fe, unsigned max, uint64_t *frames,
		     uint64_t *bytes)
{
	struct virtq_driver *d = &fe->q[FE_RXQ];
	bool mrg = fe->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	unsigned n;

	for (n = 0; n < max; n++) {
		uint16_t id;
		uint32_t len;
		int new_id;

		if (virtq_driver_reap(d, &id, &len) != 1)
			break;
		uint64_t gpa = fe->buf_gpa[FE_RXQ][id];
		struct virtq_buf b = { .gpa = gpa, .len = fe->buf_len[id],
				       .writable = true };

		if (fe->rx_cont > 0) {
			/* The rest of a frame spread over mergeable buffers. */
			fe->rx_cont--;
			*bytes += len;
		} else {
			const uint8_t *h = fe_hva(fe, gpa);
			unsigned nbufs = mrg ? (unsigned)(h[10] | h[11] << 8) : 1;

			fe->rx_cont = nbufs ? nbufs - 1 : 0;
			(*frames)++;
			*bytes += len > fe->hdr_len ? len - fe->hdr_len : 0;
		}
		new_id = virtq_driver_add(d, &b, 1);
		if (new_id >= 0) {
			fe->buf_gpa[FE_RXQ][new_id] = gpa;
			fe->buf_len[new_id] = b.len;
		}
	}
	if (n)
		fe_kick(fe, FE_RXQ);
	return n;
}
