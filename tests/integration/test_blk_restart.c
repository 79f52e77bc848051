/* bulkhead-blk's crash-only recovery (docs/vmm.md, "When the NBD
 * connection dies"): a worker whose NBD server went publishes nothing
 * more and exits, 75 when every write it acknowledged was covered by a
 * flush, 76 when not; one started with --lost-writes fails the guest's
 * first FLUSH, and says so on --told-fd once the guest has seen it fail
 * (not before); one killed -9 under load is replaced, and the front end,
 * resuming from its used index as QEMU does, gets every request back
 * exactly once with the right data. Against the scripted NBD server
 * (nbd_script.h: the first read held, the next request answered, then a
 * hang-up) and against real nbdkit (killed -9 as sys-storage would be,
 * its file plugin over a file in the scratch directory, its delay
 * filter keeping requests in flight). Confined, as supervised.
 *
 * Usage: test_blk_restart BULKHEAD_BLK (as root) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "blk_proc.h"
#include "nbd_script.h"
#include "tap.h"

#define LEN 4096u
#define FILE_BYTES (8u << 20)

static const char *binary;
static const char *const lost_writes[] = { "--lost-writes", NULL };

struct rig {
	struct blk_proc bp;
	struct fe fe;
};

static bool rig_up(struct rig *r, enum nbd_script script,
		   const char *const *extra)
{
	if (blk_proc_dir(&r->bp) < 0)
		return false;
	r->bp.nbd_pid = nbd_script_start(r->bp.nbd, script);
	return r->bp.nbd_pid > 0 && blk_start(&r->bp, binary, extra) == 0 &&
	       blk_fe_start(&r->fe, r->bp.vu) == 0;
}

static void rig_down(struct rig *r)
{
	fe_close(&r->fe);
	blk_stop(&r->bp);
}

/* Kills the NBD server as sys-storage dies: no goodbye. */
static void nbd_kill(struct blk_proc *bp)
{
	kill(bp->nbd_pid, SIGKILL);
	waitpid(bp->nbd_pid, NULL, 0);
	bp->nbd_pid = 0;
}

/* The request after a held read: the server answers it, then hangs up.
 * The read (failed by the dead connection) and the write (answered OK,
 * but behind the read) are both left unpublished: used->idx stays where
 * it was, their status bytes untouched. Returns the worker's exit
 * status (2 s), or -1. */
static int hangup_with_two_in_flight(struct tap *t, struct rig *r)
{
	static uint8_t data[LEN];
	struct blk_io rd, wr;
	uint16_t used = blk_used_idx(&r->fe);
	int status;

	memset(data, 0x77, sizeof(data));
	CHECK_EQ(t, blk_add(&r->fe, &rd, VIRTIO_BLK_T_IN, 8, LEN, NULL), 0);
	CHECK_EQ(t, blk_add(&r->fe, &wr, VIRTIO_BLK_T_OUT, 64, LEN, data), 0);
	fe_kick(&r->fe, 0);
	status = blk_exit_status(&r->bp, 2000);
	CHECK_EQ(t, blk_used_idx(&r->fe), used);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&r->fe, rd.status), 0xee);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&r->fe, wr.status), 0xee);
	CHECK(t, blk_all_bytes(fe_hva(&r->fe, rd.data), LEN, 0xcc));
	/* The write had its answer (only the read failed): done at the
	 * server, yet not published, so not acknowledged either. */
	CHECK(t, blk_file_has(r->bp.log, "NBD read of 4096 bytes at 4096 failed"));
	CHECK(t, !blk_file_has(r->bp.log, "NBD write"));
	CHECK(t, blk_file_has(r->bp.log, "2 requests taken and left unpublished"));
	return status;
}

struct hangup {
	bool flush;             /* the acknowledged write flushed first */
	int exit;
};

