/* What the schema cannot say: defaults for what was left out, then every
 * rule on values and across fields (docs/topology.md "Rules"), in file
 * order, the first problem reported at its line. The address rules are
 * bk-config's (driver-vms/net/bk-config): a topology that passes here
 * must give sys-net a configuration it accepts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_internal.h"

#define DRIVER_MEMORY_DEFAULT 64      /* MiB: sys-net with its own kernel */
/* A passed-through NIC was never measured here (only QEMU's e1000e, in
 * 64 MiB): its driver and firmware may want more (mlx5 hands the device
 * memory pages, ice loads a DDP package, rings are larger). */
#define DRIVER_MEMORY_VFIO_DEFAULT 128
#define APP_MEMORY_DEFAULT 256
#define MEMORY_MIN 64           /* MiB */
#define MEMORY_MAX 65536
#define VCPUS_MAX 64
#define APP_PREFIX_MIN 8        /* bk-config's downstream prefixes */
#define APP_PREFIX_MAX 30       /* the network, sys-net, the app, broadcast */
/* SLAAC makes an address from a /64 prefix and a 64-bit interface
 * identifier (RFC 4862 5.5.3, RFC 4291 2.5.1): an app VM's link is a /64. */
#define APP_PREFIX6 64

/* A value first given at FIELD; later ones must differ. */
struct seen {
	const char *value;
	char field[TOPO_FIELD_MAX];
};

struct seen_table {
	struct seen *entries;
	unsigned count;
	unsigned max;
};

/* A network a link to a driver VM uses (an app VM's or the host port's
 * subnet and /64, a static uplink's address and address6): those of one
 * driver VM and family must not overlap (sys-net routes between them).
 * IPv4 ones are held as IPv4-mapped IPv6 (::ffff:A.B.C.D/96+N, RFC 4291
 * 2.5.5.2), so that one table and one comparison serve both. */
struct subnet {
	unsigned drv;
	bool v4;
	struct in6_addr net;
	unsigned prefix;
	char field[TOPO_FIELD_MAX];
};

#define NAMES_MAX (TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS)
#define MACS_MAX (TOPO_MAX_DRIVER_VMS * (TOPO_MAX_DEVICES + 1) + \
		  TOPO_MAX_APP_VMS + 1)
#define PCIS_MAX (TOPO_MAX_DRIVER_VMS * TOPO_MAX_DEVICES)
/* Each driver VM's uplink twice, each app VM twice, the host port. */
#define SUBNETS_MAX (2 * (TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS) + 1)

struct checker {
	struct topo_ctx *ctx;
	struct topology *topo;
	struct seen name_entries[NAMES_MAX];
	struct seen mac_entries[MACS_MAX];
	struct seen pci_entries[PCIS_MAX];
	struct seen_table names, macs, pcis;
	struct subnet subnets[SUBNETS_MAX];
	unsigned subnets_count;
	unsigned links[TOPO_MAX_DRIVER_VMS];    /* app VMs and host port */
};

#define SHOW(v) topo_show(v).s
#define IP4(a) topo_ip4_format(a).s
#define IP6(a) topology_ip6_format(a).s
#define IP6_SYNTAX "hex groups X:X:X:X:X:X:X:X, '::' for a run of zeros"

/* VALUE at BASE.KEY, unless an earlier field holds it. */
static int unique(struct checker *c, struct seen_table *table,
		  const char *value, const char *base, const char *key)
{
	for (unsigned i = 0; i < table->count; i++) {
		if (strcmp(table->entries[i].value, value) == 0)
			return topo_fail(c->ctx, base, key, "'%s' is already"
					 " used at %s", SHOW(value),
					 table->entries[i].field);
	}
	/* The schema's maxima bound every table. */
	if (table->count < table->max) {
		table->entries[table->count].value = value;
		topo_field(table->entries[table->count].field, base, key);
		table->count++;
	}
	return 0;
}

/* A number at BASE.KEY, DEF when left out. The document's text, not
 * libcyaml's value: libcyaml reads "12abc" as 12 and "0x40" as 64. */
static int number(struct checker *c, const char *base, const char *key,
		  uint32_t *out, uint32_t def, uint32_t min, uint32_t max)
{
	char field[TOPO_FIELD_MAX];
	const char *text;

	topo_field(field, base, key);
	text = topo_doc_scalar(c->ctx, field);
	if (text == NULL) {
		*out = def;
		return 0;
	}
	if (!topo_u32_parse(text, out))
		return topo_fail(c->ctx, base, key, "'%s' is not a decimal"
				 " number", SHOW(text));
	if (*out < min || *out > max)
		return topo_fail(c->ctx, base, key, "%u is not in %u..%u", *out,
				 min, max);
	return 0;
}

static int name(struct checker *c, const char *base, const char *value)
{
	if (!topo_name_valid(value))
		return topo_fail(c->ctx, base, "name", "'%s' is not a name"
				 " (a-z, then a-z, 0-9 or '-'; at most %d"
				 " characters)", SHOW(value), TOPO_NAME_MAX);
	return unique(c, &c->names, value, base, "name");
}

