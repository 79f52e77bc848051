/* Offloads across a real bulkhead-link: each side negotiates on its own,
 * and a frame is never delivered in a form the receiver did not agree to.
 * Side A sends a 20 000-byte TCP segment (TSO, partial checksum):
 *  - to a receiver without GUEST_TSO4/GUEST_CSUM it arrives as MSS-sized
 *    frames with complete, valid checksums and the payload intact;
 *  - to a receiver with them it arrives as one frame with its GSO header
 *    (one copy);
 * a partial checksum alone is completed for a receiver without
 * GUEST_CSUM; and a sender that uses TSO without negotiating it is
 * dropped and counted.
 *
 * Usage: test_offload BULKHEAD_LINK */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "link_control.h"
#include "net_offload.h"
#include "tap.h"
#include "vu_frontend.h"

#define BIT(n) (1ull << (n))
#define BASE (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | \
	      BIT(VIRTIO_RING_F_EVENT_IDX))
#define OFFLOADS (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | \
		  BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4))
#define QSIZE 256
#define MEM (8u << 20)
#define PAYLOAD 20000
#define MSS 1400

static char dir[64], sock_a[96], sock_b[96], control[96];
static pid_t link_pid;
static uint8_t frame[70000], got[70000];

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long long stat_num(const char *dirn, const char *key)
{
	return link_control_counter(control, dirn, key);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 + TCP, payload bytes i & 0xff; the TCP checksum field
 * holds the pseudo-header sum, as a driver leaves it for NEEDS_CSUM. */
static size_t make_segment(size_t payload)
{
	uint8_t *f = frame, pseudo[12] = { 10, 0, 0, 1, 10, 0, 0, 2, 0, 6 };
	size_t len = 54 + payload;

	memset(f, 0, 54);
	memset(f, 0xbb, 6);
	f[6] = 0x02;
	f[11] = 0x0a;
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(40 + payload));
	f[22] = 64;
	f[23] = 6;
	f[26] = 10, f[29] = 1, f[30] = 10, f[33] = 2;
	put16(f + 24, net_csum_fold(net_csum_add(0, f + 14, 20)));
	put16(f + 34, 40000);
	put16(f + 36, 80);
	f[46] = 0x50;
	f[47] = 0x18;
	for (size_t i = 0; i < payload; i++)
		f[54 + i] = (uint8_t)i;
	put16(pseudo + 10, (uint16_t)(20 + payload));
	put16(f + 50, (uint16_t)~net_csum_fold(net_csum_add(0, pseudo, 12)));
	return len;
}

static void hdr_for(uint8_t *h, bool gso)
{
	memset(h, 0, 12);
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[1] = gso ? VIRTIO_NET_HDR_GSO_TCPV4 : 0;
	h[2] = 54;
	h[4] = MSS & 0xff, h[5] = MSS >> 8;
	h[6] = 34;                    /* csum_start: the TCP header */
	h[8] = 16;                    /* csum_offset: its checksum */
}

static bool tcp_valid(const uint8_t *f, size_t len)
{
	uint8_t pseudo[12] = { 10, 0, 0, 1, 10, 0, 0, 2, 0, 6 };
	uint32_t sum;

	put16(pseudo + 10, (uint16_t)(len - 34));
	sum = net_csum_add(0, pseudo, 12);
	return net_csum_fold(net_csum_add(sum, f + 34, len - 34)) == 0 &&
	       net_csum_fold(net_csum_add(0, f + 14, 20)) == 0;
}

static bool start_side(struct fe *fe, const char *path, uint64_t features)
{
	return fe_connect(fe, path, 3000) == 0 &&
	       fe_start(fe, features, false, QSIZE, MEM) == 0 &&
	       fe_post_rx(fe, QSIZE) == 0;
}