static void t_hangup(struct tap *t, const void *arg)
{
	const struct hangup *c = arg;
	static uint8_t data[LEN];
	struct rig r;
	struct blk_io io;
	bool up = rig_up(&r, NBD_SCRIPT_HANGUP, NULL);

	CHECK(t, up);
	if (up) {
		CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_OUT, 0, LEN, data),
			 VIRTIO_BLK_S_OK);
		if (c->flush)
			CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0,
					   NULL), VIRTIO_BLK_S_OK);
		CHECK_EQ(t, hangup_with_two_in_flight(t, &r), c->exit);
		CHECK(t, blk_file_has(r.bp.log, c->exit == 75 ?
				      "exit 75: every acknowledged write (1)" :
				      "exit 76: 1 writes acknowledged, only 0"));
	}
	rig_down(&r);
}

/* A flush covers only writes whose replies came before it was sent: a
 * write sent with it (taken in the same round, so still unanswered) is
 * not covered even though both are published OK. */
static void t_flush_sent_before_reply(struct tap *t, const void *arg)
{
	static uint8_t data[LEN];
	struct rig r;
	struct blk_io w0, w1, f;
	uint16_t id[2] = { 0, 0 };
	uint32_t len;
	bool up = rig_up(&r, NBD_SCRIPT_HANGUP, NULL);

	(void)arg;
	CHECK(t, up);
	if (up) {
		CHECK_EQ(t, blk_do(&r.fe, &w0, VIRTIO_BLK_T_OUT, 0, LEN, data),
			 VIRTIO_BLK_S_OK);
		CHECK_EQ(t, blk_add(&r.fe, &w1, VIRTIO_BLK_T_OUT, 16, LEN, data), 0);
		CHECK_EQ(t, blk_add(&r.fe, &f, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), 0);
		fe_kick(&r.fe, 0);
		CHECK(t, blk_reap(&r.fe, &id[0], &len, 2000));
		CHECK(t, blk_reap(&r.fe, &id[1], &len, 2000));
		CHECK_EQ(t, id[0], w1.id);
		CHECK_EQ(t, id[1], f.id);
		CHECK_EQ(t, *(uint8_t *)fe_hva(&r.fe, f.status), VIRTIO_BLK_S_OK);
		CHECK_EQ(t, blk_counter(&r.bp, "writes_acknowledged"), 2);
		CHECK_EQ(t, blk_counter(&r.bp, "writes_flushed"), 1);
		CHECK_EQ(t, hangup_with_two_in_flight(t, &r), 76);
	}
	rig_down(&r);
}

/* --lost-writes, the server gone before any FLUSH came: 76 again,
 * though this worker acknowledged no write (the promise is carried on). */
static void t_lost_writes_carried(struct tap *t, const void *arg)
{
	struct rig r;
	bool up = rig_up(&r, NBD_SCRIPT_HANGUP, lost_writes);

	(void)arg;
	CHECK(t, up);
	if (up) {
		CHECK(t, blk_field_is(&r.bp, "lost_writes_pending", "true"));
		CHECK_EQ(t, hangup_with_two_in_flight(t, &r), 76);
		CHECK(t, blk_file_has(r.bp.log, "not yet owned up to"));
	}
	rig_down(&r);
}

/* A volume without flush: the guest is offered no FLUSH, takes writes
 * as durable when done, and could never be told; --lost-writes is
 * logged and dropped, and the worker exits 75 with writes acknowledged. */
static void t_no_flush(struct tap *t, const void *arg)
{
	static uint8_t data[LEN];
	struct rig r;
	struct blk_io io;
	bool up = rig_up(&r, NBD_SCRIPT_HANGUP_NO_FLUSH, lost_writes);

	(void)arg;
	CHECK(t, up);
	if (up) {
		CHECK(t, !(r.fe.features & (1ull << VIRTIO_BLK_F_FLUSH)));
		CHECK(t, blk_file_has(r.bp.log, "--lost-writes: the volume has no flush"));
		CHECK_EQ(t, blk_do(&r.fe, &io, VIRTIO_BLK_T_OUT, 0, LEN, data),
			 VIRTIO_BLK_S_OK);
		CHECK_EQ(t, hangup_with_two_in_flight(t, &r), 75);
	}
	rig_down(&r);
}

