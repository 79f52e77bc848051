/* bulkhead-blk against a real nbdkit (memory plugin, its log filter
 * recording every request it gets), driven by the harness front end:
 * config space through GET_CONFIG, the features, a write read back
 * byte-exact, flush, GET_ID, requests in flight at once completed in
 * order, and refusals (past the end, misaligned, a bad layout, a type
 * not offered) that never reach nbdkit. The worker runs confined.
 *
 * Usage: test_blk BULKHEAD_BLK (as root: the worker confines itself) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include "blk_proc.h"
#include "tap.h"

/* 64 MiB in sectors. */
#define CAPACITY 131072ull
#define BIT(n) (1ull << (n))

static const char *binary;
static struct blk_proc bp;
static struct fe fe;

static bool nbdkit_log_has(const struct blk_proc *p, const char *what)
{
	return blk_file_has(p->nbd_log, what);
}

static bool nbdkit_saw(const char *what)
{
	return nbdkit_log_has(&bp, what);
}

static void t_config(struct tap *t, const void *arg)
{
	struct vu_config req = { .offset = 0, .size = 40 };
	struct virtio_blk_config cfg;
	struct vu_msg r;
	uint64_t offered = 0;

	(void)arg;
	CHECK_EQ(t, fe_send(&fe, VU_GET_CONFIG, VU_VERSION, &req,
			    VU_CONFIG_HDR + req.size, NULL, 0), 0);
	CHECK_EQ(t, fe_recv(&fe, &r, 2000), VU_CONFIG_HDR + 40);
	memset(&cfg, 0, sizeof(cfg));
	memcpy(&cfg, r.payload.config.region, 40);
	CHECK_EQ(t, cfg.capacity, CAPACITY);
	CHECK_EQ(t, cfg.blk_size, 512);
	CHECK_EQ(t, cfg.seg_max, 120);
	CHECK_EQ(t, cfg.size_max, 8192);
	/* num_queues at offset 34: a window that starts inside. */
	req = (struct vu_config){ .offset = 34, .size = 2 };
	CHECK_EQ(t, fe_send(&fe, VU_GET_CONFIG, VU_VERSION, &req,
			    VU_CONFIG_HDR + 2, NULL, 0), 0);
	CHECK_EQ(t, fe_recv(&fe, &r, 2000), VU_CONFIG_HDR + 2);
	CHECK_EQ(t, r.payload.config.region[0], 1);
	CHECK_EQ(t, fe_get_u64(&fe, VU_GET_FEATURES, &offered), 0);
	CHECK(t, offered & BIT(VIRTIO_BLK_F_FLUSH));
	CHECK(t, offered & BIT(VIRTIO_BLK_F_SEG_MAX));
	CHECK(t, offered & BIT(VIRTIO_BLK_F_SIZE_MAX));
	CHECK(t, offered & BIT(VIRTIO_BLK_F_BLK_SIZE));
	CHECK(t, offered & BIT(VIRTIO_F_VERSION_1));
	CHECK(t, !(offered & BIT(VIRTIO_BLK_F_RO)));
	/* nbdkit memory trims and zeroes: both offered, with their limits
	 * (36..56: max_discard_sectors .. write_zeroes_may_unmap). */
	CHECK(t, offered & BIT(VIRTIO_BLK_F_DISCARD));
	CHECK(t, offered & BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	req = (struct vu_config){ .offset = 0, .size = 60 };
	CHECK_EQ(t, fe_send(&fe, VU_GET_CONFIG, VU_VERSION, &req,
			    VU_CONFIG_HDR + req.size, NULL, 0), 0);
	CHECK_EQ(t, fe_recv(&fe, &r, 2000), VU_CONFIG_HDR + 60);
	memcpy(&cfg, r.payload.config.region, 60);
	CHECK_EQ(t, cfg.max_discard_sectors, 4u << 20);
	CHECK_EQ(t, cfg.max_discard_seg, 16);
	CHECK_EQ(t, cfg.discard_sector_alignment, 128);
	CHECK_EQ(t, cfg.max_write_zeroes_sectors, 4u << 20);
	CHECK_EQ(t, cfg.max_write_zeroes_seg, 16);
	CHECK_EQ(t, cfg.write_zeroes_may_unmap, 1);
	CHECK_EQ(t, fe_get_u64(&fe, VU_GET_PROTOCOL_FEATURES, &offered), 0);
	CHECK(t, offered & BIT(VU_PROTOCOL_F_CONFIG));
}

static void t_write_read(struct tap *t, const void *arg)
{
	static uint8_t data[64 * 1024];
	struct blk_io w, r;

	(void)arg;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_OUT, 100, sizeof(data), data),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_do(&fe, &r, VIRTIO_BLK_T_IN, 100, sizeof(data), NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(t, memcmp(fe_hva(&fe, r.data), data, sizeof(data)) == 0);
	/* The last sector of the volume is still inside it. */
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_OUT, CAPACITY - 1, 512, data),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_do(&fe, &r, VIRTIO_BLK_T_IN, CAPACITY - 1, 512, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(t, memcmp(fe_hva(&fe, r.data), data, 512) == 0);
	CHECK_EQ(t, blk_counter(&bp, "bytes_written"), sizeof(data) + 512);
	CHECK_EQ(t, blk_counter(&bp, "bytes_read"), sizeof(data) + 512);
}

static void t_flush(struct tap *t, const void *arg)
{
	struct blk_io io;

	(void)arg;
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_counter(&bp, "flushes"), 1);
	CHECK(t, nbdkit_saw("Flush"));
}

