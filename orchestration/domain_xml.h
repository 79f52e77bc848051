/* libvirt domain XML for a driver VM or an app VM. Pure: no I/O. The
 * pieces each needs and why are in docs/orchestration.md. */
#ifndef BULKHEAD_DOMAIN_XML_H
#define BULKHEAD_DOMAIN_XML_H

#include <stddef.h>
#include <sys/types.h>

#include "plan.h"
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
 * them. */
struct domain_images {
	const char *kernel;
	char initrd[TOPO_NAME_MAX + 32];
};
void domain_images_driver_vm(const struct topo_driver_vm *drv,
			     struct domain_images *out);
void domain_images_app_vm(const struct topo_app_vm *app,
			  struct domain_images *out);

/* The XML (caller frees), or NULL with err set. */
char *domain_xml_driver_vm(const struct topology *topo,
			   const struct topo_driver_vm *drv,
			   const struct domain_env *env, char *err, size_t err_len);
char *domain_xml_app_vm(const struct topology *topo,
			const struct topo_app_vm *app,
			const struct domain_env *env, char *err, size_t err_len);

/* Paths both the domain and the bulkhead command use, under env->dirs:
 * the VM's own directory (its boot files, its link sockets), */
int domain_vm_dir(const struct plan_dirs *dirs, const char *vm, char *out,
		  size_t len);
/* its agent socket (libvirt makes it and hands QEMU the descriptor; only
 * root reaches the path), */
int domain_agent_path(const struct plan_dirs *dirs, const char *vm,
		      char *out, size_t len);
int domain_console_log(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len);
/* sys-net's configuration as applied (root's; the VM gets a copy), */
int domain_config_path(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len);
/* the vhost-user socket of link LINK (named after its app VM, or the host
 * port's) that VM OWNER's QEMU connects to: in OWNER's directory, */
int domain_link_path(const struct plan_dirs *dirs, const char *owner,
		     const char *link, char *out, size_t len);
/* and LINK's control socket (root only). */
int domain_ctl_path(const struct plan_dirs *dirs, const char *link, char *out,
		    size_t len);

#endif