static void test_segmented(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t h[12], rh[12];
	size_t len = make_segment(PAYLOAD), off = 0;
	int frames = 0;
	bool all_valid = true, all_fit = true;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE | OFFLOADS));
	CHECK(t, start_side(&b, sock_b, BASE));
	hdr_for(h, true);
	CHECK_EQ(t, fe_send_big(&a, h, frame, len), 0);
	while (off < PAYLOAD) {
		int n = fe_recv_frame_hdr(&b, rh, got, sizeof(got), 3000);

		if (n < 0)
			break;
		frames++;
		all_fit &= n <= 54 + MSS && rh[1] == 0 && !(rh[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		all_valid &= tcp_valid(got, (size_t)n) &&
			     memcmp(got + 54, frame + 54 + off, (size_t)n - 54) == 0;
		off += (size_t)n - 54;
	}
	CHECK_EQ(t, off, PAYLOAD);
	CHECK_EQ(t, frames, (PAYLOAD + MSS - 1) / MSS);
	CHECK(t, all_fit);
	CHECK(t, all_valid);
	CHECK_EQ(t, stat_num("a_to_b", "tso_segmented"), frames);
	fe_close(&a);
	fe_close(&b);
}

static void test_passed_whole(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t h[12], rh[12];
	size_t len = make_segment(PAYLOAD);
	long long before = stat_num("a_to_b", "gso_frames");
	int n;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE | OFFLOADS));
	CHECK(t, start_side(&b, sock_b, BASE | OFFLOADS));
	hdr_for(h, true);
	CHECK_EQ(t, fe_send_big(&a, h, frame, len), 0);
	n = fe_recv_frame_hdr(&b, rh, got, sizeof(got), 3000);
	CHECK_EQ(t, n, (int)len);
	CHECK(t, n > 0 && memcmp(got, frame, len) == 0);
	CHECK_EQ(t, rh[1], VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(t, rh[4] | rh[5] << 8, MSS);
	CHECK_EQ(t, rh[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(t, stat_num("a_to_b", "gso_frames"), before + 1);
	fe_close(&a);
	fe_close(&b);
}

static void test_csum_completed(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t h[12], rh[12];
	size_t len = make_segment(1000);
	int n;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE | OFFLOADS));
	CHECK(t, start_side(&b, sock_b, BASE));
	hdr_for(h, false);
	CHECK(t, !tcp_valid(frame, len)); /* only a partial sum so far */
	CHECK_EQ(t, fe_send_big(&a, h, frame, len), 0);
	n = fe_recv_frame_hdr(&b, rh, got, sizeof(got), 3000);
	CHECK_EQ(t, n, (int)len);
	CHECK(t, n > 0 && tcp_valid(got, (size_t)n));
	CHECK_EQ(t, rh[0], 0);
	CHECK_EQ(t, stat_num("a_to_b", "csum_completed"), 1);
	fe_close(&a);
	fe_close(&b);
}

static void test_tso_not_negotiated(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t h[12];
	size_t len = make_segment(PAYLOAD);
	long long before = stat_num("a_to_b", "malformed");

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE));
	CHECK(t, start_side(&b, sock_b, BASE | OFFLOADS));
	hdr_for(h, true);
	CHECK_EQ(t, fe_send_big(&a, h, frame, len), 0);
	for (int i = 0; i < 100 && stat_num("a_to_b", "malformed") == before; i++)
		sleep_ms(10);
	CHECK_EQ(t, stat_num("a_to_b", "malformed"), before + 1);
	CHECK_EQ(t, fe_recv_frame(&b, got, sizeof(got), 200), -EAGAIN);
	fe_close(&a);
	fe_close(&b);
}

/* Waits for a counter to move past before; returns its value. */
static long long await_counter(const char *dirn, const char *key,
			       long long before)
{
	long long v = before;

	for (int i = 0; i < 100 && (v = stat_num(dirn, key)) == before; i++)
		sleep_ms(10);
	return v;
}

struct header_case {
	const char *name;
	uint8_t flags, gso_type;
	uint16_t gso_size, csum_start, csum_offset;
	uint64_t sender_features;
	size_t payload;
};

/* Each header a driver may not send, given what it negotiated, is dropped
 * as malformed before anything reaches the receiver, even one that would
 * take offloads as they are. */
