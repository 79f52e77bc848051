/* The host's qemu-ga client (orchestration/core/qga.c, qga_reply.c):
 * - against the host's real qemu-ga (package qemu-guest-agent) on a unix
 *   socket: ping, exec (output, exit code, signal, the agent's error),
 *   network interfaces compared with this host's own;
 * - against a hostile fake agent (a child process on a real unix socket,
 *   as QEMU's chardev is): stale bytes and other sync ids, garbage,
 *   replies over the cap, deep nesting, bad base64, values out of range,
 *   missing fields, its own errors with escapes, silence, a listener of
 *   another uid;
 * - the parser alone, for each value it checks. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_guest.h"
#include "mono_time.h"
#include "qga.h"
#include "tap.h"

#define TIMEOUT_MS 1500

/* --- the parser alone ------------------------------------------------------ */

struct parse_case {
	enum qga_cmd cmd;
	const char *reply;
	int rc;
	const char *err_part;   /* in ERR when rc != 0 */
};

#define MAC "52:54:00:12:34:56"

static const struct parse_case parse_cases[] = {
	{ QGA_CMD_PING, "{\"return\": {}}", 0, NULL },
	{ QGA_CMD_PING, "{\"return\": {}, \"id\": 7}  \r", 0, NULL },
	{ QGA_CMD_PING, "{\"return\": {}} x", -EBADMSG, "guest-ping: " },
	{ QGA_CMD_PING, "{\"return\": {}}{}", -EBADMSG, "" },
	{ QGA_CMD_PING, "{\"return\": {}", -EBADMSG, "not a whole JSON text" },
	{ QGA_CMD_PING, "", -EBADMSG, "not a whole JSON text" },
	{ QGA_CMD_PING, "hello \x1b[2J", -EBADMSG, "'hello ?[2J'" },
	{ QGA_CMD_PING, "{\"return\": {} /* c */}", -EBADMSG, "not JSON" },
	{ QGA_CMD_PING, "{\"return\": \"\xc3\x28\"}", -EBADMSG, "not JSON" },
	{ QGA_CMD_PING, "[]", -EBADMSG, "the reply is a array, not an object" },
	{ QGA_CMD_PING, "{}", -EBADMSG, "neither return nor error" },
	{ QGA_CMD_PING, "{\"return\": {}, \"error\": {}}", -EBADMSG, "both return and error" },
	{ QGA_CMD_PING, "{\"return\": null}", -EBADMSG, "return is a null" },
	{ QGA_CMD_PING, "{\"return\": 1}", -EBADMSG, "return is a int, not an object" },
	/* Nesting: 9 levels in a member nobody reads. */
	{ QGA_CMD_PING, "{\"return\": {}, \"x\": [[[[[[[[]]]]]]]]}", -EBADMSG,
	  "nested deeper than 8" },
	{ QGA_CMD_PING, "{\"return\": {}, \"x\": [[[[[[]]]]]]}", 0, NULL },
	/* The guest's own error: -EIO, its words printable and cut. */
	{ QGA_CMD_PING, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}",
	  -EIO, "guest-ping: the guest agent says GenericError: no" },
	{ QGA_CMD_PING, "{\"error\": {\"class\": \"A\\u001b[31m\", \"desc\": \"\\u0007x\"}}",
	  -EIO, "says A?[31m: ?x" },
	{ QGA_CMD_PING, "{\"error\": {\"class\": \"C\"}}", -EBADMSG, "error: no desc" },
	{ QGA_CMD_PING, "{\"error\": {\"desc\": \"d\"}}", -EBADMSG, "error: no class" },
	{ QGA_CMD_PING, "{\"error\": \"bad\"}", -EBADMSG, "error is a string" },
	{ QGA_CMD_PING, "{\"error\": {\"class\": 3, \"desc\": \"d\"}}", -EBADMSG,
	  "class is a int, not a string" },
	{ QGA_CMD_PING, "{\"error\": {\"class\": \"a\\u0000b\", \"desc\": \"d\"}}",
	  -EBADMSG, "class holds a NUL byte" },
	/* Sync: any integer id (the caller compares). */
	{ QGA_CMD_SYNC, "{\"return\": 12345}", 0, NULL },
	{ QGA_CMD_SYNC, "{\"return\": \"12345\"}", -EBADMSG, "return is a string, not an int" },
	/* guest-exec */
	{ QGA_CMD_EXEC, "{\"return\": {\"pid\": 4242}}", 0, NULL },
	{ QGA_CMD_EXEC, "{\"return\": {\"pid\": -1}}", -EBADMSG, "pid -1 out of 1..2147483647" },
	{ QGA_CMD_EXEC, "{\"return\": {\"pid\": 0}}", -EBADMSG, "pid 0 out of" },
	{ QGA_CMD_EXEC, "{\"return\": {\"pid\": 2147483648}}", -EBADMSG, "pid 2147483648 out of" },
	{ QGA_CMD_EXEC, "{\"return\": {\"pid\": 99999999999999999999999}}", -EBADMSG, "out of 1..2147483647" },
	{ QGA_CMD_EXEC, "{\"return\": {\"pid\": 1.5}}", -EBADMSG, "pid is a double" },
	{ QGA_CMD_EXEC, "{\"return\": {}}", -EBADMSG, "return: no pid" },
	/* guest-exec-status */
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": false}}", 0, NULL },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 3,"
	  " \"out-data\": \"aGkK\"}}", 0, NULL },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {}}", -EBADMSG, "return: no exited" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": 1}}", -EBADMSG,
	  "exited is a int, not a boolean" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true}}", -EBADMSG,
	  "neither exitcode nor signal" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 0, \"signal\": 9}}",
	  -EBADMSG, "both exitcode and signal" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 256}}",
	  -EBADMSG, "exitcode 256 out of 0..255" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": -1}}",
	  -EBADMSG, "exitcode -1 out of 0..255" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"signal\": 0}}",
	  -EBADMSG, "signal 0 out of 1..127" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"signal\": 128}}",
	  -EBADMSG, "signal 128 out of 1..127" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 0,"
	  " \"out-data\": \"aGk=K\"}}", -EBADMSG, "out-data is not base64: 'aGk=K'" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 0,"
	  " \"err-data\": \"a\\u001bGk\"}}", -EBADMSG, "err-data is not base64: 'a?Gk'" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 0,"
	  " \"out-data\": 5}}", -EBADMSG, "out-data is a int, not a string" },
	{ QGA_CMD_EXEC_STATUS, "{\"return\": {\"exited\": true, \"exitcode\": 0,"
	  " \"out-truncated\": \"yes\"}}", -EBADMSG, "out-truncated is a string" },
	/* guest-network-get-interfaces */
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"name\": \"lo\", \"hardware-address\":"
	  " \"00:00:00:00:00:00\", \"ip-addresses\": [{\"ip-address-type\": \"ipv4\","
	  " \"ip-address\": \"127.0.0.1\", \"prefix\": 8}]}, {\"name\": \"eth0\","
	  " \"hardware-address\": \"52:54:00:12:34:56\", \"ip-addresses\":"
	  " [{\"ip-address-type\": \"ipv6\", \"ip-address\": \"fe80::1\"},"
	  " {\"ip-address-type\": \"ipv4\", \"ip-address\": \"10.137.0.5\"},"
	  " {\"ip-address-type\": \"ipv4\", \"ip-address\": \"10.137.0.6\"}]}]}", 0, NULL },
	{ QGA_CMD_INTERFACES, "{\"return\": {}}", -EBADMSG, "return is a object, not an array" },
	{ QGA_CMD_INTERFACES, "{\"return\": [3]}", -EBADMSG, "return[0] is not an object" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": 5}]}", -EBADMSG,
	  "return[0]: hardware-address is a int" },
	{ QGA_CMD_INTERFACES, "{\"return\": []}", -EAGAIN,
	  "no interface with hardware address " MAC " yet" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\"}]}",
	  -EAGAIN, "has no IPv4 address yet" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": [{\"ip-address-type\": \"ipv6\", \"ip-address\": \"::1\"}]}]}",
	  -EAGAIN, "has no IPv4 address yet" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": {}}]}", -EBADMSG, "ip-addresses is a object, not a array" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"10.0.0.256\"}]}]}",
	  -EBADMSG, "ip-address '10.0.0.256' is not IPv4" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"127.0.0.1\"}]}]}",
	  -EBADMSG, "ip-address 127.0.0.1 is not a unicast address" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"224.0.0.1\"}]}]}",
	  -EBADMSG, "ip-address 224.0.0.1 is not a unicast address" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": [{\"ip-address-type\": \"ipv5\", \"ip-address\": \"x\"}]}]}",
	  -EBADMSG, "ip-address-type 'ipv5' is neither ipv4 nor ipv6" },
	{ QGA_CMD_INTERFACES, "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\","
	  " \"ip-addresses\": [{\"ip-address\": \"10.0.0.1\"}]}]}",
	  -EBADMSG, "return[0] ip-addresses[0]: no ip-address-type" },
	/* A NUL byte in the reply itself. */
	{ QGA_CMD_PING, "{\"return\": {}}\0", -EBADMSG, "a NUL byte at offset 14" },
};

