/* bulkhead-blk: one process per volume. Serves an app VM's virtio-blk
 * disk as a vhost-user back end and forwards its requests to an NBD
 * server (sys-storage's nbdkit) through libnbd.
 *
 *   bulkhead-blk --socket PATH --nbd PATH [--export NAME] [--serial ID]
 *                [--lost-writes [--told-fd N]] [--control PATH] [--name NAME]
 *                [--user NAME] [--no-sandbox]
 *
 * The NBD socket is connected, and the NBD handshake done, before the
 * worker confines itself: in the sandbox it can open nothing, so it
 * keeps the one connection it made. Crash-only: when that connection
 * dies it publishes nothing more and exits, 75 or 76 (blk_dev.h), and
 * the supervisor starts another, to which the front end hands every
 * request left without a reply; after a 76 with --lost-writes, and a
 * pipe (--told-fd) it writes a byte into once the guest has seen the
 * FLUSH fail, so that the supervisor knows not to tell a next one again
 * when this one is killed after that. Requests are parsed here
 * (blk_req.c) and those past the volume's end, misaligned, oversized or
 * malformed never reach the server. The loop, sockets, control socket,
 * signals and sandbox are the skeleton's (vmm/worker/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <libnbd.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "blk_dev.h"
#include "blk_status.h"
#include "blk_vu.h"
#include "log.h"
#include "worker.h"

/* The socket, its connection, 3 ring descriptors, up to 32 memory
 * regions, the NBD socket, the control socket, epoll, signalfd, stdio. */
#define BLK_WORKER_MAX_FDS 128

#define BLK_TAG_NBD WORKER_TAG_DEVICE


struct blk_proc {
	struct worker w;
	struct blk_dev dev;
	int nbd_fd;
	uint32_t nbd_events;    /* what the NBD socket is watched for; 0: not */
	int told_fd;            /* --told-fd; -1: none, or already said */
};

static void on_queue_changed(struct worker *w, unsigned i, unsigned qidx)
{
	struct blk_proc *p = w->dev;
	struct vu_dev *vu = &p->dev.vu;
	const struct vu_queue *q = &vu->q[qidx];

	(void)i;
	/* Stopped, gone or broken: what NBD answers later must not land in
	 * memory that may be unmapped or in a ring that is no longer ours. */
	if (vu->sock < 0 || !q->started || q->vq.err)
		blk_dev_queue_stopped(&p->dev);
	p->dev.pending = true;
}

static void on_kick(struct worker *w, unsigned i, unsigned qidx)
{
	struct blk_proc *p = w->dev;

	(void)i;
	(void)qidx;
	p->dev.pending = true;
}

static void on_nbd(struct worker *w, uint64_t tag, uint32_t events)
{
	struct blk_proc *p = w->dev;
	struct nbd_handle *h = p->dev.nbd;

	(void)tag;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		nbd_aio_notify_read(h);
	if (events & EPOLLOUT && !nbd_aio_is_dead(h))
		nbd_aio_notify_write(h);
	blk_dev_nbd_check(&p->dev);
	/* Unwatched at once, before anything can reuse its number: a
	 * dead socket libnbd left open would wake the loop for ever. */
	if (p->dev.nbd_dead && p->nbd_fd >= 0) {
		worker_unwatch(w, p->nbd_fd);
		p->nbd_fd = -1;
	}
	/* Confined, it cannot connect again: a new worker will. Nothing
	 * more of this round runs (blk_dev.c publishes nothing more). */
	if (p->dev.nbd_dead)
		worker_stop(w);
}

/* Watches the NBD socket for what libnbd waits on: replies always (an
 * unsolicited byte or a hang-up is seen at once), room to send when it
 * has more to write. */
