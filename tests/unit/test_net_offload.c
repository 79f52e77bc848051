/* Software offloads (vmm/net/net_offload.c): checksum completion and TCP
 * segmentation, checked by verifying every checksum the way a receiver
 * would and by reassembling the payload. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_offload.h"
#include "tap.h"
#include "tcp_frame.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Sum over the TCP segment with its pseudo header: 0 when valid. */
static uint16_t tcp_verify(const uint8_t *f, size_t len, bool v6)
{
	size_t l3 = 14, l4 = l3 + (v6 ? 40 : 20);
	uint8_t pseudo[8] = { 0 };
	uint32_t sum;

	if (v6) {
		sum = net_csum_add(0, f + l3 + 8, 32);
		pseudo[2] = (uint8_t)((len - l4) >> 8);
		pseudo[3] = (uint8_t)(len - l4);
		pseudo[7] = 6;
		sum = net_csum_add(sum, pseudo, 8);
	} else {
		sum = net_csum_add(0, f + l3 + 12, 8);
		pseudo[1] = 6;
		put16(pseudo + 2, (uint16_t)(len - l4));
		sum = net_csum_add(sum, pseudo, 4);
	}
	return net_csum_fold(net_csum_add(sum, f + l4, len - l4));
}

struct collected {
	int n;
	size_t len[64];
	uint8_t *seg[64];
};

static int collect(void *opaque, const uint8_t *frame, size_t len)
{
	struct collected *c = opaque;

	c->seg[c->n] = malloc(len);
	memcpy(c->seg[c->n], frame, len);
	c->len[c->n++] = len;
	return 0;
}

static void free_collected(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->seg[i]);
}

static void test_tso(struct tap *t, const void *arg)
{
	bool v6 = arg != NULL;
	size_t hdrs = 14 + (v6 ? 40 : 20) + 20, l4 = hdrs - 20;
	static uint8_t frame[70000], seg[70000];
	struct collected c = { 0 };
	char err[160];
	size_t len = make_tcp(frame, v6, 3500, 0x18 | 0x01 | 0x80); /* PSH ACK FIN CWR */
	int n = net_tso_segment(frame, len, 1000, seg, sizeof(seg), collect, &c,
				err, sizeof(err));

	CHECK_EQ(t, n, 4);
	for (int i = 0; i < c.n; i++) {
		uint8_t *s = c.seg[i];
		size_t want = i < 3 ? 1000 : 500;

		CHECK_EQ(t, c.len[i], hdrs + want);
		if (!v6) {
			CHECK_EQ(t, get16(s + 16), 40 + want);
			CHECK_EQ(t, get16(s + 18), 0x1234 + i);
			CHECK_EQ(t, net_csum_fold(net_csum_add(0, s + 14, 20)), 0);
		} else {
			CHECK_EQ(t, get16(s + 18), 20 + want);
		}
		CHECK_EQ(t, get32(s + l4 + 4), 0x01000000u + 1000u * (unsigned)i);
		CHECK_EQ(t, s[l4 + 13] & 0x01, i == 3 ? 0x01 : 0);  /* FIN last */
		CHECK_EQ(t, s[l4 + 13] & 0x08, i == 3 ? 0x08 : 0);  /* PSH last */
		CHECK_EQ(t, s[l4 + 13] & 0x80, i == 0 ? 0x80 : 0);  /* CWR first */
		CHECK_EQ(t, s[l4 + 13] & 0x10, 0x10);                /* ACK all */
		CHECK_EQ(t, tcp_verify(s, c.len[i], v6), 0);
		CHECK(t, memcmp(s + hdrs, frame + hdrs + 1000 * (size_t)i, want) == 0);
	}
	free_collected(&c);
}