static int mac(struct checker *c, const char *base, const char *key,
	       char *value)
{
	switch (topo_mac_normalize(value)) {
	case TOPO_MAC_SYNTAX:
		return topo_fail(c->ctx, base, key, "'%s' is not a MAC address"
				 " (xx:xx:xx:xx:xx:xx)", SHOW(value));
	case TOPO_MAC_MULTICAST:
		return topo_fail(c->ctx, base, key, "'%s' is a multicast"
				 " address (low bit of the first octet set)",
				 SHOW(value));
	case TOPO_MAC_ZERO:
		return topo_fail(c->ctx, base, key, "'%s' is all zeros",
				 SHOW(value));
	case TOPO_MAC_OK:
		break;
	}
	return 0;
}

static int ipv4(struct checker *c, const char *base, const char *key,
		const char *value, uint32_t *addr)
{
	if (!topo_ipv4_parse(value, addr))
		return topo_fail(c->ctx, base, key, "'%s' is not an IPv4"
				 " address (A.B.C.D, 0..255, no leading"
				 " zeros)", SHOW(value));
	return 0;
}

/* STATUS of reading VALUE at BASE.KEY as an IPv4 (or, V6, an IPv6)
 * ADDRESS/N, then MIN <= N <= MAX (N is read only when STATUS is OK). */
static int cidr_checked(struct checker *c, const char *base, const char *key,
			const char *value, enum topo_cidr_status status,
			bool v6, const unsigned *prefix, unsigned min,
			unsigned max)
{
	switch (status) {
	case TOPO_CIDR_NO_SLASH:
		return topo_fail(c->ctx, base, key, "'%s' is not"
				 " ADDRESS/PREFIX", SHOW(value));
	case TOPO_CIDR_BAD_ADDRESS:
		return topo_fail(c->ctx, base, key, "'%s': the address is not"
				 " %s", SHOW(value),
				 v6 ? "IPv6 (" IP6_SYNTAX ")" :
				 "A.B.C.D (0..255, no leading zeros)");
	case TOPO_CIDR_BAD_PREFIX:
		return topo_fail(c->ctx, base, key, "'%s': the prefix length"
				 " is not a number 0..%u", SHOW(value),
				 v6 ? 128 : 32);
	case TOPO_CIDR_OK:
		break;
	}
	if (*prefix < min || *prefix > max)
		return topo_fail(c->ctx, base, key, "'%s': prefix length %u is"
				 " not in %u..%u", SHOW(value), *prefix, min, max);
	return 0;
}

/* An A.B.C.D/N at BASE.KEY with MIN <= N <= MAX. */
static int cidr(struct checker *c, const char *base, const char *key,
		const char *value, unsigned min, unsigned max, uint32_t *addr,
		unsigned *prefix)
{
	return cidr_checked(c, base, key, value,
			    topo_cidr_parse(value, addr, prefix), false, prefix,
			    min, max);
}

/* An IPv6 X/N at BASE.KEY with MIN <= N <= MAX. */
static int cidr6(struct checker *c, const char *base, const char *key,
		 const char *value, unsigned min, unsigned max,
		 struct in6_addr *addr, unsigned *prefix)
{
	return cidr_checked(c, base, key, value,
			    topo_cidr6_parse(value, addr, prefix), true, prefix,
			    min, max);
}

/* ADDR (VALUE) is a host of NET/PREFIX: inside it, neither its network
 * nor its broadcast address, and unicast (bk-config's host_in). */
static int host_in(struct checker *c, const char *base, const char *key,
		   const char *value, uint32_t addr, uint32_t net,
		   unsigned prefix)
{
	uint32_t mask = topo_prefix_mask(prefix), first = addr >> 24;

	if ((addr & mask) != net)
		return topo_fail(c->ctx, base, key, "'%s' is outside %s/%u",
				 SHOW(value), IP4(net), prefix);
	if (addr == net)
		return topo_fail(c->ctx, base, key, "'%s' is the network"
				 " address of %s/%u", SHOW(value), IP4(net),
				 prefix);
	if (addr == (net | ~mask))
		return topo_fail(c->ctx, base, key, "'%s' is the broadcast"
				 " address of %s/%u", SHOW(value), IP4(net),
				 prefix);
	/* 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4. */
	if (first == 0 || first == 127 || first >= 224)
		return topo_fail(c->ctx, base, key, "'%s' is not a unicast"
				 " host address", SHOW(value));
	return 0;
}

/* A network's text for a message: V4, it is held IPv4-mapped. */
struct net_text {
	char s[TOPO_IP6_TEXT_MAX + 4];
};

