/* A scripted NBD server for hostile-server tests: the newstyle fixed
 * handshake (one export, flush offered), then requests answered with
 * simple replies, one misbehaviour chosen by the test. It plays
 * sys-storage taken over; it trusts the client (test code). */
#ifndef BULKHEAD_NBD_SCRIPT_H
#define BULKHEAD_NBD_SCRIPT_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum nbd_script {
	NBD_SCRIPT_GOOD,        /* answers everything, reads as pattern */
	NBD_SCRIPT_REVERSE,     /* answers reads in pairs, the second first */
	NBD_SCRIPT_BAD_MAGIC,   /* the first read's reply has a wrong magic */
	NBD_SCRIPT_BAD_COOKIE,  /* ... names a request never sent */
	NBD_SCRIPT_SHORT,       /* ... carries half its data, then hangs up */
	NBD_SCRIPT_FLUSH_FAILS, /* flush answered with EIO */
	NBD_SCRIPT_SLOW,        /* reads answered after 300 ms */
	/* The first read held, unanswered; the next request answered; then
	 * it hangs up (sys-storage gone with requests in flight). */
	NBD_SCRIPT_HANGUP,
	NBD_SCRIPT_HANGUP_NO_FLUSH, /* the same, flush not offered */
};

/* Export size and what sector s reads as: bytes (s & 0xff). */
#define NBD_SCRIPT_SIZE (8ull << 20)

static inline bool nbd_full(int fd, void *buf, size_t n, bool out)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t k = out ? write(fd, p, n) : read(fd, p, n);

		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

struct nbd_req_hdr {
	uint32_t magic;
	uint16_t flags, type;
	uint64_t cookie, offset;
	uint32_t len;
} __attribute__((packed));

struct nbd_reply_hdr {
	uint32_t magic, error;
	uint64_t cookie;
} __attribute__((packed));

/* Option haggling until NBD_OPT_GO: the export's size and flags, then
 * ACK; anything else is unsupported. */
static inline bool nbd_script_handshake(int c, bool flush)
{
	uint64_t hello[2] = { htobe64(0x4e42444d41474943ull),
			      htobe64(0x49484156454f5054ull) };
	uint16_t hflags = htobe16(3);   /* FIXED_NEWSTYLE | NO_ZEROES */
	uint32_t cflags;

	if (!nbd_full(c, hello, 16, true) || !nbd_full(c, &hflags, 2, true) ||
	    !nbd_full(c, &cflags, 4, false))
		return false;
	for (;;) {
		struct { uint64_t magic; uint32_t opt, len; } __attribute__((packed)) o;
		struct { uint64_t magic; uint32_t opt, type, len; } __attribute__((packed)) r;
		uint8_t data[4096];
		uint32_t len;

		if (!nbd_full(c, &o, sizeof(o), false))
			return false;
		len = be32toh(o.len);
		if (len > sizeof(data) || !nbd_full(c, data, len, false))
			return false;
		r.magic = htobe64(0x3e889045565a9ull);
		r.opt = o.opt;
		if (be32toh(o.opt) == 7 || be32toh(o.opt) == 6) {  /* GO, INFO */
			struct { uint16_t info; uint64_t size; uint16_t flags; }
				__attribute__((packed)) e = {
				0, htobe64(NBD_SCRIPT_SIZE),
				/* HAS_FLAGS, SEND_FLUSH */
				htobe16(flush ? 1 | 4 : 1) };

			r.type = htobe32(3);  /* REP_INFO */
			r.len = htobe32(sizeof(e));
			if (!nbd_full(c, &r, sizeof(r), true) ||
			    !nbd_full(c, &e, sizeof(e), true))
				return false;
			r.type = htobe32(1);  /* REP_ACK */
			r.len = 0;
			if (!nbd_full(c, &r, sizeof(r), true))
				return false;
			if (be32toh(o.opt) == 7)
				return true;
			continue;
		}
		r.type = htobe32(0x80000001u);  /* REP_ERR_UNSUP */
		r.len = 0;
		if (!nbd_full(c, &r, sizeof(r), true))
			return false;
	}
}