static void test_parse_table(struct tap *t, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *pc = &parse_cases[i];
		struct qga_reply r;
		char err[256] = "";
		size_t len = strlen(pc->reply);
		/* The NUL case: its length runs past the C string. */
		if (strstr(pc->err_part ? pc->err_part : "", "NUL byte at"))
			len++;
		int rc = qga_reply_parse(pc->reply, len, pc->cmd, MAC, &r, err, sizeof(err));
		if (rc != pc->rc)
			printf("# case %zu: '%s': %d (%s), expected %d\n", i, pc->reply,
			       rc, err, pc->rc);
		CHECK_EQ(t, rc, pc->rc);
		if (pc->err_part)
			CHECK_STR(t, err, pc->err_part);
		if (rc == 0 && pc->cmd == QGA_CMD_EXEC_STATUS)
			qga_exec_result_free(&r.result);
	}
}

static void test_parse_values(struct tap *t, const void *arg)
{
	(void)arg;
	struct qga_reply r;
	char err[256];
	const char *s = "{\"return\": {\"exited\": true, \"signal\": 9, \"out-data\":"
			" \"aGkK\", \"err-data\": \"AP8=\", \"err-truncated\": true}}";
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_EXEC_STATUS, NULL, &r, err,
				    sizeof(err)), 0);
	CHECK(t, r.exited);
	CHECK_EQ(t, r.result.exit_code, -1);
	CHECK_EQ(t, r.result.signal, 9);
	CHECK_EQ(t, r.result.out_len, 3);
	CHECK_STREQ(t, r.result.out, "hi\n");
	CHECK_EQ(t, r.result.err_len, 2);
	CHECK(t, r.result.err && !memcmp(r.result.err, "\0\xff", 3));
	CHECK(t, !r.result.out_truncated && r.result.err_truncated);
	qga_exec_result_free(&r.result);

	s = "{\"return\": {\"exited\": true, \"exitcode\": 0}}";
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_EXEC_STATUS, NULL, &r, err,
				    sizeof(err)), 0);
	CHECK_STREQ(t, r.result.out, "");
	CHECK_STREQ(t, r.result.err, "");
	qga_exec_result_free(&r.result);

	s = parse_cases[0].reply;
	s = "{\"return\": [{\"hardware-address\": \"52:54:00:12:34:56\"}, {\"hardware-address\":"
	    " \"52:54:00:12:34:56\", \"ip-addresses\": [{\"ip-address-type\": \"ipv4\","
	    " \"ip-address\": \"10.137.0.5\"}]}]}";
	/* The MAC in either case; a VLAN sharing it (no address) skipped. */
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_INTERFACES, "52:54:00:12:34:56", &r,
				    err, sizeof(err)), 0);
	CHECK_STREQ(t, r.ipv4, "10.137.0.5");
	s = "{\"return\": [{\"hardware-address\": \"52:54:00:AB:cd:56\", \"ip-addresses\":"
	    " [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"192.168.1.2\"}]}]}";
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_INTERFACES, "52:54:00:ab:CD:56", &r,
				    err, sizeof(err)), 0);
	CHECK_STREQ(t, r.ipv4, "192.168.1.2");
	/* The host's own mistakes: no MAC, a bad one, loopback's zeros. */
	const char *bad_macs[] = { NULL, "", "52:54:00:12:34", "52:54:00:12:34:5g",
				   "52-54-00-12-34-56", "00:00:00:00:00:00" };
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++)
		CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_INTERFACES, bad_macs[i],
					    &r, err, sizeof(err)), -EINVAL);
	/* A long error text is cut: the message stays short. */
	char long_error[8192];
	int n = snprintf(long_error, sizeof(long_error),
			 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"");
	memset(long_error + n, 'd', 4000);
	snprintf(long_error + n + 4000, sizeof(long_error) - (size_t)n - 4000, "\"}}");
	char big_err[4096];
	CHECK_EQ(t, qga_reply_parse(long_error, strlen(long_error), QGA_CMD_PING, NULL, &r,
				    big_err, sizeof(big_err)), -EIO);
	CHECK(t, strlen(big_err) < 200);
	CHECK_STR(t, big_err, "ddd...");
}