static struct net_text net_text(bool v4, const struct in6_addr *net,
				unsigned prefix)
{
	const uint8_t *b = net->s6_addr;
	struct net_text t;

	if (v4)
		snprintf(t.s, sizeof(t.s), "%s/%u", IP4((uint32_t)b[12] << 24 |
			 (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]),
			 prefix - 96);
	else
		snprintf(t.s, sizeof(t.s), "%s/%u", IP6(net), prefix);
	return t;
}

/* The network NET/PREFIX (IPv6, or V4 IPv4-mapped) of driver VM DRV,
 * first given at BASE.KEY, overlaps none of DRV's of its family before
 * it. (The family counts: an address6 of 2001::2/1 is on ::/1, which
 * holds the IPv4-mapped ::ffff:0:0/96.) */
static int net_disjoint(struct checker *c, unsigned drv, bool v4,
			const struct in6_addr *net, unsigned prefix,
			const char *base, const char *key)
{
	for (unsigned i = 0; i < c->subnets_count; i++) {
		const struct subnet *s = &c->subnets[i];

		if (s->drv == drv && s->v4 == v4 &&
		    topology_ip6_same_net(&s->net, net, prefix < s->prefix ?
				      prefix : s->prefix))
			return topo_fail(c->ctx, base, key, "%s overlaps %s of"
					 " %s (both on %s)",
					 net_text(v4, net, prefix).s,
					 net_text(v4, &s->net, s->prefix).s,
					 s->field,
					 c->topo->driver_vms[drv].name);
	}
	if (c->subnets_count < SUBNETS_MAX) {
		struct subnet *s = &c->subnets[c->subnets_count++];

		s->drv = drv;
		s->v4 = v4;
		s->net = *net;
		s->prefix = prefix;
		topo_field(s->field, base, key);
	}
	return 0;
}

/* The IPv4 subnet NET/PREFIX of driver VM DRV, first given at BASE.KEY. */
static int subnet(struct checker *c, unsigned drv, uint32_t net,
		  unsigned prefix, const char *base, const char *key)
{
	struct in6_addr mapped = { .s6_addr = { [10] = 0xff, [11] = 0xff,
		[12] = net >> 24 & 0xff, [13] = net >> 16 & 0xff,
		[14] = net >> 8 & 0xff, [15] = net & 0xff } };

	return net_disjoint(c, drv, true, &mapped, prefix + 96, base, key);
}

/* Where sys-net's own addresses and the app VMs' may be: global unicast
 * or unique local. Not link-local (every link has its own fe80::/64),
 * multicast, loopback or the unassigned rest. */
static int routable6(struct checker *c, const char *base, const char *key,
		     const char *value, const struct in6_addr *addr)
{
	enum topo_ip6_scope scope = topo_ip6_scope(addr);

	if (scope != TOPO_IP6_GLOBAL && scope != TOPO_IP6_ULA)
		return topo_fail(c->ctx, base, key, "'%s' is not global unicast"
				 " (2000::/3) or unique local (fc00::/7)",
				 SHOW(value));
	return 0;
}

/* *TEXT becomes its canonical form: "2001:DB8:0::/48" and "2001:db8::/48"
 * are one network, and sys-net's checker and the messages see one text. */
static int canonical6(char **text, const struct in6_addr *addr,
		      unsigned prefix, bool with_prefix)
{
	char buf[TOPO_IP6_TEXT_MAX + 4];
	char *copy;

	if (with_prefix)
		snprintf(buf, sizeof(buf), "%s/%u", IP6(addr), prefix);
	else
		snprintf(buf, sizeof(buf), "%s", IP6(addr));
	copy = strdup(buf);
	if (copy == NULL)
		return -ENOMEM;
	free(*text);
	*text = copy;
	return 0;
}

static int check_pci(struct checker *c, const char *base,
		     struct topo_device *dev)
{
	char norm[13];
	char *longer;

	if (dev->netns)
		return topo_fail(c->ctx, base, "netns", "only an emulated"
				 " device has a netns (pci %s is passed"
				 " through)", SHOW(dev->pci));
	if (dev->bridge)
		return topo_fail(c->ctx, base, "bridge", "only an emulated"
				 " device has a bridge (pci %s is passed"
				 " through)", SHOW(dev->pci));
	if (dev->mac)
		return topo_fail(c->ctx, base, "mac", "only an emulated device"
				 " takes a mac (a passed-through NIC keeps"
				 " its own)");
	if (!topo_pci_normalize(dev->pci, norm))
		return topo_fail(c->ctx, base, "pci", "'%s' is not a PCI"
				 " address (DDDD:BB:DD.F or BB:DD.F, hex;"
				 " device <= 1f, function <= 7)",
				 SHOW(dev->pci));
	longer = realloc(dev->pci, sizeof(norm));
	if (longer == NULL)
		return -ENOMEM;
	dev->pci = longer;
	memcpy(dev->pci, norm, sizeof(norm));
	return unique(c, &c->pcis, dev->pci, base, "pci");
}

