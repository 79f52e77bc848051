/* bulkhead-blk against a hostile NBD server (sys-storage taken over),
 * a scripted one of the test's own (nbd_script.h): replies out of order
 * (the used ring still gives requests back in the order taken), a flush
 * that fails (that request alone fails, the worker stays up: its status
 * answers, a new front end connects), and replies that break the
 * protocol: a wrong magic, one naming a request never sent, one with
 * half its data. Those end the NBD connection, and the worker with it
 * (75 or 76, crash-only: a new one takes over, docs/vmm.md), having
 * published nothing more. Confined, as supervised.
 *
 * Usage: test_blk_hostile BULKHEAD_BLK (as root) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "blk_proc.h"
#include "nbd_script.h"
#include "tap.h"

static const char *binary;

struct rig {
	struct blk_proc bp;
	struct fe fe;
};

static bool rig_up(struct rig *r, enum nbd_script script)
{
	if (blk_proc_dir(&r->bp) < 0)
		return false;
	r->bp.nbd_pid = nbd_script_start(r->bp.nbd, script);
	return r->bp.nbd_pid > 0 && blk_start(&r->bp, binary, NULL) == 0 &&
	       blk_fe_start(&r->fe, r->bp.vu) == 0;
}

/* CPU time the process has used, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* The worker lives, idles (a dead NBD socket does not keep waking it),
 * answers its status and takes a new front end. */
static bool rig_survives(struct rig *r)
{
	struct fe again;
	long before = cpu_ticks(r->bp.pid), after;
	bool ok;

	link_sleep_ms(500);
	after = cpu_ticks(r->bp.pid);
	if (before < 0 || after - before > 10) {
		printf("# worker used %ld ticks in 500 ms while idle\n",
		       after - before);
		return false;
	}
	fe_close(&r->fe);
	ok = blk_alive(&r->bp) && blk_counter(&r->bp, "requests") >= 0 &&
	     blk_fe_start(&again, r->bp.vu) == 0;
	fe_close(&again);
	return ok && blk_alive(&r->bp);
}

static void t_reverse(struct tap *t, const void *arg)
{
	struct rig r;
	struct blk_io a, b;
	uint16_t id[2] = { 0, 0 };
	uint32_t len;

	(void)arg;
	CHECK(t, rig_up(&r, NBD_SCRIPT_REVERSE));
	CHECK_EQ(t, blk_add(&r.fe, &a, VIRTIO_BLK_T_IN, 1, 512, NULL), 0);
	CHECK_EQ(t, blk_add(&r.fe, &b, VIRTIO_BLK_T_IN, 2, 512, NULL), 0);
	fe_kick(&r.fe, 0);
	CHECK(t, blk_reap(&r.fe, &id[0], &len, 2000));
	CHECK(t, blk_reap(&r.fe, &id[1], &len, 2000));
	/* The server answered b first; the guest sees a first. */
	CHECK_EQ(t, id[0], a.id);
	CHECK_EQ(t, id[1], b.id);
	CHECK_EQ(t, ((uint8_t *)fe_hva(&r.fe, a.data))[0], 1);
	CHECK_EQ(t, ((uint8_t *)fe_hva(&r.fe, b.data))[0], 2);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&r.fe, a.status), VIRTIO_BLK_S_OK);
	CHECK(t, rig_survives(&r));
	blk_stop(&r.bp);
}

/* The front end goes while its read is at the server (which holds it
 * until a second one comes): the answer arrives after that memory and
 * ring are gone, and is dropped. A new front end's read, at other
 * addresses, goes on behind it: it alone comes back, and the new memory
 * where the old read's buffer was stays untouched. */
static void t_orphan(struct tap *t, const void *arg)
{
	static const uint8_t zeros[4096];
	struct rig r;
	struct blk_io a, b;
	uint16_t id;
	uint32_t len;

	(void)arg;
	CHECK(t, rig_up(&r, NBD_SCRIPT_REVERSE));
	CHECK_EQ(t, blk_add(&r.fe, &a, VIRTIO_BLK_T_IN, 1, 4096, NULL), 0);
	fe_kick(&r.fe, 0);
	CHECK(t, !blk_reap(&r.fe, &id, &len, 200));
	CHECK_EQ(t, blk_counter(&r.bp, "in_flight"), 1);
	fe_close(&r.fe);
	link_sleep_ms(100);
	CHECK_EQ(t, blk_fe_start(&r.fe, r.bp.vu), 0);
	/* The same allocations again would put b where a was. */
	CHECK(t, fe_alloc_buf(&r.fe, 64 * 1024) != 0);
	CHECK_EQ(t, blk_add(&r.fe, &b, VIRTIO_BLK_T_IN, 2, 4096, NULL), 0);
	fe_kick(&r.fe, 0);
	CHECK(t, blk_reap(&r.fe, &id, &len, 2000));
	CHECK_EQ(t, id, b.id);
	CHECK_EQ(t, len, 4097);
	CHECK(t, !blk_reap(&r.fe, &id, &len, 200));
	CHECK_EQ(t, ((uint8_t *)fe_hva(&r.fe, b.data))[0], 2);
	CHECK(t, memcmp(fe_hva(&r.fe, a.data), zeros, sizeof(zeros)) == 0);
	CHECK_EQ(t, blk_counter(&r.bp, "in_flight"), 0);
	CHECK(t, rig_survives(&r));
	blk_stop(&r.bp);
}