static void test_base64(struct tap *t, const void *arg)
{
	(void)arg;
	unsigned char out[16];
	CHECK_EQ(t, qga_base64_decode("", 0, out), 0);
	CHECK_EQ(t, qga_base64_decode("aGkK", 4, out), 3);
	CHECK(t, !memcmp(out, "hi\n", 3));
	CHECK_EQ(t, qga_base64_decode("aGk=", 4, out), 2);
	CHECK_EQ(t, qga_base64_decode("aA==", 4, out), 1);
	CHECK_EQ(t, qga_base64_decode("+/+/", 4, out), 3);
	CHECK(t, !memcmp(out, "\xfb\xff\xbf", 3));
	/* Refused: bad length, padding inside or too much of it, bits
	 * set past the data (another text for the same bytes), characters
	 * outside the alphabet (URL-safe, whitespace). */
	const char *bad[] = { "aGk", "aGkK=", "a===", "====", "aG=K", "aA=A", "aGk=aGkK",
			      "aB==", "aGl=", "-_-_", "aGk\n", " aGk", "aGk\0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 4 : strlen(bad[i]);
		if (qga_base64_decode(bad[i], len, out) != -1)
			printf("# '%s' decoded\n", bad[i]);
		CHECK_EQ(t, qga_base64_decode(bad[i], len, out), -1);
	}
}

/* Output over QGA_OUTPUT_MAX is refused, at the base64 length and at
 * the decoded length. */
static void test_output_cap(struct tap *t, const void *arg)
{
	(void)arg;
	size_t b64 = QGA_BASE64_LEN(QGA_OUTPUT_MAX);
	size_t cap = b64 + 200;
	char *s = malloc(cap);
	CHECK(t, s != NULL);
	if (!s)
		return;
	struct qga_reply r;
	char err[256];
	/* Exactly the cap: taken. */
	int n = snprintf(s, cap, "{\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"");
	memset(s + n, 'A', b64 - 4);
	memcpy(s + n + b64 - 4, "AA==", 4);
	snprintf(s + n + b64, cap - (size_t)n - b64, "\"}}");
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_EXEC_STATUS, NULL, &r, err,
				    sizeof(err)), 0);
	CHECK_EQ(t, r.result.out_len, QGA_OUTPUT_MAX);
	qga_exec_result_free(&r.result);
	/* One base64 group more: refused. */
	n = snprintf(s, cap, "{\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"");
	memset(s + n, 'A', b64 + 4);
	snprintf(s + n + b64 + 4, cap - (size_t)n - b64 - 4, "\"}}");
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_EXEC_STATUS, NULL, &r, err,
				    sizeof(err)), -E2BIG);
	CHECK_STR(t, err, "out-data of 1398108 base64 bytes over 1398104");
	/* The cap's length but no padding: two bytes over once decoded. */
	n = snprintf(s, cap, "{\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"");
	memset(s + n, 'A', b64);
	snprintf(s + n + b64, cap - (size_t)n - b64, "\"}}");
	CHECK_EQ(t, qga_reply_parse(s, strlen(s), QGA_CMD_EXEC_STATUS, NULL, &r, err,
				    sizeof(err)), -E2BIG);
	CHECK_STR(t, err, "out-data of 1048578 bytes over 1048576");
	free(s);
}