static int check_device(struct checker *c, const char *drv_base,
			unsigned j, struct topo_device *dev)
{
	char base[TOPO_FIELD_MAX];
	int rc;

	topo_fieldf(base, "%s.devices[%u]", drv_base, j);
	if (dev->pci && dev->emulated != TOPO_EMULATED_NONE)
		return topo_fail(c->ctx, base, NULL, "both pci and emulated; a"
				 " device is one or the other");
	if (dev->pci)
		return check_pci(c, base, dev);
	if (dev->emulated == TOPO_EMULATED_NONE)
		return topo_fail(c->ctx, base, NULL, "neither pci nor emulated;"
				 " a device is one of them");
	if (dev->netns == NULL)
		return topo_fail(c->ctx, base, "netns", "missing; an emulated"
				 " device needs the network namespace its tap"
				 " lives in");
	if (!topo_netns_valid(dev->netns))
		return topo_fail(c->ctx, base, "netns", "'%s' is not a"
				 " namespace name (1..32 of A-Z a-z 0-9 _ . -)",
				 SHOW(dev->netns));
	if (dev->bridge && !topo_ifname_valid(dev->bridge))
		return topo_fail(c->ctx, base, "bridge", "'%s' is not an"
				 " interface name (1..15 of A-Z a-z 0-9 _ . -)",
				 SHOW(dev->bridge));
	if (dev->mac == NULL)
		return 0;
	rc = mac(c, base, "mac", dev->mac);
	return rc < 0 ? rc : unique(c, &c->macs, dev->mac, base, "mac");
}

/* A static uplink's address6 and gateway6: both or neither (without
 * them sys-net has no IPv6 on a static uplink). */
static int check_static_uplink6(struct checker *c, const char *base,
				unsigned i, struct topo_uplink *up)
{
	struct in6_addr addr, net, gw;
	unsigned prefix;
	int rc;

	if (up->address6 == NULL && up->gateway6 == NULL)
		return 0;
	if (up->address6 == NULL)
		return topo_fail(c->ctx, base, "address6", "missing; gateway6"
				 " needs address6 (both or neither)");
	if (up->gateway6 == NULL)
		return topo_fail(c->ctx, base, "gateway6", "missing; address6"
				 " needs gateway6 (both or neither)");
	/* /128 leaves no room for a next hop on the network. */
	rc = cidr6(c, base, "address6", up->address6, 1, 127, &addr, &prefix);
	if (rc == 0)
		rc = routable6(c, base, "address6", up->address6, &addr);
	if (rc < 0)
		return rc;
	net = topo_ip6_network(&addr, prefix);
	/* The all-zeros host is the network's Subnet-Router anycast address
	 * (RFC 4291 2.6.1), a router's, not an interface's own. */
	if (memcmp(&net, &addr, sizeof(net)) == 0)
		return topo_fail(c->ctx, base, "address6", "'%s' is the network"
				 " address of %s/%u", SHOW(up->address6),
				 IP6(&net), prefix);
	if (!topo_ip6_parse(up->gateway6, &gw))
		return topo_fail(c->ctx, base, "gateway6", "'%s' is not an IPv6"
				 " address (" IP6_SYNTAX ")",
				 SHOW(up->gateway6));
	switch (topo_ip6_scope(&gw)) {
	case TOPO_IP6_LINK_LOCAL:
		/* On every link: what a router advertises itself from. */
		break;
	case TOPO_IP6_GLOBAL:
	case TOPO_IP6_ULA:
		/* Linux takes a next hop only on a prefix of the link
		 * (otherwise "Nexthop has invalid gateway"). */
		if (!topology_ip6_same_net(&gw, &addr, prefix))
			return topo_fail(c->ctx, base, "gateway6", "'%s' is"
					 " outside %s/%u (or give the router's"
					 " link-local fe80:: address)",
					 SHOW(up->gateway6), IP6(&net), prefix);
		break;
	case TOPO_IP6_OTHER:
		return topo_fail(c->ctx, base, "gateway6", "'%s' is not a"
				 " unicast address (2000::/3, fc00::/7 or"
				 " link-local fe80::/10)", SHOW(up->gateway6));
	}
	if (memcmp(&gw, &addr, sizeof(gw)) == 0)
		return topo_fail(c->ctx, base, "gateway6", "'%s' is the uplink's"
				 " own address6", SHOW(up->gateway6));
	rc = canonical6(&up->address6, &addr, prefix, true);
	if (rc == 0)
		rc = canonical6(&up->gateway6, &gw, 128, false);
	return rc < 0 ? rc : net_disjoint(c, i, false, &net, prefix, base,
					  "address6");
}

