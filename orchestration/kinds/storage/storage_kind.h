/* The storage driver VM kind (sys-storage, docs/sysstorage.md). */
#ifndef BULKHEAD_STORAGE_KIND_H
#define BULKHEAD_STORAGE_KIND_H

#include "kind.h"

extern const struct driver_kind storage_kind;

/* Its guest configuration (storage_config.c): the pool's warning
 * threshold and one volume per app VM it serves. */
char *storage_config(const struct topology *topo,
		     const struct topo_driver_vm *drv, char *err, size_t err_len);

#endif
