/* The vhost-user back end as a second device kind would use it
 * (vmm/vhost_user/, struct vu_dev_kind): its queue count, GET_QUEUE_NUM,
 * the config space through GET_CONFIG and SET_CONFIG and their bounds,
 * a request no hook takes; and that the net kind still refuses
 * GET_CONFIG. Messages go through vu_dev_handle_msg; replies are read
 * from the other end of a socket pair. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_vu.h"
#include "tap.h"
#include "vhost_user_dev.h"
#include "vhost_user_msg.h"

/* What the test kind's config hooks saw last. */
struct seen {
	uint32_t offset, len, flags;
	uint8_t bytes[VU_CONFIG_MAX];
	int calls;
};

/* The test kind's config space: byte i is i ^ 0x5a. */
static int test_get_config(struct vu_dev *dev, uint32_t offset, uint8_t *buf,
			   uint32_t len)
{
	(void)dev;
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((offset + i) ^ 0x5a);
	return 0;
}

static int test_set_config(struct vu_dev *dev, uint32_t offset,
			   const uint8_t *buf, uint32_t len, uint32_t flags)
{
	struct seen *s = dev->opaque;

	s->offset = offset;
	s->len = len;
	s->flags = flags;
	memcpy(s->bytes, buf, len);
	s->calls++;
	return 0;
}

/* Three queues (as a block device with three), config space, no request
 * of its own. */
static const struct vu_dev_kind test_kind = {
	.name = "test",
	.num_queues = 3,
	.queue_num = 3,
	.features = 1ull << VU_F_PROTOCOL_FEATURES,
	.protocol_features = 1ull << VU_PROTOCOL_F_CONFIG,
	.get_config = test_get_config,
	.set_config = test_set_config,
};

struct rig {
	struct vu_dev dev;
	struct seen seen;
	int peer;
};

static void rig_open(struct rig *r, const struct vu_dev_kind *kind)
{
	int pair[2];

	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       pair) < 0)
		pair[0] = pair[1] = -1;
	vu_dev_init(&r->dev, "t", kind, NULL, &r->seen);
	vu_dev_attach(&r->dev, pair[0]);
	r->peer = pair[1];
}

static void rig_close(struct rig *r)
{
	vu_dev_detach(&r->dev);
	close(r->peer);
}

/* Sends one message of size payload bytes; returns the reply's payload
 * size (reply copied to *reply), or -1 when there is none. */
static int roundtrip(struct rig *r, uint32_t request, const void *payload,
		     uint32_t size, union vu_payload *reply)
{
	struct vu_msg msg = { .hdr = { request, VU_VERSION, size } };
	struct {
		struct vu_hdr hdr;
		union vu_payload p;
	} __attribute__((packed)) in;
	ssize_t n;

	if (size)
		memcpy(msg.payload.bytes, payload, size);
	vu_dev_handle_msg(&r->dev, &msg);
	n = read(r->peer, &in, sizeof(in));
	if (n < (ssize_t)sizeof(in.hdr))
		return -1;
	if (reply)
		memcpy(reply, &in.p, sizeof(*reply));
	return (int)in.hdr.size;
}

static void test_queues(struct tap *t, const void *arg)
{
	struct vu_vring_state st = { .index = 2, .num = 64 };
	union vu_payload reply;
	struct rig r;

	(void)arg;
	rig_open(&r, &test_kind);
	CHECK_EQ(t, roundtrip(&r, VU_GET_QUEUE_NUM, NULL, 0, &reply), 8);
	CHECK_EQ(t, reply.u64, 3);
	roundtrip(&r, VU_SET_VRING_NUM, &st, sizeof(st), NULL);
	CHECK_EQ(t, r.dev.q[2].num, 64);
	CHECK_EQ(t, r.dev.protocol_errors, 0);
	st.index = 3;
	roundtrip(&r, VU_SET_VRING_NUM, &st, sizeof(st), NULL);
	CHECK_STR(t, r.dev.last_error, "vring index 3 out of range (3 queues)");
	rig_close(&r);
}

