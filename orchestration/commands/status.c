/* bulkhead status [--json]: every running topology, its VMs (libvirt's
 * state, the accelerator) and its links (the supervisor's record and the
 * link's own counters from its control socket). */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "domain_xml.h"
#include "kind.h"
#include "orch.h"
#include "plan.h"
#include "supervisor.h"
#include "unix_query.h"
#include "virt.h"
#include "state_paths.h"
#include "mono_time.h"

/* A link answers its control socket at once when it is well; one that
 * does not (stuck, its backlog full) must not hold up status: each link
 * gets LINK_ANSWER_MS, all links together STATUS_LINKS_MS, and the rows of
 * the others still print. */
#define LINK_ANSWER_MS 2000
#define STATUS_LINKS_MS 10000
/* A driver VM's agent answers "state" at once; one busy with another
 * request (a usb attach) or stuck gets no more than a link. */
#define AGENT_ANSWER_MS 2000

/* The link's JSON status (bulkhead-link --control), or NULL with why in
 * WHY ("no answer" when it did not answer in time). */
static json_object *link_control(const char *path, long long deadline_ms,
				 char *why, size_t why_len)
{
	long long now = mono_ms();
	if (now >= deadline_ms) {
		snprintf(why, why_len, "no answer (status's %d s for all links"
			 " were spent)", STATUS_LINKS_MS / 1000);
		return NULL;
	}
	if (deadline_ms > now + LINK_ANSWER_MS)
		deadline_ms = now + LINK_ANSWER_MS;
	char buf[65536];
	long n = unix_query(path, deadline_ms, buf, sizeof(buf));
	json_object *live = n > 0 ? json_tokener_parse(buf) : NULL;
	if (n == -ETIMEDOUT)
		snprintf(why, why_len, "no answer");
	else if (n < 0)
		snprintf(why, why_len, "%s", strerror((int)-n));
	else if (!live || !json_object_is_type(live, json_type_object))
		snprintf(why, why_len, "unreadable answer");
	else
		snprintf(why, why_len, "ok");
	if (live && !json_object_is_type(live, json_type_object)) {
		json_object_put(live);
		live = NULL;
	}
	return live;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static json_object *find_link(json_object *state, const char *name)
{
	json_object *links = get(state, "links");
	for (size_t i = 0; links && i < json_object_array_length(links); i++) {
		json_object *l = json_object_array_get_idx(links, i);
		const char *n = json_object_get_string(get(l, "name"));
		if (n && !strcmp(n, name))
			return l;
	}
	return NULL;
}

/* The boundary between the VMs' QEMUs this host gives: each its own uid
 * and gid (DAC), and libvirt's sVirt where the host has it. */
static const char *isolation(struct orch *o)
{
	unsigned m = virt_sec_models(o->conn);
	if (m & DOMAIN_SEC_APPARMOR)
		return "own uid per VM (DAC) + AppArmor (sVirt)";
	if (m & DOMAIN_SEC_SELINUX)
		return "own uid per VM (DAC) + SELinux (sVirt)";
	return "own uid per VM (DAC only: no AppArmor or SELinux on this host)";
}

static json_object *vm_json(struct orch *o, const char *name, const char *role,
			    const char *served_by, const struct plan_dirs *dirs)
{
	char domain[128], owner[64], xml_path[PATH_MAX];
	plan_domain_name(name, domain, sizeof(domain));
	enum virt_state s = virt_domain_state(o->conn, domain, owner, sizeof(owner));
	json_object *vm = json_object_new_object();
	json_object_object_add(vm, "name", json_object_new_string(name));
	json_object_object_add(vm, "domain", json_object_new_string(domain));
	json_object_object_add(vm, "role", json_object_new_string(role));
	/* Paused: a preloaded disposable waiting in the pool. */
	bool paused = s == VIRT_RUNNING && virt_domain_paused(o->conn, domain);
	json_object_object_add(vm, "state", json_object_new_string(
				       paused ? "paused" : virt_state_name(s)));
	if (served_by)
		json_object_object_add(vm, "net", json_object_new_string(served_by));
	/* The accelerator it was started with, from the XML up applied. */
	snprintf(xml_path, sizeof(xml_path), "%s/%s.xml", dirs->state, name);
	FILE *f = fopen(xml_path, "re");
	const char *accel = "-";
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "<bulkhead:accel>kvm<"))
			accel = "kvm";
		else if (strstr(line, "<bulkhead:accel>tcg<"))
			accel = "tcg";
	if (f)
		fclose(f);
	json_object_object_add(vm, "accel", json_object_new_string(accel));
	/* The uid its QEMU runs as, from libvirt's live label: its own
	 * principal on this host (docs/security.md). */
	uid_t uid;
	json_object_object_add(vm, "uid", virt_domain_dac_uid(o->conn, domain, &uid) ?
			       NULL : json_object_new_int64(uid));
	return vm;
}

