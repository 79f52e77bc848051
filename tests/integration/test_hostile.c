/* A hostile front end against a running bulkhead-link: every class of
 * malformed vhost-user message and malformed ring, from side A, while a
 * well-behaved front end holds side B. After each: the link is alive, the
 * reason shows in its status, side B still forwards, and the link's
 * descriptor count and memory stay flat over many rounds.
 *
 * Usage: test_hostile BULKHEAD_LINK */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "link_control.h"
#include "link_proc.h"
#include "tap.h"
#include "vu_frontend.h"

#define BIT(n) (1ull << (n))
#define FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		  BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX))
#define QSIZE 64
#define MEM (4u << 20)

struct env {
	char dir[64];
	char a[96], b[96], control[96];
	pid_t link;
	struct fe good;        /* side B, well-behaved throughout */
};

static struct env env;

static json_object *status(void)
{
	return link_control_read(env.control);
}

static long long num(json_object *root, const char *path)
{
	char buf[64];

	return atoll(link_field(root, path, buf, sizeof(buf)));
}

static bool link_alive(void)
{
	return waitpid(env.link, NULL, WNOHANG) == 0;
}

static int fd_count(void)
{
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", env.link);
	d = opendir(path);
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static long rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", env.link);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void start_link(const char *binary)
{
	snprintf(env.dir, sizeof(env.dir), "/tmp/bulkhead-hostile-XXXXXX");
	if (!mkdtemp(env.dir))
		exit(1);
	snprintf(env.a, sizeof(env.a), "%s/a.sock", env.dir);
	snprintf(env.b, sizeof(env.b), "%s/b.sock", env.dir);
	snprintf(env.control, sizeof(env.control), "%s/control.sock", env.dir);
	env.link = fork();
	if (env.link == 0) {
		char log[96];

		snprintf(log, sizeof(log), "%s/link.log", env.dir);
		if (!freopen(log, "w", stderr))
			_exit(1);
		/* Under ASan, freed memory waits in a quarantine (256 MiB by
		 * default) and shows as growth; keep it small so resident
		 * memory measures what the link really keeps. */
		setenv("ASAN_OPTIONS", "quarantine_size_mb=1:detect_leaks=1", 1);
		/* Unconfined, so LeakSanitizer can check the link at exit
		 * (it cannot inside the sandbox); the sandbox has its own
		 * test, and the other link tests run confined. */
		execl(binary, binary, "--a", env.a, "--b", env.b, "--control",
		      env.control, "--name", "hostile", "--no-sandbox",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(env.control, F_OK) != 0; i++)
		link_sleep_ms(10);
}

/* Stops the link; returns true when it exited 0 with no sanitizer or
 * leak report in its log. */
static bool stop_link(void)
{
	char cmd[160], path[96], line[512];
	bool clean;
	int status = -1;
	FILE *f;

	kill(env.link, SIGTERM);
	waitpid(env.link, &status, 0);
	clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	snprintf(path, sizeof(path), "%s/link.log", env.dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "Sanitizer") || strstr(line, "runtime error")) {
			printf("# link: %s", line);
			clean = false;
		}
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", env.dir);
	if (system(cmd) != 0)
		return false;
	return clean;
}

/* Side B untouched by whatever A did: connected, both queues ok. */
static bool side_b_ok(void)
{
	json_object *st = status();
	char a[32], b[32], c[32];
	bool ok;

	if (!st)
		return false;
	ok = strcmp(link_field(st, "sides.b.connected", a, sizeof(a)), "true") == 0 &&
	     strcmp(link_field(st, "sides.b.queues.0.state", b, sizeof(b)), "ok") == 0 &&
	     strcmp(link_field(st, "sides.b.queues.1.state", c, sizeof(c)), "ok") == 0;
	json_object_put(st);
	return ok;
}

/* ---- malformed messages ---- */

struct msg_case {
	const char *name;
	/* Sends the bad message on a fresh connection; returns false if the
	 * link's answer (or silence) was wrong. */
	bool (*run)(struct fe *fe);
	const char *reason;     /* in sides.a.last_error afterwards */
};

static bool handshake(struct fe *fe)
{
	uint64_t proto = BIT(VU_PROTOCOL_F_REPLY_ACK);

	return fe_send(fe, VU_SET_PROTOCOL_FEATURES, VU_VERSION, &proto, 8,
		       NULL, 0) == 0;
}

/* Expects a REPLY_ACK answer saying "failed". */
static bool nacked(struct fe *fe)
{
	struct vu_msg r;

	return fe_recv(fe, &r, 2000) == 8 && r.payload.u64 != 0;
}

static bool closed_by_link(struct fe *fe)
{
	struct vu_msg r;

	return fe_recv(fe, &r, 2000) == -ECONNRESET;
}

static bool m_unknown(struct fe *fe)
{
	return handshake(fe) &&
	       fe_send(fe, 99, VU_VERSION | VU_FLAG_NEED_REPLY, NULL, 0, NULL, 0) == 0 &&
	       nacked(fe);
}

static bool m_get_wrong_size(struct fe *fe)
{
	uint64_t junk = 0;
	struct vu_msg r;

	return fe_send(fe, VU_GET_FEATURES, VU_VERSION, &junk, 8, NULL, 0) == 0 &&
	       fe_recv(fe, &r, 2000) == 0;
}

static bool m_oversize(struct fe *fe)
{
	return fe_send(fe, VU_SET_FEATURES, VU_VERSION, NULL, 100000, NULL, 0) == 0 &&
	       closed_by_link(fe);
}

static bool m_bad_version(struct fe *fe)
{
	return handshake(fe) &&
	       fe_send(fe, VU_SET_OWNER, 0x2 | VU_FLAG_NEED_REPLY, NULL, 0, NULL, 0) == 0 &&
	       nacked(fe);
}

static bool m_too_many_regions(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 9 };

	return handshake(fe) &&
	       fe_send(fe, VU_SET_MEM_TABLE, VU_VERSION | VU_FLAG_NEED_REPLY, &t,
		       8 + 8 * sizeof(struct vu_mem_region), NULL, 0) == 0 &&
	       nacked(fe);
}

