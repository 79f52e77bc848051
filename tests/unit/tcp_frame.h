/* Frames for the offload and link tests: big-endian fields and a TCP
 * segment over IPv4 or IPv6 (source MAC aa:aa:aa:aa:aa:aa, addresses
 * 10.0.0.1 -> 10.0.0.2 or ::1 -> ::2, ports 40000 -> 80, sequence
 * 0x01000000, the checksums left for the test to fill or complete). */
#ifndef BULKHEAD_TCP_FRAME_H
#define BULKHEAD_TCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 (or IPv6) + TCP header, then payload bytes i & 0xff. */
static inline size_t make_tcp(uint8_t *f, bool v6, size_t payload, uint8_t flags)
{
	size_t l3 = 14, l4 = l3 + (v6 ? 40 : 20), off = l4 + 20;

	memset(f, 0, off);
	memset(f, 0xaa, 12);
	put16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[l3] = 0x60;
		put16(f + l3 + 4, (uint16_t)(20 + payload));
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		f[l3 + 8 + 15] = 1;
		f[l3 + 24 + 15] = 2;
	} else {
		f[l3] = 0x45;
		put16(f + l3 + 2, (uint16_t)(20 + 20 + payload));
		put16(f + l3 + 4, 0x1234);
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		f[l3 + 12] = 10;
		f[l3 + 15] = 1;
		f[l3 + 16] = 10;
		f[l3 + 19] = 2;
	}
	put16(f + l4, 40000);
	put16(f + l4 + 2, 80);
	f[l4 + 4] = 0x01; /* seq 0x01000000 */
	f[l4 + 12] = 0x50;
	f[l4 + 13] = flags;
	for (size_t i = 0; i < payload; i++)
		f[off + i] = (uint8_t)i;
	return off + payload;
}

#endif
