/* An app VM's disks on a template (docs/templates.md), in its own
 * directory under the topology's data directory (DATA/TOPO/VM, root's and
 * the VM's group's, 02750; the files root's, 0600, which libvirt hands to
 * the VM's uid while it runs and gives back after):
 *   root.qcow2     an overlay of the template's root file system, made
 *                  afresh at every start (nothing the VM did to its root
 *                  survives a restart);
 *   private.qcow2  its private volume (home, SSH host keys), made blank
 *                  once, kept;
 *   machine-id     its systemd machine id, made once, kept: every VM on a
 *                  template has its own (the kernel command line gives it);
 *   template       the template version root.qcow2 is on.
 * A disposable VM's whole directory is made at its start and dropped at
 * its stop. */
#ifndef BULKHEAD_APP_DISKS_H
#define BULKHEAD_APP_DISKS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app_template.h"
#include "plan.h"

#define APP_DISK_ROOT "root.qcow2"
#define APP_DISK_PRIVATE "private.qcow2"
#define APP_DISK_MACHINE_ID "machine-id"
#define APP_DISK_TEMPLATE "template"

struct app_disks {
	char dir[PATH_MAX];
	char root[PATH_MAX];
	char private_vol[PATH_MAX];
	char machine_id[33];    /* "" until made or read */
	char template_version[TEMPLATE_VERSION_LEN + 1]; /* "" likewise */
};

/* DIR/NAME into OUT (LEN bytes): 0, or -ENAMETOOLONG. */
int app_disks_join(char *out, size_t len, const char *dir, const char *name);

/* The paths of VM's disks (nothing is read or made). */
int app_disks_paths(const struct plan_dirs *dirs, const char *vm,
		    struct app_disks *out);

/* What is recorded for a VM started before: its machine id and the
 * template version of its root (left "" when missing or malformed). */
void app_disks_read(struct app_disks *d);

/* PATH (a file the VM may have written) to OWNER (uid and gid), 0600:
 * opened without following a link, a regular file only. */
int app_disks_hand(const char *path, uid_t owner, char *err, size_t err_len);

/* Whether the private volume PATH fits PRIVATE_MIB: its size (from its
 * header, checked: disk_image.h) into *HAVE; -EINVAL when PRIVATE_MIB is
 * smaller (a volume is never shrunk); -EBADMSG when its header is not a
 * plain qcow2 one (the VM's QEMU rewrote it), ERR saying so. */
int app_disks_private_fits(const char *path, uint32_t private_mib,
			   uint64_t *have, char *err, size_t err_len);

/* Before each start: the directory (DATA_ROOT and DATA/TOPO made 0711 when
 * missing), the machine id (made when missing), a fresh root overlay on
 * template T, the private volume of PRIVATE_MIB (made blank when missing,
 * grown when smaller, refused when larger);
 * the directory the VM's UID's group's. DISPOSABLE: whatever was there is dropped first,
 * so nothing of an earlier run is seen. qemu-img makes the images. */
int app_disks_prepare(struct app_disks *d, const char *data_root,
		      const struct app_template *t, uint32_t private_mib,
		      bool disposable, uid_t uid, char *err, size_t err_len);

/* The directory (DATA_ROOT and DATA/TOPO made 0711 when missing; the
 * VM's own root's and UID's group's, 02750) and the machine id, made when
 * missing: what every VM with disks of its own has (app_byo.h too). */
int app_disks_own(struct app_disks *d, const char *data_root, uid_t uid,
		  char *err, size_t err_len);

/* A command ARGV (qemu-img, genisoimage) writing PATH: "@OUT@" in ARGV
 * stands for PATH.new, renamed to PATH when whole, root's and 0600 (libvirt hands it to the VM's uid
 * while the VM runs and gives it back after). */
int app_disks_make(char **argv, const char *path, char *err,
		       size_t err_len);

/* Removes the VM's directory and everything in it (a disposable's stop):
 * 0 also when there is none. */
int app_disks_drop(const struct app_disks *d, char *err, size_t err_len);

#endif
