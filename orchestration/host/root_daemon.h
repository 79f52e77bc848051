/* Whether a root daemon (libvirtd, virtlogd) runs, decided from what only
 * root can make: any user may start a process named libvirtd (pgrep would
 * count it, and up would then not start the real one). */
#ifndef BULKHEAD_ROOT_DAEMON_H
#define BULKHEAD_ROOT_DAEMON_H

#include <stdbool.h>

/* Whether PID_FILE (a regular file owned by root, writable by no one
 * else: what the daemon's -d writes, e.g. /run/libvirtd.pid) names a live
 * process whose real and effective uids are 0 and whose executable is
 * called NAME (".../NAME", " (deleted)" after an upgrade replaced it).
 * PROC_ROOT: "/proc" (tests pass a tree of their own). */
bool root_daemon_runs(const char *proc_root, const char *pid_file,
		      const char *name);

#endif