static void t_get_id(struct tap *t, const void *arg)
{
	struct blk_io io;

	(void)arg;
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_GET_ID, 0, 20, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(t, memcmp(fe_hva(&fe, io.data), "vol-serial-1\0", 13) == 0);
}

/* 40 writes then 40 reads, all in the ring together (the worker takes
 * 32 at a time): each read sees its write, and the used ring gives them
 * back in the order taken. */
static void t_in_order(struct tap *t, const void *arg)
{
	enum { N = 40, LEN = 4096 };
	static uint8_t data[N][LEN];
	struct blk_io w[N], r[N];
	uint16_t id;
	uint32_t len;
	unsigned in_order = 0;

	(void)arg;
	for (unsigned i = 0; i < N; i++) {
		memset(data[i], 0x40 + (int)i, LEN);
		CHECK_EQ(t, blk_add(&fe, &w[i], VIRTIO_BLK_T_OUT, 2048 + i * 8,
				    LEN, data[i]), 0);
	}
	fe_kick(&fe, 0);
	for (unsigned i = 0; i < N; i++)
		in_order += blk_reap(&fe, &id, &len, 2000) && id == w[i].id;
	for (unsigned i = 0; i < N; i++)
		CHECK_EQ(t, blk_add(&fe, &r[i], VIRTIO_BLK_T_IN, 2048 + i * 8,
				    LEN, NULL), 0);
	fe_kick(&fe, 0);
	for (unsigned i = 0; i < N; i++)
		in_order += blk_reap(&fe, &id, &len, 2000) && id == r[i].id &&
			    len == LEN + 1;
	CHECK_EQ(t, in_order, 2 * N);
	for (unsigned i = 0; i < N; i++)
		CHECK(t, memcmp(fe_hva(&fe, r[i].data), data[i], LEN) == 0);
}

