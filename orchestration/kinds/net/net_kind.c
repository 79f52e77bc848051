/* sys-net, the net driver VM (docs/sysnet.md): its images, its
 * configuration, its domain (its NICs, a vhost-user downstream per app VM
 * and for the host port, free root ports for more), its links. The host
 * side (taps, live updates) is in net_host.c. */
#include "net_kind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_files.h"
#include "state_paths.h"
#include "strbuf.h"
#include "sysnet_config.h"

/* Queue pairs by default (issue 19): a VM's virtio-net gets one per
 * vCPU (the Linux driver uses min(vCPUs, pairs), so more buy nothing),
 * at most LINK_MAX_PAIRS (bulkhead-link --queues' limit, NET_MAX_PAIRS
 * in vmm/net/net_vu.h); the link offers the larger of its two VMs'
 * counts, and forwards between different counts (docs/vmm.md). */
#define LINK_MAX_PAIRS 8

static unsigned vm_pairs(uint32_t vcpus)
{
	return vcpus < 1 ? 1 : vcpus > LINK_MAX_PAIRS ? LINK_MAX_PAIRS : vcpus;
}

static void net_images(const struct topo_driver_vm *drv,
		       struct domain_images *out)
{
	/* sys-net's own small kernel (guest-os/sysnet-kernel.config): Debian's
	 * generic one cannot boot in 64 MiB. */
	(void)drv;
	out->kernel = "sysnet-vmlinuz";
	snprintf(out->initrd, sizeof(out->initrd), "sysnet-initramfs.cpio.gz");
}

char *net_domain_xml(const struct topology *topo,
		     const struct topo_driver_vm *drv,
		     const struct domain_env *env, char *err, size_t err_len)
{
	struct strbuf sb = { 0 };
	char path[PATH_MAX];
	int rc = state_vm_dir(env->dirs, drv->name, path, sizeof(path));
	struct domain_images images = { 0 };
	net_images(drv, &images);
	domain_head(&sb, topo, drv->name, "net", drv->memory_mib, drv->vcpus, env,
		    &images, "console=ttyS0 panic=-1 quiet");
	domain_fwcfg_config(&sb, env, drv->name);
	strbuf_printf(&sb, "  <devices>\n");
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (dev->emulated == TOPO_EMULATED_NONE) {
			domain_pci_hostdev(&sb, dev->pci);
			continue;
		}
		char mac[18], tap[PLAN_IFNAME_MAX + 1];
		if (dev->mac)
			snprintf(mac, sizeof(mac), "%s", dev->mac);
		else
			plan_emulated_mac(topo, drv->name, i, mac);
		plan_tap_name(topo, drv->name, i, tap);
		/* The tap exists before the domain starts (managed='no') and
		 * is moved into its namespace once QEMU holds it. */
		strbuf_printf(&sb, "    <interface type='ethernet'>\n"
			      "      <mac address='%s'/>\n      <target dev='%s'"
			      " managed='no'/>\n      <model type='%s'/>\n"
			      "      <rom enabled='no'/>\n    </interface>\n", mac, tap,
			      dev->emulated == TOPO_EMULATED_IGB ? "igb" : "e1000e");
	}
	/* The host port's downstream is ua-ds0, the app VMs' ua-ds1.. (the
	 * numbers hot-plugging goes on with). */
	bool host = topo->host_port && strcmp(topo->host_port->via, drv->name) == 0;
	if (host) {
		char mac[18];
		plan_downstream_mac(topo, PLAN_HOST_PORT_LINK, mac);
		rc = rc ? rc : state_link_path(env->dirs, drv->name,
						PLAN_HOST_PORT_LINK, path,
						sizeof(path));
		domain_vhost_user_interface(&sb, mac, path, "ua-ds0", 1);
	}
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count && n < TOPO_MAX_APP_VMS; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_NET))
			continue;
		char mac[18];
		plan_downstream_mac(topo, a->name, mac);
		rc = rc ? rc : state_link_path(env->dirs, drv->name, a->name,
						path, sizeof(path));
		char alias[16];
		snprintf(alias, sizeof(alias), "ua-ds%u", ++n);
		domain_vhost_user_interface(&sb, mac, path, alias,
					    vm_pairs(drv->vcpus));
	}
	/* A root port for each PCI device (libvirt places its own on any free
	 * one: the NICs, the downstreams, virtio-serial) and DOMAIN_SPARE_
	 * ROOT_PORTS left empty: an app VM added later gets its downstream
	 * hot-plugged into one, without restarting sys-net. */
	strbuf_printf(&sb, "    <controller type='pci' index='0' model='pcie-root'/>\n"
		      "    <controller type='usb' model='none'/>\n");
	for (unsigned i = 0; i < drv->devices_count + host + n + 1 +
			     DOMAIN_SPARE_ROOT_PORTS; i++)
		strbuf_printf(&sb, "    <controller type='pci' model='pcie-root-port'/>\n");
	domain_console_agent(&sb, env, drv->name);
	strbuf_printf(&sb, "  </devices>\n");
	domain_vectors_override(&sb, env, "ua-ds", host ? 0 : 1, n + host);
	domain_seclabels(&sb, env);
	strbuf_printf(&sb, "</domain>\n");
	return domain_finish(&sb, err, err_len, rc, drv->name);
}

