#include "host_port.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "host_net.h"
#include "plan.h"

/* The user bulkhead-link workers become (vmm/net/bulkhead_link.c). */
#define LINK_USER "bulkhead"

/* The host port carries IPv4 and ARP only (docs/security.md): with IPv6
 * on, one router advertisement from a compromised driver VM would give
 * the host an IPv6 default route through it, whatever default-route
 * says. The link drops what is neither on its way to the tap; this is
 * the host's own refusal, should a frame get through. Within IPv4 the
 * host's routes are its own too: no ICMP redirect from the driver VM is
 * taken. Set on every up, before the tap is up: a tap kept from an older
 * up gets it too. */
static int tap_ipv4_only(const char *ns, const char *tap, char *err,
			 size_t err_len)
{
	static const struct { const char *family, *name, *value; } keys[] = {
		{ "ipv4", "accept_redirects", "0" },
		{ "ipv6", "accept_ra", "0" },
		{ "ipv6", "disable_ipv6", "1" },
	};
	char key[64], why[200];

	/* A kernel without IPv6 (ipv6.disable=1) has no such settings, and
	 * nothing to turn off. */
	bool ipv6 = access("/proc/sys/net/ipv6", F_OK) == 0;
	for (unsigned i = 0; i < (ipv6 ? 3u : 1u); i++) {
		snprintf(key, sizeof(key), "net.%s.conf.%s.%s", keys[i].family, tap,
			 keys[i].name);
		if (host_net_sysctl(ns, key, keys[i].value, why, sizeof(why))) {
			snprintf(err, err_len, "host port tap %s in namespace %s: "
				 "%s=%s: %s", tap, ns && ns[0] ? ns : "(the host's)",
				 key, keys[i].value, why);
			return -EIO;
		}
	}
	return 0;
}

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
	if (tap_ipv4_only(ns, tap, err, err_len))
		return -EIO;
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