static bool m_missing_fd(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 2 };
	int fd = memfd_create("x", MFD_CLOEXEC);
	bool ok;

	t.regions[0] = (struct vu_mem_region){ 0, 4096, 0x10000, 0 };
	t.regions[1] = (struct vu_mem_region){ 4096, 4096, 0x20000, 0 };
	ok = ftruncate(fd, 8192) == 0 && handshake(fe) &&
	     fe_send(fe, VU_SET_MEM_TABLE, VU_VERSION | VU_FLAG_NEED_REPLY, &t,
		     8 + 2 * sizeof(struct vu_mem_region), &fd, 1) == 0 &&
	     nacked(fe);
	close(fd);
	return ok;
}

static bool m_region_beyond_file(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 1 };
	int fd = memfd_create("x", MFD_CLOEXEC);
	bool ok;

	t.regions[0] = (struct vu_mem_region){ 0, 2 << 20, 0x10000, 0 };
	ok = ftruncate(fd, 1 << 20) == 0 && handshake(fe) &&
	     fe_send(fe, VU_SET_MEM_TABLE, VU_VERSION | VU_FLAG_NEED_REPLY, &t,
		     8 + sizeof(struct vu_mem_region), &fd, 1) == 0 &&
	     nacked(fe);
	close(fd);
	return ok;
}

static bool m_vring_index(struct fe *fe)
{
	struct vu_vring_state s = { 7, 256 };

	return handshake(fe) &&
	       fe_send(fe, VU_SET_VRING_NUM, VU_VERSION | VU_FLAG_NEED_REPLY, &s,
		       8, NULL, 0) == 0 &&
	       nacked(fe);
}

static bool m_vring_num_zero(struct fe *fe)
{
	struct vu_vring_state s = { 0, 0 };

	return handshake(fe) &&
	       fe_send(fe, VU_SET_VRING_NUM, VU_VERSION | VU_FLAG_NEED_REPLY, &s,
		       8, NULL, 0) == 0 &&
	       nacked(fe);
}

static bool m_features_not_offered(struct fe *fe)
{
	uint64_t f = BIT(63);

	return handshake(fe) &&
	       fe_send(fe, VU_SET_FEATURES, VU_VERSION | VU_FLAG_NEED_REPLY, &f,
		       8, NULL, 0) == 0 &&
	       nacked(fe);
}