static int check_static_uplink(struct checker *c, const char *base,
			       unsigned i, struct topo_uplink *up)
{
	uint32_t addr, gw, mask, dns;
	unsigned prefix;
	int rc;

	if (up->address == NULL)
		return topo_fail(c->ctx, base, "address", "missing; mode:"
				 " static needs address and gateway");
	if (up->gateway == NULL)
		return topo_fail(c->ctx, base, "gateway", "missing; mode:"
				 " static needs address and gateway");
	/* /31 and /32 leave no room for a gateway beside the address. */
	rc = cidr(c, base, "address", up->address, 1, 30, &addr, &prefix);
	if (rc < 0)
		return rc;
	mask = topo_prefix_mask(prefix);
	rc = host_in(c, base, "address", up->address, addr, addr & mask,
		     prefix);
	if (rc < 0)
		return rc;
	rc = ipv4(c, base, "gateway", up->gateway, &gw);
	if (rc < 0)
		return rc;
	rc = host_in(c, base, "gateway", up->gateway, gw, addr & mask, prefix);
	if (rc < 0)
		return rc;
	if (gw == addr)
		return topo_fail(c->ctx, base, "gateway", "'%s' is the uplink's"
				 " own address", SHOW(up->gateway));
	for (unsigned k = 0; k < up->dns_count; k++) {
		char key[16];

		snprintf(key, sizeof(key), "dns[%u]", k);
		rc = ipv4(c, base, key, up->dns[k], &dns);
		if (rc < 0)
			return rc;
	}
	rc = subnet(c, i, addr & mask, prefix, base, "address");
	return rc < 0 ? rc : check_static_uplink6(c, base, i, up);
}

/* The uplink's mac picks sys-net's uplink NIC: an emulated device's MAC,
 * or (a passed-through NIC's MAC is its own) any other with a pci one. */
static int check_uplink_mac(struct checker *c, const char *base,
			    const struct topo_driver_vm *drv, char *value)
{
	bool has_pci = false;
	int rc = mac(c, base, "mac", value);

	if (rc < 0)
		return rc;
	for (unsigned j = 0; j < drv->devices_count; j++) {
		if (drv->devices[j].mac && strcmp(drv->devices[j].mac, value) == 0)
			return 0;
		has_pci |= drv->devices[j].pci != NULL;
	}
	if (!has_pci)
		return topo_fail(c->ctx, base, "mac", "'%s' is not the mac of"
				 " any of %s's devices", SHOW(value), drv->name);
	return unique(c, &c->macs, value, base, "mac");
}

static int check_uplink(struct checker *c, const char *drv_base, unsigned i)
{
	const struct topo_driver_vm *drv = &c->topo->driver_vms[i];
	struct topo_uplink *up = drv->uplink;
	char base[TOPO_FIELD_MAX];
	int rc;

	topo_field(base, drv_base, "uplink");
	/* sys-net takes the one interface that is not a downstream as its
	 * uplink; with more, mac= must say which (docs/sysnet.md). */
	if ((up == NULL || up->mac == NULL) && drv->devices_count > 1)
		return topo_fail(c->ctx, base, "mac", "missing; with %u devices"
				 " it must say which is the uplink",
				 drv->devices_count);
	if (up == NULL)
		return 0;
	if (up->mode == TOPO_UPLINK_DHCP) {
		if (up->address)
			return topo_fail(c->ctx, base, "address", "only with"
					 " mode: static (dhcp takes the"
					 " lease's)");
		if (up->gateway)
			return topo_fail(c->ctx, base, "gateway", "only with"
					 " mode: static (dhcp takes the"
					 " lease's)");
		if (up->dns_count > 0)
			return topo_fail(c->ctx, base, "dns", "only with mode:"
					 " static (dhcp hands on the lease's)");
		if (up->address6)
			return topo_fail(c->ctx, base, "address6", "only with"
					 " mode: static (dhcp takes IPv6 by"
					 " SLAAC)");
		if (up->gateway6)
			return topo_fail(c->ctx, base, "gateway6", "only with"
					 " mode: static (dhcp takes IPv6 by"
					 " SLAAC)");
	} else {
		rc = check_static_uplink(c, base, i, up);
		if (rc < 0)
			return rc;
	}
	return up->mac ? check_uplink_mac(c, base, drv, up->mac) : 0;
}

/* What driver and app VMs share: a name, memory and vcpus. */
static int check_vm(struct checker *c, const char *base, const char *value,
		    uint32_t *memory_mib, uint32_t memory_default,
		    uint32_t *vcpus)
{
	int rc = name(c, base, value);

	if (rc == 0)
		rc = number(c, base, "memory", memory_mib, memory_default,
			    MEMORY_MIN, MEMORY_MAX);
	if (rc == 0)
		rc = number(c, base, "vcpus", vcpus, 1, 1, VCPUS_MAX);
	return rc;
}

