/* What the link lets through toward a tap (a host port, vmm/net/net_link.c):
 * IPv4 and ARP only, the rest dropped and counted not_ipv4_arp; between
 * two VMs every EtherType crosses. The link runs in this process (as
 * tests/bench/bench_net_link does): side b is a virtio-net driver over
 * virtio/'s driver-side rings in real memory, side a either a tap (one end
 * of a datagram socket pair: one frame per write, one per read, as a tap)
 * or a second driver. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link_status.h"
#include "net_link.h"
#include "net_offload.h"
#include "tap.h"
#include "tcp_frame.h"
#include "virtq_driver.h"

#define BIT(n) (1ull << (n))
#define QSIZE 256
#define HDR_LEN 12
#define RX_BUF 2048u
#define GPA 0x100000000ull
#define MEM_BYTES (8u << 20)
#define BASE_FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF))
#define OFFLOAD_FEATURES (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | \
			  BIT(VIRTIO_NET_F_HOST_TSO6))
#define MSS 1000
/* Frames the tests send in one go; more than the tap's writev takes in
 * one (16): the frame is copied flat first. */
#define MANY_SEGS 20

static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x5e, 0x00, 0x01 };

struct side {
	uint8_t *hva;
	struct virtq_driver drv[2];   /* NET_RXQ, NET_TXQ */
	uint64_t next;                /* bump allocator, guest-physical */
	uint64_t rx_pool;             /* receive buffer id i at + i * RX_BUF */
};

struct rig {
	struct net_link link;
	struct side side[2];
	bool tap;                     /* side a is a tap */
	int peer;                     /* the host's end of the tap */
};

static void no_change(void *opaque, struct vu_dev *dev, unsigned qidx)
{
	(void)opaque;
	(void)dev;
	(void)qidx;
}

static const struct vu_dev_ops ops = { .queue_changed = no_change };

static uint64_t side_alloc(struct side *sd, uint64_t bytes)
{
	uint64_t gpa = sd->next;

	sd->next = (gpa + bytes + 63) & ~63ull;
	if (sd->next > GPA + MEM_BYTES)
		abort();
	return gpa;
}

static void *side_hva(struct side *sd, uint64_t gpa)
{
	return sd->hva + (gpa - GPA);
}

/* Side s as a front end leaves it after a normal start: features acked,
 * one memory region, both rings started and enabled. */
static void side_setup(struct rig *r, unsigned s, uint64_t features)
{
	struct vu_dev *dev = &r->link.side[s];
	struct side *sd = &r->side[s];
	uint64_t ring_bytes = virtq_driver_ring_bytes(false, QSIZE);
	char err[128];

	sd->hva = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sd->hva == MAP_FAILED)
		abort();
	sd->next = GPA;
	struct guest_mem_region reg = { .gpa = GPA, .size = MEM_BYTES,
					.uva = GPA, .hva = sd->hva };
	if (guest_mem_add_region(&dev->mem, &reg, err, sizeof(err)) < 0)
		abort();
	/* A stand-in descriptor: the link only checks that the side is
	 * connected; nothing here reads or writes a socket. */
	dev->sock = 1000 + (int)s;
	dev->features = features;
	dev->features_set = true;
	for (unsigned q = 0; q < 2; q++) {
		uint64_t ring = side_alloc(sd, ring_bytes);
		struct virtq_config cfg;

		if (virtq_driver_init(&sd->drv[q], false, QSIZE, false,
				      side_hva(sd, ring), ring) < 0)
			abort();
		cfg = virtq_driver_config(&sd->drv[q]);
		if (virtq_init(&dev->q[q].vq, &dev->mem, &cfg) < 0)
			abort();
		dev->q[q].num = QSIZE;
		dev->q[q].started = dev->q[q].enabled = true;
	}
}

/* Side b a driver with features_b; side a a tap or a second driver with
 * QSIZE receive buffers posted (descriptor id i is buffer i). */
static void rig_setup(struct rig *r, bool tap, uint64_t features_b)
{
	memset(r, 0, sizeof(*r));
	r->tap = tap;
	r->peer = -1;
	if (net_link_init(&r->link, &ops, NULL) < 0)
		abort();
	side_setup(r, 1, features_b);
	memcpy(r->link.mac[1], mac_b, 6);
	r->link.mac_set[1] = true;
	if (tap) {
		int fds[2];

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) < 0 ||
		    net_link_set_tap(&r->link, 0, fds[0]) < 0)
			abort();
		r->peer = fds[1];
		return;
	}
	side_setup(r, 0, BASE_FEATURES);
	struct side *a = &r->side[0];

	a->rx_pool = side_alloc(a, (uint64_t)QSIZE * RX_BUF);
	for (unsigned i = 0; i < QSIZE; i++) {
		struct virtq_buf vb = { .gpa = a->rx_pool + (uint64_t)i * RX_BUF,
					.len = RX_BUF, .writable = true };

		if (virtq_driver_add(&a->drv[NET_RXQ], &vb, 1) < 0)
			abort();
	}
	virtq_driver_kick_prepare(&a->drv[NET_RXQ]);
}

