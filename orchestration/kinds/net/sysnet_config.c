#include "sysnet_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "strbuf.h"

static const char *const proto_names[] = {
	[TOPO_PROTO_ANY] = "any", [TOPO_PROTO_TCP] = "tcp",
	[TOPO_PROTO_UDP] = "udp", [TOPO_PROTO_ICMP] = "icmp",
};

/* The uplink NIC's MAC: the file's, else the one emulated NIC's; with a
 * passed-through NIC its MAC is unknown in advance and sys-net takes the
 * one interface that is not a downstream. */
static void uplink_mac(const struct topology *topo,
		       const struct topo_driver_vm *drv, struct strbuf *sb)
{
	if (drv->uplink && drv->uplink->mac) {
		strbuf_printf(sb, " mac=%s", drv->uplink->mac);
		return;
	}
	if (drv->devices_count != 1 || drv->devices[0].emulated == TOPO_EMULATED_NONE)
		return;
	char mac[18];
	if (drv->devices[0].mac)
		snprintf(mac, sizeof(mac), "%s", drv->devices[0].mac);
	else
		plan_emulated_mac(topo, drv->name, 0, mac);
	strbuf_printf(sb, " mac=%s", mac);
}

static void firewall_lines(const struct topo_firewall *fw, struct strbuf *sb)
{
	for (unsigned i = 0; i < fw->rules_count; i++) {
		const struct topo_rule *r = &fw->rules[i];
		strbuf_printf(sb, "firewall %s",
			      r->action == TOPO_RULE_ALLOW ? "allow" : "deny");
		if (r->dst)
			strbuf_printf(sb, " dst=%s", r->dst);
		strbuf_printf(sb, " proto=%s", proto_names[r->proto]);
		if (r->port) {
			/* sys-net takes "P" or "P-Q" with P < Q. */
			unsigned lo, hi;
			if (sscanf(r->port, "%u-%u", &lo, &hi) == 2 && lo == hi)
				strbuf_printf(sb, " port=%u", lo);
			else
				strbuf_printf(sb, " port=%s", r->port);
		}
		strbuf_printf(sb, "\n");
	}
}

char *sysnet_config(const struct topology *topo,
		    const struct topo_driver_vm *drv, char *err, size_t err_len)
{
	struct strbuf sb = { 0 };
	strbuf_printf(&sb, "# sys-net configuration for %s (topology %s),"
		      " written by the bulkhead command\nversion 1\n",
		      drv->name, topo->name);
	const struct topo_uplink *up = drv->uplink;
	if (up && up->mode == TOPO_UPLINK_STATIC) {
		strbuf_printf(&sb, "uplink static address=%s gateway=%s",
			      up->address, up->gateway);
		for (unsigned i = 0; i < up->dns_count; i++)
			strbuf_printf(&sb, "%s%s", i ? "," : " dns=", up->dns[i]);
		/* Canonical text already (topology_check.c). */
		if (up->address6)
			strbuf_printf(&sb, " address6=%s gateway6=%s",
				      up->address6, up->gateway6);
	} else {
		strbuf_printf(&sb, "uplink dhcp");
	}
	uplink_mac(topo, drv, &sb);
	strbuf_printf(&sb, "\n");

	/* The host port first: app VMs added later are appended after the
	 * downstreams sys-net has, which it takes live. No firewall (the host
	 * has its own) and no IPv6 (its addresses are the host's business). */
	const struct topo_host_port *hp = topo->host_port;
	if (hp && strcmp(hp->via, drv->name) == 0) {
		char ds_mac[18];
		plan_downstream_mac(topo, PLAN_HOST_PORT_LINK, ds_mac);
		const char *slash = strchr(hp->ip, '/');
		strbuf_printf(&sb, "# the host port\ndownstream mac=%s address=%s%s"
			      " app-mac=%s app-ip=%.*s policy=accept\n", ds_mac,
			      hp->gateway, slash ? slash : "", hp->mac,
			      (int)(slash ? (size_t)(slash - hp->ip) : strlen(hp->ip)),
			      hp->ip);
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_NET))
			continue;
		char ds_mac[18], address6[TOPO_IP6_TEXT_MAX + 16] = "";
		plan_downstream_mac(topo, a->name, ds_mac);
		/* sys-net is PREFIX::1 on the link and advertises PREFIX/64;
		 * the app VM takes its address by SLAAC. */
		struct in6_addr prefix, app_addr;
		int rc = plan_app_ipv6(topo, a, &prefix, &app_addr);
		if (rc < 0) {
			snprintf(err, err_len, "%s: app VM %s: no IPv6 network"
				 " from ipv6 '%s', ip '%s', mac '%s'", topo->path,
				 a->name, a->net.ipv6 ? a->net.ipv6 : "auto", a->net.ip,
				 a->net.mac);
			strbuf_release(&sb);
			return NULL;
		}
		if (rc > 0) {
			struct in6_addr router = plan_ipv6_router(&prefix);
			snprintf(address6, sizeof(address6), " address6=%s/64",
				 topology_ip6_format(&router).s);
		}
		const char *slash = strchr(a->net.ip, '/');
		strbuf_printf(&sb, "# app VM %s\n", a->name);
		strbuf_printf(&sb, "downstream mac=%s address=%s%s%s app-mac=%s"
			      " app-ip=%.*s policy=%s\n", ds_mac, a->net.gateway,
			      slash ? slash : "", address6, a->net.mac,
			      (int)(slash ? (size_t)(slash - a->net.ip) : strlen(a->net.ip)),
			      a->net.ip, a->net.firewall && a->net.firewall->policy ==
			      TOPO_POLICY_DROP ? "drop" : "accept");
		if (a->net.firewall)
			firewall_lines(a->net.firewall, &sb);
	}
	/* Pairs of app VMs that may reach each other (both served here: the
	 * parser checked it), by the addresses sys-net knows them by. */
	for (unsigned i = 0; i < topo->talk_count; i++) {
		const struct topo_app_vm *a = topology_app_vm(topo, topo->talk[i].a);
		const struct topo_app_vm *b = topology_app_vm(topo, topo->talk[i].b);
		if (!a || !b || !topology_serves(drv->name, a, TOPO_ATTACH_NET))
			continue;
		strbuf_printf(&sb, "# %s <-> %s\ntalk %.*s %.*s\n", a->name, b->name,
			      (int)strcspn(a->net.ip, "/"), a->net.ip,
			      (int)strcspn(b->net.ip, "/"), b->net.ip);
	}
	char *text = strbuf_take(&sb);
	if (!text)
		snprintf(err, err_len, "sys-net configuration: out of memory");
	return text;
}
