/* The vhost-user wire format, back-end side (QEMU docs/interop/
 * vhost-user.rst). No header in linux-libc-dev carries it. */
#ifndef BULKHEAD_VHOST_USER_PROTO_H
#define BULKHEAD_VHOST_USER_PROTO_H

#include <stdint.h>

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_CREATE_CRYPTO_SESSION = 26,
	VU_CLOSE_CRYPTO_SESSION = 27,
	VU_POSTCOPY_ADVISE = 28,
	VU_POSTCOPY_LISTEN = 29,
	VU_POSTCOPY_END = 30,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_GPU_SET_SOCKET = 33,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
	VU_REQUEST_MAX = 41,
};

/* Header flags. */
#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

/* Feature bit of the vhost-user layer itself. */
#define VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_LOG_SHMFD 1
#define VU_PROTOCOL_F_RARP 2
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_MTU 4
#define VU_PROTOCOL_F_BACKEND_REQ 5
#define VU_PROTOCOL_F_CONFIG 9
#define VU_PROTOCOL_F_RESET_DEVICE 13
#define VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

/* SET_VRING_KICK/CALL/ERR payload: index in bits 0-7, bit 8 = no fd. */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

/* SET_MEM_TABLE carries at most this many regions (the spec's
 * VHOST_MEMORY_BASELINE_NREGIONS); more need CONFIGURE_MEM_SLOTS. */
#define VU_MEM_TABLE_MAX 8
/* File descriptors one message may carry. */
#define VU_MAX_FDS 8

/* GET/SET_CONFIG: a window of the device's config space, after a 12-byte
 * header; at most 256 bytes (the spec's VHOST_USER_MAX_CONFIG_SIZE). */
#define VU_CONFIG_HDR 12
#define VU_CONFIG_MAX 256
/* SET_CONFIG flags: written by the driver, or restored by migration. */
#define VU_CONFIG_FRONTEND 0
#define VU_CONFIG_MIGRATION 1

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_uva;
	uint64_t used_uva;
	uint64_t avail_uva;
	uint64_t log_gpa;
};

struct vu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[VU_MEM_TABLE_MAX];
};

struct vu_mem_single {
	uint64_t padding;
	struct vu_mem_region region;
};

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VU_CONFIG_MAX];
};

union vu_payload {
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_mem_table mem;
	struct vu_mem_single mem_one;
	struct vu_config config;
	/* Room for the largest message we accept (GET/SET_CONFIG carry up
	 * to 256 bytes of config after a 12-byte header). */
	uint8_t bytes[VU_CONFIG_HDR + VU_CONFIG_MAX];
};

struct vu_msg {
	struct vu_hdr hdr;
	union vu_payload payload;
	int fds[VU_MAX_FDS];
	unsigned nfds;
};

#endif