/* No NBD server at the socket (sys-storage down): 75, the supervisor
 * tries again; with --lost-writes 76, so the promise outlives restarts
 * while it is down. */
static void t_connect_fails(struct tap *t, const void *arg)
{
	struct blk_proc bp;

	(void)arg;
	CHECK_EQ(t, blk_proc_dir(&bp), 0);
	CHECK(t, blk_spawn(&bp, binary, NULL) > 0);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 75);
	CHECK(t, blk_spawn(&bp, binary, lost_writes) > 0);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 76);
	CHECK(t, blk_file_has(bp.log, "exit 76 instead of 75"));
	blk_stop(&bp);
}

/* What the pipe's read end FD holds within ms: the byte, or 0 for
 * nothing, or -1 when the write end was closed without it. */
static int told_byte(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return read(fd, &c, 1) == 1 ? c : -1;
}

/* --lost-writes against nbdkit: the first FLUSH fails without reaching
 * it, reads and writes go on, the second FLUSH works. That flush covers
 * every write, so when nbdkit is killed the worker exits 75. With
 * --told-fd, the byte comes once that FLUSH has failed, and not before
 * (a write does not do it). */
static void t_lost_writes(struct tap *t, const void *arg)
{
	static uint8_t data[LEN];
	struct blk_proc bp;
	struct fe fe;
	struct blk_io io;
	char fdarg[16];
	int told[2] = { -1, -1 };
	const char *extra[] = { "--lost-writes", "--told-fd", fdarg, NULL };
	bool up;

	(void)arg;
	memset(data, 0x3c, sizeof(data));
	/* Only the write end is the worker's. */
	if (pipe(told) == 0)
		fcntl(told[0], F_SETFD, FD_CLOEXEC);
	snprintf(fdarg, sizeof(fdarg), "%d", told[1]);
	up = told[0] >= 0 && blk_proc_dir(&bp) == 0 &&
	     blk_nbdkit_start(&bp, "1M", false) == 0 &&
	     blk_start(&bp, binary, extra) == 0 &&
	     blk_fe_start(&fe, bp.vu) == 0;
	if (told[1] >= 0)
		close(told[1]);
	CHECK(t, up);
	if (up) {
		CHECK(t, blk_field_is(&bp, "lost_writes_pending", "true"));
		CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_OUT, 8, LEN, data),
			 VIRTIO_BLK_S_OK);
		CHECK_EQ(t, told_byte(told[0], 200), 0);
		CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(t, told_byte(told[0], 2000), '1');
		CHECK(t, !blk_file_has(bp.nbd_log, "Flush"));
		CHECK_EQ(t, blk_counter(&bp, "lost_writes_flush_failed"), 1);
		CHECK(t, blk_field_is(&bp, "lost_writes_pending", "false"));
		CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_IN, 8, LEN, NULL),
			 VIRTIO_BLK_S_OK);
		CHECK(t, memcmp(fe_hva(&fe, io.data), data, LEN) == 0);
		CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_OUT, 16, LEN, data),
			 VIRTIO_BLK_S_OK);
		CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
			 VIRTIO_BLK_S_OK);
		CHECK(t, blk_file_has(bp.nbd_log, "Flush"));
		CHECK_EQ(t, blk_counter(&bp, "lost_writes_flush_failed"), 1);
		CHECK_EQ(t, blk_counter(&bp, "nbd.errors"), 0);
		nbd_kill(&bp);
		CHECK_EQ(t, blk_exit_status(&bp, 2000), 75);
	}
	if (told[0] >= 0)
		close(told[0]);
	fe_close(&fe);
	blk_stop(&bp);
}

/* --told-fd that is not a pipe's open write end, or without
 * --lost-writes: refused at start (exit 2), naming the value. */
