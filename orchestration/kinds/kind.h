/* A driver-VM kind: what makes sys-net sys-net (and, later, sys-usb and
 * sys-storage). The bulkhead command names no kind outside kinds/: each is
 * one constant table of hooks in its folder, kinds/KIND/, listed in
 * kinds.c; a NULL hook has nothing to do. docs/architecture.md "Adding a
 * driver-VM kind" is the checklist. */
#ifndef BULKHEAD_KIND_H
#define BULKHEAD_KIND_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "domain_xml.h"
#include "run.h"
#include "supervisor.h"
#include "topology.h"

/* What a kind's app_devices hook gives an app VM (app_parts_text's
 * pieces as they are built). */
struct app_parts {
	struct strbuf devices, overrides, cmdline;
};

/* What a kind's links hook needs of the host. */
struct link_env {
	const struct plan_dirs *dirs;
	const char *worker_dir;         /* bulkhead-link, bulkhead-blk */
};

struct driver_kind {
	/* The topology's "kind:" (and the domain metadata's role). */
	const char *name;
	/* The app-VM attachments it serves (net:, usb:, storage:): a mask of
	 * KIND_SERVES(TOPO_ATTACH_...); 0, it serves no app VM. */
	unsigned serves;
	/* Its section of a driver-VM entry: which of the topology's keys it
	 * takes (KIND_TAKES_*; the values are checked by topology_load) and
	 * the models of an emulated device it takes (a mask of
	 * KIND_MODEL(TOPO_EMULATED_...)). driver_kinds_check refuses the
	 * rest, at its line. */
	unsigned takes;
	unsigned emulated_models;
	/* What check and up refuse beyond the schema: 0, or a negative errno
	 * with ERR naming the file, the VM and the value. */
	int (*check)(const struct topology *topo, const struct topo_driver_vm *drv,
		     char *err, size_t err_len);
	/* The images it boots (from the image cache, verified per start). */
	void (*images)(const struct topo_driver_vm *drv, struct domain_images *out);
	/* Its configuration for the guest, handed over by fw_cfg
	 * (opt/bulkhead/config); malloc'd, or NULL with ERR set. NULL hook:
	 * none. */
	char *(*guest_config)(const struct topology *topo,
			      const struct topo_driver_vm *drv, char *err,
			      size_t err_len);
	/* What check --show calls it. */
	const char *guest_config_title;
	/* Its libvirt domain (domain_xml.h has the shared pieces); the text,
	 * or NULL with ERR set. */
	char *(*domain_xml)(const struct topology *topo,
			    const struct topo_driver_vm *drv,
			    const struct domain_env *env, char *err, size_t err_len);
	/* What it gives an app VM it serves, appended to OUT's: devices,
	 * QEMU overrides for them (<qemu:device> entries), words for its
	 * kernel command line (" bk.usb=MAC"). 0, or -ENAMETOOLONG. */
	int (*app_devices)(const struct topology *topo,
			   const struct topo_driver_vm *drv,
			   const struct topo_app_vm *app,
			   const struct domain_env *env, struct app_parts *out);
	/* The links between it and what it serves (its app VMs, the host
	 * port): each a confined worker, binary and arguments, appended to
	 * SET (link_set_add; kind_link_worker fills the common part). The
	 * supervisor runs them as given. 0, or -ENOMEM / -E2BIG. */
	int (*links)(const struct topology *topo, const struct topo_driver_vm *drv,
		     const struct link_env *env, struct link_set *set);
	/* Its links' columns in status, after LINK STATE PID RESTARTS: the
	 * header, and one link's from what it answered on its control
	 * socket (LIVE). NULL: no columns of its own. */
	const char *status_header;
	void (*status_row)(const char *link, json_object *live, char *out,
			   size_t out_len);
	/* The host, before its domain starts (what it makes recorded in
	 * R's journal: run_remember), once it started, and when it is gone for good (down, or
	 * taken out of the file). */
	int (*host_before_start)(struct run *r, const struct topo_driver_vm *drv);
	int (*host_after_start)(struct run *r, const struct topo_driver_vm *drv);
	void (*host_remove)(const struct topology *topo,
			    const struct topo_driver_vm *drv);
	/* Applies a changed topology to its running VM without a restart:
	 * true when done, false when it must restart (the reason printed).
	 * CONFIG: its new guest configuration. */
	bool (*live_update)(struct run *r, const struct topo_driver_vm *drv,
			    const char *domain, const char *config);
};