static void rig_teardown(struct rig *r)
{
	for (unsigned s = 0; s < 2; s++) {
		if (!r->side[s].hva)
			continue;
		r->link.side[s].sock = -1;
		for (unsigned q = 0; q < 2; q++)
			virtq_driver_destroy(&r->side[s].drv[q]);
		munmap(r->side[s].hva, MEM_BYTES);
	}
	net_link_destroy(&r->link);
	if (r->peer >= 0)
		close(r->peer);
}

/* Side b transmits HDR + FRAME in nseg descriptors (the header alone in
 * the first when nseg > 1) and the link forwards it. */
static void send_b(struct rig *r, const uint8_t *hdr, const uint8_t *frame,
		   size_t len, unsigned nseg)
{
	struct side *b = &r->side[1];
	struct virtq_buf vb[MANY_SEGS + 1];
	uint64_t gpa = side_alloc(b, HDR_LEN + len);
	uint8_t *p = side_hva(b, gpa);
	unsigned n = 0;

	memcpy(p, hdr, HDR_LEN);
	memcpy(p + HDR_LEN, frame, len);
	if (nseg <= 1) {
		vb[n++] = (struct virtq_buf){ .gpa = gpa, .len = (uint32_t)(HDR_LEN + len) };
	} else {
		size_t piece = (len + nseg - 1) / nseg, off = 0;

		vb[n++] = (struct virtq_buf){ .gpa = gpa, .len = HDR_LEN };
		while (off < len) {
			size_t k = len - off < piece ? len - off : piece;

			vb[n++] = (struct virtq_buf){ .gpa = gpa + HDR_LEN + off,
						      .len = (uint32_t)k };
			off += k;
		}
	}
	if (virtq_driver_add(&b->drv[NET_TXQ], vb, n) < 0)
		abort();
	virtq_driver_kick_prepare(&b->drv[NET_TXQ]);
	net_link_forward(&r->link, 1, 0, 1);
}

/* A 60-byte frame from side b's MAC with EtherType type (and, for a
 * VLAN tag, IPv6 inside). */
static size_t make_frame(uint8_t *f, uint16_t type)
{
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac_b, 6);
	put16(f + 12, type);
	if (type == 0x8100 || type == 0x88a8)
		put16(f + 16, 0x86dd);
	for (unsigned i = 18; i < 60; i++)
		f[i] = (uint8_t)i;
	return 60;
}

/* A TCP segment (tcp_frame.h) from side b's MAC. */
static size_t tcp_from_b(uint8_t *f, bool v6, size_t payload)
{
	size_t len = make_tcp(f, v6, payload, 0x18);

	memcpy(f + 6, mac_b, 6);
	return len;
}

/* A transmit header: NEEDS_CSUM over the TCP header at l4, GSO when
 * gso_type is not NONE. */
static void offload_hdr(uint8_t *h, uint8_t gso_type, size_t l4)
{
	memset(h, 0, HDR_LEN);
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[1] = gso_type;
	h[2] = (uint8_t)(l4 + 20);
	h[4] = MSS & 0xff, h[5] = MSS >> 8;
	h[6] = (uint8_t)l4;
	h[8] = 16;
}

/* The EtherTypes of the frames that arrived on side a, in order; returns
 * how many (at most max). */
