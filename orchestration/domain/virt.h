/* The libvirt side: connecting (starting libvirtd where nothing runs it),
 * and the few domain operations the bulkhead command needs. */
#ifndef BULKHEAD_VIRT_H
#define BULKHEAD_VIRT_H

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VIRT_DEFAULT_URI "qemu:///system"

enum virt_state { VIRT_ABSENT, VIRT_RUNNING, VIRT_STOPPED, VIRT_OTHER };

/* Opens URI. When that fails for qemu:///system and no libvirtd runs (no
 * systemd to socket-activate it, as in containers), starts virtlogd and
 * libvirtd (-d) and tries again for up to 20 s. "Runs" is root_daemon.h's
 * answer: a process any user may name libvirtd does not count. */
virConnectPtr virt_open(const char *uri, char *err, size_t err_len);

/* The state of domain NAME; its topology (metadata) into topology when
 * it has Bulkhead's metadata, else "". */
enum virt_state virt_domain_state(virConnectPtr conn, const char *name,
				  char *topology, size_t topology_len);
const char *virt_state_name(enum virt_state s);

/* Defines (replacing a stopped definition of the same name) and starts. */
int virt_domain_define_start(virConnectPtr conn, const char *name,
			     const char *xml, char *err, size_t err_len);
/* Destroys if running; undefine too when UNDEFINE. Absent is fine. */
int virt_domain_stop(virConnectPtr conn, const char *name, bool undefine,
		     char *err, size_t err_len);

/* A preloaded disposable (docs/templates.md): paused once it is ready,
 * resumed when it is taken. virt_domain_paused: true only for a domain
 * libvirt reports paused by a suspend (VIR_DOMAIN_PAUSED_USER), never
 * one paused while it starts. */
int virt_domain_suspend(virConnectPtr conn, const char *name, char *err,
			size_t err_len);
int virt_domain_resume(virConnectPtr conn, const char *name, char *err,
		       size_t err_len);
bool virt_domain_paused(virConnectPtr conn, const char *name);

/* Hot-plugs the device XML describes into running domain NAME, through
 * libvirt (its live definition follows). */
int virt_attach(virConnectPtr conn, const char *name, const char *xml,
		char *err, size_t err_len);

/* Hot-plugs a vhost-user virtio-net (MAC, QEMU the client of SOCK,
 * reconnecting) into running domain NAME on a free PCIe root port, through
 * QEMU's monitor: libvirt's own attach cannot set vectors=0, which TCG
 * needs (VECTORS0). ID names the device in QEMU (unique per domain).
 * -ENOSPC when no root port is free. */
int virt_hotplug_vhost_user_net(virConnectPtr conn, const char *name,
				const char *id, const char *sock, const char *mac,
				bool vectors0, char *err, size_t err_len);

/* The sVirt models (DOMAIN_SEC_* of domain_xml.h) the host's libvirt
 * offers besides DAC: AppArmor, SELinux, or none (these machines). */
unsigned virt_sec_models(virConnectPtr conn);

/* The uid running domain NAME's QEMU runs as, from its live DAC label
 * ("+UID:+GID"): 0 and *UID set, -ENOENT when it is not running or has
 * no such label. */
int virt_domain_dac_uid(virConnectPtr conn, const char *name, uid_t *uid);

/* Where libvirt's QEMU driver keeps each domain's private directory
 * (domain-N-NAME/, made with the domain's own label): a QEMU running as a
 * VM's own uid must pass through its parent. */
#define VIRT_QEMU_LIB_DIR "/var/lib/libvirt/qemu"

/* Lets every user pass through DIR (adds o+x; lists nothing): 1 when it
 * changed, 0 when it already could, -errno with ERR. */
int virt_allow_traverse(const char *dir, char *err, size_t err_len);

/* The last libvirt error as text. */
const char *virt_last_error(void);

#endif