static void test_get_config_window(struct tap *t, const void *arg)
{
	struct vu_config c = { .offset = 4, .size = 8 };
	union vu_payload reply;
	struct rig r;

	(void)arg;
	rig_open(&r, &test_kind);
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR + 8, &reply),
		 VU_CONFIG_HDR + 8);
	CHECK_EQ(t, reply.config.offset, 4);
	CHECK_EQ(t, reply.config.size, 8);
	for (uint32_t i = 0; i < 8; i++)
		CHECK_EQ(t, reply.config.region[i], (4 + i) ^ 0x5a);
	/* The last byte of the window, exactly. */
	c.offset = VU_CONFIG_MAX - 1;
	c.size = 1;
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR + 1, &reply),
		 VU_CONFIG_HDR + 1);
	CHECK_EQ(t, r.dev.protocol_errors, 0);
	rig_close(&r);
}

static void test_get_config_bounds(struct tap *t, const void *arg)
{
	struct vu_config c = { .offset = VU_CONFIG_MAX - 7, .size = 8 };
	struct rig r;

	(void)arg;
	rig_open(&r, &test_kind);
	/* One byte beyond: an empty reply, so the front end fails. */
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR + 8, NULL), 0);
	CHECK_STR(t, r.dev.last_error, "offset 249 + size 8 beyond 256");
	/* An offset that would wrap. */
	c.offset = 0xfffffffc;
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR + 8, NULL), 0);
	CHECK_STR(t, r.dev.last_error, "offset 4294967292 + size 8 beyond");
	c.offset = 0;
	c.size = VU_CONFIG_MAX + 1;
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR, NULL), 0);
	CHECK_STR(t, r.dev.last_error, "size 257 beyond 256");
	/* Size in the header and in the payload disagree. */
	c.size = 8;
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR + 4, NULL), 0);
	CHECK_STR(t, r.dev.last_error, "payload size 16 for 8 bytes of config, expected 20");
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, 8, NULL), 0);
	CHECK_STR(t, r.dev.last_error, "payload size 8 < 12");
	CHECK_EQ(t, r.dev.protocol_errors, 5);
	rig_close(&r);
}

static void test_set_config_reaches(struct tap *t, const void *arg)
{
	struct vu_config c = { .offset = 16, .size = 3,
			       .flags = VU_CONFIG_MIGRATION,
			       .region = { 1, 2, 3 } };
	struct rig r;

	(void)arg;
	rig_open(&r, &test_kind);
	CHECK_EQ(t, roundtrip(&r, VU_SET_CONFIG, &c, VU_CONFIG_HDR + 3, NULL), -1);
	CHECK_EQ(t, r.seen.calls, 1);
	CHECK_EQ(t, r.seen.offset, 16);
	CHECK_EQ(t, r.seen.len, 3);
	CHECK_EQ(t, r.seen.flags, VU_CONFIG_MIGRATION);
	CHECK_EQ(t, r.seen.bytes[2], 3);
	c.offset = VU_CONFIG_MAX - 2;
	roundtrip(&r, VU_SET_CONFIG, &c, VU_CONFIG_HDR + 3, NULL);
	CHECK_EQ(t, r.seen.calls, 1);
	CHECK_STR(t, r.dev.last_error, "SET_CONFIG: offset 254 + size 3 beyond");
	rig_close(&r);
}

/* A request the generic layer leaves to the kind, with no hook. */
static void test_request_not_handled(struct tap *t, const void *arg)
{
	uint64_t mtu = 1500;
	struct rig r;

	(void)arg;
	rig_open(&r, &test_kind);
	roundtrip(&r, VU_NET_SET_MTU, &mtu, sizeof(mtu), NULL);
	CHECK_STREQ(t, r.dev.last_error, "NET_SET_MTU not handled");
	CHECK_EQ(t, r.dev.mtu, 0);
	rig_close(&r);
}

/* Net has no config space of its own here: GET_CONFIG is unsupported,
 * as before kinds existed, and NET_SET_MTU is its own. */