static inline bool nbd_script_reply(int c, uint64_t cookie, uint32_t error,
				    const struct nbd_req_hdr *q, uint32_t magic,
				    uint32_t data_len)
{
	struct nbd_reply_hdr h = { htobe32(magic), htobe32(error), cookie };
	static uint8_t data[1 << 20];
	uint64_t off = be64toh(q->offset);

	if (!nbd_full(c, &h, sizeof(h), true))
		return false;
	for (uint32_t i = 0; i < data_len && i < sizeof(data); i++)
		data[i] = (uint8_t)((off + i) / 512);
	return nbd_full(c, data, data_len, true);
}

/* Serves one connection on the listening socket lfd as script says,
 * until the client leaves (or the script hangs up). */
static inline void nbd_script_serve(int lfd, enum nbd_script script)
{
	int c = accept(lfd, NULL, NULL);
	struct nbd_req_hdr held = { 0 };
	bool holding = false, misbehaved = false;
	static uint8_t sink[1 << 21];

	if (c < 0 ||
	    !nbd_script_handshake(c, script != NBD_SCRIPT_HANGUP_NO_FLUSH))
		return;
	for (;;) {
		struct nbd_req_hdr q;
		uint32_t len;
		uint16_t type;

		if (!nbd_full(c, &q, sizeof(q), false))
			break;
		type = be16toh(q.type);
		len = be32toh(q.len);
		if (type == 1 && (len > sizeof(sink) ||
				  !nbd_full(c, sink, len, false)))
			break;
		if (type == 2)  /* DISC */
			break;
		if (holding && (script == NBD_SCRIPT_HANGUP ||
				script == NBD_SCRIPT_HANGUP_NO_FLUSH)) {
			nbd_script_reply(c, q.cookie, 0, &q, 0x67446698,
					 type == 0 ? len : 0);
			close(c);
			return;
		}
		if (type == 0 && !misbehaved) {
			uint32_t rlen = len;

			switch (script) {
			case NBD_SCRIPT_REVERSE:
				if (!holding) {
					held = q;
					holding = true;
					continue;
				}
				nbd_script_reply(c, q.cookie, 0, &q, 0x67446698, len);
				nbd_script_reply(c, held.cookie, 0, &held,
						 0x67446698, be32toh(held.len));
				holding = false;
				continue;
			case NBD_SCRIPT_BAD_MAGIC:
				misbehaved = true;
				nbd_script_reply(c, q.cookie, 0, &q, 0x12345678, len);
				continue;
			case NBD_SCRIPT_BAD_COOKIE:
				misbehaved = true;
				nbd_script_reply(c, q.cookie ^ 0x5a5a00, 0, &q,
						 0x67446698, len);
				continue;
			case NBD_SCRIPT_SLOW:
				usleep(300 * 1000);
				break;
			case NBD_SCRIPT_HANGUP:
			case NBD_SCRIPT_HANGUP_NO_FLUSH:
				held = q;
				holding = true;
				continue;
			case NBD_SCRIPT_SHORT:
				nbd_script_reply(c, q.cookie, 0, &q, 0x67446698,
						 rlen / 2);
				close(c);
				return;
			default:
				break;
			}
		}
		nbd_script_reply(c, q.cookie,
				 type == 3 && script == NBD_SCRIPT_FLUSH_FAILS ? 5 : 0,
				 &q, 0x67446698, type == 0 ? len : 0);
	}
	close(c);
}

/* A child serving path as script says; returns its pid (or -1). */
static inline pid_t nbd_script_start(const char *path, enum nbd_script script)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lfd, 1) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		nbd_script_serve(lfd, script);
		/* Stays until killed: the worker must not depend on it. */
		pause();
		_exit(0);
	}
	close(lfd);
	return pid;
}

#endif