static void nbd_rewatch(struct blk_proc *p)
{
	uint32_t want;

	if (p->dev.nbd_dead || p->nbd_fd < 0)
		return;
	want = EPOLLIN;
	if (nbd_aio_get_direction(p->dev.nbd) & LIBNBD_AIO_DIRECTION_WRITE)
		want |= EPOLLOUT;
	if (want != p->nbd_events &&
	    worker_rewatch(&p->w, p->nbd_fd, want,
			   WORKER_TAG(BLK_TAG_NBD, 0, 0)) == 0)
		p->nbd_events = want;
}

/* Once the failed FLUSH is published (and the guest called), the one
 * byte the supervisor reads after a kill: not before, or a kill in
 * between would leave the guest never told. */
static void told_say(struct blk_proc *p)
{
	if (p->told_fd < 0 || p->dev.lost_writes || p->dev.nbd_dead)
		return;
	if (write(p->told_fd, "1", 1) != 1)
		bh_log("%s: --told-fd %d: %s", p->w.name, p->told_fd,
		       strerror(errno));
	close(p->told_fd);
	p->told_fd = -1;
}

static void blk_run(struct worker *w)
{
	struct blk_proc *p = w->dev;

	blk_dev_run(&p->dev);
	told_say(p);
	if (p->dev.nbd_dead)
		worker_stop(w);
	nbd_rewatch(p);
}

static char *blk_status(struct worker *w)
{
	struct blk_proc *p = w->dev;

	return blk_status_json(&p->dev, w->name);
}

static const struct worker_ops blk_worker_ops = {
	.name = "blk",
	.queue_changed = on_queue_changed,
	.kick = on_kick,
	.event = on_nbd,
	.run = blk_run,
	.status = blk_status,
	/* No calls beyond the base list: libnbd talks over the socket it
	 * was given with send and recv (sendto, recvfrom), as the control
	 * and vhost-user sockets do. */
	.syscalls = NULL,
	.nsyscalls = 0,
	.max_fds = BLK_WORKER_MAX_FDS,
};

/* Connects to the NBD server at path and does the handshake (blocking,
 * before confinement). Only simple replies are asked for: the host then
 * parses no structured-reply chunks. Returns the handle or NULL (logged). */
static struct nbd_handle *nbd_open(const char *path, const char *export)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct nbd_handle *h;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		bh_log("--nbd %s: path longer than %zu bytes", path,
		       sizeof(addr.sun_path) - 1);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		bh_log("--nbd %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* The loop never blocks on the server: libnbd sees EAGAIN and
	 * waits for our notify. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	h = nbd_create();
	/* libnbd need not zero a read's buffer first: it is our bounce
	 * buffer, copied to the guest only after a successful simple reply,
	 * which carries every byte (half the instructions of a 4K read). */
	if (!h || nbd_set_request_structured_replies(h, false) < 0 ||
	    nbd_set_pread_initialize(h, false) < 0 ||
	    nbd_set_export_name(h, export) < 0 ||
	    nbd_connect_socket(h, fd) < 0) {
		bh_log("--nbd %s: %s", path, nbd_get_error());
		if (!h)
			close(fd);
		nbd_close(h);
		return NULL;
	}
	return h;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bulkhead-blk --socket PATH --nbd PATH [--export NAME]\n"
		"                    [--serial ID] [--lost-writes [--told-fd N]]\n"
		"                    [--control PATH]\n"
		"                    [--name NAME] [--user NAME] [--no-sandbox]\n");
}

/* --told-fd's value: a pipe's write end left open by the supervisor
 * (checked here, before anything relies on it). */
static int told_fd_parse(const char *arg)
{
	char *end;
	struct stat st;
	long fd;
	int fl;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (errno || end == arg || *end || fd < 3 || fd > 1023) {
		bh_log("--told-fd %s: not a descriptor number from 3 to 1023", arg);
		return -EINVAL;
	}
	fl = fcntl((int)fd, F_GETFL);
	if (fl < 0 || fstat((int)fd, &st) < 0 || !S_ISFIFO(st.st_mode) ||
	    (fl & O_ACCMODE) != O_WRONLY) {
		bh_log("--told-fd %s: not an open pipe's write end", arg);
		return -EBADF;
	}
	return (int)fd;
}