static void test_net_kind(struct tap *t, const void *arg)
{
	struct vu_config c = { .offset = 0, .size = 8 };
	uint64_t mtu = 9000;
	union vu_payload reply;
	struct rig r;

	(void)arg;
	rig_open(&r, &net_vu_kind);
	CHECK_EQ(t, roundtrip(&r, VU_GET_CONFIG, &c, VU_CONFIG_HDR + 8, NULL), 0);
	CHECK_STREQ(t, r.dev.last_error, "GET_CONFIG (24) not supported");
	CHECK_EQ(t, roundtrip(&r, VU_GET_QUEUE_NUM, NULL, 0, &reply), 8);
	CHECK_EQ(t, reply.u64, 1);
	roundtrip(&r, VU_NET_SET_MTU, &mtu, sizeof(mtu), NULL);
	CHECK_EQ(t, r.dev.mtu, 9000);
	rig_close(&r);
}

/* Multiqueue (issue 19): a net back end set to 2 pairs answers
 * GET_QUEUE_NUM 2, offers VIRTIO_NET_F_MQ, takes vrings 0..3 and refuses
 * 4 and 2N+1 = 5, naming them; a count outside 1..NET_MAX_PAIRS changes
 * nothing; back to 1 pair, MQ is not offered (SET_FEATURES with it is
 * refused). */
static void test_net_pairs(struct tap *t, const void *arg)
{
	struct vu_vring_state st = { .index = 3, .num = 64 };
	uint64_t mq = 1ull << VIRTIO_NET_F_MQ;
	union vu_payload reply;
	struct rig r;

	(void)arg;
	rig_open(&r, &net_vu_kind);
	CHECK_EQ(t, net_vu_set_pairs(&r.dev, 0), -EINVAL);
	CHECK_EQ(t, net_vu_set_pairs(&r.dev, NET_MAX_PAIRS + 1), -EINVAL);
	CHECK_EQ(t, r.dev.nqueues, 2);
	CHECK_EQ(t, net_vu_set_pairs(&r.dev, 2), 0);
	CHECK_EQ(t, roundtrip(&r, VU_GET_QUEUE_NUM, NULL, 0, &reply), 8);
	CHECK_EQ(t, reply.u64, 2);
	CHECK_EQ(t, roundtrip(&r, VU_GET_FEATURES, NULL, 0, &reply), 8);
	CHECK(t, reply.u64 & mq);
	roundtrip(&r, VU_SET_VRING_NUM, &st, sizeof(st), NULL);
	CHECK_EQ(t, r.dev.q[3].num, 64);
	CHECK_EQ(t, r.dev.protocol_errors, 0);
	st.index = 4;
	roundtrip(&r, VU_SET_VRING_NUM, &st, sizeof(st), NULL);
	CHECK_STR(t, r.dev.last_error, "SET_VRING_NUM: vring index 4 out of range (4 queues");
	st.index = 5;
	roundtrip(&r, VU_SET_VRING_ENABLE, &st, sizeof(st), NULL);
	CHECK_STR(t, r.dev.last_error, "SET_VRING_ENABLE: vring index 5 out of range");
	CHECK_EQ(t, r.dev.q[5].enabled, false);
	CHECK_EQ(t, r.dev.protocol_errors, 2);
	CHECK_EQ(t, net_vu_set_pairs(&r.dev, 1), 0);
	CHECK_EQ(t, roundtrip(&r, VU_GET_FEATURES, NULL, 0, &reply), 8);
	CHECK(t, !(reply.u64 & mq));
	roundtrip(&r, VU_SET_FEATURES, &mq, sizeof(mq), NULL);
	CHECK_STR(t, r.dev.last_error, "never offered");
	rig_close(&r);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "queue count and GET_QUEUE_NUM from the kind", test_queues, NULL },
		{ "GET_CONFIG answers the window asked for", test_get_config_window, NULL },
		{ "GET_CONFIG beyond the config space refused", test_get_config_bounds, NULL },
		{ "SET_CONFIG reaches the kind, bounded", test_set_config_reaches, NULL },
		{ "a kind's request without a hook refused", test_request_not_handled, NULL },
		{ "net: GET_CONFIG unsupported, NET_SET_MTU its own", test_net_kind, NULL },
		{ "net: N pairs, GET_QUEUE_NUM, MQ, vrings past 2N refused", test_net_pairs, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
