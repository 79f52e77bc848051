/* bulkhead start / stop: one VM of a running topology. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#include "kind.h"
#include "state_files.h"
#include "virt.h"

/* --- start / stop one VM ------------------------------------------------- */

/* The running topologies (each one's copy in the state directory), the
 * one named NAME only when NAME is not NULL: FN with each until it returns
 * true, the topology then handed to the caller in *FOUND (else freed). */
static void each_topology(struct orch *o, const char *name,
			  bool (*fn)(const struct topology *, void *),
			  void *ctx, struct topology **found)
{
	DIR *d = opendir(o->state_root);
	struct dirent *e;
	char err[ERR_LEN];
	*found = NULL;
	while (!*found && d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || (name && strcmp(name, e->d_name)))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s/%s.yaml", o->state_root,
			 e->d_name, e->d_name);
		struct topology *t;
		if (access(path, R_OK) || topology_load(path, &t, err, sizeof(err)))
			continue;
		if (fn(t, ctx))
			*found = t;
		else
			topology_free(t);
	}
	if (d)
		closedir(d);
}

static bool has_vm(const struct topology *t, void *vm)
{
	return topology_app_vm(t, vm) || topology_driver_vm(t, vm);
}

int orch_find_vm(struct orch *o, const char *vm, struct topology **topo)
{
	each_topology(o, NULL, has_vm, (void *)vm, topo);
	if (!*topo) {
		fprintf(stderr, "bulkhead: no running topology has a VM named '%s'"
			" (bulkhead status lists them)\n", vm);
		return -ENOENT;
	}
	return 0;
}

/* TAKE_ONLY (bulkhead disposable): VM only if it is still paused in the
 * pool once this command holds the topology's lock, else -EAGAIN (another
 * took it first). */
static int start_vm(struct orch *o, const char *vm, bool if_wanted,
		    bool take_only)
{
	struct topology *topo;
	if (orch_find_vm(o, vm, &topo))
		return 2;
	int lock = run_lock_topology(o, topo->name);
	struct run *r = calloc(1, sizeof(*r));
	int rc = lock < 0 ? lock : r ? run_init(r, o, topo) : -ENOMEM;
	if (!rc && orch_connect(o))
		rc = -EIO;
	const struct topo_app_vm *app = topology_app_vm(topo, vm);
	/* The supervisor's restarts: a driver VM, or a fresh disposable for
	 * the pool (a preloaded one, after the last was stopped). */
	bool refill = if_wanted && app && app->preload;
	if (!rc && if_wanted && ((!topology_driver_vm(topo, vm) && !refill) ||
				 !wanted_running(&r->dirs, vm))) {
		/* Stopped or taken down meanwhile: nothing to restart. */
		free(r);
		topology_free(topo);
		close(lock);
		return 0;
	}
	rc = rc ? rc : run_make_dirs(r);
	rc = rc ? rc : run_make_vm_dirs(r);
	rc = rc ? rc : run_host_prepare(r);
	rc = rc ? rc : run_decide_accel(r);
	if (!rc) {
		const struct topo_driver_vm *drv = topology_driver_vm(topo, vm);
		bool started = false;
		char domain[128];
		plan_domain_name(vm, domain, sizeof(domain));
		bool paused = app && app->preload && !refill &&
			      virt_domain_paused(o->conn, domain);
		if (take_only && !paused) {
			rc = -EAGAIN;
		} else if (paused) {
			rc = take_preloaded_app_vm(r, app);
		} else if (app) {
			double t0 = run_now();
			rc = start_app_vm(r, app, &started);
			if (!rc && started)
				rc = wait_app_vm(r, app, t0);
			if (!rc && started && refill)
				rc = preload_app_vm(r, app, t0);
		} else {
			rc = start_driver_vm(r, drv);
			if (!rc)
				keep_running(&r->dirs, drv->name, true);
		}
		if (rc && rc != -EAGAIN)
			rc = run_fail(r, 1);
	} else if (r) {
		fprintf(stderr, "bulkhead: %s\n", r->err);
	}
	free(r);
	topology_free(topo);
	if (lock >= 0)
		close(lock);
	return rc == -EAGAIN ? rc : rc ? 1 : 0;
}

int cmd_start(struct orch *o, const char *vm, bool if_wanted)
{
	return start_vm(o, vm, if_wanted, false);
}

struct paused_find {
	virConnectPtr conn;
	char vm[128];
};

/* Whether T has a preloaded disposable that is paused (its name then in
 * the paused_find). */
static bool has_paused_disposable(const struct topology *t, void *arg)
{
	struct paused_find *f = arg;
	for (unsigned i = 0; i < t->app_vms_count; i++) {
		char domain[128];
		plan_domain_name(t->app_vms[i].name, domain, sizeof(domain));
		if (t->app_vms[i].preload && virt_domain_paused(f->conn, domain)) {
			snprintf(f->vm, sizeof(f->vm), "%s", t->app_vms[i].name);
			return true;
		}
	}
	return false;
}

int cmd_disposable(struct orch *o, const char *topology)
{
	if (orch_connect(o))
		return 1;
	struct paused_find f = { o->conn, "" };
	/* Another command may take the one found first: then the next. */
	int rc = -EAGAIN;
	for (int tries = 0; rc == -EAGAIN && tries < 16; tries++) {
		struct topology *t;
		each_topology(o, topology, has_paused_disposable, &f, &t);
		if (!t)
			break;
		topology_free(t);
		rc = start_vm(o, f.vm, false, true);
	}
	if (rc == 0)
		printf("disposable: %s\n", f.vm);
	if (rc == -EAGAIN) {
		fprintf(stderr, "bulkhead: disposable: no preloaded disposable is"
			" waiting in %s%s%s (none has preload: true, or the pool"
			" is being refilled; bulkhead status shows each one's"
			" state)\n", topology ? "topology '" : "any running topology",
			topology ? topology : "", topology ? "'" : "");
		return 1;
	}
	return rc;
}

int cmd_stop(struct orch *o, const char *vm)
{
	struct topology *topo;
	char err[ERR_LEN], domain[128];
	if (orch_find_vm(o, vm, &topo))
		return 2;
	int rc = orch_connect(o) ? -EIO : 0;
	plan_domain_name(vm, domain, sizeof(domain));
	struct plan_dirs dirs;
	plan_dirs(o->state_root, o->log_root, o->data_root, topo, &dirs);
	const struct topo_app_vm *app = topology_app_vm(topo, vm);
	/* Unwanted while it goes: the supervisor must not refill the pool
	 * from under the disks being dropped. */
	keep_running(&dirs, vm, false);
	if (!rc) {
		/* Stopped, still defined: virsh list --all shows it, and
		 * bulkhead start brings it back. Its link keeps running, so
		 * its driver VM sees nothing change. */
		bool disposable = app && app->disposable;
		if (app_vm_clean_shutdown(app))
			run_qga_shutdown(o->conn, vm);
		/* A disposable leaves nothing: no domain, no disks. */
		rc = virt_domain_stop(o->conn, domain, disposable, err,
				      sizeof(err));
		if (rc)
			fprintf(stderr, "bulkhead: %s\n", err);
		else
			printf("stop: %s: stopped%s\n", vm, app && app->preload ?
			       "; the supervisor preloads a fresh one" : "");
		if (!rc && run_drop_disposable(&dirs, app, "stop"))
			rc = -EIO;
		/* Gone: the supervisor boots a fresh one into the pool. */
		if (!rc && app && app->preload)
			keep_running(&dirs, vm, true);
	}
	topology_free(topo);
	return rc ? 1 : 0;
}

