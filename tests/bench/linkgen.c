/* Load generator for a two-port vhost-user back end (bulkhead-link, or
 * dpdk-testpmd with two vhost ports in io forwarding): one process plays
 * both VMs' virtio-net drivers through tests/harness/vu_frontend. It
 * transmits on side A and receives on side B, busy-polling on one core,
 * so the back end under test is the only other busy process.
 *
 *   linkgen --a PATH --b PATH --frame 64|1518|tso [--seconds S]
 *           [--warmup S] [--pid PID] [--core N] [--qsize N] [--rx-buf N]
 *   linkgen --memcpy [--seconds S] [--core N] [--qsize N]
 *   linkgen --a PATH --b PATH --idle S --pid PID
 *
 * --frame 64 and 1518 are Ethernet frame sizes with the FCS (60 and 1514
 * bytes cross the rings, as link_throughput.py does); tso is one TCP/IPv4
 * segment of 64 KiB (IP total length 65535) with a TSO header and a
 * partial checksum. --pid is the back end's process: its CPU time
 * (utime + stime of all its threads, /proc/PID/stat) over the measured
 * window is divided by the frames received. --memcpy is the reference
 * for TSO: memcpy of 64 KiB frames between as many buffers as the rings
 * hold, on this core. --idle: connect both sides, send one frame, then
 * nothing for S seconds, and report the back end's CPU time meanwhile.
 *
 * Prints one JSON line on stdout (for compare.py) and a readable line on
 * stderr. Exits 1 when no frame arrived or a received frame differs. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vu_frontend.h"

#define BIT(n) (1ull << (n))
#define BASE_FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		       BIT(VIRTIO_RING_F_EVENT_IDX))
#define TSO_FEATURES (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | \
		      BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4))
#define HDR_LEN 12
#define BURST 32
/* Receive buffers one checked frame may take. */
#define NET_RX_BUFS_MAX 128
/* A 64 KiB TCP/IPv4 segment: IP total length 65535, Ethernet header. */
#define TSO_FRAME (65535 + 14)
#define TSO_MSS 1448
/* Buffers hold a frame and its header, cache-line aligned. */
#define BUF_STRIDE(len) (((len) + HDR_LEN + 63u) & ~63u)

