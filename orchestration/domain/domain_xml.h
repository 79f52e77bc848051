/* libvirt domain XML for a driver VM or an app VM. Pure: no I/O. The
 * pieces each needs and why are in docs/orchestration.md. */
#ifndef BULKHEAD_DOMAIN_XML_H
#define BULKHEAD_DOMAIN_XML_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"
#include "state_paths.h"
#include "strbuf.h"
#include "topology.h"

enum domain_accel { DOMAIN_ACCEL_TCG, DOMAIN_ACCEL_KVM };

/* The sVirt models the host's libvirt offers besides DAC. */
enum { DOMAIN_SEC_APPARMOR = 1, DOMAIN_SEC_SELINUX = 2 };

struct domain_env {
	const struct plan_dirs *dirs;
	enum domain_accel accel;
	uid_t uid;                      /* the VM's own uid == gid (vm_ids.h) */
	unsigned sec_models;            /* DOMAIN_SEC_* */
};

/* Root ports a driver VM keeps free for hot-plugged downstreams. */
#define DOMAIN_SPARE_ROOT_PORTS 4

#define DOMAIN_XML_NS "https://bulkhead.dev/libvirt/1"

/* The images (in the image cache) a VM boots, copied into its own
 * directory before each start (boot_files.h); the domain's metadata names
 * them. KERNEL NULL: none, the VM boots from its own disk by firmware
 * (an app VM on its own disk). */
struct domain_images {
	const char *kernel;
	char initrd[TOPO_NAME_MAX + 32];
	/* No kernel: the VM's own boot loader, started by SeaBIOS, or by
	 * OVMF with this file as its UEFI variable store. */
	const char *nvram;
};
void domain_images_app_vm(const struct topo_app_vm *app,
			  struct domain_images *out);

/* What an app VM's attachments give its domain, from the kinds serving
 * it (kind_app_devices): devices, the QEMU overrides' <qemu:device>
 * entries, words for its kernel command line (each with a leading
 * space). */
struct app_parts_text {
	char *devices;
	char *overrides;
	char *cmdline;
};

/* What an app VM on a template boots with besides its parts
 * (docs/templates.md): its disks (app_disks.h), the template's root file
 * system they are over, its machine id, qemu-guest-agent's socket. */
struct domain_template_boot {
	const char *template_root;
	const char *root;
	const char *private_vol;
	const char *machine_id;
	const char *qga;
	/* An app VM on its own disk (app_byo.h) instead: its disk and
	 * cloud-init seed, and its UEFI variable store (NULL: BIOS); the
	 * template's three NULL. */
	const char *own_disk;
	const char *seed;
	const char *nvram;
};

/* An app VM's XML (caller frees), or NULL with err set; TB for an app VM
 * on a template or its own disk, else NULL. A driver VM's is its kind's (kind.h). */
char *domain_xml_app_vm(const struct topology *topo,
			const struct topo_app_vm *app,
			const struct domain_env *env,
			const struct app_parts_text *parts,
			const struct domain_template_boot *tb, char *err,
			size_t err_len);

/* The pieces a driver VM kind's domain is made of (kinds/): the start
 * every domain shares (name, metadata naming its topology, role and
 * images, shared memfd memory, direct kernel boot of its own copies), */
void domain_head(struct strbuf *sb, const struct topology *topo,
		 const char *vm, const char *role, uint32_t memory_mib,
		 uint32_t vcpus, const struct domain_env *env,
		 const struct domain_images *images, const char *cmdline);
/* a file of VM's own directory (its boot files), */
void domain_vm_file(struct strbuf *sb, const struct domain_env *env,
		    const char *vm, const char *name);
/* its configuration through fw_cfg (opt/bulkhead/config, its BOOT_CONFIG
 * copy), */
void domain_fwcfg_config(struct strbuf *sb, const struct domain_env *env,
			 const char *vm);
/* a passed-through PCI device (managed='no': bound by the command), */
void domain_pci_hostdev(struct strbuf *sb, const char *bdf);
/* a vhost-user virtio-net whose QEMU is the reconnecting client, with
 * `queues` queue pairs (more than 1: <driver queues='N'/>, QEMU's
 * queues=N and mq=on; its link must answer GET_QUEUE_NUM >= N), */
void domain_vhost_user_interface(struct strbuf *sb, const char *mac,
				 const char *sock, const char *alias,
				 unsigned queues);
/* vectors=0 for N vhost-user NICs ALIAS_PREFIX{FIRST..} under TCG (the
 * whole <qemu:override>, or only its <qemu:device> entries), */
void domain_vectors_override(struct strbuf *sb, const struct domain_env *env,
			     const char *alias_prefix, unsigned first, unsigned n);
void domain_vectors_devices(struct strbuf *sb, const struct domain_env *env,
			    const char *alias_prefix, unsigned first, unsigned n);
/* the console on a pty logged to a file, the agent channel, */
void domain_console_agent(struct strbuf *sb, const struct domain_env *env,
			  const char *vm);
/* the VM's own uid (and sVirt where the host has it), */
void domain_seclabels(struct strbuf *sb, const struct domain_env *env);
/* and the text (caller frees), or NULL with ERR (RC: a path was too
 * long). */
char *domain_finish(struct strbuf *sb, char *err, size_t err_len, int rc,
		    const char *vm);

#endif
