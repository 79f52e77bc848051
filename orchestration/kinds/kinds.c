/* Every driver-VM kind there is: adding one is adding its folder and its
 * line here (kind.h). */
#include "kind.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/net_kind.h"
#if BULKHEAD_TEST_KINDS
#include "dummy_kind.h"
#endif

static const struct driver_kind *const kinds[] = {
	&net_kind,
#if BULKHEAD_TEST_KINDS
	&dummy_kind,    /* tests/kinds/dummy/: a kind in one folder */
#endif
};

const struct driver_kind *driver_kind_of(const struct topo_driver_vm *drv)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i]->name, drv->kind))
			return kinds[i];
	return NULL;
}

int driver_kinds_check(const struct topology *topo, char *err, size_t err_len)
{
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		if (driver_kind_of(d))
			continue;
		char names[128] = "";
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 "%s%s", k ? ", " : "", kinds[k]->name);
		/* The kind was checked to be a name (topology_load): safe
		 * to show. */
		snprintf(err, err_len, "%s:%u: driver-vms[%u].kind: '%s' is not"
			 " one of %s", topo->path, d->kind_line, i, d->kind, names);
		return -EINVAL;
	}
	return 0;
}
