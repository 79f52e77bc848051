/* The host's qemu-guest-agent client: an app VM made from the Debian
 * template runs qemu-ga on the virtio-serial port org.qemu.guest_agent.0,
 * whose unix socket the VM's QEMU listens on. The socket's listener must
 * run as the VM's uid (agent_socket.c), as for the agent channel.
 *
 * Each call connects, and for each command first resynchronises
 * (guest-sync-delimited with a random id: qemu-ga puts 0xFF before that
 * reply, so whatever a previous client left unread, and replies to other
 * ids, are skipped), then sends the one command and reads its one reply
 * (a line, capped: QGA_REPLY_MAX, 64 KiB; guest-exec-status's, which
 * carries the whole output, QGA_EXEC_STATUS_REPLY_MAX; over it -E2BIG),
 * parsed once by qga_reply_parse. Everything the guest says is hostile: a
 * reply that is not an answer gives -EBADMSG, the guest's own error -EIO,
 * each with ERR naming the value. Nothing waits past TIMEOUT_MS
 * (-ETIMEDOUT). */
#ifndef BULKHEAD_QGA_H
#define BULKHEAD_QGA_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "agent.h"
#include "qga_reply.h"

/* Which qemu-ga: a domain's, through libvirt, which holds the VM's
 * org.qemu.guest_agent.0 channel itself (QEMU takes one client on it) and
 * syncs with the agent (virDomainQemuAgentCommand; what `virsh
 * qemu-agent-command` uses); or, with CONN NULL, a qemu-ga socket of one's
 * own (SOCK: the tests' host qemu-ga, a channel libvirt does not hold).
 * Either way every reply is parsed here, once, under the same caps; the
 * unit test's hostile agent speaks over a socket, so the libvirt path's
 * own lines are what the template VM tests run. */
struct qga_target {
	virConnectPtr conn;
	const char *domain;
	const struct agent_addr *sock;
};

/* Whether qemu-ga answers (guest-ping): 0 or -errno. Connecting is
 * retried until the deadline (the socket appears when the VM starts). */
int qga_ping(const struct qga_target *to, int timeout_ms, char *err, size_t err_len);

/* Runs ARGV (argv[0] a path in the guest; NULL-terminated) in the guest
 * with its output captured, and waits for it to end (guest-exec-status,
 * polled with a growing pause). 0 with OUT filled (free it with
 * qga_exec_result_free), -E2BIG when a stream is over QGA_OUTPUT_MAX, or
 * -errno. After -ETIMEDOUT the command may still run in the guest:
 * qemu-ga has no way to stop it. */
int qga_exec(const struct qga_target *to, const char *const *argv, int timeout_ms,
	     struct qga_exec_result *out, char *err, size_t err_len);
/* qga_exec for a caller that may wait again: with *PID 0 it starts ARGV
 * and puts the guest's pid in *PID; with *PID set it waits for that
 * command, started before, instead of starting another. 0 once it ended
 * (*PID back to 0). After an error with *PID set the command may still
 * run: waiting for it again starts nothing beside it. */
int qga_exec_pid(const struct qga_target *to, const char *const *argv, int *pid,
		 int timeout_ms, struct qga_exec_result *out, char *err,
		 size_t err_len);

/* The first IPv4 address of the guest's interface with hardware address
 * MAC ("xx:xx:xx:xx:xx:xx") as the guest says it
 * (guest-network-get-interfaces): 0 with OUT set, -EAGAIN while there is
 * none (no such interface yet, or no address on it), -EINVAL for a bad
 * MAC, or -errno. A unicast address, but the guest's word: the caller
 * checks it is in the VM's network before going there. */
int qga_ipv4_of(const struct qga_target *to, const char *mac, char out[INET_ADDRSTRLEN],
		int timeout_ms, char *err, size_t err_len);

/* Asks the guest to power down (guest-shutdown, mode powerdown). qemu-ga
 * answers only a refusal (-EIO): 0 when none came within
 * QGA_SHUTDOWN_REFUSAL_MS (or TIMEOUT_MS, if less) or the channel
 * closed (the VM went down). Whether the VM stops is for the caller to
 * watch. */
#define QGA_SHUTDOWN_REFUSAL_MS 2000
int qga_shutdown(const struct qga_target *to, int timeout_ms, char *err, size_t err_len);

#endif
