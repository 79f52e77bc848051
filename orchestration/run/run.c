/* One bulkhead command's run over a topology: its journal of what it
 * made (rollback undoes it in reverse), the state directories, each VM's
 * own uid, directory and verified boot copies, the accelerator, the
 * topology's lock. up, start and down are built from these. */
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

#include "accel.h"
#include "boot_files.h"
#include "journal.h"
#include "host_net.h"
#include "state_files.h"
#include "supervisor.h"
#include "vfio.h"
#include "virt.h"
#include "mono_time.h"
#include "qga.h"

double run_now(void)
{
	return mono_ms() / 1000.0;
}

void run_remember(struct run *r, enum journal_what what, const char *a,
		  const char *b)
{
	struct journal_entry e = { .what = what };
	snprintf(e.a, sizeof(e.a), "%s", a);
	snprintf(e.b, sizeof(e.b), "%s", b ? b : "");
	/* On disk before the next step: an interrupted run must not forget
	 * what it made (down undoes it). */
	if (journal_append(r->dirs.state, &e))
		fprintf(stderr, "bulkhead: warning: %s: cannot record %s in the"
			" journal; down will not know of it\n", r->dirs.state, e.a);
	else
		r->journal_count++;
}

void run_forget_last(struct run *r)
{
	if (r->journal_count > r->journal_start &&
	    !journal_truncate(r->dirs.state, r->journal_count - 1))
		r->journal_count--;
}

void run_stop_supervisor(const char *state_dir)
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


int run_undo(virConnectPtr conn, const char *topology,
	     const struct journal_entry *e)
{
	char err[ERR_LEN], owner[64];
	switch (e->what) {
	case JOURNAL_DOMAIN:
		/* Only while its metadata names this topology: the name may
		 * have gone to another since. */
		if (virt_domain_state(conn, e->a, owner, sizeof(owner)) ==
		    VIRT_ABSENT || strcmp(owner, topology) != 0)
			return 0;
		fprintf(stderr, "  domain %s\n", e->a);
		if (virt_domain_stop(conn, e->a, true, err, sizeof(err)))
			goto failed;
		return 0;
	case JOURNAL_TAP:
		/* In its namespace, or still in the host's (moved only once
		 * QEMU holds it). */
		if (!host_net_link_exists(NULL, e->a) &&
		    !(e->b[0] && host_net_netns_exists(e->b) &&
		      host_net_link_exists(e->b, e->a)))
			return 0;
		fprintf(stderr, "  tap %s\n", e->a);
		host_net_tap_remove(e->a, e->b);
		return 0;
	case JOURNAL_NETNS:
		if (!host_net_netns_exists(e->a))
			return 0;
		fprintf(stderr, "  network namespace %s\n", e->a);
		if (host_net_netns_delete(e->a, err, sizeof(err)))
			goto failed;
		return 0;
	case JOURNAL_SUPERVISOR:
		if (supervisor_pid(e->a) <= 0)
			return 0;
		fprintf(stderr, "  link supervisor and its links\n");
		run_stop_supervisor(e->a);
		return 0;
	case JOURNAL_VFIO:
		fprintf(stderr, "  vfio-pci binding of %s (back to %s)\n", e->a,
			e->b[0] ? e->b : "no driver");
		if (vfio_unbind(SYSFS_ROOT, e->a, e->b, err, sizeof(err)))
			goto failed;
		return 0;
	case JOURNAL_STATE_DIR:
		fprintf(stderr, "  %s\n", e->a);
		remove_tree(e->a);
		return 0;
	}
	return 0;
failed:
	fprintf(stderr, "    %s\n", err);
	return -1;
}

void run_rollback(struct run *r)
{
	struct journal_entry *entries;
	unsigned n;
	if (r->journal_count <= r->journal_start ||
	    journal_read(r->dirs.state, &entries, &n))
		return;
	fprintf(stderr, "bulkhead: rolling back what this run made:\n");
	for (unsigned i = n; i-- > r->journal_start;)
		run_undo(r->o->conn, r->topo->name, &entries[i]);
	/* The state directory may have been among them (and the journal
	 * with it). */
	if (access(r->dirs.state, F_OK) == 0)
		journal_truncate(r->dirs.state, r->journal_start);
	r->journal_count = r->journal_start;
	free(entries);
}

int run_fail(struct run *r, int rc)
{
	fprintf(stderr, "bulkhead: %s\n", r->err);
	run_rollback(r);
	return rc;
}

/* DIR exists with MODE, owned by root and GID: made, or set again (a
 * directory of an older run may have had looser bits). Through a
 * descriptor, never following a link. */
