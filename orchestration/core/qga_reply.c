#include "qga_reply.h"
#include "topology.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a guest string a message shows. */
#define SHOWN_MAX 64

/* S as a message may show it: printable ASCII only, cut at SHOWN_MAX
 * (a guest's text must not put escapes on a terminal or flood a log). */
static void shown(const char *s, size_t len, char out[SHOWN_MAX + 4])
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < SHOWN_MAX; i++)
		out[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (len > SHOWN_MAX)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = '\0';
}

__attribute__((format(printf, 4, 5)))
static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return rc;
}

#define BAD(...) fail(-EBADMSG, err, err_len, __VA_ARGS__)

/* A member of OBJ that must be of TYPE: 1 with *V set, 0 when absent
 * (and not REQUIRED), else -EBADMSG naming it. A null is not taken for
 * absent: qemu-ga leaves out what it has not. */
static int member(struct json_object *obj, const char *where, const char *key,
		  enum json_type type, bool required, struct json_object **v,
		  char *err, size_t err_len)
{
	if (!json_object_object_get_ex(obj, key, v)) {
		if (!required)
			return 0;
		return BAD("%s: no %s", where, key);
	}
	if (!json_object_is_type(*v, type))
		return BAD("%s: %s is a %s, not a %s", where, key,
			   json_type_to_name(json_object_get_type(*v)),
			   json_type_to_name(type));
	return 1;
}

/* An integer member in [MIN, MAX]; 0 when absent and not REQUIRED. */
static int int_member(struct json_object *obj, const char *where, const char *key,
		      long long min, long long max, bool required, long long *out,
		      char *err, size_t err_len)
{
	struct json_object *v;
	int rc = member(obj, where, key, json_type_int, required, &v, err, err_len);
	if (rc <= 0)
		return rc;
	/* json-c clamps what int64 cannot hold to its ends, outside any
	 * range asked here; the text shows the guest's own number. */
	long long n = (long long)json_object_get_int64(v);
	if (n < min || n > max)
		return BAD("%s: %s %.32s out of %lld..%lld", where, key,
			   json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
			   min, max);
	*out = n;
	return 1;
}

/* A string member without NUL bytes (a \u0000 escape would cut it
 * short for C but not for the JSON length). */
static int string_member(struct json_object *obj, const char *where, const char *key,
			 bool required, const char **s, size_t *len,
			 char *err, size_t err_len)
{
	struct json_object *v;
	int rc = member(obj, where, key, json_type_string, required, &v, err, err_len);
	if (rc <= 0)
		return rc;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (strlen(*s) != *len)
		return BAD("%s: %s holds a NUL byte", where, key);
	return 1;
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long qga_base64_decode(const char *src, size_t len, unsigned char *dst)
{
	if (len % 4)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		/* '=' only as the last one or two characters of the text. */
		int pad = 0;
		if (i + 4 == len)
			pad = src[i + 3] == '=' ? (src[i + 2] == '=' ? 2 : 1) : 0;
		int v[4];
		for (int k = 0; k < 4; k++) {
			v[k] = k < 4 - pad ? base64_value(src[i + k]) : 0;
			if (v[k] < 0)
				return -1;
		}
		unsigned long quad = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
				     (unsigned long)v[2] << 6 | (unsigned long)v[3];
		/* Bits past the data must be zero: one byte string has one
		 * text, so nothing can hide in the padding. */
		if ((pad == 1 && (quad & 0xff)) || (pad == 2 && (quad & 0xffff)))
			return -1;
		dst[n++] = (unsigned char)(quad >> 16);
		if (pad < 2)
			dst[n++] = (unsigned char)(quad >> 8);
		if (pad < 1)
			dst[n++] = (unsigned char)quad;
	}
	return (long)n;
}

/* One captured stream: KEY's base64 decoded into *DATA (NUL-terminated,
 * always allocated). */
