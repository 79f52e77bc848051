/* libvirt domain XML for a driver VM or an app VM. Pure: no I/O. The
 * pieces each needs and why are in docs/orchestration.md. */
#ifndef BULKHEAD_DOMAIN_XML_H
#define BULKHEAD_DOMAIN_XML_H

#include <stddef.h>

#include "plan.h"
#include "topology.h"

enum domain_accel { DOMAIN_ACCEL_TCG, DOMAIN_ACCEL_KVM };

struct domain_env {
	const char *image_dir;          /* vmlinuz, sysnet-vmlinuz, *-initramfs.cpio.gz */
	const struct plan_dirs *dirs;
	enum domain_accel accel;
};

/* Root ports a driver VM keeps free for hot-plugged downstreams. */
#define DOMAIN_SPARE_ROOT_PORTS 4

#define DOMAIN_XML_NS "https://bulkhead.dev/libvirt/1"

/* The XML (caller frees), or NULL with err set. */
char *domain_xml_driver_vm(const struct topology *topo,
			   const struct topo_driver_vm *drv,
			   const struct domain_env *env, char *err, size_t err_len);
char *domain_xml_app_vm(const struct topology *topo,
			const struct topo_app_vm *app,
			const struct domain_env *env, char *err, size_t err_len);

/* Paths both the domain and the bulkhead command use, under env->dirs. */
int domain_agent_path(const struct plan_dirs *dirs, const char *vm,
		      char *out, size_t len);
int domain_console_log(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len);
int domain_config_path(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len);
/* The link of app VM APP: SIDE "app" (its own) or "net" (its driver VM's),
 * and its control socket ("ctl"). */
int domain_link_path(const struct plan_dirs *dirs, const char *app,
		     const char *side, char *out, size_t len);

#endif