static bool m_too_many_fds(struct fe *fe)
{
	int fds[12];
	bool ok;

	for (int i = 0; i < 12; i++)
		fds[i] = memfd_create("x", MFD_CLOEXEC);
	ok = fe_send(fe, VU_SET_OWNER, VU_VERSION, NULL, 0, fds, 12) == 0 &&
	     closed_by_link(fe);
	for (int i = 0; i < 12; i++)
		close(fds[i]);
	return ok;
}

static bool m_fd_with_nofd_flag(struct fe *fe)
{
	uint64_t v = 0 | VU_VRING_NOFD;
	int fd = memfd_create("x", MFD_CLOEXEC);
	bool ok = handshake(fe) &&
		  fe_send(fe, VU_SET_VRING_KICK, VU_VERSION | VU_FLAG_NEED_REPLY,
			  &v, 8, &fd, 1) == 0 &&
		  nacked(fe);

	close(fd);
	return ok;
}

static bool m_cut_payload(struct fe *fe)
{
	struct vu_hdr h = { VU_SET_FEATURES, VU_VERSION, 8 };

	/* Header only, then hang up: the payload never comes. */
	return write(fe->sock, &h, sizeof(h)) == sizeof(h);
}

static bool m_get_base_bad_index(struct fe *fe)
{
	struct vu_vring_state s = { 3, 0 };
	struct vu_msg r;

	return fe_send(fe, VU_GET_VRING_BASE, VU_VERSION, &s, 8, NULL, 0) == 0 &&
	       fe_recv(fe, &r, 2000) == 0;
}

static bool m_ring_outside_memory(struct fe *fe)
{
	uint64_t idx = 1;
	struct vu_vring_addr addr = { .index = 1, .desc_uva = 0x10,
				      .avail_uva = 0x1000, .used_uva = 0x2000 };
	struct vu_vring_state num = { 1, 64 };
	int kick = memfd_create("k", MFD_CLOEXEC);
	bool ok = handshake(fe) &&
		  fe_send(fe, VU_SET_VRING_NUM, VU_VERSION, &num, 8, NULL, 0) == 0 &&
		  fe_send(fe, VU_SET_VRING_ADDR, VU_VERSION, &addr, sizeof(addr), NULL, 0) == 0 &&
		  fe_send(fe, VU_SET_VRING_KICK, VU_VERSION, &idx, 8, &kick, 1) == 0;

	close(kick);
	return ok;
}


/* Sends request with payload (size bytes), NEED_REPLY, expects "failed". */
static bool refused(struct fe *fe, uint32_t request, const void *payload,
		    uint32_t size, const int *fds, unsigned nfds)
{
	return handshake(fe) &&
	       fe_send(fe, request, VU_VERSION | VU_FLAG_NEED_REPLY, payload,
		       size, fds, nfds) == 0 &&
	       nacked(fe);
}

static bool m_request_max(struct fe *fe)
{
	return refused(fe, VU_REQUEST_MAX, NULL, 0, NULL, 0);
}

static bool m_request_zero(struct fe *fe)
{
	return refused(fe, 0, NULL, 0, NULL, 0);
}

static bool m_header_cut_eof(struct fe *fe)
{
	struct vu_hdr h = { VU_SET_OWNER, VU_VERSION, 0 };

	return write(fe->sock, &h, 6) == 6 && shutdown(fe->sock, SHUT_WR) == 0 &&
	       closed_by_link(fe);
}

static bool m_header_cut_silent(struct fe *fe)
{
	struct vu_hdr h = { VU_SET_OWNER, VU_VERSION, 0 };

	return write(fe->sock, &h, 6) == 6 && closed_by_link(fe);
}

static bool m_payload_one_over(struct fe *fe)
{
	return fe_send(fe, VU_SET_FEATURES, VU_VERSION, NULL,
		       sizeof(union vu_payload) + 1, NULL, 0) == 0 &&
	       closed_by_link(fe);
}

static bool m_payload_cut_eof(struct fe *fe)
{
	struct vu_hdr h = { VU_SET_FEATURES, VU_VERSION, 8 };

	return write(fe->sock, &h, sizeof(h)) == sizeof(h) &&
	       shutdown(fe->sock, SHUT_WR) == 0 && closed_by_link(fe);
}

static bool m_log_base(struct fe *fe)
{
	uint64_t v = 0;

	return refused(fe, VU_SET_LOG_BASE, &v, 8, NULL, 0);
}

