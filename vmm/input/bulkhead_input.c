/* bulkhead-input: one process per input class sys-usb forwards
 * (keyboard, pointer). Reads whole struct input_event records from the
 * class's virtio-serial port (the unix socket QEMU listens on for it),
 * lets through what the class allows (input_filter.c) and writes that to
 * a uinput device of the host made with the class's capabilities only.
 *
 *   bulkhead-input --port PATH --class keyboard|pointer [--rate N]
 *                  [--control PATH] [--name NAME] [--user NAME]
 *                  [--no-sandbox]
 *
 * Order: /dev/uinput is opened (none: exit 78), the port connected (not
 * there yet: tried again, 0.1 s doubling to 2 s, nothing from sys-usb
 * read meanwhile), the uinput device made, then the worker confines
 * itself. Confined it can neither open nor connect to anything (its
 * root is empty), so it does not reconnect itself: when the port drops
 * (sys-usb stopped, killed, restarted) it releases every key and button
 * still down, destroys the device and exits 75; the supervisor starts
 * another (its backoff), which connects again and makes a new device.
 * PATH may also be a character device (a virtio-serial port inside a
 * VM, /dev/vportNpM: the in-VM test), opened instead of connected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "input_filter.h"
#include "input_status.h"
#include "input_uinput.h"
#include "log.h"
#include "worker.h"

/* Exit statuses (sysexits.h): the port dropped, a new worker will
 * connect again; the host has no uinput (a configuration to change). */
#define INPUT_EXIT_PORT_GONE 75
#define INPUT_EXIT_NO_UINPUT 78

/* The port, uinput, the control socket, epoll, signalfd, stdio. */
#define INPUT_WORKER_MAX_FDS 16

#define INPUT_TAG_PORT WORKER_TAG_DEVICE

/* Events written to uinput at once. */
#define INPUT_OUT_BATCH 64

/* Bytes read from the port at once: 170 records. */
#define INPUT_READ_BYTES (INPUT_RECORD_BYTES * 170)