/* An app VM it serves: a vhost-user virtio-net, its link's side a (QEMU
 * the reconnecting client). */
static int net_app_devices(const struct topology *topo,
			   const struct topo_driver_vm *drv,
			   const struct topo_app_vm *app,
			   const struct domain_env *env, struct app_parts *out)
{
	char path[PATH_MAX];
	(void)topo;
	(void)drv;
	int rc = state_link_path(env->dirs, app->name, app->name, path,
				 sizeof(path));
	domain_vhost_user_interface(&out->devices, app->net.mac, path, "ua-net0",
				    vm_pairs(app->vcpus));
	domain_vectors_devices(&out->overrides, env, "ua-net", 0, 1);
	return rc;
}

/* One link per app VM it serves (side a the app VM's, side b its own
 * downstream), and the host port's (side a the host's tap, opened in its
 * namespace: host_port.c). Each a bulkhead-link. */
static int net_links(const struct topology *topo,
		     const struct topo_driver_vm *drv,
		     const struct link_env *env, struct link_set *set)
{
	const struct topo_host_port *hp = topo->host_port;
	struct link_spec *s;
	char mac_b[18];
	int rc = 0;

	if (hp && !strcmp(hp->via, drv->name)) {
		char tap[PLAN_IFNAME_MAX + 1];
		s = kind_link_worker(set, env, &net_kind, drv, PLAN_HOST_PORT_LINK,
				     "bulkhead-link");
		if (!s)
			return -ENOMEM;
		plan_host_tap_name(topo, tap);
		snprintf(s->netns, sizeof(s->netns), "%s", hp->netns ? hp->netns : "");
		state_link_path(env->dirs, drv->name, PLAN_HOST_PORT_LINK,
				s->sockets[0], sizeof(s->sockets[0]));
		plan_downstream_mac(topo, PLAN_HOST_PORT_LINK, mac_b);
		rc = link_spec_arg(s, "--tap-a") ?: link_spec_arg(s, "%s", tap) ?:
		     link_spec_arg(s, "--b") ?: link_spec_arg(s, "%s", s->sockets[0]) ?:
		     link_spec_arg(s, "--mac-a") ?: link_spec_arg(s, "%s", hp->mac) ?:
		     link_spec_arg(s, "--mac-b") ?: link_spec_arg(s, "%s", mac_b);
	}
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_NET))
			continue;
		s = kind_link_worker(set, env, &net_kind, drv, a->name,
				     "bulkhead-link");
		if (!s)
			return -ENOMEM;
		state_link_path(env->dirs, a->name, a->name, s->sockets[0],
				sizeof(s->sockets[0]));
		state_link_path(env->dirs, drv->name, a->name, s->sockets[1],
				sizeof(s->sockets[1]));
		plan_downstream_mac(topo, a->name, mac_b);
		unsigned pa = vm_pairs(a->vcpus), pd = vm_pairs(drv->vcpus);
		unsigned pairs = pa > pd ? pa : pd;

		rc = link_spec_arg(s, "--a") ?: link_spec_arg(s, "%s", s->sockets[0]) ?:
		     link_spec_arg(s, "--b") ?: link_spec_arg(s, "%s", s->sockets[1]) ?:
		     link_spec_arg(s, "--mac-a") ?: link_spec_arg(s, "%s", a->net.mac) ?:
		     link_spec_arg(s, "--mac-b") ?: link_spec_arg(s, "%s", mac_b);
		/* One pair is the link's default: the option only for more. */
		if (!rc && pairs > 1)
			rc = link_spec_arg(s, "--queues") ?:
			     link_spec_arg(s, "%u", pairs);
	}
	return rc;
}

