/* The configuration a net driver VM (sys-net) boots with (its format:
 * docs/sysnet.md "Configuration"), from the topology. Pure: no I/O. */
#ifndef BULKHEAD_SYSNET_CONFIG_H
#define BULKHEAD_SYSNET_CONFIG_H

#include <stddef.h>

#include "topology.h"

/* The configuration text for driver VM DRV (caller frees), or NULL with
 * err set: -ENOTSUP for what sys-net cannot do yet, -ENOMEM. */
char *sysnet_config(const struct topology *topo,
		    const struct topo_driver_vm *drv, char *err, size_t err_len);

#endif