/* One link's status: what up asked of it (SPEC), what the supervisor
 * says of it (STATE), and what the link itself says (its control
 * socket). */
static json_object *link_json(json_object *state, const struct link_spec *spec,
			      long long deadline_ms)
{
	json_object *l = json_object_new_object();
	json_object *sv = find_link(state, spec->name);
	json_object_object_add(l, "name", json_object_new_string(spec->name));
	json_object_object_add(l, "kind", json_object_new_string(spec->kind));
	json_object_object_add(l, "between", json_object_new_string(spec->driver_vm));
	json_object_object_add(l, "running", json_object_new_boolean(
		sv && json_object_get_boolean(get(sv, "running"))));
	json_object_object_add(l, "pid", json_object_new_int(
		sv ? json_object_get_int(get(sv, "pid")) : 0));
	json_object_object_add(l, "restarts", json_object_new_int(
		sv ? json_object_get_int(get(sv, "restarts")) : 0));
	json_object_object_add(l, "last_exit", json_object_new_string(
		sv && get(sv, "last_exit") ?
		json_object_get_string(get(sv, "last_exit")) : ""));
	char why[128] = "no control socket";
	json_object *live = spec->control[0] ?
		link_control(spec->control, deadline_ms, why, sizeof(why)) : NULL;
	json_object_object_add(l, "control", json_object_new_string(why));
	if (live)
		json_object_object_add(l, "link", live);
	return l;
}

static int first_line(const char *line, void *arg)
{
	char *said = arg;
	if (!said[0])
		snprintf(said, AGENT_LINE_MAX, "%s", line);
	return 0;
}

/* What running driver VM DRV says of itself now (its agent's state line:
 * READY, a sys-storage pool filling up, ERROR health: ...), as "says";
 * why there is none as "says_error". Its text is the guest's: printable
 * ASCII only (agent_request), shown, never parsed. */
static void driver_says(struct orch *o, const struct topology *topo,
			const char *drv, json_object *vm, long long deadline_ms)
{
	if (strcmp(json_object_get_string(get(vm, "state")), "running"))
		return;
	struct agent_addr to;
	char path[PATH_MAX], said[AGENT_LINE_MAX] = "", err[512];
	long long left = deadline_ms - mono_ms();
	int rc = orch_vm_agent(o, topo, drv, &to, path, err, sizeof(err));
	if (!rc)
		rc = left <= 0 ? -ETIMEDOUT :
		     agent_request(&to, "state", left < AGENT_ANSWER_MS ?
				   (int)left : AGENT_ANSWER_MS, first_line, said);
	if (rc == 0 && said[0])
		json_object_object_add(vm, "says", json_object_new_string(said));
	else
		json_object_object_add(vm, "says_error", json_object_new_string(
			rc == -ENOENT ? err : rc == -ETIMEDOUT ? "no answer" :
			rc < 0 ? strerror(-rc) : "no state (an older image)"));
}

static json_object *topology_json(struct orch *o, const char *dir_name,
				  long long deadline_ms)
{
	char path[PATH_MAX], err[1024];
	/* The file as up applied it, named after the topology: loaded from
	 * there, it keeps its name even when the name came from the file's. */
	snprintf(path, sizeof(path), "%s/%s/%s.yaml", o->state_root, dir_name,
		 dir_name);
	struct topology *topo;
	if (access(path, R_OK) || topology_load(path, &topo, err, sizeof(err)))
		return NULL;
	struct plan_dirs dirs;
	plan_dirs(o->state_root, o->log_root, o->data_root, topo, &dirs);
	json_object *t = json_object_new_object();
	json_object_object_add(t, "topology", json_object_new_string(topo->name));
	json_object_object_add(t, "supervisor_pid",
			       json_object_new_int(supervisor_pid(dirs.state)));
	json_object_object_add(t, "isolation", json_object_new_string(isolation(o)));
	json_object *vms = json_object_new_array();
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		json_object *vm = vm_json(o, d->name, d->kind, NULL, &dirs);
		driver_says(o, topo, d->name, vm, deadline_ms);
		json_object_array_add(vms, vm);
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		json_object *vm = vm_json(o, a->name, "app", a->net.via, &dirs);
		/* The address it takes by SLAAC (plan.h); null: ipv6: off. */
		struct in6_addr prefix, addr;
		bool has_ipv6 = plan_app_ipv6(topo, a, &prefix, &addr) > 0;
		json_object_object_add(vm, "ipv6", has_ipv6 ?
			json_object_new_string(topology_ip6_format(&addr).s) : NULL);
		json_object_array_add(vms, vm);
	}
	json_object_object_add(t, "vms", vms);

	/* The links as up last asked for them (links.json), each with its
	 * kind's columns. */
	state_file(dirs.state, STATE_LINKS_STATE, path, sizeof(path));
	json_object *state = json_object_from_file(path);
	json_object *links = json_object_new_array();
	struct link_set set;
	state_file(dirs.state, STATE_LINKS, path, sizeof(path));
	if (link_set_read(path, &set, err, sizeof(err)) == 0) {
		for (unsigned i = 0; i < set.count; i++)
			json_object_array_add(links, link_json(state, &set.links[i],
							       deadline_ms));
		link_set_free(&set);
	}
	if (state)
		json_object_put(state);
	json_object_object_add(t, "links", links);
	topology_free(topo);
	return t;
}


