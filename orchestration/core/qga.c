#define _GNU_SOURCE
#include "qga.h"
#include "agent_socket.h"
#include "mono_time.h"

#include <errno.h>
#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* The pause between two guest-exec-status polls starts short (most
 * commands end at once) and doubles up to this. */
#define EXEC_POLL_MAX_MS 500

/* One connection to a VM's qemu-ga, for one call: through libvirt (DOM)
 * or a socket of one's own (FD). */
struct qga_conn {
	const char *name;               /* for messages: the domain or path */
	virDomainPtr dom;
	int fd;
	long long deadline;
	enum qga_cmd cmd;               /* the command being exchanged */
	char *buf;                      /* received, not yet used */
	size_t len, cap;
	char *err;
	size_t err_len;
};

__attribute__((format(printf, 3, 4)))
static int conn_fail(struct qga_conn *c, int rc, const char *fmt, ...)
{
	int n = snprintf(c->err, c->err_len, "qemu-ga %s: %s: ", c->name,
			 qga_cmd_name(c->cmd));
	if (n >= 0 && (size_t)n < c->err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int conn_open(struct qga_conn *c, const struct qga_target *to, int timeout_ms,
		     char *err, size_t err_len)
{
	*c = (struct qga_conn){ .name = to->conn ? to->domain : to->sock->path,
				.fd = -1, .deadline = mono_ms() + timeout_ms,
				.cmd = QGA_CMD_SYNC, .err = err, .err_len = err_len };
	if (err_len)
		err[0] = '\0';
	if (to->conn) {
		/* libvirt keeps the one connection QEMU's qemu-ga channel takes,
		 * and syncs with the agent itself. */
		c->dom = virDomainLookupByName(to->conn, to->domain);
		return c->dom ? 0 : conn_fail(c, -ENOENT, "no domain: %s",
					      virGetLastErrorMessage());
	}
	c->cap = 4096;
	c->buf = malloc(c->cap);
	if (!c->buf)
		return conn_fail(c, -ENOMEM, "out of memory");
	c->fd = agent_socket_connect(to->sock, NULL, c->deadline);
	if (c->fd == -EPERM)
		return conn_fail(c, -EPERM, "the socket's listener is not uid %u"
				 " (not this VM's QEMU)", (unsigned)to->sock->uid);
	if (c->fd < 0)
		return conn_fail(c, c->fd, "connect: %s", strerror(-c->fd));
	return 0;
}

static void conn_close(struct qga_conn *c)
{
	if (c->dom)
		virDomainFree(c->dom);
	c->dom = NULL;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

static int send_all(struct qga_conn *c, const char *data, size_t len)
{
	while (len) {
		/* Bounded by SO_SNDTIMEO (agent_socket_connect): a guest that
		 * stops reading fills the socket. */
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return conn_fail(c, errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno,
					 "send: %s", strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads what the guest sent, the buffer growing up to LIMIT bytes (the
 * caller's cap: the buffer is never fuller). */
static int conn_fill(struct qga_conn *c, size_t limit)
{
	if (c->len == c->cap && c->cap < limit) {
		size_t cap = c->cap * 2 < limit ? c->cap * 2 : limit;
		char *buf = realloc(c->buf, cap);
		if (!buf)
			return conn_fail(c, -ENOMEM, "out of memory");
		c->buf = buf;
		c->cap = cap;
	}
	size_t end = c->cap < limit ? c->cap : limit;
	if (c->len >= end)
		return conn_fail(c, -E2BIG, "a reply over %zu bytes", limit);
	for (;;) {
		long long left = c->deadline - mono_ms();
		if (left <= 0)
			return conn_fail(c, -ETIMEDOUT, "no reply within the deadline");
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0 && errno != EINTR)
			return conn_fail(c, -errno, "poll: %s", strerror(errno));
		if (rc <= 0)
			continue;
		ssize_t got = read(c->fd, c->buf + c->len, end - c->len);
		if (got == 0)
			return conn_fail(c, -EPIPE, "the channel closed");
		if (got < 0 && errno != EINTR && errno != EAGAIN)
			return conn_fail(c, -errno, "read: %s", strerror(errno));
		if (got > 0) {
			c->len += (size_t)got;
			return 0;
		}
	}
}

static void conn_consume(struct qga_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Drops everything up to and including the next 0xFF: stale replies (a
 * previous client's, or qemu-ga's complaint about the 0xFF we send)
 * come before it. 0xFF is never in UTF-8, so never in a reply. Bounded
 * by the deadline only: what is dropped is not kept. */
static int skip_to_sentinel(struct qga_conn *c)
{
	for (;;) {
		char *ff = memchr(c->buf, 0xff, c->len);
		if (ff) {
			conn_consume(c, (size_t)(ff - c->buf) + 1);
			return 0;
		}
		c->len = 0;
		int rc = conn_fill(c, QGA_REPLY_MAX);
		if (rc < 0)
			return rc;
	}
}

/* The next reply line, at most MAX bytes before its '\n': its length in
 * *LEN (the line is c->buf[0..*LEN)). */
static int read_reply(struct qga_conn *c, size_t max, size_t *len)
{
	for (;;) {
		size_t scan = c->len < max + 1 ? c->len : max + 1;
		char *nl = memchr(c->buf, '\n', scan);
		if (nl) {
			*len = (size_t)(nl - c->buf);
			return 0;
		}
		if (c->len > max)
			return conn_fail(c, -E2BIG, "a reply over %zu bytes", max);
		int rc = conn_fill(c, max + 1);
		if (rc < 0)
			return rc;
	}
}

/* Parses the reply line of LEN bytes and drops it from the buffer. */
static int take_reply(struct qga_conn *c, size_t len, const char *mac,
		      struct qga_reply *reply)
{
	char msg[256];
	int rc = qga_reply_parse(c->buf, len, c->cmd, mac, reply, msg, sizeof(msg));
	conn_consume(c, len + 1);
	if (rc < 0)
		snprintf(c->err, c->err_len, "qemu-ga %s: %s", c->name, msg);
	return rc;
}

/* guest-sync-delimited: after it, the next line is the next command's
 * reply. */
static int resync(struct qga_conn *c)
{
	uint64_t id;
	c->cmd = QGA_CMD_SYNC;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return conn_fail(c, -errno, "getrandom: %s", strerror(errno));
	/* 53 bits: an integer any JSON reader keeps exact; random, so a
	 * reply to an earlier client's sync is not taken for ours. */
	id &= (UINT64_C(1) << 53) - 1;
	/* The leading 0xFF makes qemu-ga drop a command a previous client
	 * left half-sent (its parser resets on a byte that is not UTF-8). */
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "\xff{\"execute\":\"guest-sync-delimited\","
			 "\"arguments\":{\"id\":%llu}}\n", (unsigned long long)id);
	int rc = send_all(c, msg, (size_t)n);
	while (!rc) {
		size_t len = 0;
		struct qga_reply reply;
		if ((rc = skip_to_sentinel(c)) < 0 || (rc = read_reply(c, QGA_REPLY_MAX, &len)) < 0 ||
		    (rc = take_reply(c, len, NULL, &reply)) < 0)
			return rc;
		if ((uint64_t)reply.sync_id == id)
			return 0;
	}
	return rc;
}

/* CMD (ARGS: its arguments, or NULL; taken) as one JSON line, no
 * newline (the caller frees it), or NULL. */
static char *request_text(struct qga_conn *c, enum qga_cmd cmd,
			  struct json_object *args)
{
	c->cmd = cmd;
	struct json_object *req = json_object_new_object();
	char *text = NULL;
	if (!req || (args && json_object_object_add(req, "arguments", args))) {
		json_object_put(args);
		args = NULL;
	} else if (!json_object_object_add(req, "execute",
					   json_object_new_string(qga_cmd_name(cmd)))) {
		const char *t = json_object_to_json_string_ext(req,
							      JSON_C_TO_STRING_PLAIN);
		text = t ? strdup(t) : NULL;
	}
	json_object_put(req);
	if (!text)
		conn_fail(c, -ENOMEM, "out of memory");
	return text;
}

/* Sends CMD (ARGS: its arguments, or NULL; taken) after a resync. */
static int send_command(struct qga_conn *c, enum qga_cmd cmd, struct json_object *args)
{
	int rc = resync(c);
	char *text = request_text(c, cmd, args);
	if (!text)
		return rc ? rc : -ENOMEM;
	if (!rc)
		rc = send_all(c, text, strlen(text));
	if (!rc)
		rc = send_all(c, "\n", 1);
	free(text);
	return rc;
}

/* One exchange through libvirt: CMD's reply (a copy of the guest's
 * line, capped as from the socket) parsed. */
static int exchange_libvirt(struct qga_conn *c, enum qga_cmd cmd,
			    struct json_object *args, const char *mac,
			    struct qga_reply *reply)
{
	char *text = request_text(c, cmd, args);
	if (!text)
		return -ENOMEM;
	long long left = c->deadline - mono_ms();
	int secs = left <= 1000 ? 1 : (int)((left + 999) / 1000);
	char *got = virDomainQemuAgentCommand(c->dom, text, secs, 0);
	free(text);
	if (!got) {
		virErrorPtr e = virGetLastError();
		return conn_fail(c, e && e->code == VIR_ERR_OPERATION_TIMEOUT ?
				 -ETIMEDOUT : -EAGAIN, "%s",
				 virGetLastErrorMessage());
	}
	size_t max = cmd == QGA_CMD_EXEC_STATUS ? QGA_EXEC_STATUS_REPLY_MAX :
		     QGA_REPLY_MAX;
	size_t len = strlen(got);
	int rc = len > max ? conn_fail(c, -E2BIG, "a reply over %zu bytes", max) : 0;
	if (!rc) {
		char msg[256];
		rc = qga_reply_parse(got, len, cmd, mac, reply, msg, sizeof(msg));
		if (rc < 0)
			snprintf(c->err, c->err_len, "qemu-ga %s: %s", c->name, msg);
	}
	free(got);
	return rc;
}

/* One exchange: CMD and its reply, parsed. */
static int exchange(struct qga_conn *c, enum qga_cmd cmd, struct json_object *args,
		    const char *mac, struct qga_reply *reply)
{
	if (c->dom)
		return exchange_libvirt(c, cmd, args, mac, reply);
	int rc = send_command(c, cmd, args);
	size_t len = 0;
	size_t max = cmd == QGA_CMD_EXEC_STATUS ? QGA_EXEC_STATUS_REPLY_MAX : QGA_REPLY_MAX;
	if (!rc)
		rc = read_reply(c, max, &len);
	if (!rc)
		rc = take_reply(c, len, mac, reply);
	return rc;
}

/* A call of one command without arguments. */
static int call_once(const struct qga_target *to, int timeout_ms, enum qga_cmd cmd,
		     const char *mac, struct qga_reply *reply, char *err, size_t err_len)
{
	struct qga_conn c;
	int rc = conn_open(&c, to, timeout_ms, err, err_len);
	if (!rc)
		rc = exchange(&c, cmd, NULL, mac, reply);
	conn_close(&c);
	return rc;
}

int qga_ping(const struct qga_target *to, int timeout_ms, char *err, size_t err_len)
{
	struct qga_reply reply;
	long long deadline = mono_ms() + timeout_ms;
	int rc;
	/* Through libvirt, an agent not yet up fails at once: asked again
	 * until the deadline (a socket of one's own waits in the call). */
	while ((rc = call_once(to, (int)(deadline - mono_ms()), QGA_CMD_PING,
			       NULL, &reply, err, err_len)) &&
	       rc != -EPERM && to->conn && mono_ms() + 500 < deadline)
		usleep(500 * 1000);
	return rc;
}

static struct json_object *exec_args(const char *const *argv)
{
	struct json_object *args = json_object_new_object();
	struct json_object *arg = json_object_new_array();
	bool ok = args && arg &&
		  !json_object_object_add(args, "path", json_object_new_string(argv[0]));
	for (size_t i = 1; ok && argv[i]; i++)
		ok = !json_object_array_add(arg, json_object_new_string(argv[i]));
	if (ok) {
		ok = !json_object_object_add(args, "arg", arg);
		arg = NULL;
	}
	ok = ok && !json_object_object_add(args, "capture-output",
					   json_object_new_boolean(1));
	json_object_put(arg);
	if (!ok) {
		json_object_put(args);
		return NULL;
	}
	return args;
}

int qga_exec_pid(const struct qga_target *to, const char *const *argv, int *pid,
		 int timeout_ms, struct qga_exec_result *out, char *err,
		 size_t err_len)
{
	struct qga_conn c;
	struct qga_reply reply = { 0 };
	if (*pid <= 0 && (!argv || !argv[0])) {
		snprintf(err, err_len, "qemu-ga %s: guest-exec: no command",
			 to->conn ? to->domain : to->sock->path);
		return -EINVAL;
	}
	int rc = conn_open(&c, to, timeout_ms, err, err_len);
	if (!rc && *pid <= 0) {
		struct json_object *args = exec_args(argv);
		rc = args ? exchange(&c, QGA_CMD_EXEC, args, NULL, &reply) :
		     conn_fail(&c, -ENOMEM, "out of memory");
		if (!rc)
			*pid = reply.pid;
	}
	int pause_ms = 10;
	while (!rc) {
		struct json_object *args = json_object_new_object();
		if (!args || json_object_object_add(args, "pid", json_object_new_int(*pid))) {
			json_object_put(args);
			rc = conn_fail(&c, -ENOMEM, "out of memory");
			break;
		}
		rc = exchange(&c, QGA_CMD_EXEC_STATUS, args, NULL, &reply);
		if (rc || reply.exited)
			break;
		long long left = c.deadline - mono_ms();
		if (left > 0)
			usleep((useconds_t)(pause_ms < left ? pause_ms : left) * 1000);
		if (mono_ms() >= c.deadline) {
			rc = conn_fail(&c, -ETIMEDOUT, "pid %d still runs in the guest",
				       *pid);
			break;
		}
		pause_ms = pause_ms * 2 < EXEC_POLL_MAX_MS ? pause_ms * 2 : EXEC_POLL_MAX_MS;
	}
	conn_close(&c);
	if (!rc) {
		*out = reply.result;
		*pid = 0;
	}
	return rc;
}

int qga_exec(const struct qga_target *to, const char *const *argv, int timeout_ms,
	     struct qga_exec_result *out, char *err, size_t err_len)
{
	int pid = 0;
	return qga_exec_pid(to, argv, &pid, timeout_ms, out, err, err_len);
}

int qga_ipv4_of(const struct qga_target *to, const char *mac, char out[INET_ADDRSTRLEN],
		int timeout_ms, char *err, size_t err_len)
{
	struct qga_reply reply;
	int rc = call_once(to, timeout_ms, QGA_CMD_INTERFACES, mac, &reply, err, err_len);
	if (!rc)
		memcpy(out, reply.ipv4, INET_ADDRSTRLEN);
	return rc;
}

int qga_shutdown(const struct qga_target *to, int timeout_ms, char *err, size_t err_len)
{
	struct qga_conn c;
	struct qga_reply reply;
	int rc = conn_open(&c, to, timeout_ms, err, err_len);
	if (!rc && c.dom) {
		/* libvirt's own guest-shutdown (no reply to wait for). */
		c.cmd = QGA_CMD_SHUTDOWN;
		if (virDomainShutdownFlags(c.dom, VIR_DOMAIN_SHUTDOWN_GUEST_AGENT) < 0)
			rc = conn_fail(&c, -EIO, "%s", virGetLastErrorMessage());
		conn_close(&c);
		return rc;
	}
	struct json_object *args = rc ? NULL : json_object_new_object();
	if (!rc && (!args || json_object_object_add(args, "mode",
						    json_object_new_string("powerdown")))) {
		json_object_put(args);
		rc = conn_fail(&c, -ENOMEM, "out of memory");
	}
	if (!rc)
		rc = send_command(&c, QGA_CMD_SHUTDOWN, args);
	/* Success has no reply; a refusal comes at once (a command the
	 * agent was told to block, a shutdown program that failed). */
	long long refusal_by = mono_ms() + QGA_SHUTDOWN_REFUSAL_MS;
	if (refusal_by < c.deadline)
		c.deadline = refusal_by;
	size_t len = 0;
	if (!rc) {
		rc = read_reply(&c, QGA_REPLY_MAX, &len);
		if (rc == -ETIMEDOUT || rc == -EPIPE) {
			if (err_len)
				err[0] = '\0';
			rc = 0;
		} else if (!rc) {
			rc = take_reply(&c, len, NULL, &reply);
		}
	}
	conn_close(&c);
	return rc;
}