static int output_member(struct json_object *ret, const char *key, char **data,
			 size_t *data_len, char *err, size_t err_len)
{
	const char *text = "";
	size_t len = 0;
	int rc = string_member(ret, "return", key, false, &text, &len, err, err_len);
	if (rc < 0)
		return rc;
	if (len > QGA_BASE64_LEN(QGA_OUTPUT_MAX))
		return fail(-E2BIG, err, err_len, "return: %s of %zu base64 bytes"
			    " over %d", key, len,
			    QGA_BASE64_LEN(QGA_OUTPUT_MAX));
	*data = malloc(len / 4 * 3 + 1);
	if (!*data)
		return fail(-ENOMEM, err, err_len, "out of memory");
	long n = qga_base64_decode(text, len, (unsigned char *)*data);
	if (n < 0) {
		char s[SHOWN_MAX + 4];
		shown(text, len, s);
		free(*data);
		*data = NULL;
		return BAD("return: %s is not base64: '%s'", key, s);
	}
	if (n > QGA_OUTPUT_MAX) {
		free(*data);
		*data = NULL;
		return fail(-E2BIG, err, err_len, "return: %s of %ld bytes over %d", key, n, QGA_OUTPUT_MAX);
	}
	(*data)[n] = '\0';
	*data_len = (size_t)n;
	return 0;
}

static int bool_member(struct json_object *obj, const char *where, const char *key,
		       bool required, bool *out, char *err, size_t err_len)
{
	struct json_object *v;
	int rc = member(obj, where, key, json_type_boolean, required, &v, err, err_len);
	if (rc > 0)
		*out = json_object_get_boolean(v);
	return rc;
}

static int parse_exec_status(struct json_object *ret, struct qga_reply *out,
			     char *err, size_t err_len)
{
	const char *where = "return";
	int rc = bool_member(ret, where, "exited", true, &out->exited, err, err_len);
	if (rc < 0 || !out->exited)
		return rc < 0 ? rc : 0;
	struct qga_exec_result *r = &out->result;
	long long code = -1, sig = 0;
	/* qemu-ga gives the one the wait status has: exitcode when the
	 * process exited, signal when a signal ended it. 127 is the most
	 * a wait status holds for a signal. */
	int has_code = int_member(ret, where, "exitcode", 0, 255, false, &code,
				  err, err_len);
	if (has_code < 0)
		return has_code;
	int has_sig = int_member(ret, where, "signal", 1, 127, false, &sig, err, err_len);
	if (has_sig < 0)
		return has_sig;
	if (has_code == has_sig)
		return BAD("%s: exited with %s", where,
			   has_code ? "both exitcode and signal" : "neither exitcode nor signal");
	r->exit_code = (int)code;
	r->signal = (int)sig;
	if ((rc = bool_member(ret, where, "out-truncated", false, &r->out_truncated,
			      err, err_len)) < 0 ||
	    (rc = bool_member(ret, where, "err-truncated", false, &r->err_truncated,
			      err, err_len)) < 0 ||
	    (rc = output_member(ret, "out-data", &r->out, &r->out_len, err, err_len)) < 0 ||
	    (rc = output_member(ret, "err-data", &r->err, &r->err_len, err, err_len)) < 0) {
		qga_exec_result_free(r);
		return rc;
	}
	return 0;
}

/* The first IPv4 address of the interface IFACE (whose hardware address
 * matched): 1 with OUT set, 0 when it has none. */
static int iface_ipv4(struct json_object *iface, const char *where,
		      char out[INET_ADDRSTRLEN], char *err, size_t err_len)
{
	struct json_object *addrs;
	int rc = member(iface, where, "ip-addresses", json_type_array, false, &addrs,
			err, err_len);
	if (rc <= 0)
		return rc;
	size_t n = json_object_array_length(addrs);
	for (size_t i = 0; i < n; i++) {
		char at[64];
		snprintf(at, sizeof(at), "%s ip-addresses[%zu]", where, i);
		struct json_object *a = json_object_array_get_idx(addrs, i);
		if (!json_object_is_type(a, json_type_object))
			return BAD("%s is not an object", at);
		const char *type, *ip;
		size_t type_len, ip_len;
		if ((rc = string_member(a, at, "ip-address-type", true, &type, &type_len,
					err, err_len)) < 0 ||
		    (rc = string_member(a, at, "ip-address", true, &ip, &ip_len,
					err, err_len)) < 0)
			return rc;
		char s[SHOWN_MAX + 4];
		if (strcmp(type, "ipv4") && strcmp(type, "ipv6")) {
			shown(type, type_len, s);
			return BAD("%s: ip-address-type '%s' is neither ipv4 nor ipv6", at, s);
		}
		if (strcmp(type, "ipv4"))
			continue;
		/* inet_pton takes only the dotted quad; what goes out is
		 * inet_ntop's own text, whatever the guest wrote. */
		struct in_addr in;
		if (inet_pton(AF_INET, ip, &in) != 1) {
			shown(ip, ip_len, s);
			return BAD("%s: ip-address '%s' is not IPv4", at, s);
		}
		/* No address a NIC of the VM may have: the host must not be
		 * sent to itself (loopback), nowhere or to many. */
		uint32_t host_order = ntohl(in.s_addr);
		if ((host_order >> 24) == 0 || (host_order >> 24) == 127 ||
		    (host_order >> 28) == 0xe || host_order == 0xffffffffu) {
			shown(ip, ip_len, s);
			return BAD("%s: ip-address %s is not a unicast address", at, s);
		}
		inet_ntop(AF_INET, &in, out, INET_ADDRSTRLEN);
		return 1;
	}
	return 0;
}

