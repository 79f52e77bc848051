/* The host's side of the agent channel (orchestration/agent.c) against a
 * hostile guest: the guest end of the channel is a child process on a real
 * unix socket (as QEMU's chardev is), saying what a compromised guest may
 * say. Each case checks the host's answer and that it came within the
 * deadline (nothing the guest does holds the host longer). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fake_guest.h"
#include "mono_time.h"
#include "tap.h"

#define TIMEOUT_MS 1500

/* Reads the host's first line (a command "ID SECS CMD"); its ID into id. */
static void read_id(int fd, char *id, size_t len)
{
	char buf[512];
	size_t n = 0;
	while (n + 1 < sizeof(buf) && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
	snprintf(id, len, "%.*s", (int)strcspn(buf, " "), buf);
}

typedef void (*guest_fn)(int fd);

struct plain_guest {
	guest_fn fn;
};

static void run_plain(int fd, const void *arg)
{
	((const struct plain_guest *)arg)->fn(fd);
}

/* Starts a guest that listens as UID (a VM's QEMU does), accepts one
 * connection and runs FN on it. */
static int guest_start_as(struct guest *g, guest_fn fn, uid_t uid)
{
	struct plain_guest plain = { fn };
	return guest_start_with(g, "agent-test", run_plain, &plain, uid);
}

static int guest_start(struct guest *g, guest_fn fn)
{
	return guest_start_as(g, fn, getuid());
}

/* The agent of the guest G, whose QEMU runs as our own uid. */
static struct agent_addr agent_of(const struct guest *g)
{
	return (struct agent_addr){ g->path, getuid() };
}

/* --- agent_wait_ready ----------------------------------------------------- */

static void guest_garbage_then_ready(int fd)
{
	/* A whole number of the reader's buffers, so the forged READY
	 * starts where a line would if overlong lines were cut into lines. */
	char junk[10 * AGENT_LINE_MAX];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 1);   /* no '\n' (10) ... */
	for (size_t i = 0; i < sizeof(junk); i++)
		if (junk[i] == '\n')
			junk[i] = 'x';
	put(fd, junk, sizeof(junk));
	/* The tail of an overlong line must not count as a line. */
	puts_fd(fd, "READY forged-in-an-overlong-line\n");
	puts_fd(fd, "ALIVE 1\nREADY forwarding\n");
}

/* What agent_wait_ready makes of a guest doing FN. */
struct ready_result {
	int rc;
	char line[AGENT_LINE_MAX];
	bool heard;
	long long took_ms;
};

static void wait_ready_against(struct tap *t, guest_fn fn,
			       struct ready_result *res)
{
	struct guest g;

	CHECK(t, guest_start(&g, fn) == 0);
	long long t0 = mono_ms();
	struct agent_addr to = agent_of(&g);
	res->rc = agent_wait_ready(&to, NULL, TIMEOUT_MS, res->line,
				   sizeof(res->line), &res->heard);
	res->took_ms = mono_ms() - t0;
	guest_stop(&g);
}

static void test_ready_after_garbage(struct tap *t, const void *arg)
{
	struct ready_result r;

	(void)arg;
	wait_ready_against(t, guest_garbage_then_ready, &r);
	CHECK_EQ(t, r.rc, 0);
	CHECK_STREQ(t, r.line, "READY forwarding");
	CHECK(t, r.heard);
}

static void guest_error(int fd)
{
	puts_fd(fd, "BOOTING\nERROR config: line 3: \x1b[31mred\x07\n");
}

static void test_error_line_printable(struct tap *t, const void *arg)
{
	struct ready_result r;

	(void)arg;
	wait_ready_against(t, guest_error, &r);
	CHECK_EQ(t, r.rc, -EIO);
	/* Escape sequences never reach the host's terminal. */
	CHECK_STREQ(t, r.line, "ERROR config: line 3: [31mred");
}

