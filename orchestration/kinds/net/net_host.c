/* sys-net's side of the host: the taps of its emulated NICs, and live
 * updates of a running sys-net (hot-plugged downstreams, a new
 * configuration it applies itself). */
#include "net_kind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_net.h"
#include "state_paths.h"

/* The tap of DRV's device I, in TAP; false when that device is not an
 * emulated NIC (it has none). */
static bool device_tap(const struct topology *topo,
		       const struct topo_driver_vm *drv, unsigned i,
		       char tap[PLAN_IFNAME_MAX + 1])
{
	if (drv->devices[i].emulated == TOPO_EMULATED_NONE)
		return false;
	plan_tap_name(topo, drv->name, i, tap);
	return true;
}

void net_delete_taps(const struct topology *topo,
			const struct topo_driver_vm *drv)
{
	char tap[PLAN_IFNAME_MAX + 1];
	for (unsigned i = 0; i < drv->devices_count; i++)
		if (device_tap(topo, drv, i, tap))
			host_net_tap_remove(tap, drv->devices[i].netns);
}

/* Emulated NICs: a tap in the host's namespace for libvirt to open; the
 * namespace it will live in (made if missing). */
int net_prepare_taps(struct run *r, const struct topo_driver_vm *drv)
{
	char tap[PLAN_IFNAME_MAX + 1];
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (!device_tap(r->topo, drv, i, tap))
			continue;
		if (!host_net_netns_exists(dev->netns)) {
			if (host_net_netns_add(dev->netns, r->err, sizeof(r->err)))
				return -EIO;
			run_remember(r, JOURNAL_NETNS, dev->netns, NULL);
		}
		/* A tap left by a VM that is gone is stale: QEMU must open a
		 * fresh one in the host's namespace. */
		host_net_tap_remove(tap, dev->netns);
		if (host_net_tap_add(tap, NULL, r->err, sizeof(r->err)))
			return -EIO;
		run_remember(r, JOURNAL_TAP, tap, dev->netns);
	}
	return 0;
}

int net_move_taps(struct run *r, const struct topo_driver_vm *drv)
{
	char tap[PLAN_IFNAME_MAX + 1];
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (!device_tap(r->topo, drv, i, tap))
			continue;
		if (host_net_tap_move(tap, dev->netns, dev->bridge, r->err,
				      sizeof(r->err)))
			return -EIO;
	}
	return 0;
}

/* Applies a changed topology to running driver VM DRV without restarting
 * it, when the change allows: its own devices and settings are as before,
 * and app VMs were only added after the ones it serves (their downstreams
 * are hot-plugged) or firewall rules changed. sys-net checks and applies
 * the new configuration itself (bk-update). Returns true when done; false
 * when DRV must restart instead (the reason is printed). */
static void downstream_nic(const struct run *r, const struct topo_driver_vm *drv,
			   const char *app, char *sock, size_t sock_len,
			   char mac[18])
{
	state_link_path(&r->dirs, drv->name, app, sock, sock_len);
	plan_downstream_mac(r->topo, app, mac);
}

bool net_live_update(struct run *r, const struct topo_driver_vm *drv,
			const char *domain, const char *cfg)
{
	static const struct kind_nic_plug plug = {
		TOPO_ATTACH_NET, "bk-ds", "downstream", downstream_nic };
	return kind_live_add_nics(r, drv, domain, &plug) &&
	       kind_send_config(r, drv, cfg);
}
