/* The value checkers of the topology: names, numbers, MACs, IPv4 and
 * IPv6 addresses and networks, uniqueness and overlaps (docs/topology.md
 * "Rules"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_checker.h"

/* VALUE at BASE.KEY, unless an earlier field holds it. */
int chk_unique(struct checker *c, struct seen_table *table,
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
int chk_number(struct checker *c, const char *base, const char *key,
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

int chk_size(struct checker *c, const char *base, const char *key,
	     const char *text, uint32_t *mib)
{
	static const struct { const char *unit; uint32_t mib; } units[] = {
		{ "M", 1 }, { "MiB", 1 }, { "G", 1024 }, { "GiB", 1024 },
		{ "T", 1024 * 1024 }, { "TiB", 1024 * 1024 },
	};
	unsigned long long n = 0;
	size_t digits = 0;

	while (text[digits] >= '0' && text[digits] <= '9' && digits < 8)
		n = n * 10 + (unsigned long long)(text[digits++] - '0');
	for (size_t i = 0; digits && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(text + digits, units[i].unit) != 0)
			continue;
		n *= units[i].mib;
		if (n < 1 || n > TOPO_SIZE_MAX_MIB)
			return topo_fail(c->ctx, base, key, "'%s' is not in 1M..1T",
					 SHOW(text));
		*mib = (uint32_t)n;
		return 0;
	}
	return topo_fail(c->ctx, base, key, "'%s' is not a size (a number and"
			 " M, G or T: 512M, 2G)", SHOW(text));
}

int chk_name(struct checker *c, const char *base, const char *value)
{
	if (!topo_name_valid(value))
		return topo_fail(c->ctx, base, "name", "'%s' is not a name"
				 " (a-z, then a-z, 0-9 or '-'; at most %d"
				 " characters)", SHOW(value), TOPO_NAME_MAX);
	return chk_unique(c, &c->names, value, base, "name");
}

int chk_mac(struct checker *c, const char *base, const char *key,
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

int chk_ipv4(struct checker *c, const char *base, const char *key,
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
int chk_cidr_checked(struct checker *c, const char *base, const char *key,
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
int chk_cidr(struct checker *c, const char *base, const char *key,
		const char *value, unsigned min, unsigned max, uint32_t *addr,
		unsigned *prefix)
{
	return chk_cidr_checked(c, base, key, value,
			    topo_cidr_parse(value, addr, prefix), false, prefix,
			    min, max);
}

/* An IPv6 X/N at BASE.KEY with MIN <= N <= MAX. */
int chk_cidr6(struct checker *c, const char *base, const char *key,
		 const char *value, unsigned min, unsigned max,
		 struct in6_addr *addr, unsigned *prefix)
{
	return chk_cidr_checked(c, base, key, value,
			    topo_cidr6_parse(value, addr, prefix), true, prefix,
			    min, max);
}

/* ADDR (VALUE) is a host of NET/PREFIX: inside it, neither its network
 * nor its broadcast address, and unicast (bk-config's host_in). */
int chk_host_in(struct checker *c, const char *base, const char *key,
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
int chk_net_disjoint(struct checker *c, unsigned drv, bool v4,
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
int chk_subnet(struct checker *c, unsigned drv, uint32_t net,
		  unsigned prefix, const char *base, const char *key)
{
	struct in6_addr mapped = { .s6_addr = { [10] = 0xff, [11] = 0xff,
		[12] = net >> 24 & 0xff, [13] = net >> 16 & 0xff,
		[14] = net >> 8 & 0xff, [15] = net & 0xff } };

	return chk_net_disjoint(c, drv, true, &mapped, prefix + 96, base, key);
}

/* Where sys-net's own addresses and the app VMs' may be: global unicast
 * or unique local. Not link-local (every link has its own fe80::/64),
 * multicast, loopback or the unassigned rest. */
int chk_routable6(struct checker *c, const char *base, const char *key,
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
int chk_canonical6(char **text, const struct in6_addr *addr,
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