/* A line of /proc/PID/status starting with key, its value into out. */
static bool proc_status(pid_t pid, const char *key, char *out, size_t outlen)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0) {
			snprintf(out, outlen, "%s", line + strlen(key));
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

/* Serving, it is confined: an identity of its own (0x70c00000 + pid),
 * a seccomp filter, no capabilities, and of what the test leaked to it
 * (a file opened without close-on-exec) nothing left. */
static void t_confined(struct tap *t, const void *arg)
{
	char v[128], want[64], path[64], target[256];
	DIR *d;
	struct dirent *e;
	bool leaked = false;

	(void)arg;
	snprintf(want, sizeof(want), "\t%u\t", 0x70c00000u + (unsigned)bp.pid);
	CHECK(t, proc_status(bp.pid, "Uid:", v, sizeof(v)));
	CHECK_STR(t, v, want);
	CHECK(t, proc_status(bp.pid, "Seccomp:", v, sizeof(v)));
	CHECK_STR(t, v, "2");
	CHECK(t, proc_status(bp.pid, "CapEff:", v, sizeof(v)));
	CHECK_STR(t, v, "0000000000000000");
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)bp.pid);
	d = opendir(path);
	CHECK(t, d != NULL);
	while (d && (e = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, target,
				       sizeof(target) - 1);

		if (n > 0) {
			target[n] = '\0';
			leaked = leaked || strstr(target, "bulkhead-blk-leak");
		}
	}
	if (d)
		closedir(d);
	CHECK(t, !leaked);
}

/* The largest request the config space allows, one chain of 1 MiB,
 * written and read back; 512 bytes more is refused as oversize. */
static void t_large(struct tap *t, const void *arg)
{
	static uint8_t data[(1u << 20) + 512];
	struct blk_io w, r;

	(void)arg;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_OUT, 4096, 1u << 20, data),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_do(&fe, &r, VIRTIO_BLK_T_IN, 4096, 1u << 20, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(t, memcmp(fe_hva(&fe, r.data), data, 1u << 20) == 0);
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_OUT, 8192, sizeof(data), data),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&bp, "refusals.oversize"), 1);
	CHECK(t, !nbdkit_saw("offset=0x400000 count=0x100200"));
}

/* A read-only export (nbdkit -r): RO offered, a write refused before
 * nbdkit, reads served. A worker of its own. */
static void t_read_only(struct tap *t, const void *arg)
{
	static uint8_t data[4096];
	struct blk_proc ro;
	struct fe rfe;
	struct blk_io io;
	uint64_t offered = 0;

	(void)arg;
	CHECK(t, blk_proc_dir(&ro) == 0 && blk_nbdkit_start(&ro, "1M", true) == 0 &&
	      blk_start(&ro, binary, NULL) == 0 && blk_fe_start(&rfe, ro.vu) == 0);
	CHECK_EQ(t, fe_get_u64(&rfe, VU_GET_FEATURES, &offered), 0);
	CHECK(t, offered & BIT(VIRTIO_BLK_F_RO));
	CHECK(t, rfe.features & BIT(VIRTIO_BLK_F_RO));
	/* Nothing to trim or zero on it: neither offered. */
	CHECK(t, !(offered & BIT(VIRTIO_BLK_F_DISCARD)));
	CHECK(t, !(offered & BIT(VIRTIO_BLK_F_WRITE_ZEROES)));
	CHECK_EQ(t, blk_do(&rfe, &io, VIRTIO_BLK_T_OUT, 8, sizeof(data), data),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&ro, "refusals.read_only"), 1);
	CHECK(t, !nbdkit_log_has(&ro, "Write"));
	CHECK_EQ(t, blk_do(&rfe, &io, VIRTIO_BLK_T_IN, 8, sizeof(data), NULL),
		 VIRTIO_BLK_S_OK);
	fe_close(&rfe);
	CHECK(t, blk_alive(&ro));
	blk_stop(&ro);
}

/* A read of sector 0 whose 512 data bytes are device-readable: the
 * device would have nowhere to put them. Returns its status byte. */