static bool m_short_payload(struct fe *fe)
{
	uint32_t v = 0;

	return refused(fe, VU_SET_FEATURES, &v, 4, NULL, 0);
}

static bool m_mem_table_tiny(struct fe *fe)
{
	uint32_t v = 1;

	return refused(fe, VU_SET_MEM_TABLE, &v, 4, NULL, 0);
}

static bool m_mem_table_zero(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 0 };

	return refused(fe, VU_SET_MEM_TABLE, &t, 8, NULL, 0);
}

static bool m_mem_table_size_mismatch(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 1 };
	int fd = memfd_create("x", MFD_CLOEXEC);
	bool ok = refused(fe, VU_SET_MEM_TABLE, &t, 72, &fd, 1);

	close(fd);
	return ok;
}

static bool m_add_mem_reg_no_fd(struct fe *fe)
{
	struct vu_mem_single r = { .region = { 0, 4096, 0x10000, 0 } };

	return refused(fe, VU_ADD_MEM_REG, &r, sizeof(r), NULL, 0);
}

static bool m_call_no_fd(struct fe *fe)
{
	uint64_t idx = 0;

	return refused(fe, VU_SET_VRING_CALL, &idx, 8, NULL, 0);
}

static bool m_enable_with_fd(struct fe *fe)
{
	struct vu_vring_state s = { 0, 1 };
	int fd = memfd_create("x", MFD_CLOEXEC);
	bool ok = refused(fe, VU_SET_VRING_ENABLE, &s, 8, &fd, 1);

	close(fd);
	return ok;
}

static bool m_vring_index_two(struct fe *fe)
{
	struct vu_vring_state s = { 2, 64 };

	return refused(fe, VU_SET_VRING_NUM, &s, 8, NULL, 0);
}

static bool m_protocol_not_offered(struct fe *fe)
{
	uint64_t f = BIT(VU_PROTOCOL_F_REPLY_ACK) | BIT(63);

	return refused(fe, VU_SET_PROTOCOL_FEATURES, &f, 8, NULL, 0);
}

/* 68 and 65535 are accepted, 67 and 65536 refused. */
static bool m_mtu_bounds(struct fe *fe)
{
	uint64_t v[4] = { 68, 65535, 67, 65536 };
	struct vu_msg r;
	bool ok = handshake(fe);

	for (int i = 0; i < 4 && ok; i++)
		ok = fe_send(fe, VU_NET_SET_MTU, VU_VERSION | VU_FLAG_NEED_REPLY,
			     &v[i], 8, NULL, 0) == 0 &&
		     fe_recv(fe, &r, 2000) == 8 && (r.payload.u64 != 0) == (i >= 2);
	return ok;
}

static bool m_vring_num_max(struct fe *fe)
{
	struct vu_vring_state ok_size = { 0, 32768 }, s = { 0, 32769 };
	struct vu_msg r;

	return handshake(fe) &&
	       fe_send(fe, VU_SET_VRING_NUM, VU_VERSION | VU_FLAG_NEED_REPLY,
		       &ok_size, 8, NULL, 0) == 0 &&
	       fe_recv(fe, &r, 2000) == 8 && r.payload.u64 == 0 &&
	       refused(fe, VU_SET_VRING_NUM, &s, 8, NULL, 0);
}

static bool m_vring_base_split(struct fe *fe)
{
	struct vu_vring_state s = { 0, 0x10000 };

	return refused(fe, VU_SET_VRING_BASE, &s, 8, NULL, 0);
}

static bool m_enable_two(struct fe *fe)
{
	struct vu_vring_state s = { 0, 2 };

	return refused(fe, VU_SET_VRING_ENABLE, &s, 8, NULL, 0);
}

/* One region with these values in a memfd of file_size bytes. */
static bool bad_region(struct fe *fe, uint64_t size, uint64_t offset,
		       off_t file_size)
{
	struct vu_mem_table t = { .nregions = 1 };
	int fd = memfd_create("x", MFD_CLOEXEC);
	bool ok;

	t.regions[0] = (struct vu_mem_region){ 0, size, 0x10000, offset };
	ok = ftruncate(fd, file_size) == 0 &&
	     refused(fe, VU_SET_MEM_TABLE, &t, 8 + sizeof(t.regions[0]), &fd, 1);
	close(fd);
	return ok;
}

