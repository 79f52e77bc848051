/* Every path of a running topology's state, in one place (docs/security.md
 * "Between VMs on the host" says who reaches which): under the state
 * directory STATE (plan_dirs), */
#ifndef BULKHEAD_STATE_PATHS_H
#define BULKHEAD_STATE_PATHS_H

#include <stddef.h>

#include "plan.h"

/* the VM's own directory (its boot files, its link sockets), */
int state_vm_dir(const struct plan_dirs *dirs, const char *vm, char *out,
		  size_t len);
/* its agent socket (libvirt makes it and hands QEMU the descriptor; only
 * root reaches the path), */
int state_agent_path(const struct plan_dirs *dirs, const char *vm,
		      char *out, size_t len);
/* a template VM's qemu-guest-agent socket (the same: root only), */
int state_qga_path(const struct plan_dirs *dirs, const char *vm, char *out,
		   size_t len);
int state_console_log(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len);
/* sys-net's configuration as applied (root's; the VM gets a copy), */
int state_config_path(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len);
/* the vhost-user socket of link LINK (named after its app VM, or the host
 * port's) that VM OWNER's QEMU connects to: in OWNER's directory, */
int state_link_path(const struct plan_dirs *dirs, const char *owner,
		     const char *link, char *out, size_t len);
/* the vhost-user-blk socket of app VM APP's disk (its QEMU connects; the
 * storage link listens): in APP's directory, */
int state_disk_path(const struct plan_dirs *dirs, const char *app, char *out,
		    size_t len);
/* the virtio-serial port on which storage driver VM STORAGE_VM serves
 * APP's volume (its QEMU listens; the storage link connects): in
 * STORAGE_VM's directory, */
int state_volume_port(const struct plan_dirs *dirs, const char *storage_vm,
		      const char *app, char *out, size_t len);
/* the virtio-serial port on which usb driver VM DRV sends the host the
 * input events of CLASS ("keyboard", "pointer"): its QEMU listens, the
 * input worker connects; in DRV's directory, */
int state_input_port(const struct plan_dirs *dirs, const char *drv,
		     const char *class, char *out, size_t len);
/* and LINK's control socket (root only). */
int state_ctl_path(const struct plan_dirs *dirs, const char *link, char *out,
		    size_t len);

/* the domain XML as applied (STATE/VM.xml, root's), */
int state_xml_path(const struct plan_dirs *dirs, const char *vm, char *out,
		   size_t len);
/* the topology file as applied (STATE/TOPOLOGY.yaml), */
int state_topology_copy(const char *state_dir, const char *topology, char *out,
			size_t len);
/* and the state directory's own files, STATE/NAME: */
#define STATE_LINKS "links.json"                /* which links run */
#define STATE_LINKS_STATE "links-state.json"    /* how they run */
#define STATE_JOURNAL "journal.json"            /* what was made (journal.h) */
#define STATE_KEEP_RUNNING "keep-running"       /* driver VMs kept up */
#define STATE_SUPERVISOR_PID "supervisor.pid"
#define STATE_SUPERVISOR_LOG "supervisor.log"
int state_file(const char *state_dir, const char *name, char *out, size_t len);
/* Link LINK's worker's log beside the supervisor's (STATE/link-LINK.log,
 * root's). */
int state_link_log(const char *state_dir, const char *link, char *out,
		   size_t len);

#endif