/* --- a hostile fake agent ------------------------------------------------- */

/* The host's next request (one line; a leading 0xFF dropped): its
 * command into CMD, a sync's id into *ID. false at EOF. */
static bool next_request(int fd, char *cmd, size_t cmd_len, unsigned long long *id)
{
	char line[4096];
	size_t n = 0;
	for (;;) {
		ssize_t got = read(fd, line + n, 1);
		if (got != 1)
			return false;
		if (line[n] == '\n')
			break;
		if (line[n] != '\xff' && n + 1 < sizeof(line))
			n++;
	}
	line[n] = '\0';
	const char *ex = strstr(line, "\"execute\":\"");
	if (!ex)
		return false;
	ex += strlen("\"execute\":\"");
	snprintf(cmd, cmd_len, "%.*s", (int)strcspn(ex, "\""), ex);
	const char *i = strstr(line, "\"id\":");
	*id = i ? strtoull(i + 5, NULL, 10) : 0;
	return true;
}

static void answer_sync(int fd, unsigned long long id)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "\xff{\"return\": %llu}\n", id);
	puts_fd(fd, msg);
}

/* A guest answering each sync rightly and each other command with the
 * next of REPLIES (sent as they are: each with its '\n'). */
static void guest_scripted(int fd, const void *arg)
{
	const char *const *replies = arg;
	char cmd[64];
	unsigned long long id;
	while (next_request(fd, cmd, sizeof(cmd), &id)) {
		if (!strcmp(cmd, "guest-sync-delimited"))
			answer_sync(fd, id);
		else if (*replies)
			puts_fd(fd, *replies++);
	}
}

typedef void (*guest_fn)(int fd, const void *arg);

static int guest_start_as(struct guest *g, guest_fn fn, const void *arg, uid_t uid)
{
	return guest_start_with(g, "qga-test", fn, arg, uid);
}

/* What qga_ping / qga_exec make of a guest doing FN. */
struct against {
	int rc;
	char err[512];
	long long took_ms;
	struct qga_exec_result res;
};

enum call { CALL_PING, CALL_EXEC, CALL_IPV4, CALL_SHUTDOWN };

static void call_against(struct tap *t, guest_fn fn, const void *arg, enum call call,
			 struct against *r)
{
	struct guest g;
	memset(r, 0, sizeof(*r));
	CHECK(t, guest_start_as(&g, fn, arg, getuid()) == 0);
	struct agent_addr sock = { g.path, getuid() };
	struct qga_target to = { NULL, NULL, &sock };
	static const char *const argv[] = { "/bin/true", NULL };
	char ip[INET_ADDRSTRLEN];
	long long t0 = mono_ms();
	switch (call) {
	case CALL_PING:
		r->rc = qga_ping(&to, TIMEOUT_MS, r->err, sizeof(r->err));
		break;
	case CALL_EXEC:
		r->rc = qga_exec(&to, argv, TIMEOUT_MS, &r->res, r->err, sizeof(r->err));
		break;
	case CALL_IPV4:
		r->rc = qga_ipv4_of(&to, MAC, ip, TIMEOUT_MS, r->err, sizeof(r->err));
		break;
	case CALL_SHUTDOWN:
		r->rc = qga_shutdown(&to, TIMEOUT_MS, r->err, sizeof(r->err));
		break;
	}
	r->took_ms = mono_ms() - t0;
	guest_stop(&g);
	if (r->rc)
		printf("# %s\n", r->err);
}

/* Stale bytes (a previous client's half reply, a reply to another sync)
 * before the sync reply with our id: skipped. */
static void guest_stale_then_sync(int fd, const void *arg)
{
	(void)arg;
	char cmd[64];
	unsigned long long id;
	if (!next_request(fd, cmd, sizeof(cmd), &id))
		return;
	puts_fd(fd, "{\"return\": {\"pid\": 1}}\n{\"retu");
	/* A reply to another sync, then ours. */
	char msg[96];
	snprintf(msg, sizeof(msg), "\xff{\"return\": %llu}\n", id + 1);
	puts_fd(fd, msg);
	answer_sync(fd, id);
	if (next_request(fd, cmd, sizeof(cmd), &id) && !strcmp(cmd, "guest-ping"))
		puts_fd(fd, "{\"return\": {}}\n");
}

static void test_fake_resync(struct tap *t, const void *arg)
{
	(void)arg;
	struct against r;
	call_against(t, guest_stale_then_sync, NULL, CALL_PING, &r);
	CHECK_EQ(t, r.rc, 0);
}

/* Only syncs with other ids: never taken, the deadline ends it. */
static void guest_wrong_ids(int fd, const void *arg)
{
	(void)arg;
	char cmd[64];
	unsigned long long id;
	if (!next_request(fd, cmd, sizeof(cmd), &id))
		return;
	for (int i = 0; i < 50; i++) {
		char msg[96];
		snprintf(msg, sizeof(msg), "\xff{\"return\": %llu}\n{\"return\": {}}\n",
			 id ^ (1ull << (i % 53)));
		puts_fd(fd, msg);
		usleep(10000);
	}
}