static int bad_layout_read(void)
{
	struct blk_io io;
	uint16_t id;
	uint32_t len;

	if (blk_add(&fe, &io, VIRTIO_BLK_T_OUT, 0, 512, (uint8_t[512]){ 0 }) < 0)
		return -1;
	/* The same chain as a write's, with the type of a read. */
	((struct virtio_blk_outhdr *)fe_hva(&fe, io.hdr))->type = VIRTIO_BLK_T_IN;
	fe_kick(&fe, 0);
	if (!blk_reap(&fe, &id, &len, 2000) || id != io.id)
		return -1;
	return *(uint8_t *)fe_hva(&fe, io.status);
}

/* Each refused request is answered with its status, counted, and never
 * reaches nbdkit (its log has no request at that offset). */
static void t_refused(struct tap *t, const void *arg)
{
	static uint8_t data[1024];
	struct blk_io io;

	(void)arg;
	/* Past the end: the last sector and one more; a sector far past;
	 * a sector whose byte offset would wrap 64 bits. */
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_IN, CAPACITY - 1, 1024, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_OUT, CAPACITY, 512, data),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_IN, 1ull << 55, 512, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&bp, "refusals.past_end"), 3);
	CHECK(t, !nbdkit_saw("offset=0x3fffe00 count=0x400"));
	CHECK(t, !nbdkit_saw("offset=0x4000000"));
	/* Misaligned: 100 bytes. */
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_OUT, 8, 100, data),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&bp, "refusals.misaligned"), 1);
	CHECK(t, !nbdkit_saw("count=0x64"));
	/* A type not offered (SECURE_ERASE). */
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_SECURE_ERASE, 0, 16, data),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(t, blk_counter(&bp, "refusals.unsupported"), 1);
	/* A read whose data buffer the device may only read. */
	CHECK_EQ(t, bad_layout_read(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&bp, "refusals.bad_layout"), 1);
	CHECK_EQ(t, blk_counter(&bp, "nbd.errors"), 0);
	CHECK(t, blk_alive(&bp));
}

/* A DISCARD or WRITE_ZEROES of nseg segments {sector, sectors, flags},
 * kicked and waited for (2 s). Returns its status byte, or -1. */
static int blk_dwz(uint32_t type, const uint64_t (*segs)[3], unsigned nseg)
{
	struct virtio_blk_outhdr *h;
	struct virtq_buf b[3];
	uint64_t hdr = fe_alloc_buf(&fe, sizeof(*h));
	uint64_t data = fe_alloc_buf(&fe, nseg * 16);
	uint64_t status = fe_alloc_buf(&fe, 1);
	uint8_t *at;
	uint16_t id;
	uint32_t used;
	int head;

	if (!hdr || !data || !status)
		return -1;
	h = fe_hva(&fe, hdr);
	memset(h, 0, sizeof(*h));
	h->type = type;
	at = fe_hva(&fe, data);
	for (unsigned i = 0; i < nseg; i++) {
		struct virtio_blk_discard_write_zeroes g = {
			.sector = segs[i][0], .num_sectors = (uint32_t)segs[i][1],
			.flags = (uint32_t)segs[i][2],
		};

		memcpy(at + 16 * i, &g, sizeof(g));
	}
	*(uint8_t *)fe_hva(&fe, status) = 0xee;
	b[0] = (struct virtq_buf){ hdr, sizeof(*h), false };
	b[1] = (struct virtq_buf){ data, nseg * 16, false };
	b[2] = (struct virtq_buf){ status, 1, true };
	head = virtq_driver_add(&fe.q[0], b, 3);
	if (head < 0)
		return -1;
	fe_kick(&fe, 0);
	if (!blk_reap(&fe, &id, &used, 2000) || id != head)
		return -1;
	return *(uint8_t *)fe_hva(&fe, status);
}

/* Sectors first .. first + n - 1 read back all `byte`. */
static bool reads_as(uint64_t first, uint32_t n, uint8_t byte)
{
	struct blk_io r;

	return blk_do(&fe, &r, VIRTIO_BLK_T_IN, first, n * 512, NULL) ==
	       VIRTIO_BLK_S_OK && blk_all_bytes(fe_hva(&fe, r.data), n * 512, byte);
}

