/* One bulkhead command's run over a topology (up, start, down share it):
 * the journal of what this run made, undone in reverse when a later step
 * fails; the state directories (plan.h says who reaches what); each VM's
 * own uid, directory and verified boot copies; the accelerator. */
#ifndef BULKHEAD_RUN_H
#define BULKHEAD_RUN_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent.h"
#include "app_disks.h"
#include "app_byo.h"
#include "app_template.h"
#include "domain_xml.h"
#include "journal.h"
#include "orch.h"
#include "plan.h"
#include "vm_ids.h"

#define ERR_LEN ORCH_ERR_LEN
#define SYSFS_ROOT ORCH_SYSFS_ROOT

struct run {
	struct orch *o;
	struct topology *topo;
	struct plan_dirs dirs;
	unsigned journal_start;         /* entries before this run's */
	unsigned journal_count;         /* entries now (core/journal.h) */
	enum domain_accel accel;
	unsigned sec_models;            /* DOMAIN_SEC_*: sVirt besides DAC */
	struct vm_ids_host ids;
	bool accel_probation;
	char accel_reason[256];
	char err[ERR_LEN];
};

int run_init(struct run *r, struct orch *o, struct topology *topo);
/* One bulkhead command at a time per topology (up, down, start):
 * STATE_ROOT/.NAME.lock, held until the command exits; the descriptor. */
int run_lock_topology(struct orch *o, const char *name);
double run_now(void);

/* The topology's journal (core/journal.h): what this run made, on disk
 * at once (A, B as journal_entry says); run_forget_last takes the last
 * entry back (it is replaced). run_rollback undoes this run's entries in
 * reverse; run_fail prints r->err, rolls back and returns RC. */
void run_remember(struct run *r, enum journal_what what, const char *a,
		  const char *b);
void run_forget_last(struct run *r);
void run_rollback(struct run *r);
int run_fail(struct run *r, int rc);
/* Undoes one journal entry (a domain only when it is TOPOLOGY's); 0, or
 * -1 with what went wrong printed. */
int run_undo(virConnectPtr conn, const char *topology,
	     const struct journal_entry *e);
/* Stops the topology's link supervisor (which stops its links). */
void run_stop_supervisor(const char *state_dir);

/* The state and log directories; each VM's own directory. */
int run_make_dirs(struct run *r);
int run_make_vm_dirs(struct run *r);
/* What the host needs for QEMUs that each run as a VM's own uid; which
 * sVirt models to add. */
int run_host_prepare(struct run *r);
/* The guest images, built when missing. */
int run_ensure_images(struct run *r);
/* KVM or TCG, for this run's VMs. */
int run_decide_accel(struct run *r);

/* VM's own uid (== gid), recorded or allocated. */
int run_vm_uid(struct run *r, const char *vm, uid_t *uid);
/* The domain description's environment for VM. */
int run_vm_env(struct run *r, const char *vm, struct domain_env *env);
/* /dev/kvm for UID under KVM, where the device is not open to all. */
int run_grant_kvm(struct run *r, uid_t uid);
/* What VM boots, as its own verified copies from IMAGE_DIR (NULL: the
 * image cache); CONFIG (may be NULL) is what fw_cfg hands the guest. */
int run_prepare_boot(struct run *r, const char *vm, const char *image_dir,
		     const struct domain_images *images, const char *config);
/* VM's agent and the uid its QEMU must answer as. */
int run_vm_agent(struct run *r, const char *vm, char path[PATH_MAX],
		 struct agent_addr *to);

/* A template or disk VM's boot (docs/templates.md): its files in the data
 * directory (BYO: BYO.DISKS, a template VM's overlay, private volume and
 * machine id; a disk VM's disk and seed besides), the template version
 * (TMPL, template VMs only), its qemu-guest-agent socket, and what its
 * domain XML takes of them (TB, pointing into this struct). */
struct run_template {
	struct app_byo byo;
	struct app_template tmpl;
	char qga[PATH_MAX];
	struct domain_template_boot tb;
};
/* APP's template boot as recorded: the version its running domain was
 * started on when RUNNING (else the current one), its kept machine id
 * ("0"*32 before the first start: check --show). For a disk VM, its
 * files' paths (nothing is checked or made). */
int run_template_plan(const struct plan_dirs *dirs, const char *image_dir,
		      const struct topo_app_vm *app, bool running,
		      struct run_template *out, char *err, size_t err_len);

/* Before a disk VM's start: its disk copied from the person's image the
 * first time, its seed written (app_byo_prepare), TS planned again. */
int run_byo_prepare(struct run *r, const struct topo_app_vm *app, uid_t uid,
		    struct run_template *ts);

/* Asks template or disk VM VM to power off through qemu-guest-agent
 * and waits up to RUN_QGA_SHUTDOWN_S for its domain to stop, its
 * file systems clean; the caller destroys what still runs. */
#define RUN_QGA_SHUTDOWN_S 60
void run_qga_shutdown(virConnectPtr conn, const char *vm);

/* After APP's domain is gone: when it is disposable, its directory of
 * disks (app_disks_drop), saying so as CMD ("stop", "down"). */
int run_drop_disposable(const struct plan_dirs *dirs,
			const struct topo_app_vm *app, const char *cmd);

/* Whether VM already runs with exactly this XML (then up leaves it). */
bool run_unchanged(const struct run *r, const char *vm, const char *domain,
		   const char *xml);

/* Starting VMs (vm_start.c): a driver VM through its kind, waiting until
 * it is ready; an app VM (*STARTED: it was started, not left running). */
int start_driver_vm(struct run *r, const struct topo_driver_vm *drv);
int start_app_vm(struct run *r, const struct topo_app_vm *app, bool *started);
int wait_app_vm(struct run *r, const struct topo_app_vm *app, double t0);
/* The pool of disposables (docs/templates.md): a preloaded APP, once
 * ready, is paused; taking it resumes it, sets its clock and checks that
 * qemu-guest-agent answers. */
int preload_app_vm(struct run *r, const struct topo_app_vm *app, double t0);
int take_preloaded_app_vm(struct run *r, const struct topo_app_vm *app);
/* Whether APP shuts down through qemu-guest-agent before its domain
 * stops: a template or disk VM with a volume to keep (a disposable keeps
 * nothing, and a paused one would not answer). */
bool app_vm_clean_shutdown(const struct topo_app_vm *app);
/* Binds DRV's PCI devices to vfio-pci (recorded in the journal). */
int bind_pci(struct run *r, const struct topo_driver_vm *drv);

#endif
