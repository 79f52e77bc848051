/* Guest memory that faults under a running, confined bulkhead-link
 * (vmm/worker/guest_fault.h): side A's front end makes the link take
 * SIGBUS, by truncating its memfd after SET_MEM_TABLE (the link writing
 * into it, and reading its ring), with a sparse file on a full tmpfs,
 * and with a sealed hugetlb memfd when there are no huge pages. Each
 * time: the link lives, side A is dropped with the reason in its status,
 * side B keeps working, and A connecting again gets through.
 *
 * Usage: test_guest_fault BULKHEAD_LINK (as root: the link confines
 * itself; the tmpfs case mounts one) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "link_proc.h"
#include "tap.h"

#define BIT(n) (1ull << (n))
#define FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		  BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX))
#define QSIZE 64
#define MEM (4u << 20)
#define HUGE_SIZE (2u << 20)

struct env {
	struct link_proc link;
	struct fe good;         /* side B */
};

static struct env env;

/* Side A started (on memfd, or fe_start's own memfd when -1), both
 * directions working. */
static bool start_a(struct fe *a, int memfd)
{
	if (fe_connect(a, env.link.a, 2000) != 0)
		return false;
	if (memfd >= 0)
		a->memfd = memfd;
	return fe_start(a, FEATURES, false, QSIZE, MEM) == 0 &&
	       fe_post_rx(a, QSIZE / 2) == 0 &&
	       link_crosses(a, &env.good, 1) && link_crosses(&env.good, a, 2);
}

/* B sends frames toward A (whose memory faults when written). */
static void b_sends(unsigned n)
{
	uint8_t f[64];

	for (unsigned i = 0; i < n; i++) {
		link_frame(f, 1, 7);
		fe_reap_tx(&env.good);
		fe_send_frame(&env.good, f, sizeof(f));
		link_sleep_ms(2);
	}
}

/* What every case ends with: the link alive, A dropped for a SIGBUS, B
 * untouched, A back on a fresh connection. */
static void after_fault(struct tap *t, struct fe *a)
{
	char seen[256];
	struct fe again;

	CHECK(t, link_says(env.link.control, "sides.a.last_error", "SIGBUS", seen,
			   sizeof(seen)));
	printf("# reason: %s\n", seen);
	CHECK(t, link_proc_alive(&env.link));
	CHECK(t, link_says(env.link.control, "sides.a.connected", "false", seen,
			   sizeof(seen)));
	fe_close(a);
	CHECK(t, link_says(env.link.control, "sides.b.queues.0.state", "ok", seen,
			   sizeof(seen)));
	CHECK(t, link_says(env.link.control, "sides.b.queues.1.state", "ok", seen,
			   sizeof(seen)));
	CHECK(t, start_a(&again, -1));
	fe_close(&again);
}

static void test_truncated_rx(struct tap *t, const void *arg)
{
	struct fe a;

	(void)arg;
	CHECK(t, start_a(&a, -1));
	/* The link writes B's frames into A's receive buffers. */
	CHECK_EQ(t, ftruncate(a.memfd, 0), 0);
	b_sends(4);
	after_fault(t, &a);
}

static void test_truncated_ring(struct tap *t, const void *arg)
{
	struct fe a;
	uint64_t one = 1;

	(void)arg;
	CHECK(t, start_a(&a, -1));
	/* A kick: the link reads A's transmit ring (nothing of A's memory
	 * is touched here any more). */
	CHECK_EQ(t, ftruncate(a.memfd, 0), 0);
	CHECK_EQ(t, write(a.kick[FE_TXQ], &one, sizeof(one)), (ssize_t)sizeof(one));
	after_fault(t, &a);
}

/* A file as big as its memory on a tmpfs that then fills: the pages A
 * never wrote have nowhere to go when the link writes them. */
static void test_full_tmpfs(struct tap *t, const void *arg)
{
	char dir[] = "/tmp/bulkhead-fulltmpfs-XXXXXX", path[96];
	static char chunk[64 << 10];
	struct fe a;
	int fd, fill;

	(void)arg;
	bool made = mkdtemp(dir) != NULL;
	if (!made || mount("bulkhead-test", dir, "tmpfs", 0, "size=8m") != 0) {
		printf("# mount tmpfs: %s\n", strerror(errno));
		if (made)
			rmdir(dir);
		CHECK(t, false);
		return;
	}
	snprintf(path, sizeof(path), "%s/guest", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(t, fd >= 0 && ftruncate(fd, MEM) == 0);
	CHECK(t, start_a(&a, fd));
	snprintf(path, sizeof(path), "%s/fill", dir);
	fill = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	while (fill >= 0 && write(fill, chunk, sizeof(chunk)) > 0)
		;
	printf("# tmpfs full: %s\n", strerror(errno));
	b_sends(40);
	after_fault(t, &a);
	if (fill >= 0)
		close(fill);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/* A second region, a hugetlb memfd sealed against shrinking and growing
 * (so truncation is not what faults), with no huge page to back it:
 * A's transmit buffer in it. */
static void test_hugetlb_no_pages(struct tap *t, const void *arg)
{
	int fd = memfd_create("bulkhead-huge", MFD_HUGETLB | MFD_ALLOW_SEALING |
			      MFD_CLOEXEC);
	struct vu_mem_single r;
	struct vu_msg reply;
	struct fe a;

	(void)arg;
	if (fd < 0 || ftruncate(fd, HUGE_SIZE) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		printf("# SKIP hugetlb memfd: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	CHECK(t, start_a(&a, -1));
	r = (struct vu_mem_single){ .region = {
		.gpa = FE_GPA_BASE + MEM,
		.size = HUGE_SIZE,
		.uva = (uint64_t)(uintptr_t)a.mem + (64u << 20),
		.mmap_offset = 0,
	} };
	CHECK_EQ(t, fe_send(&a, VU_ADD_MEM_REG, VU_VERSION | VU_FLAG_NEED_REPLY,
			    &r, sizeof(r), &fd, 1), 0);
	CHECK(t, fe_recv(&a, &reply, 2000) == 8 && reply.payload.u64 == 0);
	close(fd);
	struct virtq_buf b = { .gpa = FE_GPA_BASE + MEM, .len = 76 };

	virtq_driver_add(&a.q[FE_TXQ], &b, 1);
	fe_kick(&a, FE_TXQ);
	after_fault(t, &a);
}

static void test_exit(struct tap *t, const void *arg)
{
	int status;

	(void)arg;
	fe_close(&env.good);
	status = link_proc_stop(&env.link);
	CHECK(t, WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
		{ "memfd truncated: the link writes a receive buffer", test_truncated_rx, NULL },
		{ "memfd truncated: the link reads the ring", test_truncated_ring, NULL },
		{ "sparse file on a full tmpfs", test_full_tmpfs, NULL },
		{ "sealed hugetlb memfd, no huge pages", test_hugetlb_no_pages, NULL },
		{ "link exits cleanly", test_exit, NULL },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_guest_fault BULKHEAD_LINK\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (the link confines itself)\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (link_proc_start(&env.link, argv[1], "guestfault", NULL) != 0 ||
	    fe_connect(&env.good, env.link.b, 3000) != 0 ||
	    fe_start(&env.good, FEATURES, false, QSIZE, MEM) != 0 ||
	    fe_post_rx(&env.good, QSIZE / 2) != 0) {
		printf("1..1\nnot ok 1 - the link and side B start\n");
		/* Its directory too (a confined link leaves its sockets). */
		if (env.link.pid > 0)
			link_proc_stop(&env.link);
		return 1;
	}
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