static int check_driver_vm(struct checker *c, unsigned i)
{
	struct topo_driver_vm *drv = &c->topo->driver_vms[i];
	char base[TOPO_FIELD_MAX];
	int rc;

	bool passthrough = false;
	for (unsigned j = 0; j < drv->devices_count; j++)
		passthrough |= drv->devices[j].pci != NULL;
	topo_fieldf(base, "driver-vms[%u]", i);
	rc = check_vm(c, base, drv->name, &drv->memory_mib,
		      passthrough ? DRIVER_MEMORY_VFIO_DEFAULT :
		      DRIVER_MEMORY_DEFAULT, &drv->vcpus);
	for (unsigned j = 0; rc == 0 && j < drv->devices_count; j++)
		rc = check_device(c, base, j, &drv->devices[j]);
	return rc < 0 ? rc : check_uplink(c, base, i);
}

/* "a, b, c" of the driver VMs' or app VMs' names, for a message. */
static void names_list(const struct topology *topo, bool drivers, char *out,
		       size_t out_len)
{
	unsigned n = drivers ? topo->driver_vms_count : topo->app_vms_count;
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n && len < out_len; i++) {
		const char *s = drivers ? topo->driver_vms[i].name :
				topo->app_vms[i].name;

		len += (size_t)snprintf(out + len, out_len - len, "%s%s",
					i ? ", " : "", SHOW(s));
	}
}

/* What an app VM and the host port share: a link to driver VM NET with
 * MAC, IP (its subnet) and GATEWAY (sys-net's address on the link). */
struct link {
	const char *net;
	char *mac;
	const char *ip;
	char **gateway;
};

static int check_link(struct checker *c, const char *base,
		      const struct link *link, unsigned *drv)
{
	const struct topo_driver_vm *served_by;
	char known[200];
	uint32_t addr, net, gw;
	unsigned prefix;
	int rc;

	served_by = topology_driver_vm(c->topo, link->net);
	if (served_by == NULL) {
		names_list(c->topo, true, known, sizeof(known));
		return topo_fail(c->ctx, base, "net", "no driver VM named '%s'"
				 " (driver VMs: %s)", SHOW(link->net), known);
	}
	*drv = (unsigned)(served_by - c->topo->driver_vms);
	rc = mac(c, base, "mac", link->mac);
	if (rc == 0)
		rc = unique(c, &c->macs, link->mac, base, "mac");
	if (rc == 0)
		rc = cidr(c, base, "ip", link->ip, APP_PREFIX_MIN,
			  APP_PREFIX_MAX, &addr, &prefix);
	if (rc < 0)
		return rc;
	net = addr & topo_prefix_mask(prefix);
	rc = host_in(c, base, "ip", link->ip, addr, net, prefix);
	if (rc < 0)
		return rc;
	if (*link->gateway == NULL) {
		/* Default: the subnet's first host (a /30 or wider has one). */
		if (net + 1 == addr)
			return topo_fail(c->ctx, base, "gateway", "missing, and"
					 " the default (the first host, %s) is"
					 " the ip itself", IP4(net + 1));
		*link->gateway = strdup(IP4(net + 1));
		if (*link->gateway == NULL)
			return -ENOMEM;
	} else {
		rc = ipv4(c, base, "gateway", *link->gateway, &gw);
		if (rc == 0)
			rc = host_in(c, base, "gateway", *link->gateway, gw,
				     net, prefix);
		if (rc < 0)
			return rc;
		if (gw == addr)
			return topo_fail(c->ctx, base, "gateway", "'%s' is the"
					 " ip's own address",
					 SHOW(*link->gateway));
	}
	return subnet(c, *drv, net, prefix, base, "ip");
}

/* An IPv6 dst: a network, prefix 0..128, no host bits; canonical. */
static int check_dst6(struct checker *c, const char *base,
		      struct topo_rule *rule)
{
	struct in6_addr addr, net;
	unsigned prefix;
	int rc = cidr6(c, base, "dst", rule->dst, 0, 128, &addr, &prefix);

	if (rc < 0)
		return rc;
	net = topo_ip6_network(&addr, prefix);
	if (memcmp(&net, &addr, sizeof(net)) != 0)
		return topo_fail(c->ctx, base, "dst", "'%s' has host bits set"
				 " (the network is %s/%u)", SHOW(rule->dst),
				 IP6(&net), prefix);
	return canonical6(&rule->dst, &net, prefix, true);
}

static int check_rule(struct checker *c, const char *base,
		      struct topo_rule *rule)
{
	uint32_t addr, mask;
	unsigned prefix, lo, hi;
	int rc;

