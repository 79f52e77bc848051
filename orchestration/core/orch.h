/* What every bulkhead subcommand shares: where things live, the libvirt
 * connection, the options. */
#ifndef BULKHEAD_ORCH_H
#define BULKHEAD_ORCH_H

#include <libvirt/libvirt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "topology.h"

/* Room for one error message of a subcommand. */
#define ORCH_ERR_LEN 1024
/* Where PCI devices are looked up and rebound (vfio.c takes the root). */
#define ORCH_SYSFS_ROOT "/sys"

struct orch {
	const char *uri;
	const char *state_root;         /* /run/bulkhead */
	const char *log_root;           /* /var/log/bulkhead */
	const char *image_dir;          /* /var/cache/bulkhead/images */
	const char *data_root;          /* /var/lib/bulkhead */
	const char *worker_dir;         /* bulkhead-link, bulkhead-blk */
	const char *build_images;       /* guest-os/build-images */
	bool accel_given;
	enum topo_accel accel;          /* --accel */
	bool json;                      /* status --json */
	int boot_timeout_s;             /* readiness wait per VM */
	bool boot_timeout_given;        /* --boot-timeout */
	virConnectPtr conn;
};

int orch_connect(struct orch *o);

struct agent_addr;
/* VM's agent in the running topology TOPO: *TO (its path in PATH) with
 * the uid its QEMU must answer as. -ENOENT with why in ERR when the VM
 * has no ids on this host. */
int orch_vm_agent(struct orch *o, const struct topology *topo, const char *vm,
		  struct agent_addr *to, char path[PATH_MAX], char *err,
		  size_t err_len);

int cmd_up(struct orch *o, const char *path);
int cmd_down(struct orch *o, const char *path);
/* IF_WANTED: only if VM is in keep-running/ (the supervisor's restart). */
int cmd_start(struct orch *o, const char *vm, bool if_wanted);
int cmd_stop(struct orch *o, const char *vm);
/* Takes a preloaded disposable from the pool (of TOPOLOGY, or NULL: of
 * any running topology) and prints its name. */
int cmd_disposable(struct orch *o, const char *topology);
int cmd_status(struct orch *o);
/* bulkhead usb list|attach|detach (commands/usb.c). */
int cmd_usb(struct orch *o, int argc, char **argv);
/* bulkhead view VM: its display (commands/view.c). */
int cmd_view(struct orch *o, const char *vm);
/* bulkhead template list [--json] | build (commands/template.c). */
int cmd_template(struct orch *o, int argc, char **argv);
/* SHOW: print each driver VM's configuration and each domain's XML. */
int cmd_check(struct orch *o, const char *path, bool show);

/* enable / disable (commands/enable.c): TARGET a topology file (disable:
 * or a topology's name); ROOT (--root) an alternate file system root, as
 * systemctl's, or NULL; NOW (--now) start or stop the unit as well. */
struct orch_unit_args {
	const char *target;
	const char *root;
	bool now;
};
int cmd_enable(struct orch *o, const struct orch_unit_args *a);
int cmd_disable(struct orch *o, const struct orch_unit_args *a);

/* Finds the running topology (STATE_ROOT/NAME/topology.yaml) that holds
 * VM; loads it into *topo. -ENOENT with a message when none does. */
int orch_find_vm(struct orch *o, const char *vm, struct topology **topo);

/* Everything up checks before it starts anything: the file, the derived
 * names, sys-net's configuration, the PCI devices. */
int orch_validate(struct orch *o, const char *path, struct topology **topo);

#endif
