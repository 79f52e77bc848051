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

#define KINDS_COUNT (sizeof(kinds) / sizeof(kinds[0]))

/* "net, dummy": the kinds there are, or those serving CLASS (all: -1). */
static void kind_names(int class, char *out, size_t out_len)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t k = 0; k < KINDS_COUNT && len < out_len; k++)
		if (class < 0 || kinds[k]->serves & KIND_SERVES(class))
			len += (size_t)snprintf(out + len, out_len - len, "%s%s",
						len ? ", " : "", kinds[k]->name);
}

/* APP's attachment of CLASS (when it has one) names a driver VM of a kind
 * that serves CLASS. The names were checked by topology_load (safe to
 * show, and each names a driver VM). */
static int check_attach(const struct topology *topo, unsigned i,
			enum topo_attach_class class, char *err, size_t err_len)
{
	struct topo_attach at = topology_attach(&topo->app_vms[i], class);
	const struct topo_driver_vm *drv;
	const struct driver_kind *kind;
	const char *name = topology_attach_name(class);
	char serving[128];

	if (at.via == NULL)
		return 0;
	drv = topology_driver_vm(topo, at.via);
	kind = drv ? driver_kind_of(drv) : NULL;
	if (kind == NULL || kind->serves & KIND_SERVES(class))
		return 0;
	kind_names((int)class, serving, sizeof(serving));
	/* Version 1 names the driver VM at the app VM's "net". */
	snprintf(err, err_len, "%s:%u: app-vms[%u].%s%s: '%s' is a %s driver"
		 " VM, which serves no %s; %s%s", topo->path, at.via_line, i,
		 name, topo->version == 1 ? "" : ".via", at.via, kind->name,
		 name, serving[0] ? "kinds that do: " : "no kind here does",
		 serving);
	return -EINVAL;
}

int driver_kinds_check(const struct topology *topo, char *err, size_t err_len)
{
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		if (driver_kind_of(d))
			continue;
		char names[128];
		kind_names(-1, names, sizeof(names));
		/* The kind was checked to be a name (topology_load): safe
		 * to show. */
		snprintf(err, err_len, "%s:%u: driver-vms[%u].kind: '%s' is not"
			 " one of %s", topo->path, d->kind_line, i, d->kind, names);
		return -EINVAL;
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		for (int c = 0; c < TOPO_ATTACH_CLASSES; c++) {
			int rc = check_attach(topo, i, (enum topo_attach_class)c,
					      err, err_len);
			if (rc < 0)
				return rc;
		}
	return 0;
}
