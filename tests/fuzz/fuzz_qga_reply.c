/* qemu-ga's replies under arbitrary input (what a compromised app VM may
 * write on its agent channel): the first byte picks the command whose
 * reply the rest is. Whatever comes, a value taken is in its range, the
 * output lengths are within the cap, and a refusal's message is printable
 * ASCII of bounded length that names the command. The byte after the
 * last command tries the base64 decoder alone: what it takes encodes
 * back to the same text (one text per byte string). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qga_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_round_trip(const char *text, size_t len)
{
	unsigned char *bytes = malloc(len / 4 * 3 + 1);
	char *again = malloc(len + 1);
	if (!bytes || !again)
		abort();
	long n = qga_base64_decode(text, len, bytes);
	if (n >= 0) {
		size_t out = 0;
		for (long i = 0; i < n; i += 3) {
			unsigned long quad = (unsigned long)bytes[i] << 16;
			if (i + 1 < n)
				quad |= (unsigned long)bytes[i + 1] << 8;
			if (i + 2 < n)
				quad |= bytes[i + 2];
			again[out++] = b64[quad >> 18 & 63];
			again[out++] = b64[quad >> 12 & 63];
			again[out++] = i + 1 < n ? b64[quad >> 6 & 63] : '=';
			again[out++] = i + 2 < n ? b64[quad & 63] : '=';
		}
		if (out != len || memcmp(again, text, len))
			abort();
	}
	free(bytes);
	free(again);
}

static void check_message(const char *err, enum qga_cmd cmd)
{
	size_t n = strlen(err);
	if (n + 1 >= 512 || strncmp(err, qga_cmd_name(cmd), strlen(qga_cmd_name(cmd))))
		abort();
	for (size_t i = 0; i < n; i++)
		if (err[i] < 0x20 || err[i] > 0x7e)
			abort();
}

static void check_output(const char *data, size_t len)
{
	if (!data || len > QGA_OUTPUT_MAX || data[len] != '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned pick = data[0] % (QGA_CMD_COUNT + 1);
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (pick == QGA_CMD_COUNT) {
		base64_round_trip(text, len);
		return 0;
	}
	enum qga_cmd cmd = (enum qga_cmd)pick;
	struct qga_reply r;
	char err[512];
	int rc = qga_reply_parse(text, len, cmd, "52:54:00:12:34:56", &r, err, sizeof(err));
	if (rc) {
		if (rc != -EBADMSG && rc != -EIO && rc != -E2BIG && rc != -EAGAIN &&
		    rc != -ENOMEM)
			abort();
		check_message(err, cmd);
		return 0;
	}
	switch (cmd) {
	case QGA_CMD_EXEC:
		if (r.pid < 1)
			abort();
		break;
	case QGA_CMD_EXEC_STATUS:
		if (!r.exited)
			break;
		if (!((r.result.exit_code >= 0 && r.result.exit_code <= 255 &&
		       r.result.signal == 0) ||
		      (r.result.exit_code == -1 && r.result.signal >= 1 &&
		       r.result.signal <= 127)))
			abort();
		check_output(r.result.out, r.result.out_len);
		check_output(r.result.err, r.result.err_len);
		qga_exec_result_free(&r.result);
		break;
	case QGA_CMD_INTERFACES: {
		struct in_addr in;
		if (inet_pton(AF_INET, r.ipv4, &in) != 1)
			abort();
		uint32_t a = ntohl(in.s_addr);
		if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) == 0xe || a == 0xffffffffu)
			abort();
		break;
	}
	default:
		break;
	}
	return 0;
}
