/* A driver VM's entry: its devices (passed-through PCI, emulated NICs)
 * and its uplink (docs/topology.md "driver-vms"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_checker.h"

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
	return chk_unique(c, &c->pcis, dev->pci, base, "pci");
}

bool disk_path_valid(const char *path)
{
	size_t n = strlen(path);

	if (path[0] != '/' || n > 255 || strstr(path, "/../") ||
	    (n >= 3 && !strcmp(path + n - 3, "/..")) || path[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = path[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-' || ch == '/'))
			return false;
	}
	return true;
}

/* An emulated disk controller (nvme) or USB stick (usb-storage): its
 * disk is a file on the host, standing in for the real disk behind a
 * passed-through controller. */
static int check_emulated_disk(struct checker *c, const char *base,
			       struct topo_device *dev)
{
	const char *nic_key = dev->netns ? "netns" : dev->bridge ? "bridge" :
			      dev->mac ? "mac" : NULL;

	if (nic_key)
		return topo_fail(c->ctx, base, nic_key, "only an emulated NIC"
				 " has a %s; %s is a disk", nic_key,
				 topology_emulated_name(dev->emulated));
	if (dev->file == NULL)
		return topo_fail(c->ctx, base, "file", "missing; an emulated"
				 " disk controller or stick needs the host file"
				 " that is its disk");
	if (!disk_path_valid(dev->file))
		return topo_fail(c->ctx, base, "file", "'%s' is not an absolute"
				 " path of A-Z a-z 0-9 _ . - / (at most 255,"
				 " no '..')", SHOW(dev->file));
	if (dev->size == NULL)
		return topo_fail(c->ctx, base, "size", "missing; the disk's size"
				 " (made, sparse, when the file is missing)");
	int rc = chk_size(c, base, "size", dev->size, &dev->size_mib);
	return rc < 0 ? rc : chk_unique(c, &c->files, dev->file, base, "file");
}