static void test_fake_wrong_ids(struct tap *t, const void *arg)
{
	(void)arg;
	struct against r;
	call_against(t, guest_wrong_ids, NULL, CALL_PING, &r);
	CHECK_EQ(t, r.rc, -ETIMEDOUT);
	CHECK(t, r.took_ms >= TIMEOUT_MS && r.took_ms < TIMEOUT_MS + 1000);
}

static void test_fake_garbage(struct tap *t, const void *arg)
{
	(void)arg;
	static const char *const garbage[] = { "\x01\x02 not json \x1b[31m\n", NULL };
	struct against r;
	call_against(t, guest_scripted, garbage, CALL_PING, &r);
	CHECK_EQ(t, r.rc, -EBADMSG);
	CHECK_STR(t, r.err, "qemu-ga /tmp/bk-qga-test-");
	CHECK_STR(t, r.err, "guest-ping: not JSON");
	CHECK(t, !strchr(r.err, '\x1b'));
}

/* A reply that never ends within the cap. */
static void guest_overlong(int fd, const void *arg)
{
	(void)arg;
	char cmd[64];
	unsigned long long id;
	size_t len = QGA_REPLY_MAX + 16;
	char *junk = malloc(len);
	if (!junk)
		return;
	memset(junk, ' ', len);
	junk[0] = '{';
	while (next_request(fd, cmd, sizeof(cmd), &id)) {
		if (!strcmp(cmd, "guest-sync-delimited")) {
			answer_sync(fd, id);
			continue;
		}
		put(fd, junk, len);
		puts_fd(fd, "}\n");
	}
	free(junk);
}

static void test_fake_overlong(struct tap *t, const void *arg)
{
	(void)arg;
	struct against r;
	call_against(t, guest_overlong, NULL, CALL_PING, &r);
	CHECK_EQ(t, r.rc, -E2BIG);
	CHECK_STR(t, r.err, "a reply over 65536 bytes");
}

static void guest_overlong_sync(int fd, const void *arg)
{
	(void)arg;
	char cmd[64];
	unsigned long long id;
	size_t len = QGA_REPLY_MAX + 16;
	char *junk = malloc(len);
	if (!junk)
		return;
	memset(junk, ' ', len);
	if (next_request(fd, cmd, sizeof(cmd), &id)) {
		puts_fd(fd, "\xff");
		put(fd, junk, len);
	}
	free(junk);
}

static void test_fake_overlong_sync(struct tap *t, const void *arg)
{
	(void)arg;
	struct against r;
	call_against(t, guest_overlong_sync, NULL, CALL_PING, &r);
	CHECK_EQ(t, r.rc, -E2BIG);
	CHECK_STR(t, r.err, "guest-sync-delimited: a reply over 65536 bytes");
}

static void test_fake_deep(struct tap *t, const void *arg)
{
	(void)arg;
	char deep[2 * 1000 + 64];
	int n = snprintf(deep, sizeof(deep), "{\"return\": {}, \"x\": ");
	for (int i = 0; i < 1000; i++)
		deep[n + i] = '[', deep[n + 1000 + i] = ']';
	snprintf(deep + n + 2000, sizeof(deep) - (size_t)n - 2000, "}\n");
	const char *const replies[] = { deep, NULL };
	struct against r;
	call_against(t, guest_scripted, replies, CALL_PING, &r);
	CHECK_EQ(t, r.rc, -EBADMSG);
	CHECK_STR(t, r.err, "nested deeper than 8");
}

struct exec_case {
	const char *status;
	int rc;
	const char *err_part;
};

static void test_fake_exec(struct tap *t, const void *arg)
{
	(void)arg;
	static const struct exec_case cases[] = {
		{ "{\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"aGk*\"}}\n",
		  -EBADMSG, "guest-exec-status: return: out-data is not base64: 'aGk*'" },
		{ "{\"return\": {\"exited\": true, \"exitcode\": 300}}\n",
		  -EBADMSG, "exitcode 300 out of 0..255" },
		{ "{\"return\": {\"exited\": true}}\n",
		  -EBADMSG, "neither exitcode nor signal" },
		{ "{\"return\": {\"exitcode\": 1}}\n", -EBADMSG, "return: no exited" },
		{ "{\"error\": {\"class\": \"Gen\\u001b]0;pwned\\u0007\", \"desc\":"
		  " \"\\u009b31m\\r\\nroot# \"}}\n",
		  -EIO, "guest-exec-status: the guest agent says Gen?]0;pwned?: ??31m??root# " },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const replies[] = { "{\"return\": {\"pid\": 77}}\n",
						cases[i].status, NULL };
		struct against r;
		call_against(t, guest_scripted, replies, CALL_EXEC, &r);
		CHECK_EQ(t, r.rc, cases[i].rc);
		CHECK_STR(t, r.err, cases[i].err_part);
		for (const char *p = r.err; *p; p++)
			CHECK(t, *p >= 0x20 && *p < 0x7f);
	}
	static const char *const pids[] = { "{\"return\": {\"pid\": -5}}\n",
					    "{\"return\": {\"pid\": 9223372036854775807}}\n",
					    "{\"return\": {\"pid\": \"12\"}}\n",
					    "{\"return\": {\"pdi\": 12}}\n" };
	static const char *const pid_errs[] = { "pid -5 out of 1..2147483647",
						"pid 9223372036854775807 out of",
						"pid is a string, not a int",
						"return: no pid" };
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		const char *const replies[] = { pids[i], NULL };
		struct against r;
		call_against(t, guest_scripted, replies, CALL_EXEC, &r);
		CHECK_EQ(t, r.rc, -EBADMSG);
		CHECK_STR(t, r.err, pid_errs[i]);
	}
}

