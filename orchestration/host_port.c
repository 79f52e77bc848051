#include "host_port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host_net.h"
#include "plan.h"

/* The user bulkhead-link workers become (vmm/bulkhead_link.c). */
#define LINK_USER "bulkhead"

int host_port_up(const struct topology *topo, bool *made_netns,
		 bool *made_tap, char *err, size_t err_len)
{
	const struct topo_host_port *hp = topo->host_port;
	char tap[PLAN_IFNAME_MAX + 1];
	char *ns = hp->netns;

	*made_netns = *made_tap = false;
	plan_host_tap_name(topo, tap);
	if (ns && !host_net_netns_exists(ns)) {
		if (host_net_netns_add(ns, err, err_len))
			return -EIO;
		*made_netns = true;
	}
	if (!host_net_link_exists(ns, tap)) {
		/* Made in the host's namespace, then moved: "ip tuntap" has
		 * no -n. */
		char *add[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap",
				"user", LINK_USER, NULL };
		char *mac[] = { "ip", "link", "set", "dev", tap, "address",
				hp->mac, NULL };
		char *mv[] = { "ip", "link", "set", "dev", tap, "netns", ns, NULL };
		if (run_command(add, err, err_len))
			return -EIO;
		*made_tap = true;
		if (run_command(mac, err, err_len) ||
		    (ns && run_command(mv, err, err_len)))
			return -EIO;
	}
	/* "ip -n NS" with NS NULL would end the argv early: the host's own
	 * namespace is "ip" without -n. */
	char *in_ns[3] = { "ip", ns ? "-n" : NULL, ns };
	unsigned k = ns ? 3 : 1;
	char *addr[12], *up[12], *route[14];
	memcpy(addr, in_ns, sizeof(in_ns));
	memcpy(up, in_ns, sizeof(in_ns));
	memcpy(route, in_ns, sizeof(in_ns));
	char *addr_tail[] = { "addr", "replace", hp->ip, "dev", tap, NULL };
	char *up_tail[] = { "link", "set", "dev", tap, "up", NULL };
	char *route_tail[] = { "route", "replace", "default", "via", hp->gateway,
			       "dev", tap, NULL };
	memcpy(addr + k, addr_tail, sizeof(addr_tail));
	memcpy(up + k, up_tail, sizeof(up_tail));
	memcpy(route + k, route_tail, sizeof(route_tail));
	if (run_command(addr, err, err_len) || run_command(up, err, err_len) ||
	    (hp->default_route && run_command(route, err, err_len)))
		return -EIO;
	return 0;
}

void host_port_down(const struct topology *topo)
{
	char tap[PLAN_IFNAME_MAX + 1], err[256];

	plan_host_tap_name(topo, tap);
	if (host_net_link_exists(topo->host_port->netns, tap) &&
	    host_net_link_delete(topo->host_port->netns, tap, err, sizeof(err)))
		fprintf(stderr, "bulkhead: %s\n", err);
}
