/* Becoming an unprivileged identity for good: the one way Bulkhead drops
 * root, shared by a link worker's sandbox (sandbox.c) and the commands
 * the host runs as a VM's own uid (run_command_as, host_net.h). */
#ifndef BULKHEAD_DROP_IDS_H
#define BULKHEAD_DROP_IDS_H

#include <stddef.h>
#include <sys/types.h>

/* From root: no supplementary groups, real, effective and saved gid GID
 * and uid UID, no capabilities (permitted, effective, inheritable,
 * ambient), no new privileges (a setuid file it executes gives none).
 * Each call is checked: 0, or a negative errno and ERR naming the step.
 * Only system calls and snprintf: callable in a child between fork and
 * exec. */
int drop_ids(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