static void t_told_fd_refused(struct tap *t, const void *arg)
{
	static const char *const low[] = { "--lost-writes", "--told-fd", "1", NULL },
		*const closed[] = { "--lost-writes", "--told-fd", "999", NULL },
		*const alone[] = { "--told-fd", "5", NULL };
	struct blk_proc bp;

	(void)arg;
	if (blk_proc_dir(&bp) < 0 || blk_nbdkit_start(&bp, "1M", false) < 0) {
		CHECK(t, false);
		return;
	}
	CHECK(t, blk_spawn(&bp, binary, low) > 0);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 2);
	CHECK(t, blk_file_has(bp.log, "--told-fd 1: not a descriptor number"));
	CHECK(t, blk_spawn(&bp, binary, closed) > 0);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 2);
	CHECK(t, blk_file_has(bp.log, "--told-fd 999: not an open pipe's write end"));
	CHECK(t, blk_spawn(&bp, binary, alone) > 0);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 2);
	blk_stop(&bp);
}

/* nbdkit's file plugin over path (FILE_BYTES), its delay filter
 * holding reads (and writes) that long: requests stay in flight. */
static int nbdkit_file(struct blk_proc *bp, const char *path,
		       const char *rdelay, const char *wdelay)
{
	char file[128];

	snprintf(file, sizeof(file), "file=%s", path);
	const char *args[] = { "--filter=delay", "file", file, rdelay, wdelay,
			       NULL };

	unlink(bp->nbd);
	return blk_nbdkit_run(bp, args);
}

/* Lines of the file at path that have both a and b. */
static unsigned lines_with(const char *path, const char *a, const char *b)
{
	char line[512];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, a) && strstr(line, b);
	if (f)
		fclose(f);
	return n;
}

