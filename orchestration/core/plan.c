#include "plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int path_join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s/%s", a, b);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int plan_dirs(const char *state_root, const char *log_root,
	      const char *data_root, const struct topology *topo,
	      struct plan_dirs *out)
{
	int rc = path_join(out->state, sizeof(out->state), state_root, topo->name);
	if (!rc)
		rc = path_join(out->vm, sizeof(out->vm), out->state, "vm");
	if (!rc)
		rc = path_join(out->agent, sizeof(out->agent), out->state, "agent");
	if (!rc)
		rc = path_join(out->ctl, sizeof(out->ctl), out->state, "ctl");
	if (!rc)
		rc = path_join(out->log, sizeof(out->log), log_root, topo->name);
	if (!rc)
		rc = path_join(out->data, sizeof(out->data), data_root, topo->name);
	return rc;
}

int plan_domain_name(const char *vm, char *out, size_t len)
{
	int n = snprintf(out, len, PLAN_DOMAIN_PREFIX "%s", vm);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

#define FNV1A_BASIS 2166136261u

/* FNV-1a (32 bits) of H's input followed by the bytes of S. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (const char *p = s; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

/* FNV-1a over "a/b/c": names are checked, so no separator ambiguity. */
static uint32_t name_hash(const char *a, const char *b, const char *c,
			  unsigned n)
{
	uint32_t h = FNV1A_BASIS;
	const char *parts[] = { a, "/", b, "/", c ? c : "" };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		h = fnv1a(h, parts[i]);
	h = (h ^ (n & 0xff)) * 16777619u;
	return h;
}

static void mac_from(uint8_t kind, uint32_t h, char out[18])
{
	/* 0a: locally administered, unicast; the second octet tells the
	 * kinds apart so a downstream never equals an emulated NIC's. */
	snprintf(out, 18, "0a:%02x:%02x:%02x:%02x:%02x", kind, h >> 24 & 0xff,
		 h >> 16 & 0xff, h >> 8 & 0xff, h & 0xff);
}

void plan_downstream_mac(const struct topology *topo, const char *app,
			 char out[18])
{
	mac_from(0xb7, name_hash(topo->name, "downstream", app, 0), out);
}

void plan_usb_link_mac(const struct topology *topo, const char *app,
		       bool driver_side, char out[18])
{
	mac_from(driver_side ? 0xba : 0xb9, name_hash(topo->name, "usb-link",
						    app, driver_side), out);
}

void plan_emulated_mac(const struct topology *topo, const char *driver_vm,
		       unsigned device, char out[18])
{
	mac_from(0xb8, name_hash(topo->name, "emulated", driver_vm, device), out);
}

void plan_tap_name(const struct topology *topo, const char *driver_vm,
		   unsigned device, char out[PLAN_IFNAME_MAX + 1])
{
	snprintf(out, PLAN_IFNAME_MAX + 1, "bk%08x",
		 name_hash(topo->name, "tap", driver_vm, device));
}

void plan_host_tap_name(const struct topology *topo,
			char out[PLAN_IFNAME_MAX + 1])
{
	snprintf(out, PLAN_IFNAME_MAX + 1, "bkh%08x",
		 name_hash(topo->name, "host-tap", PLAN_HOST_PORT_LINK, 0));
}

unsigned plan_downstream_index(const struct topology *topo, const char *app)
{
	const struct topo_app_vm *vm = topology_app_vm(topo, app);
	if (!vm)
		return 0;
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		if (topology_serves(vm->net.via, &topo->app_vms[i], TOPO_ATTACH_NET))
			n++;
		if (&topo->app_vms[i] == vm)
			return n;
	}
	return 0;
}

struct in6_addr plan_ipv6_auto_prefix(const char *topology,
				      const char *driver_vm,
				      uint32_t app_ipv4)
{
	uint32_t h = fnv1a(fnv1a(fnv1a(FNV1A_BASIS, topology), "/"), driver_vm);
	struct in6_addr p = { 0 };
	/* fd00::/8: unique local with a pseudo-random global ID (RFC 4193
	 * 3.2), here 24 bits of hash and the IPv4 address's first 16 bits;
	 * its last 16 are the subnet ID. */
	const uint8_t bytes[8] = {
		0xfd, h >> 16 & 0xff, h >> 8 & 0xff, h & 0xff,
		app_ipv4 >> 24 & 0xff, app_ipv4 >> 16 & 0xff,
		app_ipv4 >> 8 & 0xff, app_ipv4 & 0xff,
	};
	memcpy(p.s6_addr, bytes, sizeof(bytes));
	return p;
}