static unsigned arrived(struct rig *r, uint16_t *types, unsigned max)
{
	static uint8_t buf[70000];
	unsigned n = 0;

	if (r->tap) {
		ssize_t k;

		while ((k = recv(r->peer, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
			if (k >= 14 && n < max)
				types[n++] = (uint16_t)(buf[12] << 8 | buf[13]);
		return n;
	}
	struct side *a = &r->side[0];
	uint16_t id;
	uint32_t len;

	while (virtq_driver_reap(&a->drv[NET_RXQ], &id, &len) == 1) {
		const uint8_t *p = side_hva(a, a->rx_pool + (uint64_t)id * RX_BUF);

		if (len >= HDR_LEN + 14 && n < max)
			types[n++] = (uint16_t)(p[HDR_LEN + 12] << 8 | p[HDR_LEN + 13]);
	}
	return n;
}

static uint64_t refused(const struct rig *r)
{
	return r->link.stats[1].drops[NET_DROP_NOT_IPV4_ARP];
}

/* IPv4, IPv6, ARP, an 802.1Q-tagged and an 802.1ad (QinQ) tagged frame,
 * in that order. */
static const uint16_t mixed[] = { 0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8 };
#define NMIXED (sizeof(mixed) / sizeof(mixed[0]))

static void send_mixed(struct rig *r, unsigned nseg)
{
	static const uint8_t plain[HDR_LEN] = { 0 };
	uint8_t f[60];

	for (unsigned i = 0; i < NMIXED; i++)
		send_b(r, plain, f, make_frame(f, mixed[i]), nseg);
}

static void test_tap_plain(struct tap *t, const void *arg)
{
	unsigned nseg = *(const unsigned *)arg;
	struct rig r;
	uint16_t got[16];
	unsigned n;

	rig_setup(&r, true, BASE_FEATURES);
	send_mixed(&r, nseg);
	n = arrived(&r, got, 16);
	CHECK_EQ(t, n, 2);
	if (n == 2) {
		CHECK_EQ(t, got[0], 0x0800);
		CHECK_EQ(t, got[1], 0x0806);
	}
	CHECK_EQ(t, refused(&r), 3);
	CHECK_EQ(t, r.link.stats[1].packets, 2);
	CHECK_EQ(t, r.link.stats[1].drops[NET_DROP_PEER_DOWN], 0);
	CHECK_EQ(t, r.link.stats[1].drops[NET_DROP_MALFORMED], 0);
	rig_teardown(&r);
}

/* Offloaded frames toward a tap are finished in software: an IPv6 one is
 * refused before (a TSO segment once, not per piece); IPv4 crosses. */
static void test_tap_offloaded(struct tap *t, const void *arg)
{
	static uint8_t f[8192];
	uint8_t h[HDR_LEN];
	struct rig r;
	uint16_t got[16];
	unsigned n;

	(void)arg;
	rig_setup(&r, true, BASE_FEATURES | OFFLOAD_FEATURES);
	offload_hdr(h, VIRTIO_NET_HDR_GSO_NONE, 54);
	send_b(&r, h, f, tcp_from_b(f, false, 100), 1);
	offload_hdr(h, VIRTIO_NET_HDR_GSO_NONE, 74);
	send_b(&r, h, f, tcp_from_b(f, true, 100), 1);
	offload_hdr(h, VIRTIO_NET_HDR_GSO_TCPV6, 74);
	send_b(&r, h, f, tcp_from_b(f, true, 3 * MSS), 1);
	offload_hdr(h, VIRTIO_NET_HDR_GSO_TCPV4, 54);
	send_b(&r, h, f, tcp_from_b(f, false, 3 * MSS), 1);
	n = arrived(&r, got, 16);
	/* The checksummed IPv4 frame and the IPv4 segment's three pieces. */
	CHECK_EQ(t, n, 4);
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(t, got[i], 0x0800);
	CHECK_EQ(t, refused(&r), 2);
	CHECK_EQ(t, r.link.stats[1].csum_completed, 1);
	CHECK_EQ(t, r.link.stats[1].tso_segmented, 3);
	CHECK_EQ(t, r.link.stats[1].drops[NET_DROP_NO_RX_BUFFER], 0);
	rig_teardown(&r);
}

/* Between two VMs the link carries any EtherType; nothing is counted. */
static void test_vm_to_vm(struct tap *t, const void *arg)
{
	struct rig r;
	uint16_t got[16];
	unsigned n;

	(void)arg;
	rig_setup(&r, false, BASE_FEATURES);
	send_mixed(&r, 1);
	n = arrived(&r, got, 16);
	CHECK_EQ(t, n, NMIXED);
	for (unsigned i = 0; i < n && i < NMIXED; i++)
		CHECK_EQ(t, got[i], mixed[i]);
	CHECK_EQ(t, refused(&r), 0);
	CHECK_EQ(t, r.link.stats[1].packets, NMIXED);
	rig_teardown(&r);
}

/* The counter is in the link's status, by name, for the direction
 * toward the tap. */
static void test_status(struct tap *t, const void *arg)
{
	struct rig r;
	char *json;

	(void)arg;
	rig_setup(&r, true, BASE_FEATURES);
	send_mixed(&r, 1);
	json = link_status_json(&r.link, "host", false);
	CHECK(t, json != NULL);
	if (json) {
		const char *ba = strstr(json, "\"b_to_a\"");

		CHECK(t, ba != NULL);
		if (ba)
			CHECK_STR(t, ba, "\"not_ipv4_arp\":3");
	}
	free(json);
	rig_teardown(&r);
}

int main(void)
{
	static const unsigned one = 1, many = MANY_SEGS;
	static const struct tap_case cases[] = {
		{ "toward a tap: IPv4 and ARP cross; IPv6, 802.1Q and 802.1ad "
		  "tagged frames dropped, counted not_ipv4_arp", test_tap_plain, &one },
		{ "the same, each frame in 20 descriptors (the tap's writev "
		  "copies it flat)", test_tap_plain, &many },
		{ "toward a tap, offloaded: IPv6 checksum and TSO frames dropped "
		  "(once), IPv4 ones finished and cross", test_tap_offloaded, NULL },
		{ "between two VMs: every EtherType crosses, nothing counted",
		  test_vm_to_vm, NULL },
		{ "the link's status shows not_ipv4_arp toward the tap",
		  test_status, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
