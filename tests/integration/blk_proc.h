/* For the tests that drive a real bulkhead-blk: an NBD server (nbdkit,
 * or the test's own) on a socket in a scratch directory, the worker on
 * it with its log in a file there, and virtio-blk requests from the
 * harness front end (one request queue). */
#ifndef BULKHEAD_BLK_PROC_H
#define BULKHEAD_BLK_PROC_H

#include <endian.h>
#include <linux/virtio_blk.h>
#include <sys/stat.h>

#include "link_proc.h"
#include "tap.h"

struct blk_proc {
	char dir[64];
	char vu[96], nbd[96], control[96], log[96], nbd_log[96];
	pid_t pid;
	pid_t nbd_pid;          /* nbdkit's, or the test's own server's */
};

static inline int blk_proc_dir(struct blk_proc *bp)
{
	memset(bp, 0, sizeof(*bp));
	snprintf(bp->dir, sizeof(bp->dir), "/tmp/bulkhead-blk-XXXXXX");
	if (!mkdtemp(bp->dir))
		return -1;
	/* The worker confines itself as an identity of its own: it must
	 * reach nothing here but what it opened before (the NBD socket is
	 * connected before, so the directory may stay closed). */
	snprintf(bp->vu, sizeof(bp->vu), "%s/vu.sock", bp->dir);
	snprintf(bp->nbd, sizeof(bp->nbd), "%s/nbd.sock", bp->dir);
	snprintf(bp->control, sizeof(bp->control), "%s/control.sock", bp->dir);
	snprintf(bp->log, sizeof(bp->log), "%s/blk.log", bp->dir);
	snprintf(bp->nbd_log, sizeof(bp->nbd_log), "%s/nbdkit.log", bp->dir);
	return 0;
}

static inline bool blk_wait_path(const char *path)
{
	struct stat st;

	for (int i = 0; i < 500; i++) {
		if (stat(path, &st) == 0)
			return true;
		link_sleep_ms(10);
	}
	return false;
}

/* nbdkit in the foreground on bp->nbd with its log filter writing every
 * request it gets to bp->nbd_log, then args (NULL-terminated: more
 * filters, the plugin and its parameters, at most 10). */
static inline int blk_nbdkit_run(struct blk_proc *bp, const char *const *args)
{
	char logfile[128];

	snprintf(logfile, sizeof(logfile), "logfile=%s", bp->nbd_log);
	bp->nbd_pid = fork();
	if (bp->nbd_pid == 0) {
		const char *argv[17] = { "nbdkit", "-f", "--unix", bp->nbd,
					 "--filter=log" };
		unsigned n = 5;

		while (*args && n < 15)
			argv[n++] = *args++;
		argv[n++] = logfile;
		argv[n] = NULL;
		execvp("nbdkit", (char *const *)argv);
		_exit(127);
	}
	return blk_wait_path(bp->nbd) ? 0 : -1;
}

/* `nbdkit ... memory SIZE` (with -r when read_only). */
static inline int blk_nbdkit_start(struct blk_proc *bp, const char *size,
				   bool read_only)
{
	const char *ro[] = { "-r", "memory", size, NULL };

	return blk_nbdkit_run(bp, read_only ? ro : ro + 1);
}

/* bulkhead-blk on bp->nbd (extra: more arguments, NULL-terminated)
 * started. Returns its pid, or -1. */
static inline pid_t blk_spawn(struct blk_proc *bp, const char *binary,
			      const char *const *extra)
{
	const char *const fixed[] = { binary, "--socket", bp->vu, "--nbd",
				      bp->nbd, "--control", bp->control,
				      "--serial", "vol-serial-1" };

	bp->pid = worker_spawn(fixed, 9, extra, bp->log, 0);
	return bp->pid;
}

/* The same, up when its control socket answers. */
static inline int blk_start(struct blk_proc *bp, const char *binary,
			    const char *const *extra)
{
	return worker_wait_control(bp->control, blk_spawn(bp, binary, extra));
}

static inline bool blk_alive(const struct blk_proc *bp)
{
	return waitpid(bp->pid, NULL, WNOHANG) == 0;
}

/* Waits up to timeout_ms for the worker to end by itself. Returns its
 * exit status, 128 + the signal that killed it, or -1 while it runs
 * on. Either way it is no longer blk_stop's to stop. */
static inline int blk_exit_status(struct blk_proc *bp, int timeout_ms)
{
	int status;

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (waitpid(bp->pid, &status, WNOHANG) == bp->pid) {
			bp->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		}
		link_sleep_ms(10);
	}
	return -1;
}

/* The used ring's index: how many requests the worker published. */
static inline uint16_t blk_used_idx(const struct fe *fe)
{
	return le16toh(__atomic_load_n(&fe->q[0].used->idx, __ATOMIC_ACQUIRE));
}

/* Whether len bytes at p are all `byte`. */
static inline bool blk_all_bytes(const void *p, size_t len, uint8_t byte)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != byte)
			return false;
	return true;
}

