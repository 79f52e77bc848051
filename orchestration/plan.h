/* What a topology becomes on this host: the names and paths of the pieces
 * the bulkhead command makes (domains, links, sockets, taps), derived from
 * the topology alone so that every command (up, down, start, status) finds
 * the same ones. Pure: no I/O. */
#ifndef BULKHEAD_PLAN_H
#define BULKHEAD_PLAN_H

#include <limits.h>
#include <stddef.h>

#include "topology.h"

#define PLAN_DOMAIN_PREFIX "bulkhead-"
/* IFNAMSIZ - 1 */
#define PLAN_IFNAME_MAX 15

struct plan_dirs {
	char state[PATH_MAX];   /* STATE_ROOT/TOPOLOGY */
	char sock[PATH_MAX];    /* state/sock: reachable only by QEMU's user */
	char log[PATH_MAX];     /* LOG_ROOT/TOPOLOGY: consoles */
};

int plan_dirs(const char *state_root, const char *log_root,
	      const struct topology *topo, struct plan_dirs *out);

/* "bulkhead-NAME" */
int plan_domain_name(const char *vm, char *out, size_t len);

/* The MAC of the driver VM's virtio-net that faces app VM APP (its
 * "downstream"): locally administered (0a:b7:...), from a hash of the
 * topology's and the app VM's names, so it is stable across runs. */
void plan_downstream_mac(const struct topology *topo, const char *app,
			 char out[18]);
/* The MAC of an emulated NIC the file gives none for. */
void plan_emulated_mac(const struct topology *topo, const char *driver_vm,
		       unsigned device, char out[18]);
/* The tap of an emulated NIC: "bk" and 8 hex digits (fits IFNAMSIZ). */
void plan_tap_name(const struct topology *topo, const char *driver_vm,
		   unsigned device, char out[PLAN_IFNAME_MAX + 1]);

/* Checks the derived MACs against each other and the file's: -EEXIST with
 * a message naming both owners when two collide (a 32-bit hash, so
 * practically never). */
int plan_check(const struct topology *topo, char *err, size_t err_len);

/* The position (1-based) of APP among the app VMs its driver VM serves, in
 * file order: sys-net names that downstream dsN. 0 if not served. */
unsigned plan_downstream_index(const struct topology *topo, const char *app);

#endif