static int check_device(struct checker *c, const char *drv_base,
			unsigned j, struct topo_device *dev)
{
	char base[TOPO_FIELD_MAX];
	int rc;

	topo_fieldf(base, "%s.devices[%u]", drv_base, j);
	dev->line = topo_doc_line(c->ctx, base);
	if (dev->pci && dev->emulated != TOPO_EMULATED_NONE)
		return topo_fail(c->ctx, base, NULL, "both pci and emulated; a"
				 " device is one or the other");
	if (dev->pci)
		return check_pci(c, base, dev);
	if (dev->emulated == TOPO_EMULATED_NONE)
		return topo_fail(c->ctx, base, NULL, "neither pci nor emulated;"
				 " a device is one of them");
	if (topology_emulated_disk(dev->emulated))
		return check_emulated_disk(c, base, dev);
	const char *extra = dev->file ? "file" : dev->size ? "size" : NULL;
	if (extra)
		return topo_fail(c->ctx, base, extra, "only an emulated disk"
				 " (nvme, usb-storage) has a disk file; %s is %s",
				 topology_emulated_name(dev->emulated),
				 topology_emulated_nic(dev->emulated) ? "a NIC" :
				 "an input device");
	if (!topology_emulated_nic(dev->emulated)) {
		/* A USB keyboard, tablet or mouse: nothing more to say. */
		extra = dev->netns ? "netns" : dev->bridge ? "bridge" :
			dev->mac ? "mac" : NULL;
		return extra ? topo_fail(c->ctx, base, extra, "only an emulated"
					 " NIC has a %s; %s is an input device",
					 extra, topology_emulated_name(dev->emulated)) : 0;
	}
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
	rc = chk_mac(c, base, "mac", dev->mac);
	return rc < 0 ? rc : chk_unique(c, &c->macs, dev->mac, base, "mac");
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
	rc = chk_cidr6(c, base, "address6", up->address6, 1, 127, &addr, &prefix);
	if (rc == 0)
		rc = chk_routable6(c, base, "address6", up->address6, &addr);
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
	rc = chk_canonical6(&up->address6, &addr, prefix, true);
	if (rc == 0)
		rc = chk_canonical6(&up->gateway6, &gw, 128, false);
	return rc < 0 ? rc : chk_net_disjoint(c, i, false, &net, prefix, base,
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
	rc = chk_cidr(c, base, "address", up->address, 1, 30, &addr, &prefix);
	if (rc < 0)
		return rc;
	mask = topo_prefix_mask(prefix);
	rc = chk_host_in(c, base, "address", up->address, addr, addr & mask,
		     prefix);
	if (rc < 0)
		return rc;
	rc = chk_ipv4(c, base, "gateway", up->gateway, &gw);
	if (rc < 0)
		return rc;
	rc = chk_host_in(c, base, "gateway", up->gateway, gw, addr & mask, prefix);
	if (rc < 0)
		return rc;
	if (gw == addr)
		return topo_fail(c->ctx, base, "gateway", "'%s' is the uplink's"
				 " own address", SHOW(up->gateway));
	for (unsigned k = 0; k < up->dns_count; k++) {
		char key[16];

		snprintf(key, sizeof(key), "dns[%u]", k);
		rc = chk_ipv4(c, base, key, up->dns[k], &dns);
		if (rc < 0)
			return rc;
	}
	rc = chk_subnet(c, i, addr & mask, prefix, base, "address");
	return rc < 0 ? rc : check_static_uplink6(c, base, i, up);
}

/* The uplink's mac picks sys-net's uplink NIC: an emulated device's MAC,
 * or (a passed-through NIC's MAC is its own) any other with a pci one. */
static int check_uplink_mac(struct checker *c, const char *base,
			    const struct topo_driver_vm *drv, char *value)
{
	bool has_pci = false;
	int rc = chk_mac(c, base, "mac", value);

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
	return chk_unique(c, &c->macs, value, base, "mac");
}

static int check_uplink(struct checker *c, const char *drv_base, unsigned i)
{
	const struct topo_driver_vm *drv = &c->topo->driver_vms[i];
	struct topo_uplink *up = drv->uplink;
	char base[TOPO_FIELD_MAX];
	int rc;

	topo_field(base, drv_base, "uplink");
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
int chk_vm(struct checker *c, const char *base, const char *value,
		    uint32_t *memory_mib, uint32_t memory_default,
		    uint32_t *vcpus)
{
	int rc = chk_name(c, base, value);

	if (rc == 0)
		rc = chk_number(c, base, "memory", memory_mib, memory_default,
			    MEMORY_MIN, MEMORY_MAX);
	if (rc == 0)
		rc = chk_number(c, base, "vcpus", vcpus, 1, 1, VCPUS_MAX);
	return rc;
}

int chk_driver_vm(struct checker *c, unsigned i)
{
	struct topo_driver_vm *drv = &c->topo->driver_vms[i];
	char base[TOPO_FIELD_MAX];
	int rc;

	bool passthrough = false;
	for (unsigned j = 0; j < drv->devices_count; j++)
		passthrough |= drv->devices[j].pci != NULL;
	topo_fieldf(base, "driver-vms[%u]", i);
	rc = chk_vm(c, base, drv->name, &drv->memory_mib,
		      passthrough ? DRIVER_MEMORY_VFIO_DEFAULT :
		      DRIVER_MEMORY_DEFAULT, &drv->vcpus);
	if (rc)
		return rc;
	/* Which kinds exist is the command's to say (kinds/); here only
	 * that it is a name, and where it stands for that message. */
	char field[TOPO_FIELD_MAX];
	topo_field(field, base, "kind");
	drv->kind_line = topo_doc_line(c->ctx, field);
	if (!topo_name_valid(drv->kind))
		return topo_fail(c->ctx, base, "kind", "'%s' is not a kind's name",
				 SHOW(drv->kind));
	/* Whether its kind takes devices and an uplink, and needs devices,
	 * is the kind's to say (driver_kinds_check): here their values, and
	 * where they stand for that message. */
	drv->line = topo_doc_line(c->ctx, base);
	topo_field(field, base, "devices");
	drv->devices_line = topo_doc_node(c->ctx, field) ?
			    topo_doc_line(c->ctx, field) : 0;
	topo_field(field, base, "uplink");
	drv->uplink_line = topo_doc_node(c->ctx, field) ?
			   topo_doc_line(c->ctx, field) : 0;
	topo_field(field, base, "input");
	drv->input_line = topo_doc_node(c->ctx, field) ?
			  topo_doc_line(c->ctx, field) : 0;
	for (unsigned j = 0; rc == 0 && j < drv->devices_count; j++)
		rc = check_device(c, base, j, &drv->devices[j]);
	return rc < 0 || !drv->uplink ? rc : check_uplink(c, base, i);
}
