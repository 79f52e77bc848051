/* bulkhead down: take away everything up made for a topology. */
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

#include "host_net.h"
#include "host_port.h"
#include "kind.h"
#include "state_files.h"
#include "vfio.h"
#include "virt.h"
#include "state_paths.h"

/* --- down ---------------------------------------------------------------- */

int cmd_down(struct orch *o, const char *path)
{
	char err[ERR_LEN];
	struct topology *named;
	/* The file names the topology; what runs is what its last up
	 * applied (the file may have changed since). */
	if (topology_load(path, &named, err, sizeof(err))) {
		fprintf(stderr, "bulkhead: %s\n", err);
		return 2;
	}
	struct plan_dirs dirs;
	plan_dirs(o->state_root, o->log_root, o->data_root, named, &dirs);
	int lock = run_lock_topology(o, named->name);
	if (lock < 0) {
		fprintf(stderr, "bulkhead: lock: %s\n", strerror(-lock));
		topology_free(named);
		return 1;
	}
	char applied_path[PATH_MAX];
	state_topology_copy(dirs.state, named->name, applied_path,
		    sizeof(applied_path));
	struct topology *topo = named;
	struct topology *applied = NULL;
	if (access(applied_path, R_OK) == 0 &&
	    topology_load(applied_path, &applied, err, sizeof(err)) == 0)
		topo = applied;
	if (orch_connect(o)) {
		topology_free(named);
		topology_free(applied);
		close(lock);
		return 1;
	}
	int failures = 0;
	/* First, so the supervisor restarts nothing while down runs. */
	for (unsigned i = 0; i < topo->driver_vms_count; i++)
		keep_running(&dirs, topo->driver_vms[i].name, false);
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		keep_running(&dirs, topo->app_vms[i].name, false);
	const char *names[TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS];
	bool failed[TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS] = { false };
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		names[n++] = topo->app_vms[i].name;
	for (unsigned i = 0; i < topo->driver_vms_count; i++)
		names[n++] = topo->driver_vms[i].name;
	for (unsigned i = 0; i < n; i++) {
		char domain[128], owner[64];
		plan_domain_name(names[i], domain, sizeof(domain));
		enum virt_state s = virt_domain_state(o->conn, domain, owner,
						      sizeof(owner));
		if (s == VIRT_ABSENT)
			continue;
		if (strcmp(owner, topo->name) != 0) {
			printf("down: %s: left alone (not this topology's)\n", domain);
			continue;
		}
		printf("down: %s: removing\n", domain);
		const struct topo_app_vm *app = topology_app_vm(topo, names[i]);
		if (app_vm_clean_shutdown(app))
			run_qga_shutdown(o->conn, names[i]);
		if (virt_domain_stop(o->conn, domain, true, err, sizeof(err))) {
			fprintf(stderr, "bulkhead: %s\n", err);
			failures++;
			failed[i] = true;
		}
	}
	/* Disposables' disks go with them (not from under one still
	 * running); every other VM's private volume stays for its next up.
	 * The app VMs are names[0..app_vms_count). */
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		if (!failed[i] &&
		    run_drop_disposable(&dirs, &topo->app_vms[i], "down"))
			failures++;
	if (supervisor_pid(dirs.state) > 0) {
		printf("down: stopping the link supervisor and its links\n");
		run_stop_supervisor(dirs.state);
	}
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct driver_kind *kind = driver_kind_of(&topo->driver_vms[i]);
		if (kind && kind->host_remove)
			kind->host_remove(topo, &topo->driver_vms[i]);
	}
	if (topo->host_port) {
		printf("down: removing the host port's tap\n");
		host_port_down(topo);
	}
	/* What every up made, from the topology's journal, in reverse (the
	 * domains, supervisor and taps above were found by name as well: a
	 * journal cut short still leaves nothing). The state directory goes
	 * last, and only when all went well. */
	struct journal_entry *entries;
	unsigned count;
	if (journal_read(dirs.state, &entries, &count) == 0) {
		if (count)
			printf("down: undoing what the journal records:\n");
		fflush(stdout);
		for (unsigned i = count; i-- > 0;)
			if (entries[i].what != JOURNAL_STATE_DIR &&
			    run_undo(o->conn, topo->name, &entries[i]))
				failures++;
		free(entries);
	}
	/* After a failure the record stays, so down can be run again. */
	if (!failures)
		remove_tree(dirs.state);
	printf("down: topology %s is down%s\n", topo->name,
	       failures ? " (with errors above; its state is kept for another"
	       " down)" : "");
	topology_free(named);
	topology_free(applied);
	close(lock);
	return failures ? 1 : 0;
}