static void test_bad_headers(struct tap *t, const void *arg)
{
	static const struct header_case cases[] = {
		{ "unknown flag bit", 0x80, 0, 0, 0, 0, BASE | OFFLOADS, 100 },
		{ "unknown gso type", 0, 5, 1400, 0, 0, BASE | OFFLOADS, 100 },
		{ "gso size 0", VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 0, 34, 16, BASE | OFFLOADS, 3000 },
		{ "NEEDS_CSUM without CSUM", VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16, BASE, 100 },
		{ "csum_start at the end", VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 154, 0, BASE | OFFLOADS, 100 },
		{ "csum_start on the last byte", VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 153, 0, BASE | OFFLOADS, 100 },
		{ "csum_offset past the end", VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 119, BASE | OFFLOADS, 100 },
	};
	struct fe a, b;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE | OFFLOADS));
	CHECK(t, start_side(&b, sock_b, BASE | OFFLOADS));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct header_case *c = &cases[i];
		uint8_t h[12] = { c->flags, c->gso_type, 0, 0,
				  (uint8_t)c->gso_size, (uint8_t)(c->gso_size >> 8),
				  (uint8_t)c->csum_start, (uint8_t)(c->csum_start >> 8),
				  (uint8_t)c->csum_offset, (uint8_t)(c->csum_offset >> 8) };
		size_t len = make_segment(c->payload);
		struct fe *sender = &a, other;
		long long before = stat_num("a_to_b", "malformed");

		if (c->sender_features != (BASE | OFFLOADS)) {
			fe_close(&a);
			CHECK(t, start_side(&other, sock_a, c->sender_features));
			sender = &other;
		}
		CHECK_EQ(t, fe_send_big(sender, h, frame, len), 0);
		if (await_counter("a_to_b", "malformed", before) != before + 1)
			printf("# %s: not counted as malformed\n", c->name);
		CHECK_EQ(t, stat_num("a_to_b", "malformed"), before + 1);
		CHECK_EQ(t, fe_recv_frame(&b, got, sizeof(got), 50), -EAGAIN);
		if (sender == &other) {
			fe_close(&other);
			CHECK(t, start_side(&a, sock_a, BASE | OFFLOADS));
		}
	}
	fe_close(&a);
	fe_close(&b);
}

static void test_runt_and_oversize(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t h[12] = { 0 };
	long long before;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE));
	CHECK(t, start_side(&b, sock_b, BASE));
	make_segment(100);
	before = stat_num("a_to_b", "malformed");
	CHECK_EQ(t, fe_send_big(&a, h, frame, 13), 0); /* less than Ethernet */
	CHECK_EQ(t, await_counter("a_to_b", "malformed", before), before + 1);
	CHECK_EQ(t, fe_send_big(&a, h, frame, 14), 0); /* exactly Ethernet */
	CHECK_EQ(t, fe_recv_frame(&b, got, sizeof(got), 2000), 14);
	before = stat_num("a_to_b", "oversize");
	CHECK_EQ(t, fe_send_big(&a, h, frame, 65535 + 14 + 4 + 1), 0);
	CHECK_EQ(t, await_counter("a_to_b", "oversize", before), before + 1);
	CHECK_EQ(t, fe_recv_frame(&b, got, sizeof(got), 50), -EAGAIN);
	fe_close(&a);
	fe_close(&b);
}

/* A receiver that disabled its receive queue: the frame is dropped and
 * counted, not queued. */
static void test_peer_queue_disabled(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t h[12] = { 0 };
	struct vu_vring_state off = { 0, 0 }, on = { 0, 1 };
	long long before = stat_num("a_to_b", "peer_down");

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE));
	CHECK(t, start_side(&b, sock_b, BASE));
	CHECK_EQ(t, fe_send(&b, VU_SET_VRING_ENABLE, VU_VERSION, &off, 8, NULL, 0), 0);
	sleep_ms(50);
	CHECK_EQ(t, fe_send_big(&a, h, frame, make_segment(100)), 0);
	CHECK_EQ(t, await_counter("a_to_b", "peer_down", before), before + 1);
	CHECK_EQ(t, fe_send(&b, VU_SET_VRING_ENABLE, VU_VERSION, &on, 8, NULL, 0), 0);
	sleep_ms(50);
	CHECK_EQ(t, fe_send_big(&a, h, frame, make_segment(100)), 0);
	CHECK_EQ(t, fe_recv_frame(&b, got, sizeof(got), 2000), 154);
	fe_close(&a);
	fe_close(&b);
}

