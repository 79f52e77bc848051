/* bulkhead console: the guest's serial console reaches the admin's
 * terminal only through the console filter (console_filter.h). The
 * console client (virsh console) runs on a pseudo-terminal of its own; what
 * it prints goes through the filter, what the admin types goes to it
 * unchanged (Ctrl-] still ends virsh's session). */
#ifndef BULKHEAD_CONSOLE_RELAY_H
#define BULKHEAD_CONSOLE_RELAY_H

/* Runs ARGV (argv[0] found on PATH) on a new pseudo-terminal; relays
 * IN_FD to it and its output, filtered, to OUT_FD until it exits. A
 * terminal on IN_FD is raw for the session (restored after). Returns
 * ARGV's exit status (128 + N when killed by signal N) or a negative
 * errno. */
int console_relay_run(char *const argv[], int in_fd, int out_fd);

#endif
