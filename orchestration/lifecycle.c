/* bulkhead up / down / start / stop: make the host match a topology file,
 * and take it all away again (docs/orchestration.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "agent.h"
#include "boot_files.h"
#include "domain_xml.h"
#include "host_net.h"
#include "host_port.h"
#include "orch.h"
#include "plan.h"
#include "state_files.h"
#include "supervisor.h"
#include "sysnet_config.h"
#include "vfio.h"
#include "virt.h"
#include "vm_ids.h"

#define ERR_LEN ORCH_ERR_LEN
#define SYSFS_ROOT ORCH_SYSFS_ROOT

/* What one run of up made, undone in reverse when a later step fails. */
enum undo_kind { UNDO_DOMAIN, UNDO_TAP, UNDO_NETNS, UNDO_SUPERVISOR,
		 UNDO_VFIO, UNDO_STATE_DIR };

struct undo {
	enum undo_kind kind;
	char a[PATH_MAX];
	char b[64];
};

struct run {
	struct orch *o;
	struct topology *topo;
	struct plan_dirs dirs;
	struct undo undo[256];
	unsigned undo_count;
	enum domain_accel accel;
	unsigned sec_models;            /* DOMAIN_SEC_*: sVirt besides DAC */
	struct vm_ids_host ids;
	bool accel_probation;
	char accel_reason[256];
	char err[ERR_LEN];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void remember(struct run *r, enum undo_kind kind, const char *a,
		     const char *b)
{
	if (r->undo_count == sizeof(r->undo) / sizeof(r->undo[0]))
		return;
	struct undo *u = &r->undo[r->undo_count++];
	u->kind = kind;
	snprintf(u->a, sizeof(u->a), "%s", a);
	snprintf(u->b, sizeof(u->b), "%s", b ? b : "");
}

static void stop_supervisor(const char *state_dir)
{
	pid_t pid = supervisor_pid(state_dir);
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	/* It stops its links (up to 1 s each) before it lets the lock go. */
	for (int i = 0; i < 300 && supervisor_pid(state_dir) > 0; i++)
		usleep(50000);
	if (supervisor_pid(state_dir) > 0)
		kill(pid, SIGKILL);
}

/* The tap of DRV's device I, in TAP; false when that device is not an
 * emulated NIC (it has none). */
static bool device_tap(const struct topology *topo,
		       const struct topo_driver_vm *drv, unsigned i,
		       char tap[PLAN_IFNAME_MAX + 1])
{
	if (drv->devices[i].emulated == TOPO_EMULATED_NONE)
		return false;
	plan_tap_name(topo, drv->name, i, tap);
	return true;
}

static void delete_taps(const struct topology *topo,
			const struct topo_driver_vm *drv)
{
	char tap[PLAN_IFNAME_MAX + 1];
	for (unsigned i = 0; i < drv->devices_count; i++)
		if (device_tap(topo, drv, i, tap))
			host_net_tap_remove(tap, drv->devices[i].netns);
}

static void rollback(struct run *r)
{
	char err[ERR_LEN];
	if (!r->undo_count)
		return;
	fprintf(stderr, "bulkhead: rolling back what this run made:\n");
	while (r->undo_count) {
		struct undo *u = &r->undo[--r->undo_count];
		switch (u->kind) {
		case UNDO_DOMAIN:
			fprintf(stderr, "  domain %s\n", u->a);
			if (virt_domain_stop(r->o->conn, u->a, true, err, sizeof(err)))
				fprintf(stderr, "    %s\n", err);
			break;
		case UNDO_TAP:
			fprintf(stderr, "  tap %s\n", u->a);
			host_net_tap_remove(u->a, u->b);
			break;
		case UNDO_NETNS:
			fprintf(stderr, "  network namespace %s\n", u->a);
			if (host_net_netns_delete(u->a, err, sizeof(err)))
				fprintf(stderr, "    %s\n", err);
			break;
		case UNDO_SUPERVISOR:
			fprintf(stderr, "  link supervisor and its links\n");
			stop_supervisor(u->a);
			break;
		case UNDO_VFIO:
			fprintf(stderr, "  vfio-pci binding of %s\n", u->a);
			if (vfio_unbind(SYSFS_ROOT, u->a, u->b, err, sizeof(err)))
				fprintf(stderr, "    %s\n", err);
			break;
		case UNDO_STATE_DIR:
			fprintf(stderr, "  %s\n", u->a);
			remove_tree(u->a);
			break;
		}
	}
}

static int fail(struct run *r, int rc)
{
	fprintf(stderr, "bulkhead: %s\n", r->err);
	rollback(r);
	return rc;
}

/* DIR exists with MODE, owned by root and GID: made, or set again (a
 * directory of an older run may have had looser bits). Through a
 * descriptor, never following a link. */
static int own_dir(struct run *r, const char *dir, mode_t mode, gid_t gid)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(r->err, sizeof(r->err), "mkdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, 0, gid) < 0 || fchmod(fd, mode) < 0) {
		int e = errno;
		snprintf(r->err, sizeof(r->err), "%s: %s", dir, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

/* The state and log directories (plan.h says who reaches what). */
static int make_dirs(struct run *r)
{
	struct stat st;
	bool fresh = stat(r->dirs.state, &st) < 0;
	const struct { const char *dir; mode_t mode; } dirs[] = {
		{ r->o->state_root, 0711 }, { r->o->log_root, 0700 },
		{ r->dirs.state, 0711 }, { r->dirs.vm, 0711 },
		{ r->dirs.agent, 0700 }, { r->dirs.ctl, 0700 },
		{ r->dirs.log, 0700 },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int rc = own_dir(r, dirs[i].dir, dirs[i].mode, 0);
		if (rc)
			return rc;
		if (i == 2 && fresh)
			remember(r, UNDO_STATE_DIR, r->dirs.state, NULL);
	}
	return 0;
}

/* VM's own uid (== gid) on this host, recorded or allocated. */
static int vm_uid(struct run *r, const char *vm, uid_t *uid)
{
	return vm_ids_assign(&r->ids, r->topo->name, vm, uid, r->err,
			     sizeof(r->err));
}

/* VM's directory: root's and the VM's group's, 02750 (new files take the
 * VM's group: the links' sockets). Its QEMU reads its boot files there and
 * connects to its link sockets; no other QEMU passes through. */
static int make_vm_dir(struct run *r, const char *vm)
{
	char dir[PATH_MAX];
	uid_t uid;
	int rc = vm_uid(r, vm, &uid);
	if (rc)
		return rc;
	if (domain_vm_dir(&r->dirs, vm, dir, sizeof(dir))) {
		snprintf(r->err, sizeof(r->err), "%s: VM directory path too long", vm);
		return -ENAMETOOLONG;
	}
	return own_dir(r, dir, 02750, uid);
}

static int make_vm_dirs(struct run *r)
{
	int rc = 0;
	for (unsigned i = 0; !rc && i < r->topo->driver_vms_count; i++)
		rc = make_vm_dir(r, r->topo->driver_vms[i].name);
	for (unsigned i = 0; !rc && i < r->topo->app_vms_count; i++)
		rc = make_vm_dir(r, r->topo->app_vms[i].name);
	return rc;
}

/* The domain description's environment for VM. */
static int vm_env(struct run *r, const char *vm, struct domain_env *env)
{
	*env = (struct domain_env){ &r->dirs, r->accel, 0, r->sec_models };
	return vm_uid(r, vm, &env->uid);
}

/* Under KVM, QEMU opens /dev/kvm itself, and a VM's own uid is in no
 * group: where the device is not open to all, an ACL entry for that uid
 * (down takes it away). */
static int grant_kvm(struct run *r, uid_t uid)
{
	struct stat st;
	if (r->accel != DOMAIN_ACCEL_KVM || stat("/dev/kvm", &st) < 0 ||
	    (st.st_mode & 0006) == 0006)
		return 0;
	char entry[64], why[ERR_LEN];
	snprintf(entry, sizeof(entry), "u:%u:rw", (unsigned)uid);
	char *argv[] = { "setfacl", "-m", entry, "/dev/kvm", NULL };
	if (run_command(argv, why, sizeof(why))) {
		snprintf(r->err, sizeof(r->err), "/dev/kvm for uid %u: %s",
			 (unsigned)uid, why);
		return -EIO;
	}
	return 0;
}

/* What VM boots, as its own verified copies (boot_files.h); CONFIG, when
 * given, is what fw_cfg hands the guest. */
static int prepare_boot(struct run *r, const char *vm,
			const struct domain_images *images, const char *config)
{
	char dir[PATH_MAX];
	domain_vm_dir(&r->dirs, vm, dir, sizeof(dir));
	int rc = boot_copy_image(r->o->image_dir, images->kernel, dir, BOOT_KERNEL,
				 r->err, sizeof(r->err));
	rc = rc ? rc : boot_copy_image(r->o->image_dir, images->initrd, dir,
				       BOOT_INITRD, r->err, sizeof(r->err));
	if (!rc && config)
		rc = boot_write_file(dir, BOOT_CONFIG, config, r->err,
				     sizeof(r->err));
	if (rc) {
		char why[ERR_LEN];
		snprintf(why, sizeof(why), "%s", r->err);
		snprintf(r->err, sizeof(r->err), "%s: not started: %s", vm, why);
	}
	return rc;
}

/* What the host needs for QEMUs that each run as a VM's own uid: passing
 * through libvirt's domain directory; and which sVirt models to add. */
static int host_prepare(struct run *r)
{
	int rc = virt_allow_traverse(VIRT_QEMU_LIB_DIR, r->err, sizeof(r->err));
	if (rc == 1)
		printf("up: %s: o+x, so each VM's QEMU reaches its own domain"
		       " directory (it lists nothing)\n", VIRT_QEMU_LIB_DIR);
	r->sec_models = virt_sec_models(r->o->conn);
	return rc < 0 ? rc : 0;
}

/* VM's agent and the uid its QEMU must answer as. */
static int vm_agent(struct run *r, const char *vm, char path[PATH_MAX],
		    struct agent_addr *to)
{
	domain_agent_path(&r->dirs, vm, path, PATH_MAX);
	to->path = path;
	return vm_uid(r, vm, &to->uid);
}

/* --- images -------------------------------------------------------------- */

static bool image_present(const char *dir, const char *file)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, R_OK) == 0;
}

static int ensure_images(struct run *r)
{
	const char *need[TOPO_MAX_APP_VMS + 3];
	char app_images[TOPO_MAX_APP_VMS][TOPO_NAME_MAX + 32];
	unsigned n = 0;
	need[n++] = "vmlinuz";
	need[n++] = "sysnet-vmlinuz";
	need[n++] = "sysnet-initramfs.cpio.gz";
	for (unsigned i = 0; i < r->topo->app_vms_count; i++) {
		snprintf(app_images[i], sizeof(app_images[i]), "%s-initramfs.cpio.gz",
			 r->topo->app_vms[i].image);
		need[n++] = app_images[i];
	}
	bool missing = false;
	for (unsigned i = 0; i < n; i++)
		missing |= !image_present(r->o->image_dir, need[i]);
	if (missing && r->o->source_root) {
		char script[PATH_MAX];
		snprintf(script, sizeof(script), "%s/guest-os/build-images",
			 r->o->source_root);
		printf("up: building the guest images (guest-os/build-images: about"
		       " 5 to 10 minutes the first time, most of it compiling"
		       " sys-net's kernel)\n");
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			setenv("BULKHEAD_IMAGE_DIR", r->o->image_dir, 1);
			execl(script, script, (char *)NULL);
			_exit(127);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			snprintf(r->err, sizeof(r->err), "%s failed", script);
			return -EIO;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (!image_present(r->o->image_dir, need[i])) {
			snprintf(r->err, sizeof(r->err), "no image %s/%s%s",
				 r->o->image_dir, need[i],
				 i >= 2 ? " (an app VM's image: is its name right?)" : "");
			return -ENOENT;
		}
	return 0;
}

/* --- links --------------------------------------------------------------- */

static int link_set_of(const struct run *r, struct link_set *set)
{
	memset(set, 0, sizeof(*set));
	snprintf(set->binary, sizeof(set->binary), "%s", r->o->link_binary);
	set->links = calloc(r->topo->app_vms_count + 1, sizeof(*set->links));
	if (!set->links)
		return -ENOMEM;
	const struct topo_host_port *hp = r->topo->host_port;
	if (hp) {
		/* Side a is the host's tap (host_port.c made it). */
		struct link_spec *s = &set->links[set->count++];
		snprintf(s->name, sizeof(s->name), "%s", PLAN_HOST_PORT_LINK);
		plan_host_tap_name(r->topo, s->tap);
		snprintf(s->netns, sizeof(s->netns), "%s", hp->netns ? hp->netns : "");
		domain_link_path(&r->dirs, hp->net, PLAN_HOST_PORT_LINK, s->b,
				 sizeof(s->b));
		domain_ctl_path(&r->dirs, PLAN_HOST_PORT_LINK, s->control,
				sizeof(s->control));
		snprintf(s->mac_a, sizeof(s->mac_a), "%s", hp->mac);
		plan_downstream_mac(r->topo, PLAN_HOST_PORT_LINK, s->mac_b);
	}
	for (unsigned i = 0; i < r->topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &r->topo->app_vms[i];
		struct link_spec *s = &set->links[set->count++];
		snprintf(s->name, sizeof(s->name), "%s", a->name);
		domain_link_path(&r->dirs, a->name, a->name, s->a, sizeof(s->a));
		domain_link_path(&r->dirs, a->net, a->name, s->b, sizeof(s->b));
		domain_ctl_path(&r->dirs, a->name, s->control, sizeof(s->control));
		snprintf(s->mac_a, sizeof(s->mac_a), "%s", a->mac);
		plan_downstream_mac(r->topo, a->name, s->mac_b);
	}
	return 0;
}

static int spawn_supervisor(struct run *r)
{
	char log_path[PATH_MAX];
	snprintf(log_path, sizeof(log_path), "%s/supervisor.log", r->dirs.state);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* A daemon of its own: outlives this command, not in its
		 * session, output to its log. */
		setsid();
		if (fork() != 0)
			_exit(0);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
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

static int wait_links(struct run *r, const struct link_set *set)
{
	for (int i = 0; i < 200; i++) {
		bool all = true;
		for (unsigned j = 0; j < set->count && all; j++)
			all = (!set->links[j].a[0] ||
			       access(set->links[j].a, F_OK) == 0) &&
			      access(set->links[j].b, F_OK) == 0;
		if (all)
			return 0;
		usleep(50000);
	}
	snprintf(r->err, sizeof(r->err), "the links' sockets did not appear in %s"
		 " within 10 s (see %s/supervisor.log)", r->dirs.vm, r->dirs.state);
	return -ETIMEDOUT;
}

/* The host port's tap, before its link starts (the link attaches to it). */
static int prepare_host_port(struct run *r, json_object *made)
{
	const struct topo_host_port *hp = r->topo->host_port;
	bool made_netns, made_tap;
	char tap[PLAN_IFNAME_MAX + 1];
	if (!hp)
		return 0;
	int rc = host_port_up(r->topo, &made_netns, &made_tap, r->err,
			      sizeof(r->err));
	if (made_netns) {
		remember(r, UNDO_NETNS, hp->netns, NULL);
		json_object_array_add(made_list(made, "netns"),
				      json_object_new_string(hp->netns));
		made_write(&r->dirs, made);
	}
	plan_host_tap_name(r->topo, tap);
	if (made_tap)
		remember(r, UNDO_TAP, tap, hp->netns);
	if (rc)
		return rc;
	printf("up: host port: tap %s%s%s, %s%s\n", tap, hp->netns ? " in " : "",
	       hp->netns ? hp->netns : "", hp->ip,
	       hp->default_route ? ", the default route" : "");
	return 0;
}

static int start_links(struct run *r)
{
	struct link_set set;
	char path[PATH_MAX];
	int rc = link_set_of(r, &set);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/links.json", r->dirs.state);
	rc = link_set_write(path, &set);
	if (rc) {
		snprintf(r->err, sizeof(r->err), "%s: %s", path, strerror(-rc));
		link_set_free(&set);
		return rc;
	}
	pid_t pid = supervisor_pid(r->dirs.state);
	if (pid > 0) {
		kill(pid, SIGHUP);
	} else {
		rc = spawn_supervisor(r);
		if (!rc)
			remember(r, UNDO_SUPERVISOR, r->dirs.state, NULL);
	}
	if (!rc)
		rc = wait_links(r, &set);
	link_set_free(&set);
	return rc;
}

/* --- VMs ----------------------------------------------------------------- */

static int decide_accel(struct run *r)
{
	enum topo_accel asked = r->o->accel_given ? r->o->accel : r->topo->accel;
	enum accel_verdict v = accel_choose(r->o->state_root, asked,
					    r->accel_reason, sizeof(r->accel_reason));
	if (asked == TOPO_ACCEL_KVM && v != ACCEL_USE_KVM) {
		snprintf(r->err, sizeof(r->err), "--accel kvm: %s", r->accel_reason);
		return -ENODEV;
	}
	r->accel = v == ACCEL_USE_TCG ? DOMAIN_ACCEL_TCG : DOMAIN_ACCEL_KVM;
	r->accel_probation = v == ACCEL_UNTRIED;
	return 0;
}

static int xml_path(const struct run *r, const char *vm, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s.xml", r->dirs.state, vm);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Whether VM already runs with exactly this XML (then up leaves it). */
static bool unchanged(const struct run *r, const char *vm, const char *domain,
		      const char *xml)
{
	char path[PATH_MAX], topo_name[64];
	if (virt_domain_state(r->o->conn, domain, topo_name, sizeof(topo_name)) !=
	    VIRT_RUNNING || xml_path(r, vm, path, sizeof(path)))
		return false;
	char *old = read_text(path);
	bool same = old && !strcmp(old, xml);
	free(old);
	return same;
}

/* Emulated NICs: a tap in the host's namespace for libvirt to open; the
 * namespace it will live in (made if missing). */
static int prepare_taps(struct run *r, const struct topo_driver_vm *drv,
			json_object *made)
{
	char tap[PLAN_IFNAME_MAX + 1];
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (!device_tap(r->topo, drv, i, tap))
			continue;
		if (!host_net_netns_exists(dev->netns)) {
			if (host_net_netns_add(dev->netns, r->err, sizeof(r->err)))
				return -EIO;
			remember(r, UNDO_NETNS, dev->netns, NULL);
			json_object_array_add(made_list(made, "netns"),
					      json_object_new_string(dev->netns));
			/* At once: an interrupted up must not forget it. */
			made_write(&r->dirs, made);
		}
		/* A tap left by a VM that is gone is stale: QEMU must open a
		 * fresh one in the host's namespace. */
		host_net_tap_remove(tap, dev->netns);
		if (host_net_tap_add(tap, NULL, r->err, sizeof(r->err)))
			return -EIO;
		remember(r, UNDO_TAP, tap, dev->netns);
	}
	return 0;
}

static int move_taps(struct run *r, const struct topo_driver_vm *drv)
{
	char tap[PLAN_IFNAME_MAX + 1];
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (!device_tap(r->topo, drv, i, tap))
			continue;
		if (host_net_tap_move(tap, dev->netns, dev->bridge, r->err,
				      sizeof(r->err)))
			return -EIO;
	}
	return 0;
}

static int bind_pci(struct run *r, const struct topo_driver_vm *drv,
		    json_object *made)
{
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const char *bdf = drv->devices[i].pci;
		if (!bdf)
			continue;
		char prev[64], why[ERR_LEN];
		char *modprobe[] = { "modprobe", "vfio-pci", NULL };
		if (run_command(modprobe, why, sizeof(why))) {
			snprintf(r->err, sizeof(r->err), "%s: %s", drv->name, why);
			return -EIO;
		}
		if (vfio_bind(SYSFS_ROOT, bdf, prev, sizeof(prev), why, sizeof(why))) {
			snprintf(r->err, sizeof(r->err), "%s: %s", drv->name, why);
			return -EIO;
		}
		if (strcmp(prev, "vfio-pci") != 0) {
			remember(r, UNDO_VFIO, bdf, prev);
			json_object *e = json_object_new_object();
			json_object_object_add(e, "pci", json_object_new_string(bdf));
			json_object_object_add(e, "driver", json_object_new_string(prev));
			json_object_array_add(made_list(made, "vfio"), e);
			made_write(&r->dirs, made);
		}
	}
	return 0;
}

struct domain_watch {
	struct run *r;
	char domain[128];
};

static bool domain_alive(void *arg)
{
	struct domain_watch *w = arg;
	enum virt_state s = virt_domain_state(w->r->o->conn, w->domain, NULL, 0);
	return s != VIRT_STOPPED && s != VIRT_ABSENT;
}

static int wait_driver_vm(struct run *r, const struct topo_driver_vm *drv,
			  double t0, bool *heard)
{
	char agent[PATH_MAX], line[AGENT_LINE_MAX];
	struct agent_addr to;
	int rc = vm_agent(r, drv->name, agent, &to);
	if (rc)
		return rc;
	/* A stop (bulkhead stop, which does not wait for this command) ends
	 * the wait at once instead of at the boot timeout. */
	struct domain_watch w = { r, "" };
	plan_domain_name(drv->name, w.domain, sizeof(w.domain));
	struct agent_alive alive = { domain_alive, &w };
	int timeout = r->accel_probation ? ACCEL_KVM_PROOF_SECONDS :
			r->o->boot_timeout_s;
	rc = agent_wait_ready(&to, &alive, timeout * 1000, line, sizeof(line),
			      heard);
	if (rc == -ETIMEDOUT && r->accel_probation && *heard)
		rc = agent_wait_ready(&to, &alive, r->o->boot_timeout_s * 1000,
				      line, sizeof(line), heard);
	if (rc == 0) {
		printf("up: %s: %s (%.1f s)\n", drv->name, line, now_s() - t0);
		return 0;
	}
	char log[PATH_MAX];
	domain_console_log(&r->dirs, drv->name, log, sizeof(log));
	if (rc == -EIO)
		snprintf(r->err, sizeof(r->err), "%s refused to forward: %s (console:"
			 " %s)", drv->name, line, log);
	else if (rc == -ESRCH)
		snprintf(r->err, sizeof(r->err), "%s stopped while starting (domain"
			 " %s is not running)", drv->name, w.domain);
	else if (rc == -EPERM)
		snprintf(r->err, sizeof(r->err), "%s: the agent socket %s is served"
			 " by another uid than the VM's (%u); its lines are not"
			 " taken", drv->name, agent, (unsigned)to.uid);
	else
		snprintf(r->err, sizeof(r->err), "%s: no READY from its agent within"
			 " %d s (last: '%s'; console: %s)", drv->name, timeout,
			 line, log);
	return rc;
}

/* The app VMs DRV serves in TOPO, in file order (its downstreams). */
static unsigned served(const struct topology *topo, const char *drv,
		       const char **names)
{
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		if (!strcmp(topo->app_vms[i].net, drv))
			names[n++] = topo->app_vms[i].name;
	return n;
}

/* Applies a changed topology to running driver VM DRV without restarting
 * it, when the change allows: its own devices and settings are as before,
 * and app VMs were only added after the ones it serves (their downstreams
 * are hot-plugged) or firewall rules changed. sys-net checks and applies
 * the new configuration itself (bk-update). Returns true when done; false
 * when DRV must restart instead (the reason is printed). */
static bool live_update(struct run *r, const struct topo_driver_vm *drv,
			const char *domain, const char *cfg)
{
	char topo_name[64], xpath[PATH_MAX], prev_path[PATH_MAX], why[ERR_LEN];
	if (virt_domain_state(r->o->conn, domain, topo_name, sizeof(topo_name)) !=
	    VIRT_RUNNING)
		return false;
	xml_path(r, drv->name, xpath, sizeof(xpath));
	snprintf(prev_path, sizeof(prev_path), "%s/%s.yaml", r->dirs.state,
		 r->topo->name);
	char *old_xml = read_text(xpath);
	struct topology *prev = NULL;
	bool ok = old_xml && !topology_load(prev_path, &prev, why, sizeof(why));
	const char *was[TOPO_MAX_APP_VMS], *now[TOPO_MAX_APP_VMS];
	unsigned nwas = ok ? served(prev, drv->name, was) : 0;
	unsigned nnow = served(r->topo, drv->name, now);
	ok = ok && nnow >= nwas;
	for (unsigned i = 0; ok && i < nwas; i++)
		ok = !strcmp(was[i], now[i]);
	/* The domain this file gives DRV without the added app VMs must be
	 * exactly the running one: then nothing but the additions changed
	 * (not its memory, devices, namespace or bridge). */
	struct topo_app_vm kept[TOPO_MAX_APP_VMS];
	struct topology base = *r->topo;
	base.app_vms = kept;
	base.app_vms_count = 0;
	for (unsigned i = 0; ok && i < r->topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &r->topo->app_vms[i];
		bool added = false;
		for (unsigned j = nwas; j < nnow; j++)
			added |= !strcmp(now[j], a->name);
		if (!added)
			kept[base.app_vms_count++] = *a;
	}
	char *base_xml = NULL;
	struct domain_env env;
	if (ok && !vm_env(r, drv->name, &env))
		base_xml = domain_xml_driver_vm(&base, drv, &env, why, sizeof(why));
	ok = ok && base_xml && !strcmp(base_xml, old_xml);
	free(old_xml);
	free(base_xml);
	topology_free(prev);
	if (!ok) {
		printf("up: %s: its devices or downstreams changed other than by"
		       " additions; restarting it\n", drv->name);
		return false;
	}
	for (unsigned i = nwas; i < nnow; i++) {
		char id[32], sock[PATH_MAX], mac[18];
		snprintf(id, sizeof(id), "bk-ds%u", i + 1);
		domain_link_path(&r->dirs, drv->name, now[i], sock, sizeof(sock));
		plan_downstream_mac(r->topo, now[i], mac);
		if (virt_hotplug_vhost_user_net(r->o->conn, domain, id, sock, mac,
						r->accel == DOMAIN_ACCEL_TCG, why,
						sizeof(why))) {
			printf("up: %s: hot-plug failed (%s); restarting it\n",
			       drv->name, why);
			return false;
		}
		printf("up: %s: downstream for %s hot-plugged\n", drv->name, now[i]);
	}
	char agent[PATH_MAX], reply[AGENT_LINE_MAX];
	struct agent_addr to;
	int rc = vm_agent(r, drv->name, agent, &to);
	rc = rc ? rc : agent_send_config(&to, cfg, 90000, reply, sizeof(reply));
	if (rc) {
		printf("up: %s: live update refused (%s); restarting it\n",
		       drv->name, rc == -EIO ? reply : strerror(-rc));
		return false;
	}
	printf("up: %s: %s, applied live (not restarted)\n", drv->name, reply);
	return true;
}

static int start_driver_vm(struct run *r, const struct topo_driver_vm *drv,
			   json_object *made)
{
	char domain[128], cfg_path[PATH_MAX], xpath[PATH_MAX];
	plan_domain_name(drv->name, domain, sizeof(domain));
	char *cfg = sysnet_config(r->topo, drv, r->err, sizeof(r->err));
	if (!cfg)
		return -ENOTSUP;
	struct domain_env env;
	if (vm_env(r, drv->name, &env)) {
		free(cfg);
		return -EIO;
	}
	char *xml = domain_xml_driver_vm(r->topo, drv, &env, r->err, sizeof(r->err));
	if (!xml) {
		free(cfg);
		return -ENOMEM;
	}
	int rc = 0;
	domain_config_path(&r->dirs, drv->name, cfg_path, sizeof(cfg_path));
	xml_path(r, drv->name, xpath, sizeof(xpath));
	char *old_cfg = read_text(cfg_path);
	bool same_cfg = old_cfg && !strcmp(old_cfg, cfg);
	free(old_cfg);
	if (same_cfg && unchanged(r, drv->name, domain, xml)) {
		printf("up: %s: running, unchanged\n", drv->name);
		goto out;
	}
	if (live_update(r, drv, domain, cfg)) {
		rc = write_file(cfg_path, cfg, 0600);
		rc = rc ? rc : write_file(xpath, xml, 0600);
		goto out;
	}
	rc = write_file(cfg_path, cfg, 0600);
	if (rc) {
		snprintf(r->err, sizeof(r->err), "%s: %s", cfg_path, strerror(-rc));
		goto out;
	}
	char topo_name[64];
	enum virt_state before = virt_domain_state(r->o->conn, domain, topo_name,
						   sizeof(topo_name));
	if (before == VIRT_RUNNING)
		printf("up: %s: its configuration changed; restarting it\n",
		       drv->name);
	rc = virt_domain_stop(r->o->conn, domain, false, r->err, sizeof(r->err));
	rc = rc ? rc : prepare_taps(r, drv, made);
	rc = rc ? rc : bind_pci(r, drv, made);
	struct domain_images images;
	domain_images_driver_vm(drv, &images);
	rc = rc ? rc : prepare_boot(r, drv->name, &images, cfg);
	rc = rc ? rc : grant_kvm(r, env.uid);
	if (rc)
		goto out;
	double t0 = now_s();
	printf("up: %s: starting (%s: %s)\n", drv->name,
	       r->accel == DOMAIN_ACCEL_KVM ? "kvm" : "tcg", r->accel_reason);
	fflush(stdout);
	rc = virt_domain_define_start(r->o->conn, domain, xml, r->err,
				      sizeof(r->err));
	bool heard = false, start_failed = rc != 0;
	/* Rollback removes what this run made, not a domain it restarted. */
	bool made_here = before == VIRT_ABSENT;
	if (!rc) {
		if (made_here)
			remember(r, UNDO_DOMAIN, domain, NULL);
		rc = move_taps(r, drv);
		rc = rc ? rc : wait_driver_vm(r, drv, t0, &heard);
	} else if (!r->accel_probation) {
		goto out;
	} else if (made_here) {
		remember(r, UNDO_DOMAIN, domain, NULL); /* replaced below */
	}
	/* Only a start that fails or a guest that stays silent is KVM's
	 * fault; a missing bridge or a refused configuration is not. */
	if (rc && r->accel_probation && !heard &&
	    (start_failed || rc == -ETIMEDOUT)) {
		/* A guest that cannot start or says nothing under KVM hangs
		 * there (nested hosts): TCG from now on, on this host. */
		char why[300];
		snprintf(why, sizeof(why), "a guest under KVM %s",
			 strstr(r->err, ": start: ") ? "did not start" :
			 "said nothing within 30 s");
		fprintf(stderr, "bulkhead: warning: %s; restarting %s under TCG\n",
			why, drv->name);
		accel_verdict_write(r->o->state_root, ACCEL_USE_TCG, why);
		r->accel = DOMAIN_ACCEL_TCG;
		r->accel_probation = false;
		snprintf(r->accel_reason, sizeof(r->accel_reason), "%s", why);
		free(xml);
		xml = NULL;
		if (made_here)
			r->undo_count--; /* the domain is replaced below */
		rc = virt_domain_stop(r->o->conn, domain, true, r->err, sizeof(r->err));
		if (!rc)
			rc = start_driver_vm(r, drv, made);
		goto out;
	}
	if (!rc && r->accel_probation) {
		accel_verdict_write(r->o->state_root, ACCEL_USE_KVM,
				    "a guest booted under KVM");
		r->accel_probation = false;
	}
	if (!rc)
		rc = write_file(xpath, xml, 0600);
out:
	free(cfg);
	free(xml);
	return rc;
}

static int start_app_vm(struct run *r, const struct topo_app_vm *app,
			bool *started)
{
	char domain[128], xpath[PATH_MAX];
	struct domain_images images;
	plan_domain_name(app->name, domain, sizeof(domain));
	struct domain_env env;
	if (vm_env(r, app->name, &env))
		return -EIO;
	char *xml = domain_xml_app_vm(r->topo, app, &env, r->err, sizeof(r->err));
	if (!xml)
		return -ENOMEM;
	*started = false;
	int rc = 0;
	if (unchanged(r, app->name, domain, xml)) {
		printf("up: %s: running, unchanged\n", app->name);
	} else {
		printf("up: %s: starting\n", app->name);
		fflush(stdout);
		char owner[64];
		bool made_here = virt_domain_state(r->o->conn, domain, owner,
						   sizeof(owner)) == VIRT_ABSENT;
		domain_images_app_vm(app, &images);
		rc = virt_domain_stop(r->o->conn, domain, false, r->err,
				      sizeof(r->err));
		rc = rc ? rc : prepare_boot(r, app->name, &images, NULL);
		rc = rc ? rc : grant_kvm(r, env.uid);
		rc = rc ? rc : virt_domain_define_start(r->o->conn, domain, xml,
							r->err, sizeof(r->err));
		if (!rc) {
			if (made_here)
				remember(r, UNDO_DOMAIN, domain, NULL);
			xml_path(r, app->name, xpath, sizeof(xpath));
			rc = write_file(xpath, xml, 0600);
			*started = true;
		}
	}
	free(xml);
	return rc;
}

/* An app VM is ready when its agent answers and it holds its DHCP lease
 * from its driver VM. */
static int wait_app_vm(struct run *r, const struct topo_app_vm *app, double t0)
{
	char agent[PATH_MAX];
	struct agent_addr to;
	if (vm_agent(r, app->name, agent, &to))
		return -EIO;
	double deadline = t0 + r->o->boot_timeout_s;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int rc;
	while ((rc = agent_exec(&to, "cat /tmp/dhcp-bound", 5000, null)) != 0) {
		if (rc == -EPERM) {
			close(null);
			snprintf(r->err, sizeof(r->err), "%s: the agent socket %s is"
				 " served by another uid than the VM's (%u); its"
				 " lines are not taken", app->name, agent,
				 (unsigned)to.uid);
			return rc;
		}
		if (now_s() > deadline) {
			close(null);
			char log[PATH_MAX];
			domain_console_log(&r->dirs, app->name, log, sizeof(log));
			snprintf(r->err, sizeof(r->err), "%s: no DHCP lease from %s"
				 " within %d s (console: %s)", app->name, app->net,
				 r->o->boot_timeout_s, log);
			return -ETIMEDOUT;
		}
		sleep(1);
	}
	close(null);
	printf("up: %s: ready, %s from %s (%.1f s)\n", app->name, app->ip,
	       app->net, now_s() - t0);
	return 0;
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
	else if (!domain_vm_dir(&r->dirs, name, dir, sizeof(dir)))
		remove_tree(dir);
}

/* Domains of this topology's earlier run that the file no longer has. */
static void remove_dropped(struct run *r)
{
	char prev_path[PATH_MAX], err[ERR_LEN];
	snprintf(prev_path, sizeof(prev_path), "%s/%s.yaml", r->dirs.state,
		 r->topo->name);
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
		delete_taps(prev, d);
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

static int run_init(struct run *r, struct orch *o, struct topology *topo)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->topo = topo;
	vm_ids_host_default(&r->ids);
	if (plan_dirs(o->state_root, o->log_root, topo, &r->dirs)) {
		snprintf(r->err, sizeof(r->err), "state paths too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* One bulkhead command at a time per topology (up, down, start, stop):
 * STATE_ROOT/.NAME.lock, held until the command exits. */
static int topology_lock(struct orch *o, const char *name)
{
	char path[PATH_MAX];
	if (mkdir(o->state_root, 0711) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/.%s.lock", o->state_root, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "bulkhead: waiting for another bulkhead command on"
			" topology %s\n", name);
		if (flock(fd, LOCK_EX) < 0) {
			close(fd);
			return -errno;
		}
	}
	return fd;
}

int cmd_up(struct orch *o, const char *path)
{
	struct topology *topo;
	if (orch_validate(o, path, &topo))
		return 2;
	int lock = topology_lock(o, topo->name);
	struct run *r = lock >= 0 ? malloc(sizeof(*r)) : NULL;
	if (!r) {
		fprintf(stderr, "bulkhead: %s\n", strerror(lock < 0 ? -lock : ENOMEM));
		if (lock >= 0)
			close(lock);
		topology_free(topo);
		return 1;
	}
	double t0 = now_s();
	int rc = run_init(r, o, topo);
	rc = rc ? rc : ensure_images(r);
	if (!rc && orch_connect(o)) {
		snprintf(r->err, sizeof(r->err), "cannot reach libvirt");
		rc = -EIO;
	}
	rc = rc ? rc : check_names(r);
	rc = rc ? rc : make_dirs(r);
	rc = rc ? rc : make_vm_dirs(r);
	rc = rc ? rc : host_prepare(r);
	rc = rc ? rc : decide_accel(r);
	if (rc) {
		rc = fail(r, 1);
		goto out;
	}
	json_object *made = made_read(&r->dirs);
	remove_dropped(r);
	rc = prepare_host_port(r, made);
	rc = rc ? rc : start_links(r);
	for (unsigned i = 0; !rc && i < topo->driver_vms_count; i++)
		rc = start_driver_vm(r, &topo->driver_vms[i], made);
	bool started[TOPO_MAX_APP_VMS] = { false };
	double app_t0 = now_s();
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++)
		if (topo->app_vms[i].autostart)
			rc = start_app_vm(r, &topo->app_vms[i], &started[i]);
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++)
		if (started[i])
			rc = wait_app_vm(r, &topo->app_vms[i], app_t0);
	if (!rc) {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s/%s.yaml", r->dirs.state, topo->name);
		rc = copy_file(path, copy);
		if (rc)
			snprintf(r->err, sizeof(r->err), "%s: %s", copy, strerror(-rc));
		else
			rc = made_write(&r->dirs, made);
		for (unsigned i = 0; !rc && i < topo->driver_vms_count; i++)
			keep_running(&r->dirs, topo->driver_vms[i].name, true);
	}
	json_object_put(made);
	if (rc) {
		rc = fail(r, 1);
		goto out;
	}
	printf("up: topology %s is up (%.1f s); bulkhead status shows it\n",
	       topo->name, now_s() - t0);
out:
	free(r);
	topology_free(topo);
	close(lock);
	return rc;
}

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
	plan_dirs(o->state_root, o->log_root, named, &dirs);
	int lock = topology_lock(o, named->name);
	if (lock < 0) {
		fprintf(stderr, "bulkhead: lock: %s\n", strerror(-lock));
		topology_free(named);
		return 1;
	}
	char applied_path[PATH_MAX];
	snprintf(applied_path, sizeof(applied_path), "%s/%s.yaml", dirs.state,
		 named->name);
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
	const char *names[TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS];
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
		if (virt_domain_stop(o->conn, domain, true, err, sizeof(err))) {
			fprintf(stderr, "bulkhead: %s\n", err);
			failures++;
		}
	}
	if (supervisor_pid(dirs.state) > 0) {
		printf("down: stopping the link supervisor and its links\n");
		stop_supervisor(dirs.state);
	}
	for (unsigned i = 0; i < topo->driver_vms_count; i++)
		delete_taps(topo, &topo->driver_vms[i]);
	if (topo->host_port) {
		printf("down: removing the host port's tap\n");
		host_port_down(topo);
	}
	json_object *made = made_read(&dirs);
	json_object *vfio = made_list(made, "vfio");
	for (size_t i = 0; i < json_object_array_length(vfio); i++) {
		json_object *e = json_object_array_get_idx(vfio, i), *pci, *drv;
		if (!json_object_object_get_ex(e, "pci", &pci) ||
		    !json_object_object_get_ex(e, "driver", &drv))
			continue;
		printf("down: giving %s back to %s\n", json_object_get_string(pci),
		       json_object_get_string(drv)[0] ? json_object_get_string(drv) :
		       "no driver");
		if (vfio_unbind(SYSFS_ROOT, json_object_get_string(pci),
				json_object_get_string(drv), err, sizeof(err))) {
			fprintf(stderr, "bulkhead: %s\n", err);
			failures++;
		}
	}
	json_object *netns = made_list(made, "netns");
	for (size_t i = 0; i < json_object_array_length(netns); i++) {
		const char *ns = json_object_get_string(json_object_array_get_idx(netns, i));
		if (!ns || !host_net_netns_exists(ns))
			continue;
		printf("down: removing network namespace %s\n", ns);
		if (host_net_netns_delete(ns, err, sizeof(err))) {
			fprintf(stderr, "bulkhead: %s\n", err);
			failures++;
		}
	}
	json_object_put(made);
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