/* Not exited twice, then its status: polled until it comes. */
static void test_fake_exec_polls(struct tap *t, const void *arg)
{
	(void)arg;
	static const char *const replies[] = {
		"{\"return\": {\"pid\": 77}}\n",
		"{\"return\": {\"exited\": false}}\n",
		"{\"return\": {\"exited\": false}}\n",
		"{\"return\": {\"exited\": true, \"exitcode\": 4, \"err-data\": \"b29wcwo=\"}}\n",
		NULL };
	struct against r;
	call_against(t, guest_scripted, replies, CALL_EXEC, &r);
	CHECK_EQ(t, r.rc, 0);
	CHECK_EQ(t, r.res.exit_code, 4);
	CHECK_STREQ(t, r.res.out, "");
	CHECK_STREQ(t, r.res.err, "oops\n");
	qga_exec_result_free(&r.res);
	/* Never exits: -ETIMEDOUT at the deadline. */
	const char *running[64] = { NULL };
	running[0] = "{\"return\": {\"pid\": 77}}\n";
	for (int i = 1; i < 63; i++)
		running[i] = "{\"return\": {\"exited\": false}}\n";
	call_against(t, guest_scripted, running, CALL_EXEC, &r);
	CHECK_EQ(t, r.rc, -ETIMEDOUT);
	CHECK_STR(t, r.err, "pid 77 still runs");
	CHECK(t, r.took_ms >= TIMEOUT_MS && r.took_ms < TIMEOUT_MS + 1000);
}

static void test_fake_silent(struct tap *t, const void *arg)
{
	(void)arg;
	static const char *const none[] = { NULL };
	struct against r;
	call_against(t, guest_scripted, none, CALL_PING, &r);
	CHECK_EQ(t, r.rc, -ETIMEDOUT);
	CHECK(t, r.took_ms >= TIMEOUT_MS && r.took_ms < TIMEOUT_MS + 1000);
}

static void test_fake_ipv4(struct tap *t, const void *arg)
{
	(void)arg;
	static const char *const lying[] = {
		"{\"return\": [{\"hardware-address\": \"" MAC "\", \"ip-addresses\":"
		" [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"127.0.0.53\"}]}]}\n", NULL };
	struct against r;
	call_against(t, guest_scripted, lying, CALL_IPV4, &r);
	CHECK_EQ(t, r.rc, -EBADMSG);
	CHECK_STR(t, r.err, "127.0.0.53 is not a unicast address");
	static const char *const none[] = { "{\"return\": [{\"name\": \"eth0\"}]}\n", NULL };
	call_against(t, guest_scripted, none, CALL_IPV4, &r);
	CHECK_EQ(t, r.rc, -EAGAIN);
}

static void test_fake_shutdown(struct tap *t, const void *arg)
{
	(void)arg;
	static const char *const none[] = { NULL };
	struct against r;
	/* No answer is success, within the refusal wait, not the timeout. */
	call_against(t, guest_scripted, none, CALL_SHUTDOWN, &r);
	CHECK_EQ(t, r.rc, 0);
	CHECK(t, r.took_ms < TIMEOUT_MS + 500);
	static const char *const refused[] = {
		"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"disabled\"}}\n", NULL };
	call_against(t, guest_scripted, refused, CALL_SHUTDOWN, &r);
	CHECK_EQ(t, r.rc, -EIO);
	CHECK_STR(t, r.err, "guest-shutdown: the guest agent says CommandNotFound: disabled");
}

/* Another VM's QEMU (another uid) behind the path: nothing it says is
 * taken. */
static void test_fake_other_uid(struct tap *t, const void *arg)
{
	(void)arg;
	if (getuid() != 0) {
		printf("# not root: cannot listen as another uid\n");
		return;
	}
	static const char *const replies[] = { "{\"return\": {}}\n", NULL };
	struct guest g;
	char err[256];
	CHECK(t, guest_start_as(&g, guest_scripted, replies, 65534) == 0);
	struct agent_addr sock = { g.path, 0 };
	struct qga_target to = { NULL, NULL, &sock };
	CHECK_EQ(t, qga_ping(&to, TIMEOUT_MS, err, sizeof(err)), -EPERM);
	CHECK_STR(t, err, "the socket's listener is not uid 0");
	guest_stop(&g);
	/* The same guest, with the uid it does run as: answered. */
	CHECK(t, guest_start_as(&g, guest_scripted, replies, 65534) == 0);
	sock.uid = 65534;
	CHECK_EQ(t, qga_ping(&to, TIMEOUT_MS, err, sizeof(err)), 0);
	guest_stop(&g);
}

/* --- the host's real qemu-ga ---------------------------------------------- */

struct real_qga {
	char dir[64];
	char sock[128];
	pid_t pid;
};

/* qemu-ga as a VM's would run, on a socket of our own. It runs as root
 * on the host: the tests never ask it to shut down, and the commands that
 * would stop or change the host are blocked besides. It dies with us
 * (PDEATHSIG) if a check aborts before the teardown. */
