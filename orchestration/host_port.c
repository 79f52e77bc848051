#include "host_port.h"

#include <errno.h>

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
		char *mac[] = { "link", "set", "dev", tap, "address", hp->mac, NULL };
		char *mv[] = { "link", "set", "dev", tap, "netns", ns, NULL };
		if (host_net_tap_add(tap, LINK_USER, err, err_len))
			return -EIO;
		*made_tap = true;
		if (host_net_ip(NULL, mac, err, err_len) ||
		    (ns && host_net_ip(NULL, mv, err, err_len)))
			return -EIO;
	}
	char *addr[] = { "addr", "replace", hp->ip, "dev", tap, NULL };
	char *up[] = { "link", "set", "dev", tap, "up", NULL };
	char *route[] = { "route", "replace", "default", "via", hp->gateway,
			  "dev", tap, NULL };
	if (host_net_ip(ns, addr, err, err_len) || host_net_ip(ns, up, err, err_len) ||
	    (hp->default_route && host_net_ip(ns, route, err, err_len)))
		return -EIO;
	return 0;
}

void host_port_down(const struct topology *topo)
{
	char tap[PLAN_IFNAME_MAX + 1];

	plan_host_tap_name(topo, tap);
	host_net_tap_remove(tap, topo->host_port->netns);
}