	/* A colon: IPv6 (a dotted quad has none). */
	if (rule->dst && strchr(rule->dst, ':')) {
		rc = check_dst6(c, base, rule);
		if (rc < 0)
			return rc;
	} else if (rule->dst) {
		rc = cidr(c, base, "dst", rule->dst, 0, 32, &addr, &prefix);
		if (rc < 0)
			return rc;
		mask = topo_prefix_mask(prefix);
		if (addr & ~mask)
			return topo_fail(c->ctx, base, "dst", "'%s' has host bits"
					 " set (the network is %s/%u)",
					 SHOW(rule->dst), IP4(addr & mask),
					 prefix);
	}
	if (rule->port == NULL)
		return 0;
	if (rule->proto != TOPO_PROTO_TCP && rule->proto != TOPO_PROTO_UDP)
		return topo_fail(c->ctx, base, "port", "'%s' needs proto: tcp"
				 " or udp", SHOW(rule->port));
	if (!topo_port_parse(rule->port, &lo, &hi))
		return topo_fail(c->ctx, base, "port", "'%s' is not a port"
				 " (1..65535) or a range P-Q", SHOW(rule->port));
	if (lo > hi)
		return topo_fail(c->ctx, base, "port", "'%s' is an empty range",
				 SHOW(rule->port));
	/* bk-config takes a range only with P < Q: "80-80" is port 80. */
	if (lo == hi)
		snprintf(rule->port, strlen(rule->port) + 1, "%u", lo);
	return 0;
}

/* ipv6: auto (left out too), off, or the app VM's own /64 network in
 * 2000::/3 or fc00::/7, which must not overlap another of its driver VM's
 * (sys-net routes between them). An auto network is derived later
 * (plan.c) and checked there. */
static int check_app_ipv6(struct checker *c, const char *base, unsigned drv,
			  struct topo_app_vm *app)
{
	struct in6_addr addr, net;
	unsigned prefix;
	int rc;

	if (app->ipv6 == NULL || strcmp(app->ipv6, "auto") == 0 ||
	    strcmp(app->ipv6, "off") == 0) {
		app->ipv6_mode = app->ipv6 && strcmp(app->ipv6, "off") == 0 ?
				 TOPO_IPV6_OFF : TOPO_IPV6_AUTO;
		free(app->ipv6);
		app->ipv6 = NULL;
		return 0;
	}
	if (strchr(app->ipv6, '/') == NULL)
		return topo_fail(c->ctx, base, "ipv6", "'%s' is not auto, off or"
				 " an IPv6 network X::/64", SHOW(app->ipv6));
	rc = cidr6(c, base, "ipv6", app->ipv6, 0, 128, &addr, &prefix);
	if (rc < 0)
		return rc;
	if (prefix != APP_PREFIX6)
		return topo_fail(c->ctx, base, "ipv6", "'%s': prefix length %u;"
				 " an app VM's network is a /64 (SLAAC)",
				 SHOW(app->ipv6), prefix);
	net = topo_ip6_network(&addr, prefix);
	if (memcmp(&net, &addr, sizeof(net)) != 0)
		return topo_fail(c->ctx, base, "ipv6", "'%s' has host bits set"
				 " (the network is %s/%u)", SHOW(app->ipv6),
				 IP6(&net), prefix);
	rc = routable6(c, base, "ipv6", app->ipv6, &net);
	if (rc == 0)
		rc = canonical6(&app->ipv6, &net, prefix, true);
	if (rc < 0)
		return rc;
	app->ipv6_mode = TOPO_IPV6_PREFIX;
	return net_disjoint(c, drv, false, &net, prefix, base, "ipv6");
}

static int check_app_vm(struct checker *c, unsigned i)
{
	struct topo_app_vm *app = &c->topo->app_vms[i];
	struct link link = { app->net, app->mac, app->ip, &app->gateway };
	char base[TOPO_FIELD_MAX], field[TOPO_FIELD_MAX];
	unsigned drv;
	int rc;

	topo_fieldf(base, "app-vms[%u]", i);
	rc = check_vm(c, base, app->name, &app->memory_mib, APP_MEMORY_DEFAULT,
		      &app->vcpus);
	if (rc < 0)
		return rc;
	if (app->image == NULL) {
		app->image = strdup("app");
		if (app->image == NULL)
			return -ENOMEM;
	} else if (!topo_name_valid(app->image)) {
		return topo_fail(c->ctx, base, "image", "'%s' is not an image"
				 " name (a-z, then a-z, 0-9 or '-'; at most %d"
				 " characters)", SHOW(app->image),
				 TOPO_NAME_MAX);
	}
	rc = check_link(c, base, &link, &drv);
	if (rc < 0)
		return rc;
	rc = check_app_ipv6(c, base, drv, app);
	if (rc < 0)
		return rc;
	/* The schema's 32 app VMs in all keep each driver VM within its 32
	 * downstreams; only the host port can take one more. */
	c->links[drv]++;
	for (unsigned k = 0; app->firewall && k < app->firewall->rules_count;
	     k++) {
		topo_fieldf(field, "%s.firewall.rules[%u]", base, k);
		rc = check_rule(c, field, &app->firewall->rules[k]);
		if (rc < 0)
			return rc;
	}
	topo_field(field, base, "autostart");
	if (topo_doc_node(c->ctx, field) == NULL)
		app->autostart = true;
	return 0;
}

