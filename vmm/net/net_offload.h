/* Finishing offloads in software, for a receiver that did not negotiate
 * them: a partial checksum completed, a TCP segment of up to 64 KiB cut
 * into MSS-sized frames. Pure functions over a frame in host memory (the
 * link's bounce buffer, never guest memory, so nothing changes under
 * them). */
#ifndef BULKHEAD_NET_OFFLOAD_H
#define BULKHEAD_NET_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* One's-complement sum of len bytes added to sum (RFC 1071). */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t net_csum_fold(uint32_t sum);

/* VIRTIO_NET_HDR_F_NEEDS_CSUM: sums the frame from csum_start to its
 * end and stores the result at csum_start + csum_offset. Returns 0, or
 * -EINVAL when the offsets do not fit the frame. */
int net_csum_complete(uint8_t *frame, size_t len, uint16_t csum_start,
		      uint16_t csum_offset, char *err, size_t errlen);

/* Receives each segment net_tso_segment makes; returns 0 to go on. */
typedef int (*net_segment_fn)(void *opaque, const uint8_t *frame,
			      size_t len);

/* Cuts a TCP/IPv4 or TCP/IPv6 frame (Ethernet, optionally one VLAN tag)
 * into frames carrying at most mss payload bytes each, with IP lengths,
 * IPv4 ids and header checksums, TCP sequence numbers, flags (FIN and PSH
 * on the last, CWR on the first) and full TCP checksums set. seg_buf
 * (seg_buf_len bytes) holds one segment at a time. Returns the number of
 * segments, or a negative errno with err naming what is wrong (IPv6
 * extension headers, IP options beyond the frame, a non-TCP protocol,
 * a length that disagrees with the frame). */
int net_tso_segment(const uint8_t *frame, size_t len, uint16_t mss,
		    uint8_t *seg_buf, size_t seg_buf_len, net_segment_fn emit,
		    void *opaque, char *err, size_t errlen);

#endif
