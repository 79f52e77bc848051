#define _GNU_SOURCE
#include "agent.h"
#include "agent_socket.h"
#include "mono_time.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A line reader over an untrusted stream. */
struct line_reader {
	int fd;
	char buf[AGENT_LINE_MAX];
	size_t len;
	bool overlong;
};

/* 1: a line in LINE; 0: the deadline passed; <0: error or EOF (-EPIPE). */
static int read_line(struct line_reader *r, long long deadline, char *line,
		     size_t line_len)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl || r->len == sizeof(r->buf)) {
			size_t n = nl ? (size_t)(nl - r->buf) : r->len;
			size_t out = 0;
			for (size_t i = 0; i < n && out + 1 < line_len; i++)
				if (r->buf[i] >= 0x20 && r->buf[i] < 0x7f)
					line[out++] = r->buf[i];
			line[out] = '\0';
			size_t used = nl ? n + 1 : n;
			memmove(r->buf, r->buf + used, r->len - used);
			r->len -= used;
			/* The rest of an overlong line is dropped, not taken
			 * for a line of its own. */
			bool was_overlong = r->overlong;
			r->overlong = !nl;
			if (!was_overlong)
				return 1;
			continue;
		}
		long long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		ssize_t got = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (got == 0)
			return -EPIPE;
		if (got < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (got > 0)
			r->len += (size_t)got;
	}
}

int agent_wait_ready(const struct agent_addr *to, const struct agent_alive *alive,
		     int timeout_ms, char *line, size_t line_len, bool *heard)
{
	long long deadline = mono_ms() + timeout_ms;
	*heard = false;
	line[0] = '\0';
	while (mono_ms() < deadline) {
		int fd = agent_socket_connect(to, alive, deadline);
		if (fd < 0)
			return fd == -ENOENT || fd == -ECONNREFUSED ? -ETIMEDOUT : fd;
		struct line_reader r = { .fd = fd };
		int rc;
		while ((rc = read_line(&r, deadline, line, line_len)) > 0) {
			*heard = true;
			if (strncmp(line, "READY", 5) == 0) {
				close(fd);
				return 0;
			}
			if (strncmp(line, "ERROR", 5) == 0) {
				close(fd);
				return -EIO;
			}
		}
		close(fd);
		if (rc == 0)
			break;
		if (alive && !alive->alive(alive->arg))
			return -ESRCH;
		/* EOF: QEMU dropped us (domain restarting); connect again. */
		usleep(200000);
	}
	return -ETIMEDOUT;
}

/* An id of one exchange (a command, an update, a request), 1..16 hex
 * digits: the answer of an earlier one whose caller gave up, arriving
 * late, is not taken for this one's. */
#define AGENT_ID_LEN 17

static void exchange_id(char id[AGENT_ID_LEN])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(id, AGENT_ID_LEN, "%06x%08lx", (unsigned)getpid() & 0xffffff,
		 (long)ts.tv_nsec);
}

