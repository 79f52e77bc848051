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
 *   machine-id  kept as for template VMs: the seed's instance id;
 *   nvram.fd    (firmware: uefi) its UEFI variables (boot entries the
 *               guest's installer writes): a copy of OVMF's empty store
 *               made at its first start, root's, 0600 between runs,
 *               kept like the disk. */
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
#define APP_BYO_NVRAM "nvram.fd"
/* Debian's ovmf: the firmware without Secure Boot (it needs no SMM, which
 * TCG emulates slowly) and its empty variable store, the template of
 * each VM's own. */
#define APP_BYO_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define APP_BYO_OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"

struct app_byo {
	struct app_disks disks;         /* its directory and machine id */
	char disk[PATH_MAX];
	char seed[PATH_MAX];
	char nvram[PATH_MAX];
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

/* Whether OVMF's two files are there, regular and of sane sizes (check;
 * app_byo_nvram at every UEFI start): 0, or a negative errno and ERR naming the file
 * and the package. */
int app_byo_firmware_check(char *err, size_t err_len);

/* A UEFI VM's variable store (B->nvram), OVMF's files checked as
 * app_byo_firmware_check does: kept when it is a regular file
 * of the size of OVMF's template (APP_BYO_OVMF_VARS), made root's and
 * 0600 again; made from the template (root's, 0600) when missing. 0, or
 * a negative errno and ERR naming the file. */
int app_byo_nvram(struct app_byo *b, const char *vm, char *err,
		  size_t err_len);

/* The VM's disk (B->disk) from IMAGE, the person's file: checked, then
 * parsed and copied by qemu-img running as UID (the VM's own, not 0),
 * the result root's, 0600. 0, or a negative errno and ERR naming IMAGE. */
int app_byo_copy(struct app_byo *b, const char *image, uid_t uid, char *err,
		 size_t err_len);

#endif