/* Whether a line of the file at path (a log) has `what`. */
static inline bool blk_file_has(const char *path, const char *what)
{
	char line[512];
	bool seen = false;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		seen = seen || strstr(line, what);
	if (f)
		fclose(f);
	return seen;
}

/* Both processes stopped, the directory removed. Returns the worker's
 * wait status. */
static inline int blk_stop(struct blk_proc *bp)
{
	char cmd[96];
	int status = -1;

	if (bp->pid > 0) {
		kill(bp->pid, SIGTERM);
		waitpid(bp->pid, &status, 0);
	}
	if (bp->nbd_pid > 0) {
		kill(bp->nbd_pid, SIGTERM);
		waitpid(bp->nbd_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "%s %s", getenv("BLK_KEEP") ? "true" : "rm -rf", bp->dir);
	if (system(cmd) != 0)
		status = -1;
	return status;
}

static inline long long blk_counter(const struct blk_proc *bp,
				    const char *path)
{
	json_object *st = link_control_read(bp->control);
	char v[64];
	long long n = st ? atoll(link_field(st, path, v, sizeof(v))) : -1;

	json_object_put(st);
	return n;
}

/* Whether field `path` of the status reads as `want` ("false"). */
static inline bool blk_field_is(const struct blk_proc *bp, const char *path,
				const char *want)
{
	json_object *st = link_control_read(bp->control);
	char v[256];
	bool is = st && strcmp(link_field(st, path, v, sizeof(v)), want) == 0;

	json_object_put(st);
	return is;
}

/* One request in guest memory: header, data, status byte. */
struct blk_io {
	uint64_t hdr, data, status;
	uint32_t len;
	int id;
};

/* Adds a request (not yet kicked): type, sector, len data bytes (the
 * device reads them for OUT, writes them otherwise), data filled with
 * `fill` for OUT. Returns 0 or a negative errno. */
static inline int blk_add(struct fe *fe, struct blk_io *io, uint32_t type,
			  uint64_t sector, uint32_t len, const uint8_t *out)
{
	struct virtio_blk_outhdr *h;
	struct virtq_buf b[3];
	uint16_t n = 0;

	memset(io, 0, sizeof(*io));
	io->id = -1;
	io->hdr = fe_alloc_buf(fe, sizeof(*h));
	io->data = len ? fe_alloc_buf(fe, len) : 0;
	io->status = fe_alloc_buf(fe, 1);
	io->len = len;
	if (!io->hdr || (len && !io->data) || !io->status)
		return -ENOMEM;
	h = fe_hva(fe, io->hdr);
	h->type = type;
	h->ioprio = 0;
	h->sector = sector;
	*(uint8_t *)fe_hva(fe, io->status) = 0xee;
	b[n++] = (struct virtq_buf){ io->hdr, sizeof(*h), false };
	if (len) {
		if (type == VIRTIO_BLK_T_OUT)
			memcpy(fe_hva(fe, io->data), out, len);
		else
			memset(fe_hva(fe, io->data), 0xcc, len);
		b[n++] = (struct virtq_buf){ io->data, len,
					     type != VIRTIO_BLK_T_OUT };
	}
	b[n++] = (struct virtq_buf){ io->status, 1, true };
	io->id = virtq_driver_add(&fe->q[0], b, n);
	return io->id < 0 ? io->id : 0;
}

/* The next used request: 1 with its id and length, 0 on timeout. */
static inline int blk_reap(struct fe *fe, uint16_t *id, uint32_t *len,
			   int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited++) {
		if (virtq_driver_reap(&fe->q[0], id, len) == 1)
			return 1;
		link_sleep_ms(1);
	}
	return 0;
}

/* One request, kicked and waited for (2 s). Returns its status byte, or
 * -1 when it never came back or came back as another request. */
static inline int blk_do(struct fe *fe, struct blk_io *io, uint32_t type,
			 uint64_t sector, uint32_t len, const uint8_t *out)
{
	uint16_t id;
	uint32_t used;

	if (blk_add(fe, io, type, sector, len, out) < 0)
		return -1;
	fe_kick(fe, 0);
	if (!blk_reap(fe, &id, &used, 2000) || id != io->id)
		return -1;
	return *(uint8_t *)fe_hva(fe, io->status);
}

/* The harness's normal start for one request queue of 128 entries over
 * 64 MiB of guest memory. */
static inline int blk_fe_start(struct fe *fe, const char *sock)
{
	int ret = fe_connect(fe, sock, 2000);

	if (ret < 0)
		return ret;
	fe->nqueues = 1;
	return fe_start(fe, ~0ull, false, 128, 64u << 20);
}

/* The main of a test whose cases start their own workers: the worker's
 * binary (into *binary) as the one argument; skipped unless root (the
 * worker confines itself). */
static inline int blk_test_main(int argc, char **argv, const char **binary,
				const struct tap_case *cases, int ncases)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s BULKHEAD_BLK\n", argv[0]);
		return 2;
	}
	*binary = argv[1];
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (the worker confines itself)\n");
		return 0;
	}
	return tap_run(cases, ncases);
}

#endif