static int real_start(struct real_qga *q)
{
	snprintf(q->dir, sizeof(q->dir), "/tmp/bk-qga-real-XXXXXX");
	if (!mkdtemp(q->dir))
		return -errno;
	snprintf(q->sock, sizeof(q->sock), "%s/qga.sock", q->dir);
	char pidfile[160], log[160];
	snprintf(pidfile, sizeof(pidfile), "%s/qga.pid", q->dir);
	snprintf(log, sizeof(log), "%s/qga.log", q->dir);
	q->pid = fork();
	if (q->pid < 0)
		return -errno;
	if (q->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("qemu-ga", "qemu-ga", "-m", "unix-listen", "-p", q->sock,
		       "-t", q->dir, "-f", pidfile, "-l", log,
		       "-b", "guest-shutdown,guest-suspend-disk,guest-suspend-ram,"
		       "guest-suspend-hybrid,guest-fsfreeze-freeze,"
		       "guest-fsfreeze-freeze-list,guest-set-time,guest-set-user-password,"
		       "guest-set-vcpus,guest-set-memory-blocks,guest-file-open",
		       (char *)NULL);
		_exit(127);
	}
	return 0;
}

static void real_stop(struct real_qga *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGTERM);
		int status;
		for (int i = 0; i < 100 && waitpid(q->pid, &status, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(q->pid, &status, WNOHANG) == 0) {
			kill(q->pid, SIGKILL);
			waitpid(q->pid, &status, 0);
		}
		q->pid = 0;
	}
	/* Its files: the socket, pid file, log and state file. */
	DIR *d = opendir(q->dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(q->dir);
}

static void test_real(struct tap *t, const void *arg)
{
	const struct real_qga *q = arg;
	struct agent_addr sock = { q->sock, getuid() };
	struct qga_target to = { NULL, NULL, &sock };
	char err[512];
	/* The socket comes when qemu-ga is up: connecting is retried. */
	int rc = qga_ping(&to, 10000, err, sizeof(err));
	if (rc)
		printf("# ping: %s\n", err);
	CHECK_EQ(t, rc, 0);

	struct qga_exec_result res;
	static const char *const hi[] = { "/bin/sh", "-c", "echo hi; exit 3", NULL };
	rc = qga_exec(&to, hi, 10000, &res, err, sizeof(err));
	if (rc)
		printf("# exec: %s\n", err);
	CHECK_EQ(t, rc, 0);
	if (!rc) {
		CHECK_EQ(t, res.exit_code, 3);
		CHECK_EQ(t, res.signal, 0);
		CHECK_EQ(t, res.out_len, 3);
		CHECK_STREQ(t, res.out, "hi\n");
		CHECK_EQ(t, res.err_len, 0);
		qga_exec_result_free(&res);
	}
	static const char *const killed[] = { "/bin/sh", "-c", "echo oops >&2; kill -9 $$", NULL };
	rc = qga_exec(&to, killed, 10000, &res, err, sizeof(err));
	CHECK_EQ(t, rc, 0);
	if (!rc) {
		CHECK_EQ(t, res.exit_code, -1);
		CHECK_EQ(t, res.signal, 9);
		CHECK_STREQ(t, res.err, "oops\n");
		qga_exec_result_free(&res);
	}
	/* Output over 64 KiB comes whole in one status reply; over 1 MiB
	 * it is refused. */
	static const char *const big[] = { "/bin/sh", "-c", "head -c 200000 /dev/zero", NULL };
	rc = qga_exec(&to, big, 10000, &res, err, sizeof(err));
	CHECK_EQ(t, rc, 0);
	if (!rc) {
		CHECK_EQ(t, res.out_len, 200000);
		CHECK(t, res.out[0] == 0 && res.out[199999] == 0 && res.out[200000] == 0);
		qga_exec_result_free(&res);
	}
	static const char *const huge[] = { "/bin/sh", "-c", "head -c 1100000 /dev/zero", NULL };
	rc = qga_exec(&to, huge, 10000, &res, err, sizeof(err));
	CHECK_EQ(t, rc, -E2BIG);
	CHECK_STR(t, err, "out-data of 1466668 base64 bytes over 1398104");
	/* The agent's own refusal: -EIO, its words. */
	static const char *const missing[] = { "/nonexistent/bk-qga-test", NULL };
	rc = qga_exec(&to, missing, 10000, &res, err, sizeof(err));
	CHECK_EQ(t, rc, -EIO);
	CHECK_STR(t, err, "guest-exec: the guest agent says ");

	/* Waited for again by its pid after a timeout: it ran once, and
	 * its output is the first run's (up's wait for cloud-init). */
	char runs[64], script[160];
	snprintf(runs, sizeof(runs), "/tmp/bk-qga-runs-%d", (int)getpid());
	snprintf(script, sizeof(script), "echo run >> %s; sleep 1; echo done",
		 runs);
	const char *const slow[] = { "/bin/sh", "-c", script, NULL };
	int pid = 0;
	rc = qga_exec_pid(&to, slow, &pid, 300, &res, err, sizeof(err));
	CHECK_EQ(t, rc, -ETIMEDOUT);
	CHECK(t, pid > 0);
	rc = qga_exec_pid(&to, slow, &pid, 10000, &res, err, sizeof(err));
	CHECK_EQ(t, rc, 0);
	CHECK_EQ(t, pid, 0);
	if (!rc) {
		CHECK_STREQ(t, res.out, "done\n");
		qga_exec_result_free(&res);
	}
	char text[64] = "";
	FILE *f = fopen(runs, "r");
	if (f) {
		text[fread(text, 1, sizeof(text) - 1, f)] = 0;
		fclose(f);
	}
	CHECK_STREQ(t, text, "run\n");
	unlink(runs);
}

