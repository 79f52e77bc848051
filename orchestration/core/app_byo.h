/* An app VM on an image of the person's own (topology `disk:`,
 * docs/templates.md "Bring your own image"), in its directory under the
 * topology's data directory (DATA/TOPO/VM, as app_disks.h):
 *   disk.qcow2  its own persistent disk: the person's image copied once,
 *               at its first start (qemu-img running as the VM's own
 *               uid, the format stated from disk_image.h's check; root's,
 *               0600 after), kept across starts and `down`;
 *               the person's file is never opened by any VM's QEMU;
 *   seed.iso    its cloud-init NoCloud seed (label cidata), written at
 *               every start from the topology (cloud_seed.h);
 *   machine-id  kept as for template VMs: the seed's instance id. */
#ifndef BULKHEAD_APP_BYO_H
#define BULKHEAD_APP_BYO_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "app_disks.h"
#include "plan.h"
#include "topology.h"

#define APP_BYO_DISK "disk.qcow2"
#define APP_BYO_SEED "seed.iso"

struct app_byo {
	struct app_disks disks;         /* its directory and machine id */
	char disk[PATH_MAX];
	char seed[PATH_MAX];
};

/* The paths of VM's files (nothing is read or made). */
int app_byo_paths(const struct plan_dirs *dirs, const char *vm,
		  struct app_byo *out);

/* Before each start: the directory and machine id (app_disks_own), the
 * VM's disk copied from APP->disk when it has none yet, the seed written
 * afresh. ERR names the person's file and what is wrong with it. */
int app_byo_prepare(struct app_byo *b, const char *data_root,
		    const struct topo_app_vm *app, uid_t uid, char *err,
		    size_t err_len);

/* The VM's disk (B->disk) from IMAGE, the person's file: checked, then
 * parsed and copied by qemu-img running as UID (the VM's own, not 0),
 * the result root's, 0600. 0, or a negative errno and ERR naming IMAGE. */
int app_byo_copy(struct app_byo *b, const char *image, uid_t uid, char *err,
		 size_t err_len);

#endif