/* Receive buffers that cannot hold a frame: without mergeable buffers a
 * 64-byte buffer for a 1000-byte frame; with them, a first buffer too small
 * for the header, or a frame needing more than 64 buffers. */
static void test_rx_too_small(struct tap *t, const void *arg)
{
	static const struct {
		uint64_t features;
		uint32_t buf_len;
		size_t payload;
	} cases[] = {
		{ BIT(VIRTIO_F_VERSION_1), 64, 946 },
		{ BASE, 8, 100 },
		{ BASE, 16, 1446 },
	};
	uint8_t h[12] = { 0 };

	(void)arg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fe a, b;
		long long before = stat_num("a_to_b", "rx_buffer_too_small");

		CHECK(t, start_side(&a, sock_a, BASE));
		CHECK(t, fe_connect(&b, sock_b, 3000) == 0 &&
			 fe_start(&b, cases[i].features, false, QSIZE, MEM) == 0 &&
			 fe_post_rx_len(&b, QSIZE, cases[i].buf_len) == 0);
		CHECK_EQ(t, fe_send_big(&a, h, frame, make_segment(cases[i].payload)), 0);
		CHECK_EQ(t, await_counter("a_to_b", "rx_buffer_too_small", before),
			 before + 1);
		fe_close(&a);
		fe_close(&b);
	}
}

/* Many frames, each in many mergeable buffers, in one batch: more used
 * entries than the link keeps before returning them. All arrive intact. */
/* A guest that rewrites its frames' source MAC while the link forwards
 * them (another vCPU can): the link checks the MAC it read once, and the
 * receiver must get that same MAC, never one read again later. A thread
 * flips the source MAC of 64 queued frames between A's own and a forged
 * one as fast as it can while A sends 40000 of them. */
#define RACE_BUFS 64
#define RACE_STRIDE 128
#define RACE_LEN (12 + 60)

struct race {
	uint8_t *buf[RACE_BUFS];
	volatile int stop;
};

static void *flip_macs(void *arg)
{
	struct race *r = arg;
	unsigned k = 0;

	while (!r->stop) {
		for (int i = 0; i < RACE_BUFS; i++) {
			/* The last source byte: 0x0a is A's, 0x0b forged. */
			volatile uint8_t *b = r->buf[i] + 12 + 11;
			*b = (k & 1) ? 0x0b : 0x0a;
		}
		k++;
	}
	return NULL;
}

static void test_mac_double_fetch(struct tap *t, const void *arg)
{
	struct fe a, b;
	struct race r = { .stop = 0 };
	pthread_t th;
	long long spoofed = stat_num("a_to_b", "spoofed");
	int forged = 0, received = 0;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE));
	CHECK(t, start_side(&b, sock_b, BASE));
	uint64_t gpa = fe_alloc_buf(&a, RACE_BUFS * RACE_STRIDE);
	CHECK(t, gpa != 0);
	if (!gpa)
		return;
	for (int i = 0; i < RACE_BUFS; i++) {
		uint8_t *p = fe_hva(&a, gpa + (uint64_t)i * RACE_STRIDE);

		memset(p, 0, RACE_STRIDE);
		memset(p + 12, 0xbb, 6);
		p[12 + 6] = 0x02;
		p[12 + 11] = 0x0a;
		put16(p + 12 + 12, 0x88b5);
		r.buf[i] = p;
	}
	pthread_create(&th, NULL, flip_macs, &r);
	for (int sent = 0; sent < 40000;) {
		sent += (int)fe_tx_burst(&a, gpa, RACE_STRIDE, RACE_BUFS, RACE_LEN, 32);
		int n;

		int drained = 0;

		while ((n = fe_recv_frame(&b, got, sizeof(got), 0)) > 0) {
			drained++;
			if (got[11] != 0x0a)
				forged++;
		}
		received += drained;
		/* Each buffer back as soon as it is read (in order, as the
		 * harness's pool goes round). */
		if (drained)
			fe_post_rx(&b, (unsigned)drained);
	}
	r.stop = 1;
	pthread_join(th, NULL);
	for (int n; (n = fe_recv_frame(&b, got, sizeof(got), 200)) > 0;) {
		received++;
		fe_post_rx(&b, 1);
		if (got[11] != 0x0a)
			forged++;
	}
	spoofed = stat_num("a_to_b", "spoofed") - spoofed;
	printf("# received %d, forged among them %d, dropped as spoofed %lld\n",
	       received, forged, spoofed);
	/* The race was on (the link saw forged MACs and dropped them), frames
	 * crossed, and none crossed with a MAC other than the one checked. */
	CHECK(t, spoofed > 0);
	CHECK(t, received > 1000);
	CHECK_EQ(t, forged, 0);
	fe_close(&a);
	fe_close(&b);
}