/* --- start / stop one VM ------------------------------------------------- */

int orch_find_vm(struct orch *o, const char *vm, struct topology **topo)
{
	DIR *d = opendir(o->state_root);
	struct dirent *e;
	char err[ERR_LEN];
	*topo = NULL;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s/%s.yaml", o->state_root,
			 e->d_name, e->d_name);
		struct topology *t;
		if (access(path, R_OK) || topology_load(path, &t, err, sizeof(err)))
			continue;
		if (topology_app_vm(t, vm) || topology_driver_vm(t, vm)) {
			*topo = t;
			break;
		}
		topology_free(t);
	}
	if (d)
		closedir(d);
	if (!*topo) {
		fprintf(stderr, "bulkhead: no running topology has a VM named '%s'"
			" (bulkhead status lists them)\n", vm);
		return -ENOENT;
	}
	return 0;
}

int cmd_start(struct orch *o, const char *vm, bool if_wanted)
{
	struct topology *topo;
	if (orch_find_vm(o, vm, &topo))
		return 2;
	int lock = topology_lock(o, topo->name);
	struct run *r = calloc(1, sizeof(*r));
	int rc = lock < 0 ? lock : r ? run_init(r, o, topo) : -ENOMEM;
	if (!rc && orch_connect(o))
		rc = -EIO;
	if (!rc && if_wanted && (!topology_driver_vm(topo, vm) ||
				 !wanted_running(&r->dirs, vm))) {
		/* Stopped or taken down meanwhile: nothing to restart. */
		free(r);
		topology_free(topo);
		close(lock);
		return 0;
	}
	rc = rc ? rc : make_dirs(r);
	rc = rc ? rc : make_vm_dirs(r);
	rc = rc ? rc : host_prepare(r);
	rc = rc ? rc : decide_accel(r);
	if (!rc) {
		json_object *made = made_read(&r->dirs);
		const struct topo_app_vm *app = topology_app_vm(topo, vm);
		const struct topo_driver_vm *drv = topology_driver_vm(topo, vm);
		bool started = false;
		if (app) {
			double t0 = now_s();
			rc = start_app_vm(r, app, &started);
			if (!rc && started)
				rc = wait_app_vm(r, app, t0);
		} else {
			rc = start_driver_vm(r, drv, made);
			if (!rc)
				keep_running(&r->dirs, drv->name, true);
		}
		if (!rc)
			rc = made_write(&r->dirs, made);
		json_object_put(made);
		if (rc)
			rc = fail(r, 1);
	} else if (r) {
		fprintf(stderr, "bulkhead: %s\n", r->err);
	}
	free(r);
	topology_free(topo);
	if (lock >= 0)
		close(lock);
	return rc ? 1 : 0;
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
	plan_dirs(o->state_root, o->log_root, topo, &dirs);
	keep_running(&dirs, vm, false);
	if (!rc) {
		/* Stopped, still defined: virsh list --all shows it, and
		 * bulkhead start brings it back. Its link keeps running, so
		 * its driver VM sees nothing change. */
		rc = virt_domain_stop(o->conn, domain, false, err, sizeof(err));
		if (rc)
			fprintf(stderr, "bulkhead: %s\n", err);
		else
			printf("stop: %s: stopped\n", vm);
	}
	topology_free(topo);
	return rc ? 1 : 0;
}
