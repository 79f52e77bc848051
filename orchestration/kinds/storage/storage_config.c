/* sys-storage's configuration, handed over by fw_cfg and by its agent's
 * updates (driver-vms/storage/, docs/sysstorage.md "Configuration"): a
 * thin volume per app VM it serves, named after the app VM. Its checker
 * in the guest refuses anything else, so this writes only what
 * topology_load has checked (names, sizes). */
#include "storage_kind.h"

#include <stdio.h>

#include "strbuf.h"

/* The pool warns (its READY line says WARNING) at this fill. */
#define STORAGE_POOL_WARN_PERCENT 80

char *storage_config(const struct topology *topo,
		     const struct topo_driver_vm *drv, char *err, size_t err_len)
{
	struct strbuf sb = { 0 };
	strbuf_printf(&sb, "# sys-storage configuration (bulkhead): topology %s,"
		      " driver VM %s\npool-warn-percent %d\n", topo->name,
		      drv->name, STORAGE_POOL_WARN_PERCENT);
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (topology_serves(drv->name, a, TOPO_ATTACH_STORAGE))
			strbuf_printf(&sb, "volume %s %u\n", a->name,
				      a->storage.size_mib);
	}
	char *text = strbuf_take(&sb);
	if (!text)
		snprintf(err, err_len, "%s: configuration: out of memory",
			 drv->name);
	return text;
}
