#include "vhost_user_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* How a request's payload and descriptors must look. */
enum size_rule {
	SIZE_UNSUPPORTED, /* we neither offer nor accept it */
	SIZE_EXACT,       /* payload is exactly `size` bytes */
	SIZE_MEM_TABLE,   /* 8 + 32 * nregions, nregions in 1..8 */
	SIZE_CONFIG,      /* 12 + size, the window inside 256 bytes; only
			   * for a device kind that handles it (the
			   * caller says), else as SIZE_UNSUPPORTED */
};

enum fd_rule {
	FDS_NONE,
	FDS_ONE,
	FDS_PER_REGION,   /* one per memory region */
	FDS_UNLESS_NOFD,  /* one, unless bit 8 of the u64 says none */
	FDS_ZERO_OR_ONE,
};

struct request_shape {
	const char *name;
	enum size_rule rule;
	uint32_t size;
	enum fd_rule fds;
	bool has_reply;
};

#define U64 sizeof(uint64_t)
#define STATE sizeof(struct vu_vring_state)

/* Optional requests are named by a bit of a uint64_t. */
_Static_assert(VU_REQUEST_MAX <= 64, "request numbers beyond 63");

static const struct request_shape shapes[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = { "GET_FEATURES", SIZE_EXACT, 0, FDS_NONE, true },
	[VU_SET_FEATURES] = { "SET_FEATURES", SIZE_EXACT, U64, FDS_NONE, false },
	[VU_SET_OWNER] = { "SET_OWNER", SIZE_EXACT, 0, FDS_NONE, false },
	[VU_RESET_OWNER] = { "RESET_OWNER", SIZE_EXACT, 0, FDS_NONE, false },
	[VU_SET_MEM_TABLE] = { "SET_MEM_TABLE", SIZE_MEM_TABLE, 0, FDS_PER_REGION, false },
	[VU_SET_LOG_BASE] = { "SET_LOG_BASE", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_SET_LOG_FD] = { "SET_LOG_FD", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_SET_VRING_NUM] = { "SET_VRING_NUM", SIZE_EXACT, STATE, FDS_NONE, false },
	[VU_SET_VRING_ADDR] = { "SET_VRING_ADDR", SIZE_EXACT, sizeof(struct vu_vring_addr), FDS_NONE, false },
	[VU_SET_VRING_BASE] = { "SET_VRING_BASE", SIZE_EXACT, STATE, FDS_NONE, false },
	[VU_GET_VRING_BASE] = { "GET_VRING_BASE", SIZE_EXACT, STATE, FDS_NONE, true },
	[VU_SET_VRING_KICK] = { "SET_VRING_KICK", SIZE_EXACT, U64, FDS_UNLESS_NOFD, false },
	[VU_SET_VRING_CALL] = { "SET_VRING_CALL", SIZE_EXACT, U64, FDS_UNLESS_NOFD, false },
	[VU_SET_VRING_ERR] = { "SET_VRING_ERR", SIZE_EXACT, U64, FDS_UNLESS_NOFD, false },
	[VU_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", SIZE_EXACT, 0, FDS_NONE, true },
	[VU_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", SIZE_EXACT, U64, FDS_NONE, false },
	[VU_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", SIZE_EXACT, 0, FDS_NONE, true },
	[VU_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", SIZE_EXACT, STATE, FDS_NONE, false },
	[VU_SEND_RARP] = { "SEND_RARP", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_NET_SET_MTU] = { "NET_SET_MTU", SIZE_EXACT, U64, FDS_NONE, false },
	[VU_SET_BACKEND_REQ_FD] = { "SET_BACKEND_REQ_FD", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_IOTLB_MSG] = { "IOTLB_MSG", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_SET_VRING_ENDIAN] = { "SET_VRING_ENDIAN", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_GET_CONFIG] = { "GET_CONFIG", SIZE_CONFIG, 0, FDS_NONE, true },
	[VU_SET_CONFIG] = { "SET_CONFIG", SIZE_CONFIG, 0, FDS_NONE, false },
	[VU_CREATE_CRYPTO_SESSION] = { "CREATE_CRYPTO_SESSION", SIZE_UNSUPPORTED, 0, FDS_NONE, true },
	[VU_CLOSE_CRYPTO_SESSION] = { "CLOSE_CRYPTO_SESSION", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_POSTCOPY_ADVISE] = { "POSTCOPY_ADVISE", SIZE_UNSUPPORTED, 0, FDS_NONE, true },
	[VU_POSTCOPY_LISTEN] = { "POSTCOPY_LISTEN", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_POSTCOPY_END] = { "POSTCOPY_END", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_GET_INFLIGHT_FD] = { "GET_INFLIGHT_FD", SIZE_UNSUPPORTED, 0, FDS_NONE, true },
	[VU_SET_INFLIGHT_FD] = { "SET_INFLIGHT_FD", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_GPU_SET_SOCKET] = { "GPU_SET_SOCKET", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_RESET_DEVICE] = { "RESET_DEVICE", SIZE_EXACT, 0, FDS_NONE, false },
	[VU_VRING_KICK] = { "VRING_KICK", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_GET_MAX_MEM_SLOTS] = { "GET_MAX_MEM_SLOTS", SIZE_EXACT, 0, FDS_NONE, true },
	[VU_ADD_MEM_REG] = { "ADD_MEM_REG", SIZE_EXACT, sizeof(struct vu_mem_single), FDS_ONE, false },
	/* QEMU sends the region's fd along; libvhost-user expects it. */
	[VU_REM_MEM_REG] = { "REM_MEM_REG", SIZE_EXACT, sizeof(struct vu_mem_single), FDS_ZERO_OR_ONE, false },
	[VU_SET_STATUS] = { "SET_STATUS", SIZE_UNSUPPORTED, 0, FDS_NONE, false },
	[VU_GET_STATUS] = { "GET_STATUS", SIZE_UNSUPPORTED, 0, FDS_NONE, true },
};

static const struct request_shape *shape_of(uint32_t request)
{
	if (request >= VU_REQUEST_MAX || shapes[request].name == NULL)
		return NULL;
	return &shapes[request];
}

const char *vu_request_name(uint32_t request)
{
	const struct request_shape *s = shape_of(request);

	return s ? s->name : "unknown";
}

bool vu_request_has_reply(uint32_t request)
{
	const struct request_shape *s = shape_of(request);

	return s && s->has_reply;
}

void vu_msg_close_fds(struct vu_msg *msg)
{
	for (unsigned i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Reads exactly len bytes from a non-blocking socket, waiting for data
 * until deadline_us (CLOCK_MONOTONIC); the time spent waiting is added
 * to *waited_us. Returns len, 0 at end of stream, or -1 (errno ETIMEDOUT
 * past the deadline). */
static ssize_t read_rest(int sock, uint8_t *buf, size_t len, int64_t deadline_us,
			 int64_t *waited_us)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int64_t start = now_us(), left = deadline_us - start;
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)((left + 999) / 1000));
		*waited_us += now_us() - start;
		if (r <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return (ssize_t)got;
}

/* The rest of vu_msg_read, after its first recvmsg (mh) returned n > 0
 * bytes of the header: its descriptors, the rest of the header, the
 * payload, all by deadline_us. */
static int read_message(int sock, struct vu_msg *msg, struct msghdr *mh,
			size_t n, int64_t deadline_us, int64_t *waited_us,
			char *err, size_t errlen)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < count && msg->nfds < VU_MAX_FDS; i++)
			memcpy(&msg->fds[msg->nfds++],
			       CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	/* More descriptors than the buffer holds: the kernel closed the
	 * rest and says so; refuse the message. */
	if (mh->msg_flags & MSG_CTRUNC) {
		snprintf(err, errlen, "%s: more than %d file descriptors",
			 vu_request_name(msg->hdr.request), VU_MAX_FDS);
		vu_msg_close_fds(msg);
		return -E2BIG;
	}
	if (n != sizeof(msg->hdr) &&
	    read_rest(sock, (uint8_t *)&msg->hdr + n, sizeof(msg->hdr) - n,
		      deadline_us, waited_us) <= 0) {
		snprintf(err, errlen, "header cut at %zu of %zu bytes", n,
			 sizeof(msg->hdr));
		vu_msg_close_fds(msg);
		return -EPROTO;
	}
	/* The announced size is checked against the buffer before a single
	 * payload byte is read into it. */
	if (msg->hdr.size > sizeof(msg->payload)) {
		snprintf(err, errlen, "%s: payload size %u > %zu",
			 vu_request_name(msg->hdr.request), msg->hdr.size,
			 sizeof(msg->payload));
		vu_msg_close_fds(msg);
		return -EMSGSIZE;
	}
	if (msg->hdr.size &&
	    read_rest(sock, msg->payload.bytes, msg->hdr.size, deadline_us,
		      waited_us) <= 0) {
		snprintf(err, errlen, "%s: payload of %u bytes not sent with its header",
			 vu_request_name(msg->hdr.request), msg->hdr.size);
		vu_msg_close_fds(msg);
		return -EPROTO;
	}
	return 0;
}

int vu_msg_read(int sock, struct vu_msg *msg, int64_t max_wait_us,
		int64_t *waited_us, char *err, size_t errlen)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;

	msg->nfds = 0;
	*waited_us = 0;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN; /* woken for nothing: not an error */
	if (n < 0) {
		int e = errno;

		snprintf(err, errlen, "recvmsg: %s", strerror(e));
		return -e;
	}
	return read_message(sock, msg, &mh, (size_t)n, now_us() + max_wait_us,
			    waited_us, err, errlen);
}

static unsigned fds_expected(const struct request_shape *s,
			     const struct vu_msg *msg, unsigned *max)
{
	switch (s->fds) {
	case FDS_ONE:
		*max = 1;
		return 1;
	case FDS_PER_REGION:
		*max = msg->payload.mem.nregions;
		return msg->payload.mem.nregions;
	case FDS_UNLESS_NOFD:
		*max = (msg->payload.u64 & VU_VRING_NOFD) ? 0 : 1;
		return *max;
	case FDS_ZERO_OR_ONE:
		*max = 1;
		return 0;
	case FDS_NONE:
	default:
		*max = 0;
		return 0;
	}
}

int vu_msg_check(const struct vu_msg *msg, uint64_t optional, char *err,
		 size_t errlen)
{
	const struct request_shape *s = shape_of(msg->hdr.request);
	const char *name = vu_request_name(msg->hdr.request);
	unsigned min_fds, max_fds;

	if ((msg->hdr.flags & VU_VERSION_MASK) != VU_VERSION) {
		snprintf(err, errlen, "%s: version %u, expected %u", name,
			 msg->hdr.flags & VU_VERSION_MASK, VU_VERSION);
		return -EPROTO;
	}
	if (s == NULL) {
		snprintf(err, errlen, "request %u unknown", msg->hdr.request);
		return -EOPNOTSUPP;
	}
	if (s->rule == SIZE_UNSUPPORTED ||
	    (s->rule == SIZE_CONFIG &&
	     !(optional & VU_REQUEST_BIT(msg->hdr.request)))) {
		snprintf(err, errlen, "%s (%u) not supported", name,
			 msg->hdr.request);
		return -EOPNOTSUPP;
	}
	if (s->rule == SIZE_EXACT && msg->hdr.size != s->size) {
		snprintf(err, errlen, "%s: payload size %u, expected %u", name,
			 msg->hdr.size, s->size);
		return -EINVAL;
	}
	if (s->rule == SIZE_MEM_TABLE) {
		uint32_t n;

		if (msg->hdr.size < 8) {
			snprintf(err, errlen, "%s: payload size %u < 8", name,
				 msg->hdr.size);
			return -EINVAL;
		}
		n = msg->payload.mem.nregions;
		if (n == 0 || n > VU_MEM_TABLE_MAX) {
			snprintf(err, errlen, "%s: %u regions not in 1..%d",
				 name, n, VU_MEM_TABLE_MAX);
			return -EINVAL;
		}
		if (msg->hdr.size != 8 + n * sizeof(struct vu_mem_region)) {
			snprintf(err, errlen,
				 "%s: payload size %u for %u regions, expected %zu",
				 name, msg->hdr.size, n,
				 8 + n * sizeof(struct vu_mem_region));
			return -EINVAL;
		}
	}
	if (s->rule == SIZE_CONFIG) {
		const struct vu_config *c = &msg->payload.config;

		if (msg->hdr.size < VU_CONFIG_HDR) {
			snprintf(err, errlen, "%s: payload size %u < %d", name,
				 msg->hdr.size, VU_CONFIG_HDR);
			return -EINVAL;
		}
		if (c->size > VU_CONFIG_MAX || c->offset > VU_CONFIG_MAX - c->size) {
			snprintf(err, errlen,
				 "%s: offset %u + size %u beyond %d bytes of config",
				 name, c->offset, c->size, VU_CONFIG_MAX);
			return -EINVAL;
		}
		if (msg->hdr.size != VU_CONFIG_HDR + c->size) {
			snprintf(err, errlen,
				 "%s: payload size %u for %u bytes of config, expected %u",
				 name, msg->hdr.size, c->size, VU_CONFIG_HDR + c->size);
			return -EINVAL;
		}
	}
	min_fds = fds_expected(s, msg, &max_fds);
	if (msg->nfds < min_fds || msg->nfds > max_fds) {
		snprintf(err, errlen, "%s: %u file descriptors, expected %u%s",
			 name, msg->nfds, min_fds,
			 max_fds != min_fds ? " or 1" : "");
		return -EINVAL;
	}
	return 0;
}

int vu_msg_reply(int sock, const struct vu_msg *req, const void *payload,
		 uint32_t size)
{
	struct vu_hdr hdr = {
		.request = req->hdr.request,
		.flags = VU_VERSION | VU_FLAG_REPLY,
		.size = size,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + size ? 0 : -EIO;
}
