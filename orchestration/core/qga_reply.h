/* What an app VM's qemu-guest-agent answers, checked (qga_reply.c): one
 * JSON reply to one command, parsed once into the values the host uses.
 * Pure (no I/O, no clock), so fuzzed alone (tests/fuzz/fuzz_qga_reply.c);
 * qga.c does the talking. The guest writes every byte of a reply: a value
 * is taken only with its type and range checked, and a refusal names the
 * value (printable ASCII only, cut). */
#ifndef BULKHEAD_QGA_REPLY_H
#define BULKHEAD_QGA_REPLY_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

/* A reply is one line: qemu-ga ends each with '\n', and JSON text has no
 * raw newline. 64 KiB holds any answer the host asks for (an interface
 * list of a few dozen interfaces is under 8 KiB) but guest-exec-status,
 * whose captured output comes whole in the one reply. */
#define QGA_REPLY_MAX (64 * 1024)
/* The output of a command run in the guest, per stream (stdout, stderr),
 * decoded. */
#define QGA_OUTPUT_MAX (1024 * 1024)
/* Base64 length of N bytes (padded, as glib encodes for qemu-ga). */
#define QGA_BASE64_LEN(n) (((n) + 2) / 3 * 4)
/* A guest-exec-status reply: both streams at their cap, plus the rest. */
#define QGA_EXEC_STATUS_REPLY_MAX (QGA_REPLY_MAX + 2 * QGA_BASE64_LEN(QGA_OUTPUT_MAX))
/* qemu-ga's deepest answer (interfaces: reply, list, interface, address
 * list, address) is 5 levels: more is not an answer to anything asked. */
#define QGA_JSON_DEPTH 8

/* The commands whose replies the host reads. */
enum qga_cmd {
	QGA_CMD_SYNC,            /* guest-sync-delimited */
	QGA_CMD_PING,            /* guest-ping */
	QGA_CMD_EXEC,            /* guest-exec */
	QGA_CMD_EXEC_STATUS,     /* guest-exec-status */
	QGA_CMD_INTERFACES,      /* guest-network-get-interfaces */
	QGA_CMD_SHUTDOWN,        /* guest-shutdown (answers only a refusal) */
	QGA_CMD_COUNT
};

/* What a command run in the guest did (qga_exec). */
struct qga_exec_result {
	int exit_code;           /* 0..255, or -1 when a signal ended it */
	int signal;              /* 1..127: the signal that ended it, or 0 */
	/* What it wrote, decoded, NUL-terminated (the guest's bytes: may hold
	 * NULs and escapes; the lengths are exact). Each up to
	 * QGA_OUTPUT_MAX; freed by qga_exec_result_free. */
	char *out, *err;
	size_t out_len, err_len;
	/* qemu-ga cut the stream itself (at its own cap, 16 MiB). */
	bool out_truncated, err_truncated;
};

/* One reply's values; which ones are set depends on the command. */
struct qga_reply {
	long long sync_id;       /* SYNC: the id echoed (the caller compares) */
	int pid;                 /* EXEC: 1..INT_MAX */
	bool exited;             /* EXEC_STATUS; when true, result is set */
	struct qga_exec_result result;
	char ipv4[INET_ADDRSTRLEN];     /* INTERFACES: dotted quad */
};

/* Parses BUF[0..LEN) (one reply, without its '\n') as the reply to CMD.
 * For QGA_CMD_INTERFACES, MAC ("xx:xx:xx:xx:xx:xx") names the interface
 * whose first IPv4 address goes to out->ipv4. Returns 0; -EIO for the
 * guest's {"error": ...} (ERR holds its class and description, printable
 * ASCII, cut); -EBADMSG for anything else not an answer to CMD (ERR names
 * the value); ERR starts with CMD's name; -E2BIG for output over QGA_OUTPUT_MAX; -EAGAIN when no
 * interface has MAC or it has no IPv4 address (yet: a guest
 * configures its NIC after qemu-ga starts); -EINVAL for a bad MAC;
 * -ENOMEM. OUT is written only on 0 (and needs qga_exec_result_free
 * after an EXEC_STATUS reply with exited). */
int qga_reply_parse(const char *buf, size_t len, enum qga_cmd cmd, const char *mac,
		    struct qga_reply *out, char *err, size_t err_len);

/* The strict base64 of qemu-ga's out-data (RFC 4648 alphabet, padded,
 * no whitespace). Decodes SRC[0..LEN) into DST (room for LEN / 4 * 3
 * bytes) and returns the byte count, or -1 for anything else. */
long qga_base64_decode(const char *src, size_t len, unsigned char *dst);

/* CMD's name in the protocol ("guest-ping"). */
const char *qga_cmd_name(enum qga_cmd cmd);

void qga_exec_result_free(struct qga_exec_result *r);

#endif
