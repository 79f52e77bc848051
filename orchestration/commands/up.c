/* bulkhead up: make the host match a topology file (docs/orchestration.md
 * "What up does, in order"). */
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

#include "host_port.h"
#include "kind.h"
#include "log_target.h"
#include "state_files.h"
#include "supervisor.h"
#include "virt.h"
#include "state_paths.h"

/* --- links --------------------------------------------------------------- */

/* Every link the topology's driver VMs need (their kinds say which). */
static int link_set_of(struct run *r, struct link_set *set)
{
	const struct link_env env = { &r->dirs, r->o->worker_dir };
	memset(set, 0, sizeof(*set));
	for (unsigned i = 0; i < r->topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &r->topo->driver_vms[i];
		const struct driver_kind *kind = driver_kind_of(d);
		int rc = kind && kind->links ? kind->links(r->topo, d, &env, set) : 0;
		if (rc) {
			snprintf(r->err, sizeof(r->err), "driver VM %s: its links: %s",
				 d->name, strerror(-rc));
			link_set_free(set);
			return rc;
		}
	}
	return 0;
}

/* Where the supervisor's log goes: the journal when up's own stderr is
 * (bulkhead@.service: the supervisor is the unit's main process there),
 * else STATE/supervisor.log. Into WHERE, for messages. */
static bool supervisor_logs_to_journal(const struct run *r, char *where,
				       size_t where_len)
{
	bool journal = log_target_is_journal(getenv("JOURNAL_STREAM"),
					     STDERR_FILENO);
	if (journal)
		snprintf(where, where_len, "journalctl -u bulkhead@%s",
			 r->topo->name);
	else
		state_file(r->dirs.state, STATE_SUPERVISOR_LOG, where, where_len);
	return journal;
}

static int spawn_supervisor(struct run *r)
{
	char log_path[PATH_MAX];
	bool journal = supervisor_logs_to_journal(r, log_path, sizeof(log_path));
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* A daemon of its own: outlives this command, not in its
		 * session, output to its log (the journal keeps up's). */
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int fd = journal ? STDERR_FILENO :
			open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0 && null >= 0) {
			dup2(null, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* Its own command line, so ps shows what it is. */
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			execl(self, self, "--connect", r->o->uri, "supervise",
			      r->dirs.state, (char *)NULL);
		}
		_exit(supervisor_run(r->dirs.state, NULL));
	}
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 100; i++) {
		if (supervisor_pid(r->dirs.state) > 0)
			return 0;
		usleep(50000);
	}
	snprintf(r->err, sizeof(r->err), "the link supervisor did not start (see"
		 " %s)", log_path);
	return -EIO;
}

/* A link whose driver VM just became READY may be in its restart
 * backoff (at most 5 s): room for that and a start. */
#define LINKS_WAIT_S 15

static int wait_links(struct run *r, const struct link_set *set)
{
	for (int i = 0; i < LINKS_WAIT_S * 20; i++) {
		bool all = true;
		for (unsigned j = 0; j < set->count && all; j++)
			for (unsigned k = 0; k < 2 && all; k++)
				all = !set->links[j].sockets[k][0] ||
				      access(set->links[j].sockets[k], F_OK) == 0;
		if (all)
			return 0;
		usleep(50000);
	}
	char log[PATH_MAX];
	supervisor_logs_to_journal(r, log, sizeof(log));
	snprintf(r->err, sizeof(r->err), "the links' sockets did not appear in %s"
		 " within %d s (see %s)", r->dirs.vm, LINKS_WAIT_S, log);
	return -ETIMEDOUT;
}

