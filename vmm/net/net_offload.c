#include "net_offload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_VLAN 0x8100
#define IPPROTO_TCP_NUM 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t acc = sum;

	for (; len >= 2; p += 2, len -= 2)
		acc += get16(p);
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_csum_complete(uint8_t *frame, size_t len, uint16_t csum_start,
		      uint16_t csum_offset, char *err, size_t errlen)
{
	uint16_t c;

	if (csum_start >= len || len - csum_start < 2 ||
	    csum_offset > len - csum_start - 2) {
		snprintf(err, errlen,
			 "csum_start %u + csum_offset %u outside frame of %zu bytes",
			 csum_start, csum_offset, len);
		return -EINVAL;
	}
	c = net_csum_fold(net_csum_add(0, frame + csum_start, len - csum_start));
	/* 0 and 0xffff are the same in one's complement; 0 would mean "no
	 * checksum" to UDP. */
	put16(frame + csum_start + csum_offset, c ? c : 0xffff);
	return 0;
}

struct tcp_frame {
	size_t l3;        /* offset of the IP header */
	size_t l4;        /* offset of the TCP header */
	size_t payload;   /* offset of the payload */
	size_t end;       /* end of the IP packet (padding excluded) */
	bool ipv6;
};

static int parse_tcp_frame(const uint8_t *f, size_t len, struct tcp_frame *t,
			   char *err, size_t errlen)
{
	size_t l3 = ETH_HLEN;
	uint16_t type;

	if (len < ETH_HLEN + 4)
		goto short_frame;
	type = get16(f + 12);
	if (type == ETH_P_VLAN) {
		type = get16(f + 16);
		l3 += 4;
	}
	t->l3 = l3;
	if (type == ETH_P_IPV4) {
		size_t ihl, tot;

		if (len < l3 + 20)
			goto short_frame;
		ihl = (size_t)(f[l3] & 0x0f) * 4;
		tot = get16(f + l3 + 2);
		if ((f[l3] >> 4) != 4 || ihl < 20 || f[l3 + 9] != IPPROTO_TCP_NUM) {
			snprintf(err, errlen,
				 "TSO frame: IPv4 version/ihl 0x%02x protocol %u is not TCP over IPv4",
				 f[l3], f[l3 + 9]);
			return -EINVAL;
		}
		if (tot < ihl || l3 + tot > len) {
			snprintf(err, errlen,
				 "TSO frame: IPv4 total length %zu, frame has %zu",
				 tot, len - l3);
			return -EINVAL;
		}
		t->ipv6 = false;
		t->l4 = l3 + ihl;
		t->end = l3 + tot;
	} else if (type == ETH_P_IPV6) {
		size_t plen;

		if (len < l3 + 40)
			goto short_frame;
		plen = get16(f + l3 + 4);
		if (f[l3 + 6] != IPPROTO_TCP_NUM) {
			snprintf(err, errlen,
				 "TSO frame: IPv6 next header %u is not TCP",
				 f[l3 + 6]);
			return -EINVAL;
		}
		if (l3 + 40 + plen > len) {
			snprintf(err, errlen,
				 "TSO frame: IPv6 payload length %zu, frame has %zu",
				 plen, len - l3 - 40);
			return -EINVAL;
		}
		t->ipv6 = true;
		t->l4 = l3 + 40;
		t->end = l3 + 40 + plen;
	} else {
		snprintf(err, errlen, "TSO frame: ethertype 0x%04x is not IP",
			 type);
		return -EINVAL;
	}
	if (t->end < t->l4 + 20)
		goto short_frame;
	size_t doff = (size_t)(f[t->l4 + 12] >> 4) * 4;

	if (doff < 20 || t->l4 + doff > t->end) {
		snprintf(err, errlen, "TSO frame: TCP data offset %zu invalid",
			 doff);
		return -EINVAL;
	}
	t->payload = t->l4 + doff;
	return 0;
short_frame:
	snprintf(err, errlen, "TSO frame of %zu bytes too short for its headers",
		 len);
	return -EINVAL;
}

/* TCP checksum over the pseudo header (RFC 793, RFC 8200 8.1). */
static uint16_t tcp_checksum(const uint8_t *seg, const struct tcp_frame *t,
			     size_t tcp_len)
{
	uint32_t sum;
	uint8_t pseudo[8];

	if (t->ipv6) {
		sum = net_csum_add(0, seg + t->l3 + 8, 32);
		put32(pseudo, (uint32_t)tcp_len);
		pseudo[4] = pseudo[5] = pseudo[6] = 0;
		pseudo[7] = IPPROTO_TCP_NUM;
		sum = net_csum_add(sum, pseudo, 8);
	} else {
		sum = net_csum_add(0, seg + t->l3 + 12, 8);
		pseudo[0] = 0;
		pseudo[1] = IPPROTO_TCP_NUM;
		put16(pseudo + 2, (uint16_t)tcp_len);
		sum = net_csum_add(sum, pseudo, 4);
	}
	return net_csum_fold(net_csum_add(sum, seg + t->l4, tcp_len));
}

int net_tso_segment(const uint8_t *frame, size_t len, uint16_t mss,
		    uint8_t *seg_buf, size_t seg_buf_len, net_segment_fn emit,
		    void *opaque, char *err, size_t errlen)
{
	struct tcp_frame t;
	size_t hdrs, data, off;
	uint32_t seq;
	uint16_t ip_id;
	uint8_t flags;
	int nseg = 0;
	int ret = parse_tcp_frame(frame, len, &t, err, errlen);

	if (ret < 0)
		return ret;
	if (mss == 0) {
		snprintf(err, errlen, "TSO frame: gso_size 0");
		return -EINVAL;
	}
	hdrs = t.payload;
	data = t.end - t.payload;
	if (hdrs + mss > seg_buf_len) {
		snprintf(err, errlen, "TSO frame: gso_size %u too large", mss);
		return -EINVAL;
	}
	seq = get32(frame + t.l4 + 4);
	ip_id = t.ipv6 ? 0 : get16(frame + t.l3 + 4);
	flags = frame[t.l4 + 13];
	off = 0;
	do {
		size_t chunk = data - off < mss ? data - off : mss;
		bool first = off == 0, last = off + chunk == data;
		uint8_t *s = seg_buf;

		memcpy(s, frame, hdrs);
		memcpy(s + hdrs, frame + hdrs + off, chunk);
		if (t.ipv6) {
			put16(s + t.l3 + 4, (uint16_t)(hdrs - t.l4 + chunk));
		} else {
			put16(s + t.l3 + 2, (uint16_t)(hdrs - t.l3 + chunk));
			put16(s + t.l3 + 4, (uint16_t)(ip_id + nseg));
			put16(s + t.l3 + 10, 0);
			put16(s + t.l3 + 10,
			      net_csum_fold(net_csum_add(0, s + t.l3, t.l4 - t.l3)));
		}
		put32(s + t.l4 + 4, seq + (uint32_t)off);
		s[t.l4 + 13] = (uint8_t)(flags &
			~(last ? 0 : (TCP_FIN | TCP_PSH)) &
			~(first ? 0 : TCP_CWR));
		put16(s + t.l4 + 16, 0);
		put16(s + t.l4 + 16, tcp_checksum(s, &t, hdrs - t.l4 + chunk));
		ret = emit(opaque, s, hdrs + chunk);
		if (ret < 0)
			return ret;
		nseg++;
		off += chunk;
	} while (off < data);
	return nseg;
}