static void test_many_buffers_per_batch(struct tap *t, const void *arg)
{
	struct fe a, b;
	uint8_t rh[12];
	int ok = 0;

	(void)arg;
	CHECK(t, start_side(&a, sock_a, BASE));
	CHECK(t, fe_connect(&b, sock_b, 3000) == 0 &&
		 fe_start(&b, BASE, false, QSIZE, MEM) == 0 &&
		 fe_post_rx_len(&b, QSIZE, 100) == 0);
	for (int i = 0; i < 12; i++) {
		size_t len = make_segment(1446);

		frame[54] = (uint8_t)i;
		CHECK_EQ(t, fe_send_frame(&a, frame, len), 0);
	}
	for (int i = 0; i < 12; i++) {
		int n = fe_recv_frame_hdr(&b, rh, got, sizeof(got), 2000);

		if (n == 1500 && got[54] == (uint8_t)i &&
		    memcmp(got + 55, frame + 55, 1445) == 0)
			ok++;
	}
	CHECK_EQ(t, ok, 12);
	fe_close(&a);
	fe_close(&b);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
		{ "headers a driver may not send: malformed", test_bad_headers, NULL },
		{ "runt and oversize frames", test_runt_and_oversize, NULL },
		{ "receiver's queue disabled: peer_down", test_peer_queue_disabled, NULL },
		{ "receive buffers too small", test_rx_too_small, NULL },
		{ "many mergeable buffers in one batch", test_many_buffers_per_batch, NULL },
		{ "a source MAC rewritten while in flight: the receiver gets the one checked", test_mac_double_fetch, NULL },
		{ "TSO to a receiver without it: segmented, checksummed", test_segmented, NULL },
		{ "TSO to a receiver with it: one frame, one copy", test_passed_whole, NULL },
		{ "partial checksum completed for a receiver without GUEST_CSUM", test_csum_completed, NULL },
		{ "TSO from a sender that did not negotiate it: dropped, counted", test_tso_not_negotiated, NULL },
	};
	int ret;

	if (argc != 2)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/bulkhead-offload-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_a, sizeof(sock_a), "%s/a.sock", dir);
	snprintf(sock_b, sizeof(sock_b), "%s/b.sock", dir);
	snprintf(control, sizeof(control), "%s/control.sock", dir);
	link_pid = fork();
	if (link_pid == 0) {
		/* Side A's frames come from 02:00:00:00:00:0a (make_segment). */
		execl(argv[1], argv[1], "--a", sock_a, "--b", sock_b, "--control",
		      control, "--name", "offload", "--mac-a",
		      "02:00:00:00:00:0a", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(control, F_OK) != 0; i++)
		sleep_ms(10);
	ret = tap_run(cases, sizeof(cases) / sizeof(cases[0]));
	kill(link_pid, SIGTERM);
	waitpid(link_pid, NULL, 0);
	/* A confined link leaves its sockets to whoever started it. */
	unlink(sock_a);
	unlink(sock_b);
	unlink(control);
	rmdir(dir);
	return ret;
}
