/* What kinds share to apply a changed topology to a running driver VM
 * without restarting it (kind.h live_update): telling whether the change
 * is only app VMs added after those it served, and handing it its new
 * configuration over its agent. */
#include "kind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "state_files.h"
#include "state_paths.h"
#include "virt.h"

/* The app VMs DRV serves for CLASS in TOPO, in file order. */
static unsigned served(const struct topology *topo, const char *drv,
		       enum topo_attach_class class, const char **names)
{
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		if (topology_serves(drv, &topo->app_vms[i], class))
			names[n++] = topo->app_vms[i].name;
	return n;
}

int kind_added_app_vms(struct run *r, const struct topo_driver_vm *drv,
		       const char *domain, enum topo_attach_class class,
		       const char **now, unsigned *first)
{
	char topo_name[64];
	if (virt_domain_state(r->o->conn, domain, topo_name, sizeof(topo_name)) !=
	    VIRT_RUNNING)
		return -1;
	const struct driver_kind *kind = driver_kind_of(drv);
	char xpath[PATH_MAX], prev_path[PATH_MAX], why[ERR_LEN];
	state_xml_path(&r->dirs, drv->name, xpath, sizeof(xpath));
	state_topology_copy(r->dirs.state, r->topo->name, prev_path,
			    sizeof(prev_path));
	char *old_xml = read_text(xpath);
	struct topology *prev = NULL;
	bool ok = kind && old_xml && !topology_load(prev_path, &prev, why,
						    sizeof(why));
	const char *was[TOPO_MAX_APP_VMS];
	unsigned nwas = ok ? served(prev, drv->name, class, was) : 0;
	unsigned nnow = served(r->topo, drv->name, class, now);
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
		base_xml = kind->domain_xml(&base, drv, &env, why, sizeof(why));
	ok = ok && base_xml && !strcmp(base_xml, old_xml);
	free(old_xml);
	free(base_xml);
	topology_free(prev);
	if (!ok) {
		printf("up: %s: its devices or app VMs changed other than by"
		       " additions; restarting it\n", drv->name);
		return -1;
	}
	*first = nwas;
	return (int)nnow;
}

bool kind_live_add_nics(struct run *r, const struct topo_driver_vm *drv,
			const char *domain, const struct kind_nic_plug *plug)
{
	char why[ERR_LEN];
	const char *now[TOPO_MAX_APP_VMS];
	unsigned nwas;
	int nnow = kind_added_app_vms(r, drv, domain, plug->class, now, &nwas);
	if (nnow < 0)
		return false;
	for (unsigned i = nwas; i < (unsigned)nnow; i++) {
		char id[32], sock[PATH_MAX], mac[18];
		snprintf(id, sizeof(id), "%s%u", plug->id_prefix, i + 1);
		plug->nic(r, drv, now[i], sock, sizeof(sock), mac);
		if (virt_hotplug_vhost_user_net(r->o->conn, domain, id, sock, mac,
						r->accel == DOMAIN_ACCEL_TCG, why,
						sizeof(why))) {
			printf("up: %s: hot-plug failed (%s); restarting it\n",
			       drv->name, why);
			return false;
		}
		printf("up: %s: %s for %s hot-plugged\n", drv->name, plug->what,
		       now[i]);
	}
	return true;
}

bool kind_send_config(struct run *r, const struct topo_driver_vm *drv,
		      const char *cfg)
{
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