struct in6_addr plan_ipv6_eui64(const struct in6_addr *prefix,
				const uint8_t mac[6])
{
	struct in6_addr a = { 0 };
	const uint8_t iid[8] = { mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe,
				 mac[3], mac[4], mac[5] };
	memcpy(a.s6_addr, prefix->s6_addr, 8);
	memcpy(a.s6_addr + 8, iid, sizeof(iid));
	return a;
}

struct in6_addr plan_ipv6_router(const struct in6_addr *prefix)
{
	struct in6_addr a = { 0 };
	memcpy(a.s6_addr, prefix->s6_addr, 8);
	a.s6_addr[15] = 1;
	return a;
}

/* ADDRESS/N (topology text, checked) into *ADDR and *PREFIX. */
static bool parse_cidr(int family, const char *text, void *addr,
		       unsigned *prefix)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned p = 0;
	int end = 0;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (slash && (sscanf(slash + 1, "%u%n", &p, &end) != 1 ||
		      slash[1 + end] != '\0'))
		return false;
	*prefix = p;
	return inet_pton(family, buf, addr) == 1;
}

int plan_app_ipv6(const struct topology *topo, const struct topo_app_vm *app,
		  struct in6_addr *prefix, struct in6_addr *addr)
{
	uint8_t mac[6];
	unsigned prefix_len;
	int end = 0;
	const struct topo_net_attach *net = &app->net;
	if (net->ipv6_mode == TOPO_IPV6_OFF)
		return 0;
	if (sscanf(net->mac, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &mac[0],
		   &mac[1], &mac[2], &mac[3], &mac[4], &mac[5], &end) != 6 ||
	    net->mac[end] != '\0')
		return -EINVAL;
	if (net->ipv6_mode == TOPO_IPV6_PREFIX) {
		if (!net->ipv6 || !parse_cidr(AF_INET6, net->ipv6, prefix,
					      &prefix_len) || prefix_len != 64)
			return -EINVAL;
	} else {
		struct in_addr ip;
		if (!parse_cidr(AF_INET, net->ip, &ip, &prefix_len))
			return -EINVAL;
		*prefix = plan_ipv6_auto_prefix(topo->name, net->via,
						 ntohl(ip.s_addr));
	}
	*addr = plan_ipv6_eui64(prefix, mac);
	return 1;
}

/* An IPv6 network on a driver VM, for plan_check. */
struct owned_net6 {
	struct in6_addr net;    /* or an address on it */
	unsigned prefix;
	char owner[64];
	const char *auto_app;   /* the app VM, when derived (ipv6: auto) */
};

/* The app VMs' /64s of DRV, auto ones included, and its static uplink's
 * address6 network: pairwise disjoint (sys-net routes between them). The
 * parser checked those the file gives; an auto one can still land on one
 * of them. */