static void guest_silent(int fd)
{
	(void)fd;
}

static void test_silent_guest_times_out(struct tap *t, const void *arg)
{
	struct ready_result r;

	(void)arg;
	wait_ready_against(t, guest_silent, &r);
	CHECK_EQ(t, r.rc, -ETIMEDOUT);
	CHECK(t, !r.heard);
	CHECK(t, r.took_ms >= TIMEOUT_MS && r.took_ms < TIMEOUT_MS + 1000);
}

/* A guest that trickles a byte at a time, never a newline: the host still
 * returns at its deadline. */
static void guest_trickle(int fd)
{
	for (int i = 0; i < 100; i++) {
		puts_fd(fd, "R");
		usleep(50000);
	}
}

static void test_trickle_times_out(struct tap *t, const void *arg)
{
	struct ready_result r;

	(void)arg;
	wait_ready_against(t, guest_trickle, &r);
	CHECK_EQ(t, r.rc, -ETIMEDOUT);
	CHECK(t, r.took_ms < TIMEOUT_MS + 1000);
}

static bool never_alive(void *arg)
{
	(void)arg;
	return false;
}

static void test_gone_vm_ends_wait(struct tap *t, const void *arg)
{
	(void)arg;
	char line[AGENT_LINE_MAX], path[108];
	bool heard;
	struct agent_alive dead = { never_alive, NULL };
	snprintf(path, sizeof(path), "/tmp/bk-agent-none-%d.sock", getpid());
	long long t0 = mono_ms();
	struct agent_addr to = { path, getuid() };
	int rc = agent_wait_ready(&to, &dead, 5000, line, sizeof(line), &heard);
	CHECK_EQ(t, rc, -ESRCH);
	CHECK(t, mono_ms() - t0 < 1000);
}

/* --- agent_exec ------------------------------------------------------------ */

static void guest_runs(int fd)
{
	char id[128], msg[512];
	read_id(fd, id, sizeof(id));
	/* What an earlier command the host gave up on printed late. */
	puts_fd(fd, "BK-BEGIN old1\nsecret from before\nBK-END old1 0\n");
	snprintf(msg, sizeof(msg), "BK-BEGIN %s\nhello\nBK-END %s 7\n", id, id);
	puts_fd(fd, msg);
}

