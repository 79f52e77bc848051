/* Every driver-VM kind there is: adding one is adding its folder and its
 * line here (kind.h). */
#include "kind.h"

#include "net/net_kind.h"

static const struct driver_kind *const kinds[] = {
	[TOPO_KIND_NET] = &net_kind,
};

const struct driver_kind *driver_kind_of(const struct topo_driver_vm *drv)
{
	return kinds[drv->kind];
}