#define KIND_SERVES(class) (1u << (class))
#define KIND_TAKES_DEVICES 1u   /* devices: */
#define KIND_NEEDS_DEVICES 2u   /* at least one device */
#define KIND_TAKES_UPLINK 4u    /* uplink: */
#define KIND_TAKES_INPUT 8u     /* input: */
#define KIND_MODEL(model) (1u << (model))

/* The kind DRV names, or NULL when there is no such kind here. */
const struct driver_kind *driver_kind_of(const struct topo_driver_vm *drv);
/* What APP's attachments give its domain, from each serving driver VM's
 * kind (app_devices), for domain_xml_app_vm: malloc'd text ("" for
 * none; free with kind_app_parts_free). 0, or -errno with ERR set. */
int kind_app_devices(const struct topology *topo, const struct topo_app_vm *app,
		     const struct domain_env *env, struct app_parts_text *out,
		     char *err, size_t err_len);
void kind_app_parts_free(struct app_parts_text *parts);
/* For live_update hooks (live_update.c): whether driver VM DRV runs (as
 * DOMAIN) and its domain changes only by app VMs of CLASS added after those it served
 * (its XML from this file without them is the running one). Returns the
 * app VMs it serves now, in file order, in NOW (the added ones from
 * *FIRST on) and their count; -1 when not (restart it: the reason
 * printed, unless it is not running). */
int kind_added_app_vms(struct run *r, const struct topo_driver_vm *drv,
		       const char *domain, enum topo_attach_class class,
		       const char **now, unsigned *first);
/* For kinds whose driver VM has a vhost-user NIC per app VM of CLASS
 * (net's downstreams, usb's links): how to hot-plug one. */
struct kind_nic_plug {
	enum topo_attach_class class;
	const char *id_prefix;          /* the device id: PREFIX1, PREFIX2.. */
	const char *what;               /* "downstream", for the message */
	void (*nic)(const struct run *r, const struct topo_driver_vm *drv,
		    const char *app, char *sock, size_t sock_len, char mac[18]);
};
/* Hot-plugs into DRV (running as DOMAIN) the NICs of app VMs added after
 * those it served (kind_added_app_vms): true when done (or none), false
 * when it must restart (the reason printed). */
bool kind_live_add_nics(struct run *r, const struct topo_driver_vm *drv,
			const char *domain, const struct kind_nic_plug *plug);
/* Hands DRV its new configuration CFG over its agent (bk-update there):
 * true when it answered that it applied it; false, printed, when not. */
bool kind_send_config(struct run *r, const struct topo_driver_vm *drv,
		      const char *cfg);
/* For status_row hooks: the member of a link's answer LIVE at the dotted
 * PATH ("a_to_b.drops.spoofed"), or NULL when there is none. */
json_object *kind_status_at(json_object *live, const char *path);
/* That member as a number (0 when there is none), */
long long kind_status_int(json_object *live, const char *path);
/* or as a boolean (false when there is none). */
bool kind_status_bool(json_object *live, const char *path);
/* A host_before_start hook for kinds with emulated disks (nvme, a USB
 * stick): each disk file is made, sparse, of its size when missing (a new,
 * empty disk), never removed (what the VM keeps is on it), and its VM's
 * alone (its uid, 0600; opened without following a symbolic link). */
int kind_prepare_disk_files(struct run *r, const struct topo_driver_vm *drv);
/* The kind called NAME, or NULL. */
const struct driver_kind *driver_kind_named(const char *name);

/* A new link in SET for driver VM DRV of KIND: named NAME, running
 * ENV's worker_dir/BINARY with the options every worker takes (--control,
 * its socket in STATE/ctl; --name). The kind adds its own arguments
 * (link_spec_arg) and sockets. NULL when out of memory. */
struct link_spec *kind_link_worker(struct link_set *set,
				   const struct link_env *env,
				   const struct driver_kind *kind,
				   const struct topo_driver_vm *drv,
				   const char *name, const char *binary);
/* Every driver VM's kind exists and takes what its entry gives (devices,
 * their models, uplink), and every app VM's attachment names a driver VM
 * whose kind serves that class: 0, or -EINVAL with ERR
 * "PATH:LINE: driver-vms[N].kind: 'X' is not one of net, ...",
 * "PATH:LINE: driver-vms[N].uplink: a dummy driver VM takes none ..." or
 * "PATH:LINE: app-vms[N].usb.via: 'sys-net' is a net driver VM; ...".
 * Every command checks a topology it loads with this before using its
 * kinds. */
int driver_kinds_check(const struct topology *topo, char *err, size_t err_len);

#endif