struct input_proc {
	struct worker w;
	struct input_state s;
	int port_fd;
	int uinput_fd;
	struct input_ev out[INPUT_OUT_BATCH];
	unsigned nout;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void flush_out(struct input_proc *p)
{
	int ret;

	if (!p->nout)
		return;
	ret = input_uinput_write(p->uinput_fd, p->out, p->nout);
	if (ret < 0) {
		/* Logged once: a device that refuses one write refuses the
		 * next ones too. */
		if (p->s.uinput_write_errors++ == 0)
			bh_log("%s: uinput write: %s", p->w.name, strerror(-ret));
	}
	p->nout = 0;
}

static void emit(void *ctx, const struct input_ev *ev)
{
	struct input_proc *p = ctx;

	p->out[p->nout++] = *ev;
	if (p->nout == INPUT_OUT_BATCH)
		flush_out(p);
}

/* The port dropped or the worker stops: every key and button down is
 * released, then the device goes. */
static void release_and_destroy(struct input_proc *p)
{
	int ret;

	input_filter_end(&p->s.filter, emit, p);
	flush_out(p);
	if (!p->s.device_created)
		return;
	if ((ret = input_uinput_destroy(p->uinput_fd)) < 0)
		bh_log("%s: uinput UI_DEV_DESTROY: %s", p->w.name, strerror(-ret));
	p->s.device_created = false;
}

static void on_port(struct worker *w, uint64_t tag, uint32_t events)
{
	struct input_proc *p = w->dev;
	uint8_t buf[INPUT_READ_BYTES];
	ssize_t n;

	(void)tag;
	(void)events;
	n = read(p->port_fd, buf, sizeof(buf));
	if (n > 0) {
		input_filter_feed(&p->s.filter, buf, (size_t)n, now_ns(), emit, p);
		flush_out(p);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	bh_log("%s: port %s: %s; releasing every key down, destroying the "
	       "device", w->name, p->s.port, n == 0 ? "closed" : strerror(errno));
	p->s.connected = false;
	worker_unwatch(w, p->port_fd);
	release_and_destroy(p);
	worker_stop(w);
}

static char *input_status(struct worker *w)
{
	struct input_proc *p = w->dev;

	return input_status_json(&p->s, w->name);
}

/* Beyond the base list: the one uinput request a confined worker makes
 * (ioctl with any other request kills it).
 * The device is set up and created before confinement; writes go
 * through write (base). */
static const struct sandbox_ioctl input_ioctls[] = {
	{ UI_DEV_DESTROY, "the device goes when the port drops" },
};

static const struct worker_ops input_worker_ops = {
	.name = "input",
	.event = on_port,
	.status = input_status,
	.ioctls = input_ioctls,
	.nioctls = sizeof(input_ioctls) / sizeof(input_ioctls[0]),
	.max_fds = INPUT_WORKER_MAX_FDS,
};

/* A connected unix socket at path, or -errno. */
static int connect_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The port: a character device opened, or a unix socket connected,
 * tried again while it is not there yet (ENOENT, ECONNREFUSED: sys-usb
 * not started, or QEMU not listening yet). Returns the descriptor
 * (non-blocking) or -errno (logged). */
static int port_open(struct input_proc *p, const char *path)
{
	unsigned delay_ms = 100;
	struct stat st;
	int fd;

	for (;;) {
		if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
			fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
			fd = fd < 0 ? -errno : fd;
		} else {
			fd = connect_unix(path);
		}
		p->s.connect_attempts++;
		if (fd >= 0)
			break;
		if (fd != -ENOENT && fd != -ECONNREFUSED) {
			bh_log("%s: --port %s: %s", p->w.name, path, strerror(-fd));
			return fd;
		}
		if (p->s.connect_attempts == 1)
			bh_log("%s: --port %s: %s; trying again until it is there",
			       p->w.name, path, strerror(-fd));
		usleep(delay_ms * 1000);
		delay_ms = delay_ms < 1000 ? delay_ms * 2 : 2000;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bulkhead-input --port PATH --class keyboard|pointer\n"
		"                      [--rate N] [--control PATH] [--name NAME]\n"
		"                      [--user NAME] [--no-sandbox]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "class", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		WORKER_OPTIONS
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct input_proc proc;
	struct input_proc *p = &proc;
	struct worker *w = &p->w;
	const char *port = NULL, *uinput_path = INPUT_UINPUT_PATH;
	enum input_class cls = INPUT_CLASS_POINTER;
	bool have_class = false, fake_uinput = false;
	unsigned long rate = 0;
	char err[256], devname[UINPUT_MAX_NAME_SIZE], *end;
	int opt, ret;

	worker_init(w, &input_worker_ops, p);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = optarg;
			break;
		case 'c':
			if (input_class_parse(optarg, &cls) < 0) {
				bh_log("--class %s: keyboard or pointer", optarg);
				return 2;
			}
			have_class = true;
			break;
		case 'r':
			errno = 0;
			rate = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || rate < 1 ||
			    rate > INPUT_RATE_MAX) {
				bh_log("--rate %s: events per second, 1..%u",
				       optarg, INPUT_RATE_MAX);
				return 2;
			}
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
	if (!port || !have_class || optind != argc) {
		usage(stderr);
		return 2;
	}
#ifdef BULKHEAD_TEST_TRIGGERS
	/* Tests only: a uinput of their own choosing (a missing one); with
	 * BULKHEAD_TEST_UINPUT_FAKE, a pipe they read the events from (this
	 * host has no uinput): no device is set up on it, the rest runs as
	 * on the real one (UI_DEV_DESTROY included, which fails there). */
	if (getenv("BULKHEAD_TEST_UINPUT"))
		uinput_path = getenv("BULKHEAD_TEST_UINPUT");
	fake_uinput = getenv("BULKHEAD_TEST_UINPUT_FAKE") != NULL;
#endif
	p->port_fd = p->uinput_fd = -1;
	input_filter_init(&p->s.filter, cls, (unsigned)rate, now_ns());
	p->s.port = port;
	if ((p->uinput_fd = input_uinput_open(uinput_path, err, sizeof(err))) < 0) {
		bh_log("%s: %s", w->name, err);
		return p->uinput_fd == -ENOENT || p->uinput_fd == -ENODEV ?
		       INPUT_EXIT_NO_UINPUT : 1;
	}
	if ((p->port_fd = port_open(p, port)) < 0)
		return 1;
	p->s.connected = true;
	if ((ret = worker_open(w)) < 0 ||
	    (ret = worker_watch(w, p->port_fd, WORKER_TAG(INPUT_TAG_PORT, 0, 0))) < 0 ||
	    (ret = worker_keep_fd(w, p->port_fd)) < 0 ||
	    (ret = worker_keep_fd(w, p->uinput_fd)) < 0 ||
	    (ret = worker_listen(w)) < 0) {
		bh_log("%s: setup failed: %s", w->name, strerror(-ret));
		return 1;
	}
	snprintf(devname, sizeof(devname), "bulkhead %s %s", w->name,
		 input_class_caps(cls)->name);
	if (!fake_uinput &&
	    input_uinput_create(p->uinput_fd, cls, devname, err, sizeof(err)) < 0) {
		bh_log("%s: %s", w->name, err);
		worker_exit(w, 1);
	}
	p->s.device_created = true;
	p->s.device_creations++;
	if (worker_confine(w) < 0) {
		release_and_destroy(p);
		worker_exit(w, 1);
	}
	bh_log("%s: %s from %s to uinput \"%s\", at most %llu events/s "
	       "(burst %llu) (%s)", w->name, input_class_caps(cls)->name, port,
	       devname, (unsigned long long)p->s.filter.rate,
	       (unsigned long long)p->s.filter.burst,
	       w->no_sandbox ? "UNCONFINED" : "confined");
	worker_loop(w);
	if (p->s.connected) {
		/* SIGTERM: the same end as a dropped port. */
		bh_log("%s: stopping; releasing every key down, destroying the "
		       "device", w->name);
		release_and_destroy(p);
		worker_exit(w, 0);
	}
	worker_exit(w, INPUT_EXIT_PORT_GONE);
}