static bool m_region_size_zero(struct fe *fe)
{
	return bad_region(fe, 0, 0, 1 << 20);
}

static bool m_region_offset_wraps(struct fe *fe)
{
	return bad_region(fe, 0x2000, 0xfffffffffffff000ull, 1 << 20);
}

static bool m_region_one_byte_over(struct fe *fe)
{
	return bad_region(fe, (1 << 20) + 1, 0, 1 << 20);
}

static bool m_region_offset_over(struct fe *fe)
{
	return bad_region(fe, 1 << 20, 512 << 10, 1 << 20);
}

static bool m_kick_before_addr(struct fe *fe)
{
	struct vu_vring_state num = { 1, 64 };
	uint64_t idx = 1;
	int kick = memfd_create("k", MFD_CLOEXEC);
	bool ok = handshake(fe) &&
		  fe_send(fe, VU_SET_VRING_NUM, VU_VERSION, &num, 8, NULL, 0) == 0 &&
		  fe_send(fe, VU_SET_VRING_KICK, VU_VERSION, &idx, 8, &kick, 1) == 0;

	close(kick);
	return ok;
}

/* Without REPLY_ACK negotiated, NEED_REPLY gets no answer: the next
 * reply on the socket is GET_FEATURES's own. */
static bool m_need_reply_without_ack(struct fe *fe)
{
	struct vu_msg r;
	uint64_t v = BIT(63);

	return fe_send(fe, VU_SET_FEATURES, VU_VERSION | VU_FLAG_NEED_REPLY, &v,
		       8, NULL, 0) == 0 &&
	       fe_send(fe, VU_GET_FEATURES, VU_VERSION, NULL, 0, NULL, 0) == 0 &&
	       fe_recv(fe, &r, 2000) == 8 && r.hdr.request == VU_GET_FEATURES;
}

/* A blocking pipe as call descriptor: the link makes it non-blocking
 * (the open file is shared, so our end shows it). */
static bool m_call_pipe_nonblocking(struct fe *fe)
{
	int p[2];
	uint64_t idx = 0;
	struct vu_msg r;
	bool ok;

	if (pipe2(p, O_CLOEXEC) != 0)
		return false;
	ok = fe_send(fe, VU_SET_VRING_CALL, VU_VERSION, &idx, 8, &p[1], 1) == 0 &&
	     fe_send(fe, VU_GET_FEATURES, VU_VERSION, NULL, 0, NULL, 0) == 0 &&
	     fe_recv(fe, &r, 2000) == 8 &&
	     (fcntl(p[1], F_GETFL) & O_NONBLOCK);
	close(p[0]);
	close(p[1]);
	return ok;
}

/* SET_VRING_CALL saying "no fd", after a message that carried one: the
 * queue has no call descriptor (nothing stale is taken). */
static bool m_call_nofd(struct fe *fe)
{
	struct vu_mem_table t = { .nregions = 1 };
	int fd = memfd_create("x", MFD_CLOEXEC);
	uint64_t idx = 0 | VU_VRING_NOFD;
	char seen[32];
	bool ok;

	t.regions[0] = (struct vu_mem_region){ 0, 4096, 0x10000, 0 };
	ok = ftruncate(fd, 4096) == 0 && handshake(fe) &&
	     fe_send(fe, VU_SET_MEM_TABLE, VU_VERSION, &t,
		     8 + sizeof(t.regions[0]), &fd, 1) == 0 &&
	     fe_send(fe, VU_SET_VRING_CALL, VU_VERSION | VU_FLAG_NEED_REPLY, &idx,
		     8, NULL, 0) == 0;
	close(fd);
	if (ok) {
		struct vu_msg r;

		ok = fe_recv(fe, &r, 2000) == 8 && r.payload.u64 == 0 &&
		     link_says(env.control, "sides.a.queues.0.call_fd", "false", seen,
				 sizeof(seen));
	}
	return ok;
}

/* Thousands of requests whose replies are never read: the link must not
 * block on a full socket (status still answers). */
static bool m_replies_never_read(struct fe *fe)
{
	json_object *st;

	for (int i = 0; i < 20000; i++)
		if (fe_send(fe, VU_GET_FEATURES, VU_VERSION | 0x100, NULL, 0, NULL, 0) < 0)
			break;
	st = status();
	if (!st)
		return false;
	json_object_put(st);
	return true;
}

