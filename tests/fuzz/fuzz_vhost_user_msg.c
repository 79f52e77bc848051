/* The vhost-user message path under arbitrary input: the input is a
 * stream of messages, each a 12-byte header, its payload, and one byte
 * saying how many descriptors ride along (small memfds, so memory-table
 * messages map real, if small, files). Every message goes through the
 * same check-then-dispatch path as the socket, into a back end that
 * accumulates state (features, memory, rings) across the stream. Nothing
 * may crash, leak a descriptor or a mapping. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost_user_dev.h"
#include "vhost_user_msg.h"
#include "net_vu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MEMFD_BYTES (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_dev dev;
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       pair) < 0)
		abort();
	vu_dev_init(&dev, "fuzz", &net_vu_kind, NULL, NULL);
	/* Two queue pairs (bulkhead-link --queues 2): vrings 0..3 take
	 * state, 4 and up are refused; the one-pair refusal is the same
	 * check with a smaller bound. */
	net_vu_set_pairs(&dev, 2);
	vu_dev_attach(&dev, pair[0]);
	while (size >= sizeof(struct vu_hdr) + 1) {
		struct vu_msg msg;
		uint8_t nfds;
		char sink[4096];

		memcpy(&msg.hdr, data, sizeof(msg.hdr));
		data += sizeof(msg.hdr);
		size -= sizeof(msg.hdr);
		/* The socket path refuses sizes over the payload before
		 * reading; so does this. */
		if (msg.hdr.size > sizeof(msg.payload) || msg.hdr.size > size - 1)
			break;
		memcpy(msg.payload.bytes, data, msg.hdr.size);
		data += msg.hdr.size;
		size -= msg.hdr.size;
		nfds = *data++ % (VU_MAX_FDS + 1);
		size--;
		msg.nfds = nfds;
		for (unsigned i = 0; i < nfds; i++) {
			msg.fds[i] = memfd_create("fuzz", MFD_CLOEXEC);
			if (msg.fds[i] < 0 ||
			    ftruncate(msg.fds[i], FUZZ_MEMFD_BYTES) < 0)
				abort();
		}
		vu_dev_handle_msg(&dev, &msg);
		/* Replies are read and thrown away, so the socket never
		 * fills. */
		while (read(pair[1], sink, sizeof(sink)) > 0)
			;
	}
	vu_dev_detach(&dev);
	close(pair[1]);
	return 0;
}