/* The host port's tap, before its link starts (the link attaches to it). */
static int prepare_host_port(struct run *r)
{
	const struct topo_host_port *hp = r->topo->host_port;
	bool made_netns, made_tap;
	char tap[PLAN_IFNAME_MAX + 1];
	if (!hp)
		return 0;
	int rc = host_port_up(r->topo, &made_netns, &made_tap, r->err,
			      sizeof(r->err));
	if (made_netns)
		run_remember(r, JOURNAL_NETNS, hp->netns, NULL);
	plan_host_tap_name(r->topo, tap);
	if (made_tap)
		run_remember(r, JOURNAL_TAP, tap, hp->netns);
	if (rc)
		return rc;
	printf("up: host port: tap %s%s%s, %s%s\n", tap, hp->netns ? " in " : "",
	       hp->netns ? hp->netns : "", hp->ip,
	       hp->default_route ? ", the default route" : "");
	return 0;
}

/* links.json from the kinds, and the supervisor told (or started). The
 * links come up beside the driver VMs; wait_links waits for them. */
static int start_links(struct run *r, struct link_set *set)
{
	char path[PATH_MAX];
	int rc = link_set_of(r, set);
	if (rc)
		return rc;
	state_file(r->dirs.state, STATE_LINKS, path, sizeof(path));
	rc = link_set_write(path, set);
	if (rc) {
		snprintf(r->err, sizeof(r->err), "%s: %s", path, strerror(-rc));
		return rc;
	}
	pid_t pid = supervisor_pid(r->dirs.state);
	if (pid > 0) {
		kill(pid, SIGHUP);
	} else {
		rc = spawn_supervisor(r);
		if (!rc)
			run_remember(r, JOURNAL_SUPERVISOR, r->dirs.state, NULL);
	}
	return rc;
}

/* A VM the file no longer has: its domain, if it is this topology's. */
static void remove_domain(struct run *r, const char *name)
{
	char domain[128], owner[64], err[ERR_LEN], dir[PATH_MAX];
	plan_domain_name(name, domain, sizeof(domain));
	if (virt_domain_state(r->o->conn, domain, owner, sizeof(owner)) ==
	    VIRT_ABSENT || strcmp(owner, r->topo->name) != 0)
		return;
	printf("up: %s: no longer in the file; removing it\n", name);
	if (virt_domain_stop(r->o->conn, domain, true, err, sizeof(err)))
		fprintf(stderr, "bulkhead: %s\n", err);
	/* Its directory goes too (boot files, sockets); its uid stays
	 * recorded, for when it comes back. */
	else if (!state_vm_dir(&r->dirs, name, dir, sizeof(dir)))
		remove_tree(dir);
}

/* Domains of this topology's earlier run that the file no longer has. */
static void remove_dropped(struct run *r)
{
	char prev_path[PATH_MAX], err[ERR_LEN];
	state_topology_copy(r->dirs.state, r->topo->name, prev_path,
		    sizeof(prev_path));
	struct topology *prev;
	if (access(prev_path, R_OK) || topology_load(prev_path, &prev, err,
						     sizeof(err)))
		return;
	for (unsigned i = 0; i < prev->app_vms_count; i++)
		if (!topology_app_vm(r->topo, prev->app_vms[i].name))
			remove_domain(r, prev->app_vms[i].name);
	for (unsigned i = 0; i < prev->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &prev->driver_vms[i];
		if (topology_driver_vm(r->topo, d->name))
			continue;
		remove_domain(r, d->name);
		const struct driver_kind *kind = driver_kind_of(d);
		if (kind && kind->host_remove)
			kind->host_remove(prev, d);
	}
	/* A host port taken out of the file (or moved to another namespace):
	 * its tap goes; its link goes with the new links.json. */
	const struct topo_host_port *was = prev->host_port, *is = r->topo->host_port;
	if (was && (!is || strcmp(was->netns ? was->netns : "",
				  is->netns ? is->netns : "") != 0)) {
		printf("up: host port: removing tap of the previous file\n");
		host_port_down(prev);
	}
	topology_free(prev);
}

