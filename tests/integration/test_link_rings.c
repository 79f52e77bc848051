/* How a real bulkhead-link uses a front end's rings (issue 19): polling,
 * it asks for no kicks; with VIRTIO_F_IN_ORDER a transmit batch comes
 * back in one used entry, frames cross byte for byte, and a front end
 * that claims IN_ORDER but makes a head available out of order breaks its
 * own transmit queue, named in the status, and nothing else.
 *
 * Usage: test_link_rings BULKHEAD_LINK */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link_proc.h"
#include "tap.h"

#define BIT(n) (1ull << (n))
/* DPDK's virtio PMD's set: no EVENT_IDX, so kicks follow NO_NOTIFY. */
#define BASE (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF))
#define QSIZE 256
#define MEM (8u << 20)
#define NFRAMES 32

static const char *binary;

static bool start_side(struct fe *fe, const char *path, uint64_t features)
{
	return fe_connect(fe, path, 3000) == 0 &&
	       fe_start(fe, features, false, QSIZE, MEM) == 0 &&
	       fe_post_rx(fe, QSIZE) == 0;
}

/* Frame i: to B, from A (the link's --mac-a), 60..1514 bytes of a
 * pattern that differs per frame. */
static size_t make_frame(uint8_t *f, unsigned i)
{
	static const uint8_t hdr[12] = { 2, 0, 0, 0, 0, 0x0b,
					 2, 0, 0, 0, 0, 0x0a };
	size_t len = 60 + (i * 977u) % 1455u;

	memcpy(f, hdr, sizeof(hdr));
	for (size_t k = 12; k < len; k++)
		f[k] = (uint8_t)(k * 31u + i * 7u + 1u);
	return len;
}

/* A queues NFRAMES frames and kicks once: the link sees them as one
 * batch. Returns 0 or a negative errno. */
static int send_batch(struct fe *a)
{
	struct virtq_driver *tx = &a->q[FE_TXQ];

	for (unsigned i = 0; i < NFRAMES; i++) {
		uint64_t gpa = a->pool[FE_TXQ] + (uint64_t)i * FE_BUF_SIZE;
		uint8_t *p = fe_hva(a, gpa);
		struct virtq_buf b = { .gpa = gpa, .writable = false };
		int id;

		memset(p, 0, a->hdr_len);
		b.len = (uint32_t)(a->hdr_len + make_frame(p + a->hdr_len, i));
		id = virtq_driver_add(tx, &b, 1);
		if (id < 0)
			return id;
		a->buf_gpa[FE_TXQ][id] = gpa;
	}
	fe_kick(a, FE_TXQ);
	return 0;
}

/* B receives the NFRAMES frames, each as sent. Returns how many did. */
static unsigned recv_batch(struct fe *b)
{
	static uint8_t want[2048], got[2048];
	unsigned same = 0;

	for (unsigned i = 0; i < NFRAMES; i++) {
		size_t len = make_frame(want, i);
		int n = fe_recv_frame(b, got, sizeof(got), 2000);

		same += n == (int)len && memcmp(got, want, len) == 0;
	}
	return same;
}

static uint16_t used_flags(struct fe *fe, unsigned qi)
{
	return le16toh(__atomic_load_n(&fe->q[qi].used->flags,
				       __ATOMIC_ACQUIRE));
}

static const char *const mac_a[] = { "--mac-a", "02:00:00:00:00:0a", NULL };
static const char *const poll_mac_a[] = { "--poll", "--mac-a",
					  "02:00:00:00:00:0a", NULL };

/* Polling, the link asks both sides not to kick either queue; frames
 * still cross. In event mode the transmit queue asks for kicks when the
 * link is idle (the receive queue only while a sender waits for room). */
static void test_kicks(struct tap *t, const void *arg)
{
	bool poll = arg != NULL;
	struct link_proc lp = { 0 };
	struct fe a, b;

	CHECK_EQ(t, link_proc_start(&lp, binary, poll ? "rings-poll" : "rings-event",
				    poll ? poll_mac_a : mac_a), 0);
	CHECK(t, start_side(&a, lp.a, BASE));
	CHECK(t, start_side(&b, lp.b, BASE));
	link_sleep_ms(200);
	for (unsigned qi = 0; qi < 2; qi++) {
		bool want_off = poll || qi == FE_RXQ;

		CHECK_EQ(t, used_flags(&a, qi) & VRING_USED_F_NO_NOTIFY,
			 want_off ? VRING_USED_F_NO_NOTIFY : 0);
		CHECK_EQ(t, used_flags(&b, qi) & VRING_USED_F_NO_NOTIFY,
			 want_off ? VRING_USED_F_NO_NOTIFY : 0);
	}
	CHECK_EQ(t, send_batch(&a), 0);
	CHECK_EQ(t, recv_batch(&b), NFRAMES);
	fe_close(&a);
	fe_close(&b);
	CHECK_EQ(t, link_proc_stop(&lp), 0);
}

/* Both sides with VIRTIO_F_IN_ORDER: negotiated, a batch of frames of
 * every size crosses byte for byte, and A's transmit batch comes back as
 * one used entry (slot 0, naming the batch's last buffer; used->idx moved
 * by the whole batch). */