/* Whether the file at path holds len bytes equal to want at off. */
static bool file_has_bytes(const char *path, uint64_t off, const void *want,
			   size_t len)
{
	static uint8_t got[LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool same = fd >= 0 && len <= sizeof(got) &&
		    pread(fd, got, len, (off_t)off) == (ssize_t)len &&
		    memcmp(got, want, len) == 0;

	if (fd >= 0)
		close(fd);
	return same;
}

/* A zeroed file of FILE_BYTES at dir/name into path. */
static bool disk_file(const struct blk_proc *bp, char *path, size_t pathlen)
{
	int fd;
	bool ok;

	snprintf(path, pathlen, "%s/disk.img", bp->dir);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	ok = fd >= 0 && ftruncate(fd, FILE_BYTES) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* After its back end went: a new worker (extra arguments), the front
 * end reconnected resuming from its used index and kicking, as QEMU's
 * vhost-user-blk does when it reconnects. */
static bool take_over(struct tap *t, struct blk_proc *bp, struct fe *fe,
		      const char *const *extra)
{
	uint64_t one = 1;
	bool ok = blk_start(bp, binary, extra) == 0 &&
		  fe_resume(fe, bp->vu, 2000) == 0 &&
		  write(fe->kick[0], &one, sizeof(one)) == sizeof(one);

	CHECK(t, ok);
	return ok;
}

/* sys-storage killed with requests in flight: a read held by the delay
 * filter, a write answered behind it. Nothing published, 76 (a write
 * acknowledged before, unflushed). nbdkit back on the same file, a new
 * worker with --lost-writes: the front end hands it both again, they
 * complete (the read with the first write's data), the first FLUSH
 * fails, the second works; the file holds both writes. */
static void t_server_restart(struct tap *t, const void *arg)
{
	static uint8_t a[LEN], b[LEN];
	struct blk_proc bp;
	struct fe fe;
	struct blk_io io, rd, wr;
	char disk[128];
	uint16_t id;
	uint32_t len;
	bool up;

	(void)arg;
	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	up = blk_proc_dir(&bp) == 0 && disk_file(&bp, disk, sizeof(disk)) &&
	     nbdkit_file(&bp, disk, "delay-read=400ms", "delay-write=0") == 0 &&
	     blk_start(&bp, binary, NULL) == 0 && blk_fe_start(&fe, bp.vu) == 0;
	CHECK(t, up);
	if (!up)
		goto out;
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_OUT, 0, LEN, a),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_add(&fe, &rd, VIRTIO_BLK_T_IN, 0, LEN, NULL), 0);
	CHECK_EQ(t, blk_add(&fe, &wr, VIRTIO_BLK_T_OUT, 8, LEN, b), 0);
	fe_kick(&fe, 0);
	link_sleep_ms(150);
	CHECK_EQ(t, blk_counter(&bp, "in_flight"), 2);
	/* Both writes answered (nbdkit numbers requests as its threads
	 * take them: in any order), the read not. */
	CHECK_EQ(t, lines_with(bp.nbd_log, "...Write id=", "return=0"), 2);
	CHECK_EQ(t, lines_with(bp.nbd_log, "...Read id=", "return="), 0);
	nbd_kill(&bp);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 76);
	CHECK_EQ(t, blk_used_idx(&fe), 1);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&fe, rd.status), 0xee);

	CHECK_EQ(t, nbdkit_file(&bp, disk, "delay-read=0", "delay-write=0"), 0);
	if (!take_over(t, &bp, &fe, lost_writes))
		goto out;
	CHECK(t, blk_reap(&fe, &id, &len, 2000) && id == rd.id);
	CHECK(t, blk_reap(&fe, &id, &len, 2000) && id == wr.id);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&fe, rd.status), VIRTIO_BLK_S_OK);
	CHECK_EQ(t, *(uint8_t *)fe_hva(&fe, wr.status), VIRTIO_BLK_S_OK);
	CHECK(t, memcmp(fe_hva(&fe, rd.data), a, LEN) == 0);
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(t, blk_do(&fe, &io, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(t, blk_counter(&bp, "lost_writes_flush_failed"), 1);
	CHECK(t, file_has_bytes(disk, 0, a, LEN));
	CHECK(t, file_has_bytes(disk, 8 * 512, b, LEN));
out:
	fe_close(&fe);
	blk_stop(&bp);
}

/* The worker killed -9 under load: 40 requests in the ring (it takes 32
 * at a time), reads of a known pattern and writes of their own, nbdkit
 * (several threads, reads delayed longer than writes) answering out of
 * order. A new
 * worker on the same sockets; the front end resumes from its used index.
 * Every request comes back exactly once (used->idx ends at 40, no id
 * twice), OK, each read with its pattern; the file holds every write. */
static void t_worker_killed(struct tap *t, const void *arg)
{
	enum { N = 40 };
	static uint8_t pattern[N][LEN];
	struct blk_proc bp;
	struct fe fe;
	struct blk_io io[N];
	char disk[128];
	unsigned seen[N] = { 0 }, done = 0, once = 0, right = 0;
	uint16_t id, published;
	uint32_t len;
	int fd = -1;
	bool up;

	(void)arg;
	for (unsigned i = 0; i < N; i++)
		memset(pattern[i], 0x10 + (int)i, LEN);
	/* Reads (even i) find their pattern at sector i * 8, written here;
	 * writes (odd i) put theirs at 4096 + i * 8. */
	up = blk_proc_dir(&bp) == 0 && disk_file(&bp, disk, sizeof(disk)) &&
	     (fd = open(disk, O_WRONLY | O_CLOEXEC)) >= 0;
	for (unsigned i = 0; up && i < N; i += 2)
		up = pwrite(fd, pattern[i], LEN, (off_t)i * 8 * 512) == LEN;
	if (fd >= 0)
		close(fd);
	/* Writes answered long before reads: answers out of order. */
	up = up && nbdkit_file(&bp, disk, "delay-read=150ms",
			       "delay-write=10ms") == 0 &&
	     blk_start(&bp, binary, NULL) == 0 && blk_fe_start(&fe, bp.vu) == 0;
	CHECK(t, up);
	if (!up)
		goto out;
	for (unsigned i = 0; i < N; i++)
		CHECK_EQ(t, i % 2 ? blk_add(&fe, &io[i], VIRTIO_BLK_T_OUT,
					    4096 + i * 8, LEN, pattern[i])
				  : blk_add(&fe, &io[i], VIRTIO_BLK_T_IN, i * 8,
					    LEN, NULL), 0);
	fe_kick(&fe, 0);
	for (int waited = 0; blk_used_idx(&fe) < 2 && waited < 3000; waited++)
		link_sleep_ms(1);
	CHECK(t, blk_counter(&bp, "in_flight") > 0);
	kill(bp.pid, SIGKILL);
	CHECK_EQ(t, blk_exit_status(&bp, 2000), 128 + SIGKILL);
	published = blk_used_idx(&fe);
	printf("# killed with %u of %d published\n", published, N);
	CHECK(t, published >= 2 && published < N);
	/* nbdkit 1.32 sometimes dies of its own assertion when a client
	 * goes while its threads are replying (connections.c
	 * raw_send_socket: sock >= 0). What it had written is in the file
	 * (the file plugin pwrites before it replies): started again on it,
	 * as sys-storage would be. */
	link_sleep_ms(100);
	if (waitpid(bp.nbd_pid, NULL, WNOHANG) == bp.nbd_pid) {
		printf("# nbdkit died with the worker's connection; restarted\n");
		CHECK_EQ(t, nbdkit_file(&bp, disk, "delay-read=150ms",
					"delay-write=10ms"), 0);
	}

	if (!take_over(t, &bp, &fe, NULL))
		goto out;
	while (blk_reap(&fe, &id, &len, 3000)) {
		/* No request is added meanwhile, so no id is reused: an id
		 * seen twice is a request completed twice. */
		for (unsigned i = 0; i < N; i++) {
			if (io[i].id != id || seen[i]++)
				continue;
			done++;
			right += *(uint8_t *)fe_hva(&fe, io[i].status) ==
					 VIRTIO_BLK_S_OK &&
				 len == (i % 2 ? 1 : LEN + 1) &&
				 (i % 2 || memcmp(fe_hva(&fe, io[i].data),
						  pattern[i], LEN) == 0);
			break;
		}
		if (done == N)
			break;
	}
	CHECK(t, !blk_reap(&fe, &id, &len, 300));
	CHECK_EQ(t, blk_used_idx(&fe), N);
	for (unsigned i = 0; i < N; i++)
		once += seen[i] == 1;
	CHECK_EQ(t, once, N);
	CHECK_EQ(t, right, N);
	for (unsigned i = 1; i < N; i += 2)
		CHECK(t, file_has_bytes(disk, (4096 + i * 8) * 512ull,
					pattern[i], LEN));
out:
	fe_close(&fe);
	blk_stop(&bp);
}

int main(int argc, char **argv)
{
	static const struct hangup flushed = { true, 75 },
		unflushed = { false, 76 };
	static const struct tap_case cases[] = {
		{ "server hangs up, the acknowledged write flushed: nothing published, exit 75", t_hangup, &flushed },
		{ "server hangs up, the acknowledged write unflushed: nothing published, exit 76", t_hangup, &unflushed },
		{ "a flush sent before a write's reply does not cover it: exit 76", t_flush_sent_before_reply, NULL },
		{ "--lost-writes, the server gone before a FLUSH: exit 76", t_lost_writes_carried, NULL },
		{ "a volume without flush: --lost-writes dropped, exit 75", t_no_flush, NULL },
		{ "no NBD server: exit 75; with --lost-writes 76", t_connect_fails, NULL },
		{ "--lost-writes: the first FLUSH fails, the second works, I/O unaffected; --told-fd says so after, not before", t_lost_writes, NULL },
		{ "--told-fd not a pipe's write end, or without --lost-writes: refused", t_told_fd_refused, NULL },
		{ "nbdkit killed with requests in flight, restarted: re-sent, one failed FLUSH", t_server_restart, NULL },
		{ "the worker killed -9 under load: a new one, each request once, right data", t_worker_killed, NULL },
	};

	return blk_test_main(argc, argv, &binary, cases,
			     sizeof(cases) / sizeof(cases[0]));
}