struct opts {
	const char *a, *b;
	const char *frame;
	double seconds, warmup;
	int pid;
	int core;
	unsigned qsize;
	unsigned rx_buf;
	int memcpy_ref;
	double idle;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of the whole process in seconds, or -1. */
static double proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces: fields count from its ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU time of the whole machine in seconds (/proc/stat: all but
 * idle and iowait), or -1. */
static double machine_busy_s(void)
{
	unsigned long long v[10] = { 0 }, busy = 0;
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return -1;
	/* user nice system [idle iowait] irq softirq steal; guest time is
	 * already in user. */
	busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static void affinity_str(int pid, char *out, size_t len)
{
	cpu_set_t set;
	size_t off = 0;

	out[0] = 0;
	if (sched_getaffinity(pid, sizeof(set), &set) < 0) {
		snprintf(out, len, "?");
		return;
	}
	for (int c = 0; c < CPU_SETSIZE && off + 8 < len; c++)
		if (CPU_ISSET(c, &set))
			off += (size_t)snprintf(out + off, len - off, "%s%d",
						off ? "," : "", c);
}

static int pin(int core)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(core, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* The frame A sends: Ethernet, IPv4, TCP headers and a counting payload. */
static void build_frame(uint8_t *f, uint32_t len, bool tso)
{
	static const uint8_t eth[14] = { 0x52, 0x54, 0, 0, 0, 0x0b,
					 0x52, 0x54, 0, 0, 0, 0x0a, 0x08, 0x00 };
	uint32_t ip_len = len - 14;

	memcpy(f, eth, sizeof(eth));
	memset(f + 14, 0, 40);
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	f[22] = 64;
	f[23] = 6;                                /* TCP */
	memcpy(f + 26, (const uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[34] = 0x30;                             /* ports 12345 -> 80 */
	f[35] = 0x39;
	f[37] = 80;
	f[46] = 0x50;                             /* data offset 5 */
	f[47] = 0x18;                             /* PSH ACK */
	f[48] = 0xff;
	for (uint32_t i = 54; i < len; i++)
		f[i] = (uint8_t)(i * 7);
	(void)tso;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: linkgen --a PATH --b PATH --frame 64|1518|tso [--seconds S]\n"
		"               [--warmup S] [--pid PID] [--core N] [--qsize N] [--rx-buf N]\n"
		"       linkgen --memcpy [--seconds S] [--core N] [--qsize N]\n"
		"       linkgen --a PATH --b PATH --idle S --pid PID\n");
}

/* Reference for TSO: 64 KiB frames copied from qsize transmit-sized
 * buffers into a destination as large as the receive pool (qsize buffers
 * of rx_buf bytes), i.e. the memory the benchmark's copies touch; and
 * one block again and again (in cache, the upper bound). */
static int run_memcpy(const struct opts *o)
{
	uint32_t stride = BUF_STRIDE(TSO_FRAME);
	size_t src_bytes = (size_t)o->qsize * stride;
	size_t dst_bytes = (size_t)o->qsize * (o->rx_buf ? o->rx_buf : 4096);
	unsigned dst_slots;
	uint8_t *src, *dst;
	double t0, t1, hot_gbps, gbps;
	uint64_t n = 0;

	if (dst_bytes < stride)
		dst_bytes = stride;
	dst_slots = (unsigned)(dst_bytes / stride);
	src = mmap(NULL, src_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	dst = mmap(NULL, dst_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		return 1;
	memset(src, 0x5a, src_bytes);
	memset(dst, 0, dst_bytes);
	for (unsigned i = 0; i < o->qsize; i++)
		memcpy(dst + (size_t)(i % dst_slots) * stride,
		       src + (size_t)i * stride, TSO_FRAME);
	t0 = now_s();
	do {
		for (unsigned k = 0; k < 64; k++, n++)
			memcpy(dst + (size_t)(n % dst_slots) * stride,
			       src + (size_t)(n % o->qsize) * stride, TSO_FRAME);
		t1 = now_s();
	} while (t1 - t0 < o->seconds);
	gbps = (double)n * TSO_FRAME * 8 / (t1 - t0) / 1e9;
	n = 0;
	t0 = now_s();
	do {
		for (unsigned k = 0; k < 64; k++, n++) {
			memcpy(dst, src, TSO_FRAME);
			__asm__ volatile("" ::: "memory");
		}
		t1 = now_s();
	} while (t1 - t0 < o->seconds / 2);
	hot_gbps = (double)n * TSO_FRAME * 8 / (t1 - t0) / 1e9;
	printf("{\"memcpy_gbps\": %.3f, \"memcpy_hot_gbps\": %.3f, \"core\": %d, "
	       "\"block\": %u, \"src_bytes\": %zu, \"dst_bytes\": %zu}\n",
	       gbps, hot_gbps, o->core, TSO_FRAME, src_bytes, dst_bytes);
	fprintf(stderr, "memcpy of %u-byte blocks on core %d: %.2f Gbit/s from "
		"%zu KiB into %zu KiB, %.2f Gbit/s one block (in cache)\n",
		TSO_FRAME, o->core, gbps, src_bytes >> 10, dst_bytes >> 10,
		hot_gbps);
	return 0;
}

/* Sends one frame and compares what B receives with it; the receive
 * buffers it took go back into B's ring. Returns 0 or 1 (with a JSON
 * error line). */
static int check_first_frame(struct fe *a, struct fe *b, uint64_t tx_gpa,
			     uint32_t stride, const uint8_t *frame,
			     uint32_t flen, bool *csum_filled, unsigned *rx_gso,
			     unsigned *rx_bufs)
{
	struct virtq_driver *d = &b->q[FE_RXQ];
	uint8_t *got = malloc(flen + 64), hdr[HDR_LEN] = { 0 };
	uint64_t gpas[NET_RX_BUFS_MAX];
	uint16_t nb = 1, k = 0;
	size_t have = 0;
	double start = now_s();

	if (!got)
		return 1;
	fe_tx_burst(a, tx_gpa, stride, 1, HDR_LEN + flen, 1);
	while (k < nb && k < NET_RX_BUFS_MAX) {
		uint16_t id;
		uint32_t len, skip = k == 0 ? HDR_LEN : 0;
		const uint8_t *p;

		if (virtq_driver_reap(d, &id, &len) != 1) {
			if (now_s() - start > 5)
				break;
			continue;
		}
		gpas[k] = b->buf_gpa[FE_RXQ][id];
		p = fe_hva(b, gpas[k]);
		if (k == 0) {
			memcpy(hdr, p, HDR_LEN);
			nb = (uint16_t)(hdr[10] | hdr[11] << 8);
		}
		k++;
		if (len < skip || have + len - skip > flen + 64)
			break;
		memcpy(got + have, p + skip, len - skip);
		have += len - skip;
	}
	for (uint16_t i = 0; i < k; i++) {
		struct virtq_buf vb = { .gpa = gpas[i], .len = b->buf_len[0],
					.writable = true };
		int id = virtq_driver_add(d, &vb, 1);

		if (id >= 0) {
			b->buf_gpa[FE_RXQ][id] = vb.gpa;
			b->buf_len[id] = vb.len;
		}
	}
	fe_kick(b, FE_RXQ);
	fe_reap_tx(a);
	if (k == 0) {
		fprintf(stderr, "linkgen: no frame arrived on B within 5 s\n");
		printf("{\"error\": \"no frame arrived\"}\n");
		free(got);
		return 1;
	}
	/* A back end may complete the partial TCP checksum (frame bytes 50
	 * and 51) instead of passing it on: noted, not an error. */
	*csum_filled = have == flen && flen > 52 && memcmp(got, frame, 50) == 0 &&
		       memcmp(got + 52, frame + 52, flen - 52) == 0 &&
		       memcmp(got + 50, frame + 50, 2) != 0;
	*rx_gso = hdr[1];
	*rx_bufs = k;
	if (!*csum_filled && (have != flen || memcmp(got, frame, flen) != 0)) {
		fprintf(stderr, "linkgen: the first frame came back as %zu bytes "
			"in %u buffers, gso_type %u (sent %u)%s\n", have, k, hdr[1],
			flen, have == flen ? ", different" : "");
		printf("{\"error\": \"frame mismatch\", \"got_bytes\": %zu, "
		       "\"buffers\": %u, \"gso_type\": %u}\n", have, k, hdr[1]);
		free(got);
		return 1;
	}
	free(got);
	return 0;
}

static int run_gen(const struct opts *o)
{
	static struct fe a, b;
	bool tso = strcmp(o->frame, "tso") == 0;
	uint32_t flen = tso ? TSO_FRAME : (uint32_t)atoi(o->frame) - 4;
	uint64_t want = BASE_FEATURES | (tso ? TSO_FEATURES : 0);
	uint32_t stride = BUF_STRIDE(flen);
	uint32_t rx_buf = o->rx_buf ? o->rx_buf : (tso ? 4096 : FE_BUF_SIZE);
	size_t mem = (size_t)o->qsize * (stride + rx_buf) + (4u << 20);
	uint8_t *frame = malloc(flen);
	uint64_t tx_gpa, rx_gpa, frames = 0, bytes = 0, f0 = 0, b0 = 0;
	double t0 = 0, t1, cpu0 = 0, cpu1, start, self0 = 0, busy0 = 0, other;
	char aff_gen[64], aff_be[64] = "?";
	bool measuring = false, csum_filled = false;
	unsigned rx_gso = 0, rx_bufs = 0;
	int ret;

	if (flen < 60 || flen > TSO_FRAME || !frame) {
		fprintf(stderr, "linkgen: bad --frame %s\n", o->frame);
		return 2;
	}
	if ((ret = fe_connect(&a, o->a, 10000)) < 0 ||
	    (ret = fe_connect(&b, o->b, 10000)) < 0 ||
	    (ret = fe_start(&a, want, false, (uint16_t)o->qsize, mem)) < 0 ||
	    (ret = fe_start(&b, want, false, (uint16_t)o->qsize, mem)) < 0) {
		fprintf(stderr, "linkgen: start: %s\n", strerror(-ret));
		return 1;
	}
	if (tso && (!(a.features & BIT(VIRTIO_NET_F_HOST_TSO4)) ||
		    !(b.features & BIT(VIRTIO_NET_F_GUEST_TSO4)))) {
		/* The back end does not take (or give) whole segments. */
		printf("{\"error\": \"TSO not offered\", \"features_a\": \"%#" PRIx64
		       "\", \"features_b\": \"%#" PRIx64 "\"}\n", a.features,
		       b.features);
		fprintf(stderr, "linkgen: back end does not offer HOST_TSO4/GUEST_TSO4 "
			"(A %#" PRIx64 ", B %#" PRIx64 ")\n", a.features, b.features);
		return 3;
	}
	tx_gpa = fe_alloc_buf(&a, (uint64_t)o->qsize * stride);
	rx_gpa = fe_alloc_buf(&b, (uint64_t)o->qsize * rx_buf);
	if (!tx_gpa || !rx_gpa)
		return 1;
	/* Every transmit buffer holds the same header and frame, written
	 * once: the generator copies nothing per frame. */
	build_frame(frame, flen, tso);
	for (unsigned i = 0; i < o->qsize; i++) {
		uint8_t *p = fe_hva(&a, tx_gpa + (uint64_t)i * stride);

		memset(p, 0, HDR_LEN);
		if (tso) {
			p[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			p[1] = VIRTIO_NET_HDR_GSO_TCPV4;
			p[2] = 54;               /* hdr_len */
			p[4] = TSO_MSS & 0xff;   /* gso_size */
			p[5] = TSO_MSS >> 8;
			p[6] = 34;               /* csum_start: TCP header */
			p[8] = 16;               /* csum_offset: TCP checksum */
		}
		memcpy(p + HDR_LEN, frame, flen);
	}
	memset(fe_hva(&b, rx_gpa), 0, (size_t)o->qsize * rx_buf);
	if ((ret = fe_post_rx_bufs(&b, rx_gpa, o->qsize, rx_buf)) < 0)
		return 1;

	if (pin(o->core) < 0)
		perror("linkgen: sched_setaffinity");
	affinity_str(0, aff_gen, sizeof(aff_gen));
	if (o->pid > 0)
		affinity_str(o->pid, aff_be, sizeof(aff_be));
	fprintf(stderr, "linkgen: generator pid %d on core %s; back end pid %d "
		"allowed on core %s\n", getpid(), aff_gen, o->pid, aff_be);

	/* Check one frame end to end before measuring. */
	ret = check_first_frame(&a, &b, tx_gpa, stride, frame, flen,
				&csum_filled, &rx_gso, &rx_bufs);
	if (ret)
		return ret;

	if (o->idle > 0) {
		/* Both sides connected, rings set up, one frame crossed:
		 * now nobody sends. What does the back end burn? */
		struct timespec settle = { 1, 0 }, idle = {
			(time_t)o->idle,
			(long)((o->idle - (double)(time_t)o->idle) * 1e9) };
		double c0, c1, w0, w1;

		nanosleep(&settle, NULL);
		c0 = proc_cpu_s(o->pid);
		w0 = now_s();
		nanosleep(&idle, NULL);
		c1 = proc_cpu_s(o->pid);
		w1 = now_s();
		printf("{\"idle_seconds\": %.3f, \"backend_cpu_s\": %.3f, "
		       "\"backend_cpu_share\": %.5f}\n", w1 - w0, c1 - c0,
		       (c1 - c0) / (w1 - w0));
		fprintf(stderr, "linkgen: idle %.1f s: back end used %.3f s CPU\n",
			w1 - w0, c1 - c0);
		fe_close(&a);
		fe_close(&b);
		free(frame);
		return 0;
	}
	start = now_s();
	for (unsigned iter = 0;; iter++) {
		fe_tx_burst(&a, tx_gpa, stride, o->qsize, HDR_LEN + flen, BURST);
		fe_rx_burst(&b, 2 * BURST, &frames, &bytes);
		if ((iter & 63) != 0)
			continue;
		t1 = now_s();
		if (!measuring && t1 - start >= o->warmup) {
			measuring = true;
			t0 = t1;
			f0 = frames;
			b0 = bytes;
			cpu0 = o->pid > 0 ? proc_cpu_s(o->pid) : 0;
			self0 = proc_cpu_s(getpid());
			busy0 = machine_busy_s();
		} else if (measuring && t1 - t0 >= o->seconds) {
			break;
		}
	}
	cpu1 = o->pid > 0 ? proc_cpu_s(o->pid) : 0;
	/* What everything else on the machine used meanwhile: a figure
	 * taken while another busy process ran is not comparable. */
	other = (machine_busy_s() - busy0) - (proc_cpu_s(getpid()) - self0) -
		(cpu1 - cpu0);
	frames -= f0;
	bytes -= b0;
	{
		double dt = t1 - t0, cpu = cpu1 - cpu0;
		double mpps = (double)frames / dt / 1e6;
		/* Gbit/s of Ethernet frames without FCS, as they cross. */
		double gbps = (double)bytes * 8 / dt / 1e9;
		double ns = frames ? cpu * 1e9 / (double)frames : 0;

		printf("{\"frame\": \"%s\", \"frames\": %" PRIu64 ", \"seconds\": %.3f, "
		       "\"mpps\": %.4f, \"gbps\": %.3f, \"backend_cpu_s\": %.3f, "
		       "\"cpu_ns_per_frame\": %.2f, \"gen_core\": \"%s\", "
		       "\"backend_cores\": \"%s\", \"features_a\": \"%#" PRIx64
		       "\", \"features_b\": \"%#" PRIx64 "\", \"rx_gso_type\": %u, "
		       "\"rx_buffers_per_frame\": %u, \"rx_csum_completed\": %s, "
		       "\"other_cpu_s\": %.3f}\n",
		       o->frame, frames, dt, mpps, gbps, cpu, ns, aff_gen, aff_be,
		       a.features, b.features, rx_gso, rx_bufs,
		       csum_filled ? "true" : "false", other);
		fprintf(stderr, "linkgen: %s: %.3f Mpps, %.2f Gbit/s, back end %.2f s "
			"CPU = %.1f ns/frame\n", o->frame, mpps, gbps, cpu, ns);
	}
	fe_close(&a);
	fe_close(&b);
	free(frame);
	return frames ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "frame", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "pid", required_argument, NULL, 'p' },
		{ "core", required_argument, NULL, 'c' },
		{ "qsize", required_argument, NULL, 'q' },
		{ "rx-buf", required_argument, NULL, 'r' },
		{ "memcpy", no_argument, NULL, 'm' },
		{ "idle", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .frame = "64", .seconds = 5, .warmup = 1, .core = 0,
			  .qsize = 256 };
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'a': o.a = optarg; break;
		case 'b': o.b = optarg; break;
		case 'f': o.frame = optarg; break;
		case 's': o.seconds = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'p': o.pid = atoi(optarg); break;
		case 'c': o.core = atoi(optarg); break;
		case 'q': o.qsize = (unsigned)atoi(optarg); break;
		case 'r': o.rx_buf = (unsigned)atoi(optarg); break;
		case 'm': o.memcpy_ref = 1; break;
		case 'i': o.idle = atof(optarg); break;
		default: usage(); return 2;
		}
	}
	if (o.qsize == 0 || o.qsize > 32768 || (o.qsize & (o.qsize - 1))) {
		usage();
		return 2;
	}
	if (o.memcpy_ref) {
		if (pin(o.core) < 0)
			perror("linkgen: sched_setaffinity");
		return run_memcpy(&o);
	}
	if (!o.a || !o.b) {
		usage();
		return 2;
	}
	return run_gen(&o);
}