/* The state and log directories (plan.h says who reaches what). */
int run_make_dirs(struct run *r)
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
		int rc = own_dir(dirs[i].dir, dirs[i].mode, 0, r->err,
				 sizeof(r->err));
		if (rc)
			return rc;
		if (i == 2 && fresh)
			run_remember(r, JOURNAL_STATE_DIR, r->dirs.state, NULL);
	}
	return 0;
}

/* VM's own uid (== gid) on this host, recorded or allocated. */
int run_vm_uid(struct run *r, const char *vm, uid_t *uid)
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
	int rc = run_vm_uid(r, vm, &uid);
	if (rc)
		return rc;
	if (state_vm_dir(&r->dirs, vm, dir, sizeof(dir))) {
		snprintf(r->err, sizeof(r->err), "%s: VM directory path too long", vm);
		return -ENAMETOOLONG;
	}
	return own_dir(dir, 02750, uid, r->err, sizeof(r->err));
}

int run_make_vm_dirs(struct run *r)
{
	int rc = 0;
	for (unsigned i = 0; !rc && i < r->topo->driver_vms_count; i++)
		rc = make_vm_dir(r, r->topo->driver_vms[i].name);
	for (unsigned i = 0; !rc && i < r->topo->app_vms_count; i++)
		rc = make_vm_dir(r, r->topo->app_vms[i].name);
	return rc;
}

/* The domain description's environment for VM. */
int run_vm_env(struct run *r, const char *vm, struct domain_env *env)
{
	*env = (struct domain_env){ &r->dirs, r->accel, 0, r->sec_models };
	return run_vm_uid(r, vm, &env->uid);
}

/* Under KVM, QEMU opens /dev/kvm itself, and a VM's own uid is in no
 * group: where the device is not open to all, an ACL entry for that uid
 * (down takes it away). */
int run_grant_kvm(struct run *r, uid_t uid)
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
int run_prepare_boot(struct run *r, const char *vm, const char *image_dir,
			const struct domain_images *images, const char *config)
{
	char dir[PATH_MAX];
	state_vm_dir(&r->dirs, vm, dir, sizeof(dir));
	if (!image_dir)
		image_dir = r->o->image_dir;
	int rc = boot_copy_image(image_dir, images->kernel, dir, BOOT_KERNEL,
				 r->err, sizeof(r->err));
	rc = rc ? rc : boot_copy_image(image_dir, images->initrd, dir,
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
int run_host_prepare(struct run *r)
{
	int rc = virt_allow_traverse(VIRT_QEMU_LIB_DIR, r->err, sizeof(r->err));
	if (rc == 1)
		printf("up: %s: o+x, so each VM's QEMU reaches its own domain"
		       " directory (it lists nothing)\n", VIRT_QEMU_LIB_DIR);
	r->sec_models = virt_sec_models(r->o->conn);
	return rc < 0 ? rc : 0;
}

/* VM's agent and the uid its QEMU must answer as. */
int run_vm_agent(struct run *r, const char *vm, char path[PATH_MAX],
		    struct agent_addr *to)
{
	state_agent_path(&r->dirs, vm, path, PATH_MAX);
	to->path = path;
	return run_vm_uid(r, vm, &to->uid);
}

/* --- images -------------------------------------------------------------- */

static bool image_present(const char *dir, const char *file)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, R_OK) == 0;
}

