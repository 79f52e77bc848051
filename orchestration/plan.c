#include "plan.h"

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
	      const struct topology *topo, struct plan_dirs *out)
{
	int rc = path_join(out->state, sizeof(out->state), state_root, topo->name);
	if (!rc)
		rc = path_join(out->sock, sizeof(out->sock), out->state, "sock");
	if (!rc)
		rc = path_join(out->log, sizeof(out->log), log_root, topo->name);
	return rc;
}

int plan_domain_name(const char *vm, char *out, size_t len)
{
	int n = snprintf(out, len, PLAN_DOMAIN_PREFIX "%s", vm);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* FNV-1a over "a/b/c": names are checked, so no separator ambiguity. */
static uint32_t name_hash(const char *a, const char *b, const char *c,
			  unsigned n)
{
	uint32_t h = 2166136261u;
	const char *parts[] = { a, "/", b, "/", c ? c : "" };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
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

unsigned plan_downstream_index(const struct topology *topo, const char *app)
{
	const struct topo_app_vm *vm = topology_app_vm(topo, app);
	if (!vm)
		return 0;
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		if (strcmp(topo->app_vms[i].net, vm->net) == 0)
			n++;
		if (&topo->app_vms[i] == vm)
			return n;
	}
	return 0;
}

struct owned_mac {
	char mac[18];
	char owner[64];
};

int plan_check(const struct topology *topo, char *err, size_t err_len)
{
	struct owned_mac macs[TOPO_MAX_APP_VMS * 2 + TOPO_MAX_DRIVER_VMS *
			      (TOPO_MAX_DEVICES + 1) + 1];
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		snprintf(macs[n].mac, sizeof(macs[n].mac), "%s", a->mac);
		snprintf(macs[n++].owner, sizeof(macs[0].owner), "app VM %s", a->name);
		plan_downstream_mac(topo, a->name, macs[n].mac);
		snprintf(macs[n++].owner, sizeof(macs[0].owner),
			 "%s's downstream for %s", a->net, a->name);
	}
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		for (unsigned j = 0; j < d->devices_count; j++) {
			const struct topo_device *dev = &d->devices[j];
			if (dev->emulated == TOPO_EMULATED_NONE)
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
	return 0;
}