static int check_net6(const struct topology *topo,
		      const struct topo_driver_vm *drv, char *err,
		      size_t err_len)
{
	struct owned_net6 nets[TOPO_MAX_APP_VMS + 1];
	char a_text[TOPO_IP6_TEXT_MAX], b_text[TOPO_IP6_TEXT_MAX];
	unsigned n = 0;
	if (drv->uplink && drv->uplink->address6) {
		if (!parse_cidr(AF_INET6, drv->uplink->address6, &nets[n].net,
				&nets[n].prefix) || nets[n].prefix > 128) {
			snprintf(err, err_len, "%s: %s: uplink address6 '%s' does"
				 " not parse", topo->path, drv->name,
				 drv->uplink->address6);
			return -EINVAL;
		}
		nets[n].auto_app = NULL;
		snprintf(nets[n++].owner, sizeof(nets[0].owner),
			 "%s's uplink address6", drv->name);
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		struct in6_addr addr;
		if (!topology_serves(drv->name, a, TOPO_ATTACH_NET))
			continue;
		int rc = plan_app_ipv6(topo, a, &nets[n].net, &addr);
		if (rc < 0) {
			snprintf(err, err_len, "%s: app VM %s: its ipv6 '%s', ip"
				 " '%s' or mac '%s' does not parse", topo->path,
				 a->name, a->net.ipv6 ? a->net.ipv6 : "auto",
				 a->net.ip, a->net.mac);
			return rc;
		}
		if (rc == 0)
			continue;
		nets[n].prefix = 64;
		nets[n].auto_app = a->net.ipv6_mode == TOPO_IPV6_AUTO ?
				   a->name : NULL;
		snprintf(nets[n++].owner, sizeof(nets[0].owner), "app VM %s%s",
			 a->name, a->net.ipv6_mode == TOPO_IPV6_AUTO ?
			 " (ipv6: auto)" : "");
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++) {
			if (!topology_ip6_same_net(&nets[i].net, &nets[j].net,
						   nets[i].prefix < nets[j].prefix ?
						   nets[i].prefix : nets[j].prefix))
				continue;
			const char *fix = nets[j].auto_app ? nets[j].auto_app :
					  nets[i].auto_app;
			snprintf(a_text, sizeof(a_text), "%s",
				 topology_ip6_format(&nets[j].net).s);
			snprintf(b_text, sizeof(b_text), "%s",
				 topology_ip6_format(&nets[i].net).s);
			snprintf(err, err_len, "%s: IPv6 network %s/%u of %s"
				 " overlaps %s/%u of %s (both on %s; give %s an"
				 " ipv6: network of its own, or off)", topo->path,
				 a_text, nets[j].prefix, nets[j].owner, b_text,
				 nets[i].prefix, nets[i].owner, drv->name,
				 fix ? fix : "one");
			return -EEXIST;
		}
	return 0;
}

struct owned_mac {
	char mac[18];
	char owner[64];
};

int plan_check(const struct topology *topo, char *err, size_t err_len)
{
	struct owned_mac macs[TOPO_MAX_APP_VMS * 4 + TOPO_MAX_DRIVER_VMS *
			      (TOPO_MAX_DEVICES + 1) + 1];
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		snprintf(macs[n].mac, sizeof(macs[n].mac), "%s", a->net.mac);
		snprintf(macs[n++].owner, sizeof(macs[0].owner), "app VM %s", a->name);
		plan_downstream_mac(topo, a->name, macs[n].mac);
		snprintf(macs[n++].owner, sizeof(macs[0].owner),
			 "%s's downstream for %s", a->net.via, a->name);
		for (int side = 0; a->usb.via && side < 2; side++) {
			plan_usb_link_mac(topo, a->name, side, macs[n].mac);
			snprintf(macs[n++].owner, sizeof(macs[0].owner),
				 "%s's USB link NIC%s%s", side ? a->usb.via :
				 a->name, side ? " for " : "", side ? a->name : "");
		}
	}
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		for (unsigned j = 0; j < d->devices_count; j++) {
			const struct topo_device *dev = &d->devices[j];
			if (!topology_emulated_nic(dev->emulated))
				continue;
			if (dev->mac)
				snprintf(macs[n].mac, sizeof(macs[n].mac), "%s", dev->mac);
			else
				plan_emulated_mac(topo, d->name, j, macs[n].mac);
			snprintf(macs[n++].owner, sizeof(macs[0].owner),
				 "%s's devices[%u]", d->name, j);
		}
	}
	if (topo->host_port) {
		snprintf(macs[n].mac, sizeof(macs[n].mac), "%s", topo->host_port->mac);
		snprintf(macs[n++].owner, sizeof(macs[0].owner), "the host port");
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (strcasecmp(macs[i].mac, macs[j].mac) == 0) {
				snprintf(err, err_len, "%s: MAC %s of %s is also %s's"
					 " (rename one of them)", topo->path,
					 macs[i].mac, macs[j].owner, macs[i].owner);
				return -EEXIST;
			}
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		int rc = check_net6(topo, &topo->driver_vms[i], err, err_len);
		if (rc < 0)
			return rc;
	}
	return 0;
}
