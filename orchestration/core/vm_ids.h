/* Each VM's own principal on the host: the uid and gid its QEMU runs as
 * (libvirt's per-domain DAC label), one pair per topology and VM name,
 * allocated once and recorded in LIB_DIR/vm-ids.json so that a VM keeps
 * its ids across restarts, downs and host reboots (files it owns stay
 * its own). docs/security.md "Between VMs on the host".
 *
 * The ids come from a range of their own, above systemd's container
 * range and below its foreign range (systemd.io/UIDS-GIDS), and a
 * candidate is taken only when nothing on the host uses it: no user or
 * group in the user database, not inside a range of /etc/subuid or
 * /etc/subgid, no process running as it, not recorded for another VM.
 * gid == uid: the group holds only that VM's QEMU. */
#ifndef BULKHEAD_VM_IDS_H
#define BULKHEAD_VM_IDS_H

#include <stddef.h>
#include <sys/types.h>

#define VM_IDS_FIRST 0x70b10000u
#define VM_IDS_COUNT 0x10000u

struct vm_ids_host {
	const char *lib_dir;    /* /var/lib/bulkhead */
	const char *etc_dir;    /* /etc: subuid, subgid */
	const char *proc_dir;   /* /proc */
};

/* The default host: BULKHEAD_LIB_DIR or /var/lib/bulkhead, /etc, /proc. */
void vm_ids_host_default(struct vm_ids_host *host);

/* VM's uid (== gid) in TOPOLOGY: the recorded one, else a new one,
 * recorded before it is returned. A recorded id that has since become a
 * user or group of the user database is refused (-EEXIST). Errors: a
 * negative errno with ERR naming the file or id. */
int vm_ids_assign(const struct vm_ids_host *host, const char *topology,
		  const char *vm, uid_t *uid, char *err, size_t err_len);

/* The recorded id only (-ENOENT when there is none). */
int vm_ids_lookup(const struct vm_ids_host *host, const char *topology,
		  const char *vm, uid_t *uid, char *err, size_t err_len);

/* Whether UID is free for a new VM on this host, apart from the record:
 * 0, or -EBUSY with WHY saying who uses it. */
int vm_ids_unused(const struct vm_ids_host *host, uid_t uid, char *why,
		  size_t why_len);

#endif
