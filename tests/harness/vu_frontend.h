/* A vhost-user front end for tests and benchmarks: plays a VM's QEMU and
 * its virtio-net driver at once. Guest memory is a memfd shared with the
 * back end; the rings are virtio/'s driver-side queues. Every message can
 * also be sent raw, with any size, flags and descriptors, to play a
 * hostile front end. */
#ifndef BULKHEAD_VU_FRONTEND_H
#define BULKHEAD_VU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost_user_proto.h"
#include "virtq_driver.h"

#define FE_RXQ 0
#define FE_TXQ 1
#define FE_BUF_SIZE 2048u

struct fe {
	int sock;
	int memfd;
	uint8_t *mem;            /* guest memory, mapped here too */
	size_t mem_size;
	uint64_t features;       /* negotiated */
	uint64_t protocol_features;
	bool packed;
	uint16_t qsize;
	unsigned hdr_len;
	struct virtq_driver q[2];
	int kick[2], call[2];
	uint64_t next_buf;       /* bump allocator for rings and pools */
	uint64_t pool[2];        /* qsize buffers of FE_BUF_SIZE per queue */
	uint64_t big;            /* one 96 KiB transmit buffer */
	unsigned pool_next[2];   /* rotates: at most qsize are in flight */
	uint64_t buf_gpa[2][VIRTQ_MAX_SIZE]; /* the buffer behind each id */
	uint32_t buf_len[VIRTQ_MAX_SIZE];    /* receive buffer size by id */
	unsigned rx_cont;        /* mergeable buffers still due to a frame */
	unsigned tx_next;        /* fe_tx_burst's next buffer */
	/* Queues fe_start sets up: 0 means net's two; a block device's
	 * one request queue is 1 (set after fe_connect). */
	unsigned nqueues;
	/* A further queue pair of another fe's connection (fe_start_pair):
	 * its q[0], q[1] are vrings vring_base, vring_base + 1; socket and
	 * memory are that fe's (not closed with this one). */
	unsigned vring_base;
	bool borrowed;
};

/* Guest-physical base of the memory (non-zero on purpose). */
#define FE_GPA_BASE 0x100000000ull

/* Connects to a back end's socket (retrying for up to timeout_ms). */
int fe_connect(struct fe *fe, const char *path, int timeout_ms);
void fe_close(struct fe *fe);

/* Raw message: any request, flags, size, payload and descriptors. */
int fe_send(struct fe *fe, uint32_t request, uint32_t flags,
	    const void *payload, uint32_t size, const int *fds, unsigned nfds);
/* Waits for a reply (timeout_ms); returns its payload size, -ETIMEDOUT,
 * or -ECONNRESET when the back end closed the connection. */
int fe_recv(struct fe *fe, struct vu_msg *reply, int timeout_ms);
/* Sends a GET_* request and returns the u64 answer in *value. */
int fe_get_u64(struct fe *fe, uint32_t request, uint64_t *value);

/* The whole normal start: features (wanted & offered), protocol
 * features, memory table, both rings, enable. mem_size bytes of guest
 * memory: a memfd, or the file the caller put in fe->memfd after
 * fe_connect (the harness closes it). Returns 0 or a negative errno. */
int fe_start(struct fe *fe, uint64_t want_features, bool packed,
	     uint16_t qsize, size_t mem_size);

/* Multiqueue: sets pf up as queue pair `pair` (>= 1) of fe's device,
 * started already: its rings and buffers in fe's memory, handed to the
 * back end as vrings 2 pair and 2 pair + 1 over fe's connection, enabled
 * when `enable` (else the caller sends SET_VRING_ENABLE). pf then works
 * with every fe_* call below; fe_close(pf) leaves fe's socket and memory.
 * Returns 0 or a negative errno (-EIO: the back end refused a message). */
int fe_start_pair(struct fe *pf, struct fe *fe, unsigned pair, bool enable);

/* SET_VRING_ENABLE for vring index (REPLY_ACK'd when negotiated).
 * Returns 0, or -EIO when refused. */
int fe_enable(struct fe *fe, uint32_t index, bool on);

/* After its back end went (crashed, or exited): connects to the one now
 * on path (retrying for timeout_ms) and hands it the same features,
 * memory and rings, each queue resuming at its used ring's index, as
 * QEMU 7.2 does when GET_VRING_BASE fails on a lost back end
 * (vhost_virtqueue_stop, virtio_queue_restore_last_avail_idx): what the
 * old one took and never published is taken again. Split rings only.
 * Returns 0 or a negative errno. */
int fe_resume(struct fe *fe, const char *path, int timeout_ms);

/* Posts n receive buffers of FE_BUF_SIZE bytes and kicks. */
int fe_post_rx(struct fe *fe, unsigned n);
/* The same with buffers of len bytes (at most FE_BUF_SIZE). */
int fe_post_rx_len(struct fe *fe, unsigned n, uint32_t len);
/* Transmits one frame (a zeroed virtio-net header in front) and kicks. */
int fe_send_frame(struct fe *fe, const uint8_t *frame, size_t len);
/* Publishes added buffers and kicks when the back end wants it. */
void fe_kick(struct fe *fe, unsigned qi);
/* Reaps used transmit buffers; returns how many. */
unsigned fe_reap_tx(struct fe *fe);
/* Takes one received frame (header stripped) into buf; returns its
 * length, or -EAGAIN when none arrived within timeout_ms. */
int fe_recv_frame(struct fe *fe, uint8_t *buf, size_t cap, int timeout_ms);
/* The same, gathering a frame spread over mergeable buffers, and giving
 * its virtio-net header (12 bytes) too. */
int fe_recv_frame_hdr(struct fe *fe, uint8_t *hdr, uint8_t *buf, size_t cap,
		      int timeout_ms);
/* Transmits a frame of up to 64 KiB with the given 12-byte header, from
 * one large buffer; waits for the previous one to be used first. */
int fe_send_big(struct fe *fe, const uint8_t *hdr, const uint8_t *frame,
		size_t len);

/* Benchmark fast path: many buffers per call, one kick per call, no
 * copies (transmit buffers are filled once, in advance). */

/* Reserves bytes of guest memory (64-byte aligned) after what fe_start
 * took. Returns its guest-physical address, or 0 when it does not fit. */
uint64_t fe_alloc_buf(struct fe *fe, uint64_t bytes);
/* Reaps used transmit buffers, then adds up to max frames of len bytes
 * (header included) from nbufs prefilled buffers at gpa, gpa + stride,
 * ... (taken in turn), and kicks once. Returns the frames added. */
unsigned fe_tx_burst(struct fe *fe, uint64_t gpa, uint32_t stride,
		     unsigned nbufs, uint32_t len, unsigned max);
/* Posts n receive buffers of len bytes at gpa, gpa + len, ... and kicks
 * once. Returns 0 or a negative errno. */
int fe_post_rx_bufs(struct fe *fe, uint64_t gpa, unsigned n, uint32_t len);
/* Reaps up to max used receive buffers, gives each back at once (one kick
 * for all), and adds the frames that began in them to *frames and their
 * bytes (headers not counted) to *bytes. Returns the buffers reaped. */
unsigned fe_rx_burst(struct fe *fe, unsigned max, uint64_t *frames,
		     uint64_t *bytes);

/* A host pointer for a guest-physical address inside the memory. */
void *fe_hva(struct fe *fe, uint64_t gpa);

#endif
