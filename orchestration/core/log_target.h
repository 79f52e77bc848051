/* Where the bulkhead command's daemon logs: to systemd's journal when the
 * command runs under systemd with its output there (bulkhead@.service),
 * else to a file of the topology's state (supervisor.log). */
#ifndef BULKHEAD_LOG_TARGET_H
#define BULKHEAD_LOG_TARGET_H

#include <stdbool.h>

/* Whether FD is the stream systemd's JOURNAL_STREAM ("DEVICE:INODE",
 * systemd.exec(5)) names: systemd sets it for a service's stdout/stderr
 * connected to the journal, and a process whose FD is something else
 * (redirected by a shell, inherited by a child) does not match it.
 * JOURNAL_STREAM: the variable's value, or NULL when unset. */
bool log_target_is_journal(const char *journal_stream, int fd);

#endif