/* DISCARD reaches nbdkit as trim, one per segment (the memory plugin
 * then reads zeros there); the sectors around keep their data. A trim
 * counts as a write until a flush covers it. */
static void t_discard(struct tap *t, const void *arg)
{
	static uint8_t data[64 * 512];
	const uint64_t segs[][3] = { { 3008, 8, 0 }, { 3024, 16, 0 } };
	struct blk_io w;
	long long acked;

	(void)arg;
	memset(data, 0x77, sizeof(data));
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_OUT, 3000, sizeof(data), data),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_OK);
	acked = blk_counter(&bp, "writes_acknowledged");
	CHECK_EQ(t, blk_counter(&bp, "writes_flushed"), acked);
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_DISCARD, segs, 2), VIRTIO_BLK_S_OK);
	/* 3008 * 512 = 0x178000, 8 sectors 0x1000; 3024: 0x17a000, 0x2000. */
	CHECK(t, nbdkit_saw("offset=0x178000 count=0x1000 fua=0"));
	CHECK(t, nbdkit_saw("offset=0x17a000 count=0x2000 fua=0"));
	CHECK_EQ(t, blk_counter(&bp, "discards"), 1);
	CHECK_EQ(t, blk_counter(&bp, "bytes_discarded"), 24 * 512);
	CHECK_EQ(t, blk_counter(&bp, "writes_acknowledged"), acked + 1);
	CHECK_EQ(t, blk_counter(&bp, "writes_flushed"), acked);
	CHECK(t, reads_as(3000, 8, 0x77));
	CHECK(t, reads_as(3008, 8, 0));
	CHECK(t, reads_as(3016, 8, 0x77));
	CHECK(t, reads_as(3024, 16, 0));
	CHECK(t, reads_as(3040, 24, 0x77));
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_counter(&bp, "writes_flushed"), acked + 1);
}

/* WRITE_ZEROES reaches nbdkit as zero: may trim when the guest set
 * unmap, not (NBD_CMD_FLAG_NO_HOLE) when it did not; reads zeros. */
static void t_write_zeroes(struct tap *t, const void *arg)
{
	static uint8_t data[32 * 512];
	const uint64_t unmap[][3] = { { 4000, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP } };
	const uint64_t keep[][3] = { { 4016, 8, 0 } };
	struct blk_io w;

	(void)arg;
	memset(data, 0x55, sizeof(data));
	CHECK_EQ(t, blk_do(&fe, &w, VIRTIO_BLK_T_OUT, 4000, sizeof(data), data),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_WRITE_ZEROES, unmap, 1), VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_WRITE_ZEROES, keep, 1), VIRTIO_BLK_S_OK);
	/* 4000 * 512 = 0x1f4000; 4016 * 512 = 0x1f6000. */
	CHECK(t, nbdkit_saw("offset=0x1f4000 count=0x1000 trim=1"));
	CHECK(t, nbdkit_saw("offset=0x1f6000 count=0x1000 trim=0"));
	CHECK_EQ(t, blk_counter(&bp, "write_zeroes"), 2);
	CHECK(t, reads_as(4000, 8, 0));
	CHECK(t, reads_as(4008, 8, 0x55));
	CHECK(t, reads_as(4016, 8, 0));
	CHECK(t, reads_as(4024, 8, 0x55));
}

/* Refused DISCARD and WRITE_ZEROES: counted by reason, with their
 * statuses, and none reaches nbdkit (its log has nothing at their
 * offsets), not even a good segment beside the bad one. */
