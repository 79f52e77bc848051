/* The host's end of a VM's agent channel (virtio-serial port
 * org.bulkhead.agent, a unix socket QEMU listens on). sys-net reports
 * BOOTING / READY / ERROR lines (docs/sysnet.md); an app VM reports READY
 * and runs the host's commands (guest-os/build-images, bk.role=app).
 * Guest text is untrusted: lines are cut at AGENT_LINE_MAX and only
 * printable ASCII is kept before anything shows or parses them. */
#ifndef BULKHEAD_AGENT_H
#define BULKHEAD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AGENT_LINE_MAX 256

/* A VM's agent: the socket (in a directory only root reaches) and the uid
 * its QEMU runs as. A connection whose listener is not that uid is
 * refused (-EPERM): a line from one VM's QEMU is never taken as
 * another's, even if a path were swapped. */
struct agent_addr {
	const char *path;
	uid_t uid;
};

/* Whether the VM behind an agent socket still runs; NULL: not asked. */
struct agent_alive {
	bool (*alive)(void *arg);
	void *arg;
};

/* Waits up to TIMEOUT_MS for a line starting with READY (0) or ERROR
 * (-EIO); the line is left in LINE. *heard tells whether the guest said
 * anything at all (how a boot under KVM proves itself). -ETIMEDOUT when
 * neither came; -ESRCH as soon as ALIVE (when given) says the VM is gone
 * (stopped meanwhile: nothing will come). */
int agent_wait_ready(const struct agent_addr *to, const struct agent_alive *alive,
		     int timeout_ms, char *line,
		     size_t line_len, bool *heard);

/* Runs CMD in an app VM (one line, no newline) and copies its output to
 * OUT_FD as it comes; returns its exit status (>= 0) or a negative errno
 * (-ETIMEDOUT after TIMEOUT_MS; the guest stops CMD about then too, with
 * status 143). */
int agent_exec(const struct agent_addr *to, const char *cmd, int timeout_ms, int out_fd);

/* Sends a new configuration to sys-net (CONFIG-LINE ... CONFIG-END) and
 * waits up to TIMEOUT_MS for its answer, left in REPLY: 0 for "UPDATED
 * ...", -EIO for "UPDATE-ERROR ...", -ETIMEDOUT. */
int agent_send_config(const struct agent_addr *to, const char *config, int timeout_ms,
		      char *reply, size_t reply_len);

/* Asks a driver VM's agent (REQUEST ID WORDS; its kind's bk-request
 * answers, docs/sysusb.md) and hands each line of the answer, printable
 * ASCII only, to ON_LINE (a negative return stops it and is returned).
 * WORDS: A-Z a-z 0-9 : . _ - and spaces only (-EINVAL). Returns the
 * answer's status (0..255), -ETIMEDOUT after TIMEOUT_MS, or -errno. */
int agent_request(const struct agent_addr *to, const char *words, int timeout_ms,
		  int (*on_line)(const char *line, void *arg), void *arg);

#endif