/* Each interface of this host with a MAC: qemu-ga's IPv4 address for it
 * is the host's own first (getifaddrs), or -EAGAIN without one. */
static void test_real_interfaces(struct tap *t, const void *arg)
{
	const struct real_qga *q = arg;
	struct agent_addr sock = { q->sock, getuid() };
	struct qga_target to = { NULL, NULL, &sock };
	char err[512], ip[INET_ADDRSTRLEN];
	struct ifaddrs *ifs = NULL;
	CHECK_EQ(t, getifaddrs(&ifs), 0);
	DIR *d = opendir("/sys/class/net");
	CHECK(t, d != NULL);
	struct dirent *e;
	int compared = 0;
	while (d && (e = readdir(d))) {
		char path[PATH_MAX], mac[32] = "";
		snprintf(path, sizeof(path), "/sys/class/net/%s/address", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(mac, sizeof(mac), f))
			mac[0] = '\0';
		fclose(f);
		mac[strcspn(mac, "\n")] = '\0';
		if (strlen(mac) != 17 || !strcmp(mac, "00:00:00:00:00:00"))
			continue;
		/* Interfaces sharing a MAC: the first with an address wins;
		 * keep to those with a MAC of their own. */
		char want[INET_ADDRSTRLEN] = "";
		bool shared = false;
		for (struct ifaddrs *a = ifs; a; a = a->ifa_next) {
			if (!strcmp(a->ifa_name, e->d_name) && a->ifa_addr &&
			    a->ifa_addr->sa_family == AF_INET && !want[0])
				inet_ntop(AF_INET,
					  &((struct sockaddr_in *)a->ifa_addr)->sin_addr,
					  want, sizeof(want));
		}
		DIR *d2 = opendir("/sys/class/net");
		struct dirent *e2;
		while (d2 && (e2 = readdir(d2))) {
			char p2[PATH_MAX], m2[32] = "";
			snprintf(p2, sizeof(p2), "/sys/class/net/%s/address", e2->d_name);
			FILE *f2 = fopen(p2, "r");
			if (!f2)
				continue;
			if (fgets(m2, sizeof(m2), f2) && strcmp(e2->d_name, e->d_name) &&
			    !strncmp(m2, mac, 17))
				shared = true;
			fclose(f2);
		}
		if (d2)
			closedir(d2);
		if (shared)
			continue;
		int rc = qga_ipv4_of(&to, mac, ip, 10000, err, sizeof(err));
		printf("# %s %s: %d %s\n", e->d_name, mac, rc, rc ? err : ip);
		if (want[0]) {
			CHECK_EQ(t, rc, 0);
			CHECK_STREQ(t, ip, want);
		} else {
			CHECK_EQ(t, rc, -EAGAIN);
		}
		compared++;
	}
	if (d)
		closedir(d);
	freeifaddrs(ifs);
	printf("# %d interfaces compared\n", compared);
	/* A MAC no interface has. */
	int rc = qga_ipv4_of(&to, "02:bc:00:ff:ee:dd", ip, 10000, err, sizeof(err));
	CHECK_EQ(t, rc, -EAGAIN);
	CHECK_STR(t, err, "no interface with hardware address 02:bc:00:ff:ee:dd");
}

int main(void)
{
	struct real_qga q = { .pid = 0 };
	int real = real_start(&q);
	const struct tap_case cases[] = {
		{ "parse: each checked value, refused with its name", test_parse_table, NULL },
		{ "parse: exec status, output bytes, interfaces, host mistakes, cut errors", test_parse_values, NULL },
		{ "parse: strict base64", test_base64, NULL },
		{ "parse: output over 1 MiB refused", test_output_cap, NULL },
		{ "fake: stale bytes and another sync's reply skipped", test_fake_resync, NULL },
		{ "fake: only other sync ids: -ETIMEDOUT at the deadline", test_fake_wrong_ids, NULL },
		{ "fake: non-JSON garbage: -EBADMSG, printable", test_fake_garbage, NULL },
		{ "fake: a reply over 64 KiB: -E2BIG", test_fake_overlong, NULL },
		{ "fake: a sync reply over 64 KiB: -E2BIG", test_fake_overlong_sync, NULL },
		{ "fake: deep nesting: -EBADMSG", test_fake_deep, NULL },
		{ "fake: exec: bad base64, exitcode out of range, missing fields, escapes in its error, bad pids", test_fake_exec, NULL },
		{ "fake: exec polls until exited, -ETIMEDOUT when never", test_fake_exec_polls, NULL },
		{ "fake: silence: -ETIMEDOUT at the deadline", test_fake_silent, NULL },
		{ "fake: ipv4: loopback refused, no address -EAGAIN", test_fake_ipv4, NULL },
		{ "fake: shutdown: no answer is success, a refusal -EIO", test_fake_shutdown, NULL },
		{ "fake: a listener of another uid: -EPERM", test_fake_other_uid, NULL },
		{ "real qemu-ga: ping, exec (output, exit code, signal, 200 kB, over 1 MiB, its error; waited for again by its pid after a timeout, it ran once)", test_real, &q },
		{ "real qemu-ga: interfaces against this host's own", test_real_interfaces, &q },
	};
	signal(SIGPIPE, SIG_IGN);
	if (real)
		printf("# qemu-ga: %s\n", strerror(-real));
	int rc = tap_run(cases, sizeof(cases) / sizeof(cases[0]));
	real_stop(&q);
	return rc;
}