static const struct msg_case msg_cases[] = {
	{ "unknown request", m_unknown, "request 99 unknown" },
	{ "GET_FEATURES with a payload", m_get_wrong_size, "GET_FEATURES: payload size 8, expected 0" },
	{ "size larger than any payload", m_oversize, "payload size 100000 >" },
	{ "bad version", m_bad_version, "version 2, expected 1" },
	{ "nine memory regions", m_too_many_regions, "9 regions not in 1..8" },
	{ "memory table missing an fd", m_missing_fd, "1 file descriptors, expected 2" },
	{ "region beyond its file", m_region_beyond_file, "beyond its file" },
	{ "vring index out of range", m_vring_index, "vring index 7 out of range" },
	{ "vring size zero", m_vring_num_zero, "size 0 not in 1..32768" },
	{ "features never offered", m_features_not_offered, "never offered" },
	{ "twelve descriptors", m_too_many_fds, "more than 8 file descriptors" },
	{ "fd with the no-fd flag", m_fd_with_nofd_flag, "1 file descriptors, expected 0" },
	{ "payload cut off", m_cut_payload, "payload of 8 bytes not sent with its header" },
	{ "GET_VRING_BASE bad index", m_get_base_bad_index, "vring index 3 out of range" },
	{ "ring outside guest memory", m_ring_outside_memory, "not inside one guest memory region" },
	{ "request number 41", m_request_max, "request 41 unknown" },
	{ "request number 0", m_request_zero, "request 0 unknown" },
	{ "header cut, then end of stream", m_header_cut_eof, "header cut at 6 of 12" },
	{ "header cut, then silence", m_header_cut_silent, "header cut at 6 of 12" },
	{ "size one over the payload", m_payload_one_over, "payload size 273 >" },
	{ "payload cut by end of stream", m_payload_cut_eof, "payload of 8 bytes not sent" },
	{ "SET_LOG_BASE", m_log_base, "SET_LOG_BASE (6) not supported" },
	{ "SET_FEATURES with 4 bytes", m_short_payload, "payload size 4, expected 8" },
	{ "memory table of 4 bytes", m_mem_table_tiny, "payload size 4 < 8" },
	{ "memory table of 0 regions", m_mem_table_zero, "0 regions not in 1..8" },
	{ "memory table size mismatch", m_mem_table_size_mismatch, "payload size 72 for 1 regions" },
	{ "ADD_MEM_REG without fd", m_add_mem_reg_no_fd, "ADD_MEM_REG: 0 file descriptors, expected 1" },
	{ "SET_VRING_CALL without fd", m_call_no_fd, "SET_VRING_CALL: 0 file descriptors, expected 1" },
	{ "SET_VRING_ENABLE with an fd", m_enable_with_fd, "SET_VRING_ENABLE: 1 file descriptors, expected 0" },
	{ "vring index 2", m_vring_index_two, "vring index 2 out of range" },
	{ "protocol features never offered", m_protocol_not_offered, "has bits never offered" },
	{ "MTU bounds", m_mtu_bounds, "NET_SET_MTU 65536 not in 68..65535" },
	{ "vring size 32769", m_vring_num_max, "size 32769 not in 1..32768" },
	{ "split vring base over 16 bits", m_vring_base_split, "base 65536 > 65535" },
	{ "vring enable 2", m_enable_two, "value 2 not 0 or 1" },
	{ "region of size 0", m_region_size_zero, "size 0x0 offset 0x0 invalid" },
	{ "region offset wraps", m_region_offset_wraps, "offset 0xfffffffffffff000 invalid" },
	{ "region one byte beyond its file", m_region_one_byte_over, "beyond its file" },
	{ "region offset beyond its file", m_region_offset_over, "offset 0x80000 + size 0x100000 beyond" },
	{ "kick before ring addresses", m_kick_before_addr, "kick before SET_VRING_ADDR" },
	{ "NEED_REPLY without REPLY_ACK", m_need_reply_without_ack, "never offered" },
	{ "pipe as call fd made non-blocking", m_call_pipe_nonblocking, "" },
	{ "replies never read", m_replies_never_read, "" },
	{ "call with the no-fd flag takes none", m_call_nofd, "" },
};