int agent_exec(const struct agent_addr *to, const char *cmd, int timeout_ms, int out_fd)
{
	if (strchr(cmd, '\n'))
		return -EINVAL;
	long long deadline = mono_ms() + timeout_ms;
	int fd = agent_socket_connect(to, NULL, deadline);
	if (fd < 0)
		return fd;
	char id[AGENT_ID_LEN];
	exchange_id(id);
	/* The guest stops the command a little before the host gives up, so
	 * the channel is free for the next one. */
	int guest_secs = timeout_ms / 1000 > 2 ? timeout_ms / 1000 - 1 : 1;
	size_t len = strlen(id) + 16 + strlen(cmd) + 2;
	char *msg = malloc(len);
	if (!msg) {
		close(fd);
		return -ENOMEM;
	}
	len = (size_t)snprintf(msg, len, "%s %d %s\n", id, guest_secs, cmd);
	ssize_t sent = send(fd, msg, len, MSG_NOSIGNAL);
	free(msg);
	if (sent != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	char begin[48], end[48];
	snprintf(begin, sizeof(begin), "BK-BEGIN %s", id);
	int n_end = snprintf(end, sizeof(end), "BK-END %s ", id);
	struct line_reader r = { .fd = fd };
	char line[AGENT_LINE_MAX];
	bool ours = false;
	int rc;
	while ((rc = read_line(&r, deadline, line, sizeof(line))) > 0) {
		if (!ours) {
			ours = !strcmp(line, begin);
			continue;
		}
		if (!strncmp(line, end, (size_t)n_end)) {
			/* The guest's number: read with a bound (atoi of 20
			 * digits is undefined), an exit status is 0..255. */
			long st = strtol(line + n_end, NULL, 10);
			close(fd);
			return st < 0 || st > 255 ? 255 : (int)st;
		}
		dprintf(out_fd, "%s\n", line);
	}
	close(fd);
	return rc == 0 ? -ETIMEDOUT : rc;
}

int agent_send_config(const struct agent_addr *to, const char *config, int timeout_ms,
		      char *reply, size_t reply_len)
{
	long long deadline = mono_ms() + timeout_ms;
	reply[0] = '\0';
	int fd = agent_socket_connect(to, NULL, deadline);
	if (fd < 0)
		return fd;
	char id[AGENT_ID_LEN], ok[48], bad[48];
	exchange_id(id);
	int n_ok = snprintf(ok, sizeof(ok), "UPDATED %s ", id);
	int n_bad = snprintf(bad, sizeof(bad), "UPDATE-ERROR %s ", id);
	struct { char *data; size_t len; } msg = { 0 };
	int rc = 0;
	/* Each line costs at most 13 bytes more ("CONFIG-LINE " and "\n"),
	 * and there are at most strlen + 1 lines. */
	msg.data = malloc((strlen(config) + 1) * 14 + 64);
	if (!msg.data) {
		close(fd);
		return -ENOMEM;
	}
	msg.len = (size_t)sprintf(msg.data, "CONFIG-BEGIN %s\n", id);
	for (const char *p = config; *p;) {
		size_t n = strcspn(p, "\n");
		if (n > AGENT_LINE_MAX) {
			rc = -E2BIG;
			break;
		}
		msg.len += (size_t)sprintf(msg.data + msg.len, "CONFIG-LINE %.*s\n",
					   (int)n, p);
		p += n + (p[n] == '\n');
	}
	msg.len += (size_t)sprintf(msg.data + msg.len, "CONFIG-END\n");
	/* One send, bounded by SO_SNDTIMEO (agent_connect). */
	if (!rc && send(fd, msg.data, msg.len, MSG_NOSIGNAL) != (ssize_t)msg.len)
		rc = -EIO;
	free(msg.data);
	struct line_reader r = { .fd = fd };
	int got = 0;
	while (!rc && (got = read_line(&r, deadline, reply, reply_len)) > 0) {
		if (!strncmp(reply, ok, (size_t)n_ok))
			break;
		if (!strncmp(reply, bad, (size_t)n_bad)) {
			rc = -EIO;
			break;
		}
	}
	if (!rc && got <= 0)
		rc = got == 0 ? -ETIMEDOUT : got;
	close(fd);
	return rc;
}

int agent_request(const struct agent_addr *to, const char *words, int timeout_ms,
		  int (*on_line)(const char *line, void *arg), void *arg)
{
	for (const char *p = words; *p; p++)
		if (!(*p == ' ' || *p == ':' || *p == '.' || *p == '_' ||
		      *p == '-' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return -EINVAL;
	long long deadline = mono_ms() + timeout_ms;
	int fd = agent_socket_connect(to, NULL, deadline);
	if (fd < 0)
		return fd;
	char id[AGENT_ID_LEN], reply[32], end[40];
	exchange_id(id);
	int n_reply = snprintf(reply, sizeof(reply), "REPLY %s ", id);
	int n_end = snprintf(end, sizeof(end), "REPLY-END %s ", id);
	char msg[AGENT_LINE_MAX + 64];
	int len = snprintf(msg, sizeof(msg), "REQUEST %s %s\n", id, words);
	int rc = len >= (int)sizeof(msg) ? -E2BIG :
		 send(fd, msg, (size_t)len, MSG_NOSIGNAL) != len ? -EIO : 0;
	struct line_reader r = { .fd = fd };
	char line[AGENT_LINE_MAX];
	int got = 0;
	while (!rc && (got = read_line(&r, deadline, line, sizeof(line))) > 0) {
		if (!strncmp(line, reply, (size_t)n_reply)) {
			rc = on_line(line + n_reply, arg);
			continue;
		}
		if (strncmp(line, end, (size_t)n_end))
			continue;
		long st = strtol(line + n_end, NULL, 10);
		close(fd);
		return st < 0 || st > 255 ? 255 : (int)st;
	}
	close(fd);
	return rc ? rc : got == 0 ? -ETIMEDOUT : got;
}