static int check_talk_name(struct checker *c, unsigned k, unsigned side,
			   const char *value, const struct topo_app_vm **app)
{
	char base[TOPO_FIELD_MAX], known[200];

	*app = topology_app_vm(c->topo, value);
	if (*app)
		return 0;
	topo_fieldf(base, "talk[%u][%u]", k, side);
	names_list(c->topo, false, known, sizeof(known));
	return topo_fail(c->ctx, base, NULL, "no app VM named '%s' (app VMs:"
			 " %s)", SHOW(value), known);
}

static int check_talk(struct checker *c, unsigned k)
{
	const struct topo_talk *pair = &c->topo->talk[k];
	const struct topo_app_vm *a, *b;
	char base[TOPO_FIELD_MAX];
	int rc;

	topo_fieldf(base, "talk[%u]", k);
	rc = check_talk_name(c, k, 0, pair->a, &a);
	if (rc == 0)
		rc = check_talk_name(c, k, 1, pair->b, &b);
	if (rc < 0)
		return rc;
	if (a == b)
		return topo_fail(c->ctx, base, NULL, "'%s' with itself; a pair"
				 " is two app VMs", SHOW(pair->a));
	if (strcmp(a->net, b->net) != 0)
		return topo_fail(c->ctx, base, NULL, "%s is on %s, %s on %s;"
				 " only app VMs of one driver VM can talk",
				 a->name, a->net, b->name, b->net);
	for (unsigned l = 0; l < k; l++) {
		const struct topo_talk *p = &c->topo->talk[l];

		if ((strcmp(p->a, a->name) == 0 && strcmp(p->b, b->name) == 0) ||
		    (strcmp(p->a, b->name) == 0 && strcmp(p->b, a->name) == 0))
			return topo_fail(c->ctx, base, NULL, "%s and %s are"
					 " already a pair at talk[%u]", a->name,
					 b->name, l);
	}
	return 0;
}

static int check_host_port(struct checker *c)
{
	struct topo_host_port *hp = c->topo->host_port;
	struct link link;
	unsigned drv;
	int rc;

	if (hp == NULL)
		return 0;
	link = (struct link){ hp->net, hp->mac, hp->ip, &hp->gateway };
	rc = check_link(c, "host-port", &link, &drv);
	if (rc < 0)
		return rc;
	if (hp->netns && !topo_netns_valid(hp->netns))
		return topo_fail(c->ctx, "host-port", "netns", "'%s' is not a"
				 " namespace name (1..32 of A-Z a-z 0-9 _ . -)",
				 SHOW(hp->netns));
	if (c->links[drv] >= TOPO_MAX_APP_VMS)
		return topo_fail(c->ctx, "host-port", "net", "%s already serves"
				 " %u app VMs, as many links as it has",
				 hp->net, c->links[drv]);
	c->links[drv]++;
	return 0;
}

/* Left out, the name is the file's: "lab.yaml" is "lab". */
static int default_name(struct checker *c)
{
	const char *path = c->topo->path, *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);

	c->topo->name = strndup(base, len);
	if (c->topo->name == NULL)
		return -ENOMEM;
	if (!topo_name_valid(c->topo->name))
		return topo_fail_line(c->ctx, 0, "name", "missing, and the"
				      " file's name '%s' is not a name (a-z,"
				      " then a-z, 0-9 or '-'; at most %d"
				      " characters): set name:",
				      SHOW(c->topo->name), TOPO_NAME_MAX);
	return 0;
}

static int check_top(struct checker *c)
{
	struct topology *topo = c->topo;
	int rc = number(c, "", "version", &topo->version, 0, 0, UINT32_MAX);

	if (rc < 0)
		return rc;
	if (topo->version != 1)
		return topo_fail(c->ctx, "", "version", "%u is not supported"
				 " (this bulkhead reads version 1)",
				 topo->version);
	if (topo->name == NULL)
		return default_name(c);
	if (!topo_name_valid(topo->name))
		return topo_fail(c->ctx, "", "name", "'%s' is not a name (a-z,"
				 " then a-z, 0-9 or '-'; at most %d"
				 " characters)", SHOW(topo->name),
				 TOPO_NAME_MAX);
	return 0;
}

int topo_check(struct topo_ctx *ctx, struct topology *topo)
{
	struct checker *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->ctx = ctx;
	c->topo = topo;
	c->names = (struct seen_table){ c->name_entries, 0, NAMES_MAX };
	c->macs = (struct seen_table){ c->mac_entries, 0, MACS_MAX };
	c->pcis = (struct seen_table){ c->pci_entries, 0, PCIS_MAX };
	rc = check_top(c);
	for (unsigned i = 0; rc == 0 && i < topo->driver_vms_count; i++)
		rc = check_driver_vm(c, i);
	for (unsigned i = 0; rc == 0 && i < topo->app_vms_count; i++)
		rc = check_app_vm(c, i);
	for (unsigned k = 0; rc == 0 && k < topo->talk_count; k++)
		rc = check_talk(c, k);
	if (rc == 0)
		rc = check_host_port(c);
	free(c);
	return rc;
}