static void test_message(struct tap *t, const void *arg)
{
	const struct msg_case *c = arg;
	struct fe fe;
	char seen[256];

	CHECK_EQ(t, fe_connect(&fe, env.a, 2000), 0);
	CHECK(t, c->run(&fe));
	CHECK(t, link_says(env.control, "sides.a.last_error", c->reason, seen, sizeof(seen)) ||
		 link_says(env.control, "sides.a.queues.1.reason", c->reason, seen, sizeof(seen)));
	printf("# reason: %s\n", seen);
	fe_close(&fe);
	CHECK(t, link_alive());
	CHECK(t, side_b_ok());
}

/* ---- malformed rings ---- */

static bool start_a(struct fe *a)
{
	if (fe_connect(a, env.a, 2000) != 0 ||
	    fe_start(a, FEATURES, false, QSIZE, MEM) != 0 ||
	    fe_post_rx(a, QSIZE / 2) != 0)
		return false;
	/* Both directions work before the attack. */
	return link_crosses(a, &env.good, 1) && link_crosses(&env.good, a, 2);
}

static void test_ring_avail_jump(struct tap *t, const void *arg)
{
	struct fe a;
	struct virtq_buf b = { .gpa = FE_GPA_BASE, .len = 76 };
	char seen[256];

	(void)arg;
	CHECK(t, start_a(&a));
	virtq_driver_add(&a.q[FE_TXQ], &b, 1);
	a.q[FE_TXQ].avail_idx += 300;
	fe_kick(&a, FE_TXQ);
	CHECK(t, link_says(env.control, "sides.a.queues.1.reason", "ahead of last seen", seen, sizeof(seen)));
	printf("# reason: %s\n", seen);
	CHECK(t, link_says(env.control, "sides.a.queues.1.state", "broken", seen, sizeof(seen)));
	CHECK(t, link_alive());
	/* A's receive queue is its own: B still reaches A. */
	CHECK(t, link_crosses(&env.good, &a, 3));
	fe_close(&a);
	/* A is gone: B's frames for it are dropped and counted. */
	json_object *st = status();
	long long before = num(st, "b_to_a.drops.peer_down");
	uint8_t f[64];

	json_object_put(st);
	link_frame(f, 1, 9);
	fe_reap_tx(&env.good);
	CHECK_EQ(t, fe_send_frame(&env.good, f, sizeof(f)), 0);
	for (int i = 0; i < 100; i++) {
		st = status();
		long long now = num(st, "b_to_a.drops.peer_down");

		json_object_put(st);
		if (now > before)
			break;
		link_sleep_ms(10);
	}
	st = status();
	CHECK_EQ(t, num(st, "b_to_a.drops.peer_down"), before + 1);
	json_object_put(st);
	/* A comes back (a restarted VM): traffic resumes, same link. */
	CHECK(t, start_a(&a));
	fe_close(&a);
}

static void test_ring_desc_outside(struct tap *t, const void *arg)
{
	struct fe a;
	struct virtq_buf b = { .gpa = 0x1000, .len = 76 };
	char seen[256];

	(void)arg;
	CHECK(t, start_a(&a));
	virtq_driver_add(&a.q[FE_TXQ], &b, 1);
	fe_kick(&a, FE_TXQ);
	CHECK(t, link_says(env.control, "sides.a.queues.1.reason", "outside guest memory", seen, sizeof(seen)));
	printf("# reason: %s\n", seen);
	CHECK(t, link_alive());
	CHECK(t, link_crosses(&env.good, &a, 4));
	fe_close(&a);
}