/* Every domain name the topology needs is free or already its own. */
static int check_names(struct run *r)
{
	const char *names[TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS];
	unsigned n = 0;
	for (unsigned i = 0; i < r->topo->driver_vms_count; i++)
		names[n++] = r->topo->driver_vms[i].name;
	for (unsigned i = 0; i < r->topo->app_vms_count; i++)
		names[n++] = r->topo->app_vms[i].name;
	for (unsigned i = 0; i < n; i++) {
		char domain[128], owner[64];
		plan_domain_name(names[i], domain, sizeof(domain));
		if (virt_domain_state(r->o->conn, domain, owner, sizeof(owner)) ==
		    VIRT_ABSENT || !strcmp(owner, r->topo->name))
			continue;
		if (owner[0])
			snprintf(r->err, sizeof(r->err), "%s: libvirt domain %s"
				 " belongs to topology '%s' (bulkhead down it"
				 " first, or rename the VM)", r->topo->path, domain,
				 owner);
		else
			snprintf(r->err, sizeof(r->err), "%s: libvirt domain %s"
				 " exists and was not made by bulkhead (rename the"
				 " VM)", r->topo->path, domain);
		return -EEXIST;
	}
	return 0;
}


int cmd_up(struct orch *o, const char *path)
{
	struct topology *topo;
	if (orch_validate(o, path, &topo))
		return 2;
	int lock = run_lock_topology(o, topo->name);
	struct run *r = lock >= 0 ? malloc(sizeof(*r)) : NULL;
	if (!r) {
		fprintf(stderr, "bulkhead: %s\n", strerror(lock < 0 ? -lock : ENOMEM));
		if (lock >= 0)
			close(lock);
		topology_free(topo);
		return 1;
	}
	double t0 = run_now();
	int rc = run_init(r, o, topo);
	rc = rc ? rc : run_ensure_images(r);
	if (!rc && orch_connect(o)) {
		snprintf(r->err, sizeof(r->err), "cannot reach libvirt");
		rc = -EIO;
	}
	rc = rc ? rc : check_names(r);
	rc = rc ? rc : run_make_dirs(r);
	rc = rc ? rc : run_make_vm_dirs(r);
	rc = rc ? rc : run_host_prepare(r);
	rc = rc ? rc : run_decide_accel(r);
	if (rc) {
		rc = run_fail(r, 1);
		goto out;
	}
	remove_dropped(r);
	/* A link may need its driver VM up before it listens (a storage
	 * link's NBD connection): the links are waited for once the driver
	 * VMs are READY, before the app VMs that connect to them. */
	struct link_set links = { 0 };
	rc = prepare_host_port(r);
	rc = rc ? rc : start_links(r, &links);
	for (unsigned i = 0; !rc && i < topo->driver_vms_count; i++)
		rc = start_driver_vm(r, &topo->driver_vms[i]);
	rc = rc ? rc : wait_links(r, &links);
	link_set_free(&links);
	bool started[TOPO_MAX_APP_VMS] = { false };
	double app_t0 = run_now();
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++)
		if (topo->app_vms[i].autostart)
			rc = start_app_vm(r, &topo->app_vms[i], &started[i]);
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++)
		if (started[i]) {
			rc = wait_app_vm(r, &topo->app_vms[i], app_t0);
			if (!rc && topo->app_vms[i].preload)
				rc = preload_app_vm(r, &topo->app_vms[i], app_t0);
		}
	if (!rc) {
		char copy[PATH_MAX];
		state_topology_copy(r->dirs.state, topo->name, copy, sizeof(copy));
		rc = copy_file(path, copy);
		if (rc)
			snprintf(r->err, sizeof(r->err), "%s: %s", copy, strerror(-rc));
		for (unsigned i = 0; !rc && i < topo->driver_vms_count; i++)
			keep_running(&r->dirs, topo->driver_vms[i].name, true);
		for (unsigned i = 0; !rc && i < topo->app_vms_count; i++)
			if (topo->app_vms[i].preload)
				keep_running(&r->dirs, topo->app_vms[i].name, true);
	}
	if (rc) {
		rc = run_fail(r, 1);
		goto out;
	}
	printf("up: topology %s is up (%.1f s); bulkhead status shows it\n",
	       topo->name, run_now() - t0);
out:
	free(r);
	topology_free(topo);
	close(lock);
	return rc;
}