static void test_tso_refuses(struct tap *t, const void *arg)
{
	static uint8_t frame[4000], seg[4000];
	struct collected c = { 0 };
	char err[160];
	size_t len;

	(void)arg;
	len = make_tcp(frame, true, 100, 0x10);
	frame[14 + 6] = 0; /* hop-by-hop extension header */
	CHECK_EQ(t, net_tso_segment(frame, len, 50, seg, sizeof(seg), collect,
				    &c, err, sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "next header 0 is not TCP");
	len = make_tcp(frame, false, 100, 0x10);
	put16(frame + 16, 2000); /* IPv4 total length past the frame */
	CHECK_EQ(t, net_tso_segment(frame, len, 50, seg, sizeof(seg), collect,
				    &c, err, sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "total length 2000");
	len = make_tcp(frame, false, 100, 0x10);
	frame[14 + 9] = 17; /* UDP */
	CHECK_EQ(t, net_tso_segment(frame, len, 50, seg, sizeof(seg), collect,
				    &c, err, sizeof(err)), -EINVAL);
	len = make_tcp(frame, false, 100, 0x10);
	CHECK_EQ(t, net_tso_segment(frame, len, 0, seg, sizeof(seg), collect,
				    &c, err, sizeof(err)), -EINVAL);
	CHECK_EQ(t, net_tso_segment(frame, 30, 50, seg, sizeof(seg), collect,
				    &c, err, sizeof(err)), -EINVAL);
	frame[14 + 32] = 0xf0; /* TCP data offset 60, past the packet */
	CHECK_EQ(t, net_tso_segment(frame, 14 + 20 + 40, 50, seg, sizeof(seg),
				    collect, &c, err, sizeof(err)), -EINVAL);
	CHECK_EQ(t, c.n, 0);
}

/* One refusal on a copy of exactly len bytes, so ASan sees any read
 * past what the frame holds. */
static int tso_exact(const uint8_t *src, size_t len, uint16_t mss,
		     size_t seg_len)
{
	uint8_t *f = malloc(len ? len : 1), *seg = malloc(seg_len);
	struct collected c = { 0 };
	char err[160];
	int ret;

	memcpy(f, src, len);
	ret = net_tso_segment(f, len, mss, seg, seg_len, collect, &c, err,
			      sizeof(err));
	free_collected(&c);
	free(f);
	free(seg);
	return ret;
}

static void test_tso_bounds(struct tap *t, const void *arg)
{
	static uint8_t v4[2000], v6[2000], x[2000];
	size_t len4 = make_tcp(v4, false, 100, 0x10);
	size_t len6 = make_tcp(v6, true, 100, 0x10);

	(void)arg;
	CHECK_EQ(t, tso_exact(v4, len4, 50, 4000), 2); /* the good one */
	CHECK_EQ(t, tso_exact(v4, 17, 50, 4000), -EINVAL);
	CHECK_EQ(t, tso_exact(v4, 14 + 19, 50, 4000), -EINVAL);
	memcpy(x, v4, len4);
	x[14] = 0x44; /* ihl 4 */
	CHECK_EQ(t, tso_exact(x, len4, 50, 4000), -EINVAL);
	memcpy(x, v4, len4);
	put16(x + 16, 10); /* total length below the header */
	CHECK_EQ(t, tso_exact(x, len4, 50, 4000), -EINVAL);
	memcpy(x, v4, len4);
	put16(x + 16, (uint16_t)(len4 - 14 + 1)); /* one past the frame */
	CHECK_EQ(t, tso_exact(x, len4, 50, 4000), -EINVAL);
	CHECK_EQ(t, tso_exact(v6, 14 + 39, 50, 4000), -EINVAL);
	memcpy(x, v6, len6);
	put16(x + 18, (uint16_t)(len6 - 54 + 1)); /* payload one past */
	CHECK_EQ(t, tso_exact(x, len6, 50, 4000), -EINVAL);
	memcpy(x, v4, len4);
	put16(x + 16, 20 + 19); /* room for 19 bytes of TCP header */
	CHECK_EQ(t, tso_exact(x, 14 + 39, 50, 4000), -EINVAL);
	memcpy(x, v4, len4);
	x[46] = 0x40; /* data offset 16 */
	CHECK_EQ(t, tso_exact(x, len4, 50, 4000), -EINVAL);
	memcpy(x, v4, len4);
	x[46] = 0xf0; /* data offset 60, past the packet */
	put16(x + 16, 40 + 10);
	CHECK_EQ(t, tso_exact(x, 14 + 50, 50, 4000), -EINVAL);
	CHECK_EQ(t, tso_exact(v4, len4, 0, 4000), -EINVAL);
	/* Headers and one segment need 54 + 50 bytes of segment buffer. */
	CHECK_EQ(t, tso_exact(v4, len4, 50, 54 + 50), 2);
	CHECK_EQ(t, tso_exact(v4, len4, 50, 54 + 50 - 1), -EINVAL);
}

/* NEEDS_CSUM: the driver left the pseudo-header sum in the field; the
 * completed checksum verifies. */
static void test_csum_complete(struct tap *t, const void *arg)
{
	static uint8_t frame[2000];
	size_t len = make_tcp(frame, false, 777, 0x18);
	size_t l4 = 34;
	char err[160];
	uint8_t pseudo[12] = { 10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 0 };

	(void)arg;

	put16(pseudo + 10, (uint16_t)(len - l4));
	put16(frame + l4 + 16, (uint16_t)~net_csum_fold(net_csum_add(0, pseudo, 12)));
	CHECK_EQ(t, net_csum_complete(frame, len, (uint16_t)l4, 16, err, sizeof(err)), 0);
	CHECK_EQ(t, tcp_verify(frame, len, false), 0);
	CHECK_EQ(t, net_csum_complete(frame, len, (uint16_t)(len - 1), 0, err,
				      sizeof(err)), -EINVAL);
	CHECK_EQ(t, net_csum_complete(frame, len, (uint16_t)l4,
				      (uint16_t)(len - l4 - 1), err, sizeof(err)),
		 -EINVAL);
	CHECK_EQ(t, net_csum_complete(frame, len, (uint16_t)len, 0, err,
				      sizeof(err)), -EINVAL);
	CHECK_STR(t, err, "outside frame");
	CHECK_EQ(t, net_csum_complete(frame, len, (uint16_t)l4,
				      (uint16_t)(len - l4 - 2), err, sizeof(err)), 0);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "TSO TCP/IPv4 into MSS segments", test_tso, NULL },
		{ "TSO TCP/IPv6 into MSS segments", test_tso, "v6" },
		{ "TSO refuses what it cannot parse", test_tso_refuses, NULL },
		{ "checksum completion", test_csum_complete, NULL },
		{ "TSO bounds, on exactly sized frames", test_tso_bounds, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
