/* vhost-user messages: reading one from the socket with its file
 * descriptors, checking it against its request's shape, and replying.
 * The checks (vu_msg_check) are pure, so they can be fuzzed alone. */
#ifndef BULKHEAD_VHOST_USER_MSG_H
#define BULKHEAD_VHOST_USER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost_user_proto.h"

/* Reads one message: the header and any descriptors (SCM_RIGHTS) in one
 * recvmsg, then, only after checking that the announced size fits the
 * payload buffer, the payload. What did not come with the first read may
 * be waited for, at most max_wait_us from the first byte to the last (a
 * deadline per message); *waited_us is the time spent waiting. Returns
 * 0; -ECONNRESET when the peer closed; another negative errno with a
 * message in err. On any error every descriptor received is closed. */
int vu_msg_read(int sock, struct vu_msg *msg, int64_t max_wait_us,
		int64_t *waited_us, char *err, size_t errlen);

/* A request's bit in vu_msg_check's optional set. */
#define VU_REQUEST_BIT(request) (1ull << (request))

/* Checks version, request, size and descriptor count against what the
 * request carries. optional: the requests only some device kinds handle
 * (GET/SET_CONFIG) that this one does, as VU_REQUEST_BITs; any other is
 * unsupported. Returns 0 or a negative errno with a message naming the
 * request and the offending value. Closes nothing. */
int vu_msg_check(const struct vu_msg *msg, uint64_t optional, char *err,
		 size_t errlen);

/* Whether the front end waits for an answer to this request (GET_*),
 * apart from REPLY_ACK. */
bool vu_request_has_reply(uint32_t request);

const char *vu_request_name(uint32_t request);

void vu_msg_close_fds(struct vu_msg *msg);

/* Sends a reply to req carrying size bytes of payload. */
int vu_msg_reply(int sock, const struct vu_msg *req, const void *payload,
		 uint32_t size);

#endif
