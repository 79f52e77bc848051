/* Connecting to a VM's unix socket that its QEMU listens on (a
 * virtio-serial port's chardev: the agent channel, agent.c, and qemu-ga,
 * qga.c), with the check that the listener is that VM's QEMU. */
#ifndef BULKHEAD_AGENT_SOCKET_H
#define BULKHEAD_AGENT_SOCKET_H

#include "agent.h"

/* Connects to TO->path, retrying until DEADLINE (mono_ms(), mono_time.h):
 * QEMU creates the socket when the domain starts, and only one client is
 * served at a time. Returns the connected fd (sends bounded by
 * SO_SNDTIMEO about the deadline), -EPERM when the listener is not
 * TO->uid, -ESRCH as soon as ALIVE (when given) says the VM is gone,
 * -ENAMETOOLONG, or the last connect error at the deadline. */
int agent_socket_connect(const struct agent_addr *to,
			 const struct agent_alive *alive, long long deadline);

#endif