/* The status of an exit before the loop: 76 while an earlier worker's
 * lost writes are still to be owned up to (the supervisor then passes
 * --lost-writes again, so the promise outlives restarts while the
 * server is away), else status. */
static int early_exit(const struct blk_proc *p, bool lost_writes, int status)
{
	if (lost_writes && (!p->dev.nbd || p->dev.lost_writes)) {
		bh_log("exit %d instead of %d: --lost-writes not yet owned up to",
		       BLK_EXIT_LOST_WRITES, status);
		return BLK_EXIT_LOST_WRITES;
	}
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "nbd", required_argument, NULL, 'n' },
		{ "export", required_argument, NULL, 'e' },
		{ "serial", required_argument, NULL, 'i' },
		{ "lost-writes", no_argument, NULL, 'l' },
		{ "told-fd", required_argument, NULL, 't' },
		WORKER_OPTIONS
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct blk_proc proc;
	struct blk_proc *p = &proc;
	struct worker *w = &p->w;
	const char *nbd_path = NULL, *export = "", *serial = NULL;
	const char *told = NULL;
	struct nbd_handle *h;
	bool lost_writes = false;
	int opt, ret, fd, status;

	worker_init(w, &blk_worker_ops, p);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			w->listen[0].path = optarg;
			break;
		case 'n':
			nbd_path = optarg;
			break;
		case 'e':
			export = optarg;
			break;
		case 'i':
			serial = optarg;
			break;
		case 'l':
			lost_writes = true;
			break;
		case 't':
			told = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (worker_option(w, opt, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (!w->listen[0].path || !nbd_path || optind != argc ||
	    (told && !lost_writes)) {
		usage(stderr);
		return 2;
	}
	p->told_fd = -1;
	if (told && (p->told_fd = told_fd_parse(told)) < 0)
		return 2;
	/* No server (sys-storage down or restarting): as when the
	 * connection dies, the supervisor tries again. */
	if (!(h = nbd_open(nbd_path, export)))
		return early_exit(p, lost_writes, BLK_EXIT_NBD_GONE);
	blk_dev_init(&p->dev, h, serial ? serial : w->name, &worker_vu_ops, w);
	if (lost_writes)
		blk_dev_lost_writes(&p->dev);
	w->listen[0].vu = &p->dev.vu;
	fd = nbd_aio_get_fd(h);
	if ((ret = worker_open(w)) < 0 ||
	    (ret = worker_watch(w, fd, WORKER_TAG(BLK_TAG_NBD, 0, 0))) < 0 ||
	    (ret = worker_keep_fd(w, fd)) < 0 ||
	    (p->told_fd >= 0 && (ret = worker_keep_fd(w, p->told_fd)) < 0) ||
	    (ret = worker_listen(w)) < 0) {
		bh_log("%s: setup failed: %s", w->name, strerror(-ret));
		return early_exit(p, lost_writes, 1);
	}
	p->nbd_fd = fd;
	p->nbd_events = EPOLLIN;
	if (worker_confine(w) < 0)
		return early_exit(p, lost_writes, 1);
	bh_log("%s: %llu sectors%s%s%s%s over NBD %s, listening on %s (%s)",
	       w->name, (unsigned long long)p->dev.vol.capacity_sectors,
	       p->dev.vol.read_only ? ", read-only" : "",
	       p->dev.vol.flush ? ", flush" : ", no flush",
	       p->dev.vol.discard ? ", discard" : "",
	       p->dev.vol.write_zeroes ? ", write zeroes" : "", nbd_path,
	       w->listen[0].path, w->no_sandbox ? "UNCONFINED" : "confined");
	worker_loop(w);
	bh_log("%s: stopping", w->name);
	status = blk_dev_exit_status(&p->dev);
	nbd_close(h);
	worker_exit(w, status);
}
