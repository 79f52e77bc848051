/* The net driver VM kind (sys-net). */
#ifndef BULKHEAD_NET_KIND_H
#define BULKHEAD_NET_KIND_H

#include "kind.h"

extern const struct driver_kind net_kind;

/* Its domain XML (live updates compare the running one with it). */
char *net_domain_xml(const struct topology *topo,
		     const struct topo_driver_vm *drv,
		     const struct domain_env *env, char *err, size_t err_len);

/* The host side (net_host.c): emulated NICs' taps before the domain
 * starts and into their namespaces once QEMU holds them, and removed;
 * live updates. */
int net_prepare_taps(struct run *r, const struct topo_driver_vm *drv);
int net_move_taps(struct run *r, const struct topo_driver_vm *drv);
void net_delete_taps(const struct topology *topo,
		     const struct topo_driver_vm *drv);
bool net_live_update(struct run *r, const struct topo_driver_vm *drv,
		     const char *domain, const char *config);

#endif