static void test_in_order(struct tap *t, const void *arg)
{
	struct link_proc lp = { 0 };
	struct fe a, b;
	char buf[64];
	struct vring_used *used;

	(void)arg;
	CHECK_EQ(t, link_proc_start(&lp, binary, "rings-inorder", mac_a), 0);
	CHECK(t, start_side(&a, lp.a, BASE | BIT(VIRTIO_F_IN_ORDER)));
	CHECK(t, start_side(&b, lp.b, BASE | BIT(VIRTIO_F_IN_ORDER)));
	CHECK(t, a.features & BIT(VIRTIO_F_IN_ORDER));
	CHECK(t, strtoull(link_proc_field(&lp, "sides.a.features", buf, sizeof(buf)),
			  NULL, 16) & BIT(VIRTIO_F_IN_ORDER));
	CHECK(t, strtoull(link_proc_field(&lp, "sides.b.features", buf, sizeof(buf)),
			  NULL, 16) & BIT(VIRTIO_F_IN_ORDER));
	CHECK_EQ(t, send_batch(&a), 0);
	CHECK_EQ(t, recv_batch(&b), NFRAMES);
	used = a.q[FE_TXQ].used;
	CHECK_EQ(t, le16toh(used->idx), NFRAMES);
	CHECK_EQ(t, le32toh(used->ring[0].id), NFRAMES - 1);
	CHECK_EQ(t, le32toh(used->ring[1].id), 0);
	CHECK_EQ(t, fe_reap_tx(&a), NFRAMES);
	/* And again, across the same ring. */
	CHECK_EQ(t, send_batch(&a), 0);
	CHECK_EQ(t, recv_batch(&b), NFRAMES);
	CHECK_EQ(t, fe_reap_tx(&a), NFRAMES);
	fe_close(&a);
	fe_close(&b);
	CHECK_EQ(t, link_proc_stop(&lp), 0);
}

/* A front end that negotiated IN_ORDER and makes heads 0, 2, 1
 * available: its transmit queue breaks, the status names the value, and
 * the link still carries B's frames to A. */
static void test_in_order_broken(struct tap *t, const void *arg)
{
	struct link_proc lp = { 0 };
	struct fe a, b;
	char buf[160];
	uint8_t f[64];
	struct virtq_driver *tx;

	(void)arg;
	CHECK_EQ(t, link_proc_start(&lp, binary, "rings-misorder", mac_a), 0);
	CHECK(t, start_side(&a, lp.a, BASE | BIT(VIRTIO_F_IN_ORDER)));
	CHECK(t, start_side(&b, lp.b, BASE));
	tx = &a.q[FE_TXQ];
	for (unsigned i = 0; i < 3; i++) {
		struct virtq_buf vb = { .gpa = a.pool[FE_TXQ] + i * FE_BUF_SIZE,
					.len = a.hdr_len + 60 };

		make_frame(fe_hva(&a, vb.gpa) + a.hdr_len, i);
		memset(fe_hva(&a, vb.gpa), 0, a.hdr_len);
		CHECK(t, virtq_driver_add(tx, &vb, 1) >= 0);
	}
	tx->avail->ring[1] = htole16(2);
	tx->avail->ring[2] = htole16(1);
	fe_kick(&a, FE_TXQ);
	CHECK(t, link_says(lp.control, "sides.a.queues.1.state", "broken",
			   buf, sizeof(buf)));
	CHECK_STR(t, link_proc_field(&lp, "sides.a.queues.1.reason", buf, sizeof(buf)),
		  "avail ring[1]: head 2, in order (VIRTIO_F_IN_ORDER) it must be 1");
	printf("# reason: %s\n", buf);
	/* The chain before the bad one was delivered; nothing after it. */
	CHECK_EQ(t, fe_recv_frame(&b, f, sizeof(f), 2000), 60);
	CHECK_EQ(t, fe_recv_frame(&b, f, sizeof(f), 300), -EAGAIN);
	CHECK_STR(t, link_proc_field(&lp, "sides.b.queues.1.state", buf, sizeof(buf)), "ok");
	CHECK_STR(t, link_proc_field(&lp, "sides.a.queues.0.state", buf, sizeof(buf)), "ok");
	/* B to A still works. */
	f[0] = 2, f[5] = 0x0a, f[6] = 2, f[11] = 0x0b;
	memset(f + 1, 0, 4);
	memset(f + 7, 0, 4);
	CHECK_EQ(t, fe_send_frame(&b, f, 60), 0);
	CHECK_EQ(t, fe_recv_frame(&a, f, sizeof(f), 2000), 60);
	CHECK(t, link_proc_alive(&lp));
	fe_close(&a);
	fe_close(&b);
	CHECK_EQ(t, link_proc_stop(&lp), 0);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
		{ "polling: no kicks asked for on either queue, frames cross", test_kicks, "poll" },
		{ "event mode: transmit kicks asked for when idle", test_kicks, NULL },
		{ "in order: negotiated, byte for byte, one used entry per transmit batch", test_in_order, NULL },
		{ "in order claimed, heads out of order: only that queue breaks, named", test_in_order_broken, NULL },
	};

	if (argc != 2)
		return 2;
	binary = argv[1];
	signal(SIGPIPE, SIG_IGN);
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