static int parse_interfaces(struct json_object *ret, const char *mac,
			    struct qga_reply *out, char *err, size_t err_len)
{
	unsigned char want[6], have[6];
	static const unsigned char zero[6];
	/* All zeros is what qemu-ga gives loopback: never a NIC's. */
	if (!mac || !topology_mac_parse(mac, strlen(mac), want) || !memcmp(want, zero, 6))
		return fail(-EINVAL, err, err_len, "'%.32s' is not a NIC's MAC address",
			    mac ? mac : "(none)");
	if (!json_object_is_type(ret, json_type_array))
		return BAD("return is a %s, not an array",
			   json_type_to_name(json_object_get_type(ret)));
	bool seen = false;
	size_t n = json_object_array_length(ret);
	for (size_t i = 0; i < n; i++) {
		char where[64];
		snprintf(where, sizeof(where), "return[%zu]", i);
		struct json_object *iface = json_object_array_get_idx(ret, i);
		if (!json_object_is_type(iface, json_type_object))
			return BAD("%s is not an object", where);
		const char *hw;
		size_t hw_len;
		int rc = string_member(iface, where, "hardware-address", false, &hw, &hw_len,
				       err, err_len);
		if (rc < 0)
			return rc;
		/* Other kinds of link (none, or longer addresses) are not the
		 * NIC asked for. Several interfaces may share a MAC (a VLAN on
		 * the NIC, a bridge of it): the first with an address counts. */
		if (rc == 0 || !topology_mac_parse(hw, hw_len, have) || memcmp(have, want, 6))
			continue;
		seen = true;
		rc = iface_ipv4(iface, where, out->ipv4, err, err_len);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return fail(-EAGAIN, err, err_len, seen ?
		    "the interface with hardware address %s has no IPv4 address yet" :
		    "no interface with hardware address %s yet", mac);
}

/* The guest's {"error": {"class", "desc"}}: -EIO, its words shown. */
static int guest_error(struct json_object *error, char *err, size_t err_len)
{
	if (!json_object_is_type(error, json_type_object))
		return BAD("error is a %s, not an object",
			   json_type_to_name(json_object_get_type(error)));
	const char *cls, *desc;
	size_t cls_len, desc_len;
	int rc;
	if ((rc = string_member(error, "error", "class", true, &cls, &cls_len,
				err, err_len)) < 0 ||
	    (rc = string_member(error, "error", "desc", true, &desc, &desc_len,
				err, err_len)) < 0)
		return rc;
	char c[SHOWN_MAX + 4], d[SHOWN_MAX + 4];
	shown(cls, cls_len, c);
	shown(desc, desc_len, d);
	return fail(-EIO, err, err_len, "the guest agent says %s: %s", c, d);
}

static const char *const qga_cmd_names[QGA_CMD_COUNT] = {
	[QGA_CMD_SYNC] = "guest-sync-delimited",
	[QGA_CMD_PING] = "guest-ping",
	[QGA_CMD_EXEC] = "guest-exec",
	[QGA_CMD_EXEC_STATUS] = "guest-exec-status",
	[QGA_CMD_INTERFACES] = "guest-network-get-interfaces",
	[QGA_CMD_SHUTDOWN] = "guest-shutdown",
};

const char *qga_cmd_name(enum qga_cmd cmd)
{
	return cmd >= 0 && cmd < QGA_CMD_COUNT ? qga_cmd_names[cmd] : "?";
}

static int parse_return(struct json_object *ret, enum qga_cmd cmd, const char *mac,
			struct qga_reply *out, char *err, size_t err_len)
{
	long long pid;
	int rc;
	switch (cmd) {
	case QGA_CMD_SYNC:
		/* Any id: the caller skips those not its own. */
		if (!json_object_is_type(ret, json_type_int))
			return BAD("return is a %s, not an int",
				   json_type_to_name(json_object_get_type(ret)));
		out->sync_id = (long long)json_object_get_int64(ret);
		return 0;
	case QGA_CMD_INTERFACES:
		return parse_interfaces(ret, mac, out, err, err_len);
	case QGA_CMD_PING:
	case QGA_CMD_SHUTDOWN:
	case QGA_CMD_EXEC:
	case QGA_CMD_EXEC_STATUS:
		break;
	default:
		return fail(-EINVAL, err, err_len, "no command %d", (int)cmd);
	}
	if (!json_object_is_type(ret, json_type_object))
		return BAD("return is a %s, not an object",
			   json_type_to_name(json_object_get_type(ret)));
	switch (cmd) {
	case QGA_CMD_EXEC:
		rc = int_member(ret, "return", "pid", 1, INT_MAX, true, &pid, err, err_len);
		out->pid = (int)pid;
		return rc < 0 ? rc : 0;
	case QGA_CMD_EXEC_STATUS:
		return parse_exec_status(ret, out, err, err_len);
	default:
		return 0;
	}
}

static int parse(const char *buf, size_t len, enum qga_cmd cmd, const char *mac,
		 struct qga_reply *out, char *err, size_t err_len)
{
	/* json-c would stop at a NUL and take the text before it. */
	const char *nul = memchr(buf, '\0', len);
	if (nul)
		return BAD("a NUL byte at offset %zu", (size_t)(nul - buf));
	if (len > INT_MAX)
		return fail(-E2BIG, err, err_len, "a reply of %zu bytes", len);
	struct json_tokener *tok = json_tokener_new_ex(QGA_JSON_DEPTH);
	if (!tok)
		return fail(-ENOMEM, err, err_len, "out of memory");
	/* Strict: no comments, no bytes after the text but whitespace
	 * (json-c's strict mode still takes single-quoted strings), valid
	 * UTF-8. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *top = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int rc;
	if (!top) {
		char s[SHOWN_MAX + 4];
		shown(buf, len, s);
		if (jerr == json_tokener_error_depth)
			rc = BAD("nested deeper than %d: '%s'", QGA_JSON_DEPTH, s);
		else if (jerr == json_tokener_continue)
			rc = BAD("not a whole JSON text: '%s'", s);
		else
			rc = BAD("not JSON (%s at byte %zu): '%s'",
				 json_tokener_error_desc(jerr), end, s);
		return rc;
	}
	struct qga_reply r = { .result = { .exit_code = -1 } };
	struct json_object *ret, *error;
	bool has_ret = false, has_error = false;
	if (!json_object_is_type(top, json_type_object)) {
		rc = BAD("the reply is a %s, not an object",
			 json_type_to_name(json_object_get_type(top)));
	} else {
		has_ret = json_object_object_get_ex(top, "return", &ret);
		has_error = json_object_object_get_ex(top, "error", &error);
		if (has_ret && has_error)
			rc = BAD("the reply has both return and error");
		else if (has_error)
			rc = guest_error(error, err, err_len);
		else if (!has_ret)
			rc = BAD("the reply has neither return nor error");
		else
			rc = parse_return(ret, cmd, mac, &r, err, err_len);
	}
	json_object_put(top);
	if (rc == 0)
		*out = r;
	return rc;
}

int qga_reply_parse(const char *buf, size_t len, enum qga_cmd cmd, const char *mac,
		    struct qga_reply *out, char *err, size_t err_len)
{
	char msg[256];
	int rc = parse(buf, len, cmd, mac, out, msg, sizeof(msg));
	if (rc)
		snprintf(err, err_len, "%s: %s", qga_cmd_name(cmd), msg);
	return rc;
}

void qga_exec_result_free(struct qga_exec_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}
