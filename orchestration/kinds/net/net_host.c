/* sys-net's side of the host: the taps of its emulated NICs, and live
 * updates of a running sys-net (hot-plugged downstreams, a new
 * configuration it applies itself). */
#include "net_kind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "host_net.h"
#include "state_files.h"
#include "state_paths.h"
#include "virt.h"

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

/* The app VMs DRV serves in TOPO, in file order (its downstreams). */
static unsigned served(const struct topology *topo, const char *drv,
		       const char **names)
{
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		if (topology_serves(drv, &topo->app_vms[i], TOPO_ATTACH_NET))
			names[n++] = topo->app_vms[i].name;
	return n;
}

/* Applies a changed topology to running driver VM DRV without restarting
 * it, when the change allows: its own devices and settings are as before,
 * and app VMs were only added after the ones it serves (their downstreams
 * are hot-plugged) or firewall rules changed. sys-net checks and applies
 * the new configuration itself (bk-update). Returns true when done; false
 * when DRV must restart instead (the reason is printed). */
bool net_live_update(struct run *r, const struct topo_driver_vm *drv,
			const char *domain, const char *cfg)
{
	char topo_name[64], xpath[PATH_MAX], prev_path[PATH_MAX], why[ERR_LEN];
	if (virt_domain_state(r->o->conn, domain, topo_name, sizeof(topo_name)) !=
	    VIRT_RUNNING)
		return false;
	state_xml_path(&r->dirs, drv->name, xpath, sizeof(xpath));
	state_topology_copy(r->dirs.state, r->topo->name, prev_path,
		    sizeof(prev_path));
	char *old_xml = read_text(xpath);
	struct topology *prev = NULL;
	bool ok = old_xml && !topology_load(prev_path, &prev, why, sizeof(why));
	const char *was[TOPO_MAX_APP_VMS], *now[TOPO_MAX_APP_VMS];
	unsigned nwas = ok ? served(prev, drv->name, was) : 0;
	unsigned nnow = served(r->topo, drv->name, now);
	ok = ok && nnow >= nwas;
	for (unsigned i = 0; ok && i < nwas; i++)
		ok = !strcmp(was[i], now[i]);
	/* The domain this file gives DRV without the added app VMs must be
	 * exactly the running one: then nothing but the additions changed
	 * (not its memory, devices, namespace or bridge). */
	struct topo_app_vm kept[TOPO_MAX_APP_VMS];
	struct topology base = *r->topo;
	base.app_vms = kept;
	base.app_vms_count = 0;
	for (unsigned i = 0; ok && i < r->topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &r->topo->app_vms[i];
		bool added = false;
		for (unsigned j = nwas; j < nnow; j++)
			added |= !strcmp(now[j], a->name);
		if (!added)
			kept[base.app_vms_count++] = *a;
	}
	char *base_xml = NULL;
	struct domain_env env;
	if (ok && !run_vm_env(r, drv->name, &env))
		base_xml = net_domain_xml(&base, drv, &env, why, sizeof(why));
	ok = ok && base_xml && !strcmp(base_xml, old_xml);
	free(old_xml);
	free(base_xml);
	topology_free(prev);
	if (!ok) {
		printf("up: %s: its devices or downstreams changed other than by"
		       " additions; restarting it\n", drv->name);
		return false;
	}
	for (unsigned i = nwas; i < nnow; i++) {
		char id[32], sock[PATH_MAX], mac[18];
		snprintf(id, sizeof(id), "bk-ds%u", i + 1);
		state_link_path(&r->dirs, drv->name, now[i], sock, sizeof(sock));
		plan_downstream_mac(r->topo, now[i], mac);
		if (virt_hotplug_vhost_user_net(r->o->conn, domain, id, sock, mac,
						r->accel == DOMAIN_ACCEL_TCG, why,
						sizeof(why))) {
			printf("up: %s: hot-plug failed (%s); restarting it\n",
			       drv->name, why);
			return false;
		}
		printf("up: %s: downstream for %s hot-plugged\n", drv->name, now[i]);
	}
	char agent[PATH_MAX], reply[AGENT_LINE_MAX];
	struct agent_addr to;
	int rc = run_vm_agent(r, drv->name, agent, &to);
	rc = rc ? rc : agent_send_config(&to, cfg, 90000, reply, sizeof(reply));
	if (rc) {
		printf("up: %s: live update refused (%s); restarting it\n",
		       drv->name, rc == -EIO ? reply : strerror(-rc));
		return false;
	}
	printf("up: %s: %s, applied live (not restarted)\n", drv->name, reply);
	return true;
}
