/* The host port (topology `host-port`, docs/topology.md): the host's own
 * traffic through a driver VM. Its host side is a persistent tap the
 * host port's bulkhead-link attaches to (--tap-a), so the host's address
 * and routes on it outlive the link's restarts. */
#ifndef BULKHEAD_HOST_PORT_H
#define BULKHEAD_HOST_PORT_H

#include <stdbool.h>
#include <stddef.h>

#include "topology.h"

/* Makes the tap (owned by the link's user), in the host port's namespace
 * (made when missing: *made_netns), with the host port's MAC, IPv6 off
 * (IPv4 and ARP only), the host port's address and, with default-route, the namespace's default route through the
 * driver VM. A tap that exists already is kept and set again (a second up
 * changes nothing). *made_tap: this call made it. Returns 0 or -EIO (err
 * names the command that failed and what it said). */
int host_port_up(const struct topology *topo, bool *made_netns,
		 bool *made_tap, char *err, size_t err_len);

/* Removes the tap (its addresses and routes go with it). */
void host_port_down(const struct topology *topo);

#endif