static void test_exec_status_and_output(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	char out[] = "/tmp/bk-agent-out-XXXXXX";
	int ofd = mkstemp(out);
	CHECK(t, guest_start(&g, guest_runs) == 0);
	struct agent_addr to = agent_of(&g);
	int rc = agent_exec(&to, "echo hello", TIMEOUT_MS, ofd);
	CHECK_EQ(t, rc, 7);
	char buf[256] = "";
	ssize_t n = pread(ofd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	/* Only its own command's output: not the late one's. */
	CHECK_STREQ(t, buf, "hello\n");
	close(ofd);
	unlink(out);
	guest_stop(&g);
}

static void guest_huge_status(int fd)
{
	char id[128], msg[512];
	read_id(fd, id, sizeof(id));
	snprintf(msg, sizeof(msg), "BK-BEGIN %s\nBK-END %s 256\n", id, id);
	puts_fd(fd, msg);
}

static void test_exec_huge_status(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	CHECK(t, guest_start(&g, guest_huge_status) == 0);
	struct agent_addr to = agent_of(&g);
	int rc = agent_exec(&to, "false", TIMEOUT_MS, -1);
	/* Out of 0..255 is a failure (255), never wrapped round to 0. */
	CHECK_EQ(t, rc, 255);
	guest_stop(&g);
}

static void guest_never_ends(int fd)
{
	char id[128], msg[512];
	read_id(fd, id, sizeof(id));
	snprintf(msg, sizeof(msg), "BK-BEGIN %s\n", id);
	puts_fd(fd, msg);
	/* Output without end, in overlong lines. */
	char big[4096];
	memset(big, 'y', sizeof(big));
	for (int i = 0; i < 2000; i++)
		put(fd, big, sizeof(big));
}

static void test_exec_flood_times_out(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	int null = open("/dev/null", O_WRONLY);
	CHECK(t, guest_start(&g, guest_never_ends) == 0);
	long long t0 = mono_ms();
	struct agent_addr to = agent_of(&g);
	int rc = agent_exec(&to, "yes", TIMEOUT_MS, null);
	CHECK_EQ(t, rc, -ETIMEDOUT);
	CHECK(t, mono_ms() - t0 < TIMEOUT_MS + 1000);
	close(null);
	guest_stop(&g);
}

/* --- agent_send_config ----------------------------------------------------- */

static void guest_update_answers(int fd)
{
	char buf[4096], id[64] = "", msg[256];
	size_t n = 0;
	/* Up to CONFIG-END, keeping CONFIG-BEGIN's id. */
	while (n + 1 < sizeof(buf) && read(fd, buf + n, 1) == 1) {
		n++;
		buf[n] = '\0';
		if (strstr(buf, "CONFIG-END\n"))
			break;
	}
	sscanf(buf, "CONFIG-BEGIN %63s", id);
	/* An answer to another update, then this one's refusal. */
	puts_fd(fd, "UPDATED 0 9 downstreams\n");
	snprintf(msg, sizeof(msg), "UPDATE-ERROR %s the uplink changed\n", id);
	puts_fd(fd, msg);
}

static void test_update_answer_by_id(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	char reply[AGENT_LINE_MAX];
	CHECK(t, guest_start(&g, guest_update_answers) == 0);
	struct agent_addr to = agent_of(&g);
	int rc = agent_send_config(&to, "version 1\nuplink dhcp\n", TIMEOUT_MS,
				   reply, sizeof(reply));
	CHECK_EQ(t, rc, -EIO);
	CHECK_STR(t, reply, "the uplink changed");
	guest_stop(&g);
}

static void guest_says_ready(int fd)
{
	puts_fd(fd, "READY forwarding\n");
}

/* Another VM's QEMU (another uid) behind the path: its READY is not
 * taken, whatever it says. */
static void test_other_uid_refused(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	char line[AGENT_LINE_MAX];
	bool heard;
	if (getuid() != 0) {
		CHECK(t, true); /* needs root to listen as another uid */
		return;
	}
	CHECK(t, guest_start_as(&g, guest_says_ready, 65534) == 0);
	struct agent_addr to = { g.path, 0x70b10000u };
	int rc = agent_wait_ready(&to, NULL, TIMEOUT_MS, line, sizeof(line), &heard);
	CHECK_EQ(t, rc, -EPERM);
	CHECK(t, !heard);
	guest_stop(&g);
	/* The same guest with the uid it does run as is heard. */
	CHECK(t, guest_start_as(&g, guest_says_ready, 65534) == 0);
	to.uid = 65534;
	rc = agent_wait_ready(&to, NULL, TIMEOUT_MS, line, sizeof(line), &heard);
	CHECK_EQ(t, rc, 0);
	guest_stop(&g);
}

/* --- agent_request ----------------------------------------------------------- */

/* Answers a REQUEST with lines of another request's id first (not
 * taken), an escape sequence, then its own two lines and status 1. */
static void guest_request_answers(int fd)
{
	char buf[512], id[64] = "", msg[512];
	size_t n = 0;
	while (n + 1 < sizeof(buf) && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
	sscanf(buf, "REQUEST %63s", id);
	puts_fd(fd, "REPLY 0 DEVICE 1-1 2 dead:beef 480 08 mail - - forged\n"
		"REPLY-END 0 0\nALIVE 3\n");
	snprintf(msg, sizeof(msg), "REPLY %s first \033[31mline\nREPLY %s second\n"
		 "REPLY-END %s 1\n", id, id, id);
	puts_fd(fd, msg);
}

struct lines_seen {
	char text[512];
	unsigned n;
};

static int see_line(const char *line, void *arg)
{
	struct lines_seen *s = arg;
	size_t used = strlen(s->text);
	snprintf(s->text + used, sizeof(s->text) - used, "%s|", line);
	s->n++;
	return 0;
}

static void test_request_answer_by_id(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	struct lines_seen seen = { "", 0 };
	CHECK(t, guest_start(&g, guest_request_answers) == 0);
	struct agent_addr to = agent_of(&g);
	int rc = agent_request(&to, "devices", TIMEOUT_MS, see_line, &seen);
	CHECK_EQ(t, rc, 1);
	CHECK_EQ(t, (long long)seen.n, 2);
	CHECK_STR(t, seen.text, "first [31mline|second|");
	guest_stop(&g);
}

/* A request with a word the guest's shell could take for more than a
 * word is refused before anything is sent. */
static void test_request_words_checked(struct tap *t, const void *arg)
{
	(void)arg;
	struct lines_seen seen = { "", 0 };
	struct agent_addr to = { "/nonexistent/agent.sock", getuid() };
	CHECK_EQ(t, agent_request(&to, "detach 1-1;reboot", TIMEOUT_MS, see_line,
				  &seen), -EINVAL);
	CHECK_EQ(t, agent_request(&to, "attach $(x)", TIMEOUT_MS, see_line, &seen),
		 -EINVAL);
}

static void guest_reply_forever(int fd)
{
	char buf[512];
	size_t n = 0;
	while (n + 1 < sizeof(buf) && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	for (;;)
		puts_fd(fd, "REPLY 0 never this one's\n");
}

static void test_request_flood_times_out(struct tap *t, const void *arg)
{
	(void)arg;
	struct guest g;
	struct lines_seen seen = { "", 0 };
	CHECK(t, guest_start(&g, guest_reply_forever) == 0);
	struct agent_addr to = agent_of(&g);
	long long start = mono_ms();
	int rc = agent_request(&to, "devices", TIMEOUT_MS, see_line, &seen);
	CHECK_EQ(t, rc, -ETIMEDOUT);
	CHECK(t, mono_ms() - start < TIMEOUT_MS + 1000);
	CHECK_EQ(t, (long long)seen.n, 0);
	guest_stop(&g);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "wait_ready: binary garbage and an overlong line carrying READY: only the real READY line counts", test_ready_after_garbage, NULL },
		{ "wait_ready: an ERROR line with escape sequences: -EIO, printable text only", test_error_line_printable, NULL },
		{ "wait_ready: a silent guest: -ETIMEDOUT at the deadline", test_silent_guest_times_out, NULL },
		{ "wait_ready: a guest trickling bytes without a newline: -ETIMEDOUT at the deadline", test_trickle_times_out, NULL },
		{ "wait_ready: the VM is gone: -ESRCH at once, not at the deadline", test_gone_vm_ends_wait, NULL },
		{ "exec: its own output and status; a late command's output skipped", test_exec_status_and_output, NULL },
		{ "exec: a status of 256 is a failure (255), not wrapped to success", test_exec_huge_status, NULL },
		{ "exec: endless output in overlong lines: -ETIMEDOUT at the deadline", test_exec_flood_times_out, NULL },
		{ "send_config: an answer with another update's id is not taken", test_update_answer_by_id, NULL },
		{ "request: only its own id's reply lines, printable, and its status", test_request_answer_by_id, NULL },
		{ "request: words with shell characters refused before sending", test_request_words_checked, NULL },
		{ "request: endless replies of another id: -ETIMEDOUT at the deadline", test_request_flood_times_out, NULL },
		{ "wait_ready: a listener of another uid than the VM's: -EPERM, its READY not taken", test_other_uid_refused, NULL },
	};
	signal(SIGPIPE, SIG_IGN);
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