static void t_dwz_refused(struct tap *t, const void *arg)
{
	const uint64_t past[][3] = { { 5000, 8, 0 }, { CAPACITY - 8, 9, 0 } };
	const uint64_t wrap[][3] = { { ~0ull - 7, 16, 0 } };
	const uint64_t flags[][3] = { { 5100, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP } };
	const uint64_t reserved[][3] = { { 5200, 8, 4 } };
	uint64_t many[17][3];
	long long past_end = blk_counter(&bp, "refusals.past_end");
	long long oversize = blk_counter(&bp, "refusals.oversize");

	(void)arg;
	for (unsigned i = 0; i < 17; i++) {
		many[i][0] = 5300 + 8 * i;
		many[i][1] = 8;
		many[i][2] = 0;
	}
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_DISCARD, past, 2), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_WRITE_ZEROES, past + 1, 1),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_DISCARD, wrap, 1), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&bp, "refusals.past_end"), past_end + 3);
	/* 5000 * 512 = 0x271000; the volume's last 8 sectors 0x3fff000. */
	CHECK(t, !nbdkit_saw("offset=0x271000"));
	CHECK(t, !nbdkit_saw("offset=0x3fff000"));
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_DISCARD, flags, 1), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_WRITE_ZEROES, reserved, 1),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(t, blk_counter(&bp, "refusals.bad_flags"), 2);
	CHECK(t, !nbdkit_saw("offset=0x27d800"));
	CHECK(t, !nbdkit_saw("offset=0x28a000"));
	CHECK_EQ(t, blk_dwz(VIRTIO_BLK_T_DISCARD, (const uint64_t (*)[3])many, 17),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_counter(&bp, "refusals.oversize"), oversize + 1);
	/* 5300 * 512 = 0x296800. */
	CHECK(t, !nbdkit_saw("offset=0x296800"));
	CHECK_EQ(t, blk_counter(&bp, "nbd.errors"), 0);
	CHECK(t, blk_alive(&bp));
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
		{ "confined: its own uid, seccomp, no capabilities, nothing leaked kept", t_confined, NULL },
		{ "GET_CONFIG: capacity, blk_size, seg_max, size_max, num_queues; features", t_config, NULL },
		{ "a 64 KiB write read back byte-exact; the last sector", t_write_read, NULL },
		{ "FLUSH reaches nbdkit as flush", t_flush, NULL },
		{ "GET_ID answers the serial", t_get_id, NULL },
		{ "80 requests in flight, completed in order", t_in_order, NULL },
		{ "past the end, misaligned, unsupported: refused, counted, never at nbdkit", t_refused, NULL },
		{ "1 MiB in one request read back; 512 bytes more refused", t_large, NULL },
		{ "a read-only export: RO offered, writes refused before nbdkit", t_read_only, NULL },
		{ "DISCARD: a trim per segment at nbdkit, data around kept, a write until flushed", t_discard, NULL },
		{ "WRITE_ZEROES: zero at nbdkit, may trim only with unmap", t_write_zeroes, NULL },
		{ "DISCARD/WRITE_ZEROES past the end, bad flags, 17 segments: never at nbdkit", t_dwz_refused, NULL },
	};
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: test_blk BULKHEAD_BLK\n");
		return 2;
	}
	binary = argv[1];
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (the worker confines itself)\n");
		return 0;
	}
	/* A descriptor the worker's starter leaks (no close-on-exec). */
	char leak[96];
	int leak_fd;

	if (blk_proc_dir(&bp) < 0)
		return 1;
	snprintf(leak, sizeof(leak), "%s/bulkhead-blk-leak", bp.dir);
	leak_fd = open(leak, O_CREAT | O_RDWR, 0600);
	if (leak_fd < 0 || blk_nbdkit_start(&bp, "64M", false) < 0 ||
	    blk_start(&bp, binary, NULL) < 0 || blk_fe_start(&fe, bp.vu) < 0) {
		printf("Bail out! setup failed (log in %s)\n", bp.dir);
		return 1;
	}
	close(leak_fd);
	ret = tap_run(cases, sizeof(cases) / sizeof(cases[0]));
	fe_close(&fe);
	if (!blk_alive(&bp))
		ret = 1;
	blk_stop(&bp);
	return ret;
}
