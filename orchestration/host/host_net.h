/* The host's side of emulated NICs: network namespaces and taps, made with
 * iproute2 (the one tool every Linux host has; Bulkhead's own processes
 * never need these privileges). */
#ifndef BULKHEAD_HOST_NET_H
#define BULKHEAD_HOST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Runs ARGV (a NULL-terminated argv; argv[0] found on PATH) and waits. On
 * a non-zero exit: -EIO, and err holds the command and its output. */
int run_command(char *const argv[], char *err, size_t err_len);

/* As run_command, the command running as ID (uid and gid, a VM's own:
 * vm_ids.h) with no supplementary groups, no capabilities and no new
 * privileges (drop_ids.h), and of this process's descriptors only
 * KEEP_FD (-1: none; it is inherited even when close-on-exec). What it
 * reaches is what that id reaches. ID 0: as root, as run_command (which
 * inherits whatever is not close-on-exec). */
int run_command_as(char *const argv[], uid_t id, int keep_fd, char *err,
		   size_t err_len);

bool host_net_netns_exists(const char *netns);
int host_net_netns_add(const char *netns, char *err, size_t err_len);
int host_net_netns_delete(const char *netns, char *err, size_t err_len);

/* Runs "ip ARGS" (NULL-terminated, at most HOST_NET_IP_ARGS) in NETNS
 * ("ip -n NETNS ..."), or in the host's namespace when NETNS is NULL or
 * "". As run_command. */
#define HOST_NET_IP_ARGS 12
int host_net_ip(const char *netns, char *const args[], char *err,
		size_t err_len);

/* Sets sysctl KEY (dotted: net.ipv6.conf.IFNAME.disable_ipv6) to VALUE
 * in NETNS (NULL or "": the host's namespace). As run_command. */
int host_net_sysctl(const char *netns, const char *key, const char *value,
		    char *err, size_t err_len);

/* Whether tap NAME exists in NETNS (NULL: the host's namespace). */
bool host_net_link_exists(const char *netns, const char *name);
/* A tap in the host's namespace; owned by USER when not NULL (who may
 * then attach to it unprivileged). */
int host_net_tap_add(const char *name, const char *user, char *err,
		     size_t err_len);
/* Moves tap NAME from the host's namespace into NETNS, into BRIDGE there
 * when not NULL, and sets it up. */
int host_net_tap_move(const char *name, const char *netns, const char *bridge,
		      char *err, size_t err_len);
int host_net_link_delete(const char *netns, const char *name, char *err,
			 size_t err_len);
/* Finds tap NAME in NETNS (NULL or "": none) or else the host's
 * namespace, wherever Bulkhead may have left it, and deletes it. */
void host_net_tap_remove(const char *name, const char *netns);

#endif