/* The front end replaces its memory table (another file, the same
 * addresses) while a read is at the server: the read's buffers were in
 * the old mappings, so its answer is dropped, not written into the new
 * memory (or into nothing). */
static void t_remap(struct tap *t, const void *arg)
{
	static const uint8_t zeros[4096];
	struct rig r;
	struct blk_io a;
	struct vu_mem_table tbl = { .nregions = 1 };
	struct vu_msg reply;
	int memfd2 = memfd_create("fe-guest-2", MFD_CLOEXEC);
	uint8_t *m2;

	(void)arg;
	CHECK(t, memfd2 >= 0 && ftruncate(memfd2, 64 << 20) == 0);
	m2 = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, memfd2, 0);
	CHECK(t, m2 != MAP_FAILED);
	CHECK(t, rig_up(&r, NBD_SCRIPT_SLOW));
	CHECK_EQ(t, blk_add(&r.fe, &a, VIRTIO_BLK_T_IN, 1, 4096, NULL), 0);
	fe_kick(&r.fe, 0);
	link_sleep_ms(100);
	CHECK_EQ(t, blk_counter(&r.bp, "in_flight"), 1);
	tbl.regions[0] = (struct vu_mem_region){ .gpa = FE_GPA_BASE,
						 .size = 64 << 20,
						 .uva = (uint64_t)(uintptr_t)r.fe.mem };
	CHECK_EQ(t, fe_send(&r.fe, VU_SET_MEM_TABLE, VU_VERSION | VU_FLAG_NEED_REPLY,
			    &tbl, 8 + sizeof(tbl.regions[0]), &memfd2, 1), 0);
	CHECK_EQ(t, fe_recv(&r.fe, &reply, 2000), 8);
	link_sleep_ms(500);
	CHECK_EQ(t, blk_counter(&r.bp, "in_flight"), 0);
	CHECK(t, memcmp(m2 + (a.data - FE_GPA_BASE), zeros, sizeof(zeros)) == 0);
	CHECK(t, rig_survives(&r));
	blk_stop(&r.bp);
	munmap(m2, 64 << 20);
	close(memfd2);
}

struct broken {
	enum nbd_script script;
	bool flush;             /* the write before it flushed */
	int exit;               /* the worker's status then */
};

/* A broken reply to a read kills the connection (libnbd will not guess
 * where the next reply starts). Nothing more is published: used->idx
 * stays put, the read's buffer and status byte stay as the guest left
 * them (the short reply's half never reaches it), and the worker exits
 * at once, 75 when the write before was flushed, 76 when not. */
static void t_broken_reply(struct tap *t, const void *arg)
{
	const struct broken *c = arg;
	struct rig r;
	struct blk_io io, rd;
	static uint8_t data[4096];
	uint16_t used;

	CHECK(t, rig_up(&r, c->script));
	CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_OUT, 0, 4096, data),
		 VIRTIO_BLK_S_OK);
	if (c->flush)
		CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
			 VIRTIO_BLK_S_OK);
	used = blk_used_idx(&r.fe);
	CHECK_EQ(t, blk_add(&r.fe, &rd, VIRTIO_BLK_T_IN, 8, 4096, NULL), 0);
	fe_kick(&r.fe, 0);
	CHECK_EQ(t, blk_exit_status(&r.bp, 2000), c->exit);
	CHECK_EQ(t, blk_used_idx(&r.fe), used);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&r.fe, rd.status), 0xee);
	CHECK(t, blk_all_bytes(fe_hva(&r.fe, rd.data), 4096, 0xcc));
	CHECK(t, blk_file_has(r.bp.log, "NBD connection dead"));
	fe_close(&r.fe);
	blk_stop(&r.bp);
}

static void t_flush_fails(struct tap *t, const void *arg)
{
	struct rig r;
	struct blk_io io;
	static uint8_t data[4096];

	(void)arg;
	CHECK(t, rig_up(&r, NBD_SCRIPT_FLUSH_FAILS));
	CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_OUT, 0, 4096, data),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_IOERR);
	/* Only that request: the connection lives. */
	CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_IN, 0, 4096, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_counter(&r.bp, "nbd.errors"), 1);
	CHECK(t, blk_field_is(&r.bp, "nbd.connected", "true"));
	CHECK(t, rig_survives(&r));
	blk_stop(&r.bp);
}

int main(int argc, char **argv)
{
	static const struct broken magic = { NBD_SCRIPT_BAD_MAGIC, false, 76 },
		cookie = { NBD_SCRIPT_BAD_COOKIE, true, 75 },
		shrt = { NBD_SCRIPT_SHORT, false, 76 };
	static const struct tap_case cases[] = {
		{ "replies out of order: completed in order", t_reverse, NULL },
		{ "an answer after its front end left: dropped, the next goes on", t_orphan, NULL },
		{ "an answer after the memory table changed: dropped", t_remap, NULL },
		{ "a reply with a wrong magic, a write unflushed: nothing published, exit 76", t_broken_reply, &magic },
		{ "a reply to a request never sent, the write flushed: nothing published, exit 75", t_broken_reply, &cookie },
		{ "a read reply with half its data: nothing published, exit 76", t_broken_reply, &shrt },
		{ "a flush that fails fails that request only", t_flush_fails, NULL },
	};

	return blk_test_main(argc, argv, &binary, cases,
			     sizeof(cases) / sizeof(cases[0]));
}