/* Frames each way, those refused as spoofed, and (only a tap refuses by
 * EtherType) what sys-net sent the host that was neither IPv4 nor ARP. */
static void net_status_row(const char *link, json_object *live, char *out,
			   size_t out_len)
{
	bool tap = !strcmp(link, PLAN_HOST_PORT_LINK);
	char sides[16], ab[32], ba[32], not_ip4[24] = "-";
	snprintf(sides, sizeof(sides), "%s/%s",
		 tap ? "host" : kind_status_bool(live, "sides.a.connected") ? "app" : "-",
		 kind_status_bool(live, "sides.b.connected") ? "net" : "-");
	snprintf(ab, sizeof(ab), "%lld pkt", kind_status_int(live, "a_to_b.packets"));
	snprintf(ba, sizeof(ba), "%lld pkt", kind_status_int(live, "b_to_a.packets"));
	if (tap)
		snprintf(not_ip4, sizeof(not_ip4), "%lld",
			 kind_status_int(live, "b_to_a.drops.not_ipv4_arp"));
	snprintf(out, out_len, "%-9s %-12s %-12s %-8lld %s", sides, ab, ba,
		 kind_status_int(live, "a_to_b.drops.spoofed"), not_ip4);
}

/* sys-net's bk-config takes at most 16 KiB (MAX_BYTES). */
#define NET_CONFIG_MAX_BYTES 16384

static int net_check(const struct topology *topo,
		     const struct topo_driver_vm *drv, char *err, size_t err_len)
{
	/* sys-net takes the one interface that is not a downstream as its
	 * uplink; with more, mac= must say which (docs/sysnet.md). */
	if ((!drv->uplink || !drv->uplink->mac) && drv->devices_count > 1) {
		snprintf(err, err_len, "%s:%u: driver-vms[%u].uplink.mac: missing;"
			 " with %u devices it must say which is the uplink",
			 topo->path, drv->uplink_line ? drv->uplink_line :
			 drv->line, (unsigned)(drv - topo->driver_vms),
			 drv->devices_count);
		return -EINVAL;
	}
	char *cfg = sysnet_config(topo, drv, err, err_len);
	int rc = cfg ? 0 : -ENOTSUP;
	if (cfg && strlen(cfg) > NET_CONFIG_MAX_BYTES) {
		snprintf(err, err_len, "%s: driver VM %s: its sys-net configuration"
			 " would be %zu bytes, more than the %d it takes: fewer"
			 " firewall rules or app VMs", topo->path, drv->name,
			 strlen(cfg), NET_CONFIG_MAX_BYTES);
		rc = -E2BIG;
	}
	free(cfg);
	return rc;
}

const struct driver_kind net_kind = {
	.name = "net",
	.serves = KIND_SERVES(TOPO_ATTACH_NET),
	.takes = KIND_TAKES_DEVICES | KIND_NEEDS_DEVICES | KIND_TAKES_UPLINK,
	.emulated_models = KIND_MODEL(TOPO_EMULATED_E1000E) |
			   KIND_MODEL(TOPO_EMULATED_IGB),
	.check = net_check,
	.images = net_images,
	.guest_config = sysnet_config,
	.guest_config_title = "sys-net configuration",
	.domain_xml = net_domain_xml,
	.app_devices = net_app_devices,
	.links = net_links,
	.status_header = "SIDES     APP->NET     NET->APP     SPOOFED  NOT-IPV4",
	.status_row = net_status_row,
	.host_before_start = net_prepare_taps,
	.host_after_start = net_move_taps,
	.host_remove = net_delete_taps,
	.live_update = net_live_update,
};