int run_ensure_images(struct run *r)
{
	const char *need[TOPO_MAX_APP_VMS + 3];
	char app_images[TOPO_MAX_APP_VMS][TOPO_TEMPLATE_NAME_MAX + 64];
	unsigned n = 0;
	need[n++] = "vmlinuz";
	need[n++] = "sysnet-vmlinuz";
	need[n++] = "sysnet-initramfs.cpio.gz";
	for (unsigned i = 0; i < r->topo->app_vms_count; i++) {
		const struct topo_app_vm *app = &r->topo->app_vms[i];
		if (app->disk)
			continue;       /* its own, checked and copied at start */
		if (app->template)
			snprintf(app_images[i], sizeof(app_images[i]),
				 TEMPLATE_DIR "/%s/" TEMPLATE_CURRENT "/"
				 TEMPLATE_ROOT, app->template);
		else
			snprintf(app_images[i], sizeof(app_images[i]),
				 "%s-initramfs.cpio.gz", app->image);
		need[n++] = app_images[i];
	}
	bool missing = false;
	for (unsigned i = 0; i < n; i++)
		missing |= !image_present(r->o->image_dir, need[i]);
	if (missing) {
		const char *script = r->o->build_images;
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

int run_decide_accel(struct run *r)
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


int run_template_plan(const struct plan_dirs *dirs, const char *image_dir,
		      const struct topo_app_vm *app, bool running,
		      struct run_template *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof(*out));
	struct app_disks *d = &out->byo.disks;
	if (app_byo_paths(dirs, app->name, &out->byo) ||
	    state_qga_path(dirs, app->name, out->qga, sizeof(out->qga))) {
		snprintf(err, err_len, "%s: data paths too long", app->name);
		return -ENAMETOOLONG;
	}
	app_disks_read(d);
	if (!app->disk) {
		int rc = -ENOENT;
		/* A running VM stays on the version it started on: a template
		 * rebuilt since is not a change to it (it moves at its next
		 * start). */
		if (running && d->template_version[0])
			rc = app_template_paths(image_dir, app->template,
						d->template_version, &out->tmpl,
						err, err_len);
		if (rc)
			rc = app_template_current(image_dir, app->template,
						  &out->tmpl, err, err_len);
		if (rc)
			return rc;
	}
	if (!d->machine_id[0])
		memset(d->machine_id, '0', 32);
	out->tb = app->disk ?
		(struct domain_template_boot){
			NULL, NULL, NULL, d->machine_id, out->qga,
			out->byo.disk, out->byo.seed,
			app->firmware == TOPO_FIRMWARE_UEFI ?
				out->byo.nvram : NULL,
		} :
		(struct domain_template_boot){
			out->tmpl.root, d->root, d->private_vol, d->machine_id,
			out->qga, NULL, NULL, NULL,
		};
	return 0;
}

int run_byo_prepare(struct run *r, const struct topo_app_vm *app, uid_t uid,
		    struct run_template *ts)
{
	int rc = run_template_plan(&r->dirs, r->o->image_dir, app, false, ts,
				   r->err, sizeof(r->err));
	rc = rc ? rc : app_byo_prepare(&ts->byo, r->o->data_root, app, uid,
				       r->err, sizeof(r->err));
	/* The machine id is made now the first time: the seed and the XML
	 * take it from here. */
	return rc ? rc : run_template_plan(&r->dirs, r->o->image_dir, app,
					   false, ts, r->err, sizeof(r->err));
}

void run_qga_shutdown(virConnectPtr conn, const char *vm)
{
	char domain[128], err[ERR_LEN];
	plan_domain_name(vm, domain, sizeof(domain));
	struct qga_target to = { conn, domain, NULL };
	if (virt_domain_state(conn, domain, NULL, 0) != VIRT_RUNNING)
		return;
	if (qga_shutdown(&to, 5000, err, sizeof(err))) {
		printf("stop: %s: no clean shutdown (%s); stopping it\n", vm, err);
		return;
	}
	double end = run_now() + RUN_QGA_SHUTDOWN_S;
	enum virt_state st;
	/* Until it is off: libvirt's own teardown (a state between) is not. */
	while ((st = virt_domain_state(conn, domain, NULL, 0)) != VIRT_STOPPED &&
	       st != VIRT_ABSENT && run_now() < end)
		usleep(200 * 1000);
	if (st != VIRT_STOPPED && st != VIRT_ABSENT)
		printf("stop: %s: still running %d s after its shutdown; stopping"
		       " it\n", vm, RUN_QGA_SHUTDOWN_S);
}

int run_drop_disposable(const struct plan_dirs *dirs,
			const struct topo_app_vm *app, const char *cmd)
{
	struct app_disks d;
	char err[ERR_LEN];
	if (!app || !app->disposable)
		return 0;
	int rc = app_disks_paths(dirs, app->name, &d);
	rc = rc ? rc : app_disks_drop(&d, err, sizeof(err));
	if (rc)
		fprintf(stderr, "bulkhead: %s: %s\n", app->name, rc == -ENAMETOOLONG ?
			"data path too long" : err);
	else
		printf("%s: %s: disposable: its disks are gone (%s)\n", cmd,
		       app->name, d.dir);
	return rc;
}

bool run_unchanged(const struct run *r, const char *vm, const char *domain,
		      const char *xml)
{
	char path[PATH_MAX], topo_name[64];
	if (virt_domain_state(r->o->conn, domain, topo_name, sizeof(topo_name)) !=
	    VIRT_RUNNING || state_xml_path(&r->dirs, vm, path, sizeof(path)))
		return false;
	char *old = read_text(path);
	bool same = old && !strcmp(old, xml);
	free(old);
	return same;
}

int run_init(struct run *r, struct orch *o, struct topology *topo)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->topo = topo;
	vm_ids_host_default(&r->ids);
	if (plan_dirs(o->state_root, o->log_root, o->data_root, topo, &r->dirs)) {
		snprintf(r->err, sizeof(r->err), "state paths too long");
		return -ENAMETOOLONG;
	}
	struct journal_entry *entries;
	if (journal_read(r->dirs.state, &entries, &r->journal_start) == 0)
		free(entries);
	r->journal_count = r->journal_start;
	return 0;
}

/* One bulkhead command at a time per topology (up, down, start, stop):
 * STATE_ROOT/.NAME.lock, held until the command exits. */
int run_lock_topology(struct orch *o, const char *name)
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