static void test_rx_ring_broken(struct tap *t, const void *arg)
{
	struct fe a;
	char seen[256];
	uint8_t f[64];
	json_object *st;
	long long before;

	(void)arg;
	CHECK(t, start_a(&a));
	/* A's receive ring names a head past its size. */
	struct virtq_buf b = { .gpa = FE_GPA_BASE, .len = 2048, .writable = true };

	virtq_driver_add(&a.q[FE_RXQ], &b, 1);
	a.q[FE_RXQ].avail->ring[(a.q[FE_RXQ].avail_idx - 1) & (QSIZE - 1)] = QSIZE;
	fe_kick(&a, FE_RXQ);
	st = status();
	before = num(st, "b_to_a.drops.peer_down");
	json_object_put(st);
	/* Fill A's good receive buffers first, then the bad one is hit. */
	for (int i = 0; i < QSIZE; i++) {
		link_frame(f, 1, 5);
		fe_reap_tx(&env.good);
		fe_send_frame(&env.good, f, sizeof(f));
		link_sleep_ms(1);
	}
	CHECK(t, link_says(env.control, "sides.a.queues.0.reason", "head 64 >= queue size 64", seen, sizeof(seen)));
	printf("# reason: %s\n", seen);
	st = status();
	CHECK(t, num(st, "b_to_a.drops.peer_down") > before);
	json_object_put(st);
	/* A's transmit side is unaffected. */
	CHECK(t, link_crosses(&a, &env.good, 6));
	CHECK(t, link_alive());
	fe_close(&a);
}

/* Many rounds of every message case: the link's descriptors and memory
 * do not grow. */
static void test_flat(struct tap *t, const void *arg)
{
	int fds_before, fds_after;
	long rss_before, rss_after;

	(void)arg;
	/* One round first, so lazily allocated memory is counted before. */
	for (size_t c = 0; c < sizeof(msg_cases) / sizeof(msg_cases[0]); c++) {
		struct fe fe;

		if (fe_connect(&fe, env.a, 2000) == 0) {
			msg_cases[c].run(&fe);
			fe_close(&fe);
		}
	}
	link_sleep_ms(200);
	fds_before = fd_count();
	rss_before = rss_kib();
	for (int round = 0; round < 30; round++) {
		for (size_t c = 0; c < sizeof(msg_cases) / sizeof(msg_cases[0]); c++) {
			struct fe fe;

			if (fe_connect(&fe, env.a, 2000) == 0) {
				msg_cases[c].run(&fe);
				fe_close(&fe);
			}
		}
		struct fe a;

		if (start_a(&a)) {
			struct virtq_buf b = { .gpa = 0x1000, .len = 76 };

			virtq_driver_add(&a.q[FE_TXQ], &b, 1);
			fe_kick(&a, FE_TXQ);
		}
		fe_close(&a);
	}
	link_sleep_ms(300);
	fds_after = fd_count();
	rss_after = rss_kib();
	printf("# fds %d -> %d, rss %ld -> %ld KiB\n", fds_before, fds_after,
	       rss_before, rss_after);
	CHECK_EQ(t, fds_after, fds_before);
	CHECK(t, rss_after - rss_before < 2048);
	CHECK(t, link_alive());
	CHECK(t, side_b_ok());
	/* And A, well-behaved again, still gets through. */
	struct fe a;

	CHECK(t, start_a(&a));
	fe_close(&a);
}

/* Last: the link stops on SIGTERM with exit 0 and LeakSanitizer finds
 * nothing it kept. */
static void test_exit(struct tap *t, const void *arg)
{
	(void)arg;
	fe_close(&env.good);
	CHECK(t, stop_link());
}

int main(int argc, char **argv)
{
	struct tap_case cases[96];
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_hostile BULKHEAD_LINK\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	start_link(argv[1]);
	if (fe_connect(&env.good, env.b, 3000) != 0 ||
	    fe_start(&env.good, FEATURES, false, QSIZE, MEM) != 0 ||
	    fe_post_rx(&env.good, QSIZE / 2) != 0) {
		printf("1..1\nnot ok 1 - side B starts\n");
		stop_link();
		return 1;
	}
	for (size_t c = 0; c < sizeof(msg_cases) / sizeof(msg_cases[0]); c++)
		cases[n++] = (struct tap_case){ msg_cases[c].name, test_message,
						&msg_cases[c] };
	cases[n++] = (struct tap_case){ "ring: avail idx jump", test_ring_avail_jump, NULL };
	cases[n++] = (struct tap_case){ "ring: descriptor outside memory", test_ring_desc_outside, NULL };
	cases[n++] = (struct tap_case){ "ring: receive ring broken", test_rx_ring_broken, NULL };
	cases[n++] = (struct tap_case){ "descriptors and memory stay flat", test_flat, NULL };
	cases[n++] = (struct tap_case){ "link exits cleanly, no sanitizer or leak report", test_exit, NULL };
	return tap_run(cases, n);
}