/* The links of kind KIND_NAME: the columns every link has, then its
 * kind's from the link's own answer, or why there is none ("no answer"). */
static void print_links(json_object *links, const char *kind_name)
{
	const struct driver_kind *kind = driver_kind_named(kind_name);
	bool columns = kind && kind->status_row;
	printf("  %-14s %-9s %-7s %-8s %s\n", "LINK", "STATE", "PID", "RESTARTS",
	       columns ? kind->status_header : "");
	for (size_t i = 0; i < json_object_array_length(links); i++) {
		json_object *l = json_object_array_get_idx(links, i);
		const char *name = json_object_get_string(get(l, "name"));
		char row[256] = "";
		if (strcmp(json_object_get_string(get(l, "kind")), kind_name))
			continue;
		if (!get(l, "link"))
			snprintf(row, sizeof(row), "%s",
				 json_object_get_string(get(l, "control")));
		else if (columns)
			kind->status_row(name, get(l, "link"), row, sizeof(row));
		printf("  %-14s %-9s %-7d %-8d %s\n", name,
		       json_object_get_boolean(get(l, "running")) ? "running" : "DOWN",
		       json_object_get_int(get(l, "pid")),
		       json_object_get_int(get(l, "restarts")), row);
	}
}

static void print_table(json_object *t)
{
	printf("topology %s (link supervisor pid %d)\n",
	       json_object_get_string(get(t, "topology")),
	       json_object_get_int(get(t, "supervisor_pid")));
	printf("  isolation: %s\n", json_object_get_string(get(t, "isolation")));
	printf("  %-14s %-5s %-9s %-6s %-11s %-14s %s\n", "VM", "ROLE", "STATE",
	       "ACCEL", "UID", "NET", "IPV6");
	json_object *vms = get(t, "vms");
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		json_object *vm = json_object_array_get_idx(vms, i);
		/* An app VM's ipv6 is there and null when off; a driver VM
		 * has none. */
		json_object *ipv6 = NULL;
		bool has_ipv6 = json_object_object_get_ex(vm, "ipv6", &ipv6);
		json_object *uid = get(vm, "uid");
		printf("  %-14s %-5s %-9s %-6s %-11s %-14s %s\n",
		       json_object_get_string(get(vm, "name")),
		       json_object_get_string(get(vm, "role")),
		       json_object_get_string(get(vm, "state")),
		       json_object_get_string(get(vm, "accel")),
		       uid ? json_object_get_string(uid) : "-",
		       get(vm, "net") ? json_object_get_string(get(vm, "net")) : "-",
		       !has_ipv6 ? "-" :
		       ipv6 ? json_object_get_string(ipv6) : "off");
	}
	/* What each running driver VM says of itself, whole (a warning
	 * does not fit a column). */
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		json_object *vm = json_object_array_get_idx(vms, i);
		const char *name = json_object_get_string(get(vm, "name"));
		if (get(vm, "says"))
			printf("  %s says: %s\n", name,
			       json_object_get_string(get(vm, "says")));
		else if (get(vm, "says_error"))
			printf("  %s says nothing: %s\n", name,
			       json_object_get_string(get(vm, "says_error")));
	}
	/* A table per kind: each has its own columns. */
	json_object *links = get(t, "links");
	size_t n = json_object_array_length(links);
	for (size_t i = 0; i < n; i++) {
		const char *kind_name = json_object_get_string(
			get(json_object_array_get_idx(links, i), "kind"));
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = strcmp(kind_name, json_object_get_string(get(
				json_object_array_get_idx(links, j), "kind"))) != 0;
		if (first)
			print_links(links, kind_name);
	}
}

int cmd_status(struct orch *o)
{
	if (orch_connect(o))
		return 1;
	json_object *all = json_object_new_array();
	long long deadline_ms = mono_ms() + STATUS_LINKS_MS;
	DIR *d = opendir(o->state_root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		json_object *t = topology_json(o, e->d_name, deadline_ms);
		if (t)
			json_object_array_add(all, t);
	}
	if (d)
		closedir(d);
	if (o->json) {
		printf("%s\n", json_object_to_json_string_ext(all,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (json_object_array_length(all) == 0) {
		printf("no topology is up\n");
	} else {
		for (size_t i = 0; i < json_object_array_length(all); i++)
			print_table(json_object_array_get_idx(all, i));
	}
	json_object_put(all);
	return 0;
}
