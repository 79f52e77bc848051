/* Starting one VM: a driver VM (through its kind's hooks) or an app VM,
 * and waiting until it is ready. up and start share these. */
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
#include "agent.h"
#include "host_net.h"
#include "kind.h"
#include "qga.h"
#include "state_files.h"
#include "state_paths.h"
#include "vfio.h"
#include "virt.h"


int bind_pci(struct run *r, const struct topo_driver_vm *drv)
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
			run_remember(r, JOURNAL_VFIO, bdf, prev);
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
	int rc = run_vm_agent(r, drv->name, agent, &to);
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
		printf("up: %s: %s (%.1f s)\n", drv->name, line, run_now() - t0);
		return 0;
	}
	char log[PATH_MAX];
	state_console_log(&r->dirs, drv->name, log, sizeof(log));
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

/* Starts driver VM DRV through its kind (kind.h): leaves it running when
 * nothing changed, applies a change live where the kind can, else
 * (re)starts it and waits for its READY. */
int start_driver_vm(struct run *r, const struct topo_driver_vm *drv)
{
	const struct driver_kind *kind = driver_kind_of(drv);
	char domain[128], cfg_path[PATH_MAX], xpath[PATH_MAX];
	if (!kind)
		return driver_kinds_check(r->topo, r->err, sizeof(r->err));
	plan_domain_name(drv->name, domain, sizeof(domain));
	char *cfg = NULL;
	if (kind->guest_config &&
	    !(cfg = kind->guest_config(r->topo, drv, r->err, sizeof(r->err))))
		return -ENOTSUP;
	struct domain_env env;
	if (run_vm_env(r, drv->name, &env)) {
		free(cfg);
		return -EIO;
	}
	char *xml = kind->domain_xml(r->topo, drv, &env, r->err, sizeof(r->err));
	if (!xml) {
		free(cfg);
		return -ENOMEM;
	}
	int rc = 0;
	state_config_path(&r->dirs, drv->name, cfg_path, sizeof(cfg_path));
	state_xml_path(&r->dirs, drv->name, xpath, sizeof(xpath));
	char *old_cfg = cfg ? read_text(cfg_path) : NULL;
	bool same_cfg = !cfg || (old_cfg && !strcmp(old_cfg, cfg));
	free(old_cfg);
	if (same_cfg && run_unchanged(r, drv->name, domain, xml)) {
		printf("up: %s: running, unchanged\n", drv->name);
		goto out;
	}
	if (kind->live_update && kind->live_update(r, drv, domain, cfg)) {
		rc = cfg ? write_file(cfg_path, cfg, 0600) : 0;
		rc = rc ? rc : write_file(xpath, xml, 0600);
		goto out;
	}
	rc = cfg ? write_file(cfg_path, cfg, 0600) : 0;
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
	if (!rc && kind->host_before_start)
		rc = kind->host_before_start(r, drv);
	rc = rc ? rc : bind_pci(r, drv);
	struct domain_images images = { 0 };
	kind->images(drv, &images);
	rc = rc ? rc : run_prepare_boot(r, drv->name, NULL, &images, cfg);
	rc = rc ? rc : run_grant_kvm(r, env.uid);
	if (rc)
		goto out;
	double t0 = run_now();
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
			run_remember(r, JOURNAL_DOMAIN, domain, NULL);
		rc = kind->host_after_start ? kind->host_after_start(r, drv) : 0;
		rc = rc ? rc : wait_driver_vm(r, drv, t0, &heard);
	} else if (!r->accel_probation) {
		goto out;
	} else if (made_here) {
		run_remember(r, JOURNAL_DOMAIN, domain, NULL); /* replaced below */
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
			run_forget_last(r); /* the domain is replaced below */
		rc = virt_domain_stop(r->o->conn, domain, true, r->err, sizeof(r->err));
		if (!rc)
			rc = start_driver_vm(r, drv);
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

/* APP's domain XML; for a template VM TS is planned first, on the
 * template version its record names when RECORDED (a running VM's, or
 * the one its disks were just made on), else on the current one. */
static char *app_vm_xml(struct run *r, const struct topo_app_vm *app,
			const struct domain_env *env, bool recorded,
			struct run_template *ts)
{
	if (topology_app_qga(app) &&
	    run_template_plan(&r->dirs, r->o->image_dir, app, recorded, ts,
			      r->err, sizeof(r->err)))
		return NULL;
	struct app_parts_text parts;
	char *xml = kind_app_devices(r->topo, app, env, &parts, r->err,
				     sizeof(r->err)) ? NULL :
		    domain_xml_app_vm(r->topo, app, env, &parts,
				      topology_app_qga(app) ? &ts->tb : NULL, r->err,
				      sizeof(r->err));
	kind_app_parts_free(&parts);
	return xml;
}

/* A template VM's disks for this start (app_disks.h), then its XML again:
 * a first start made its machine id, and it moves to the current
 * template version. */
static char *prepare_template_vm(struct run *r, const struct topo_app_vm *app,
				 const struct domain_env *env,
				 struct run_template *ts, char *xml)
{
	free(xml);
	/* The template held from choosing its version until the VM's record
	 * names it: a template remove, which finds VMs on a template by
	 * their records, refuses meanwhile (app_template_hold). */
	int hold = app_template_hold(r->o->image_dir, app->template, LOCK_SH);
	if (hold < 0 && hold != -ENOENT) {
		snprintf(r->err, sizeof(r->err), "%s: template %s: %s", app->name,
			 app->template, strerror(-hold));
		return NULL;
	}
	int rc = run_template_plan(&r->dirs, r->o->image_dir, app, false, ts,
				   r->err, sizeof(r->err)) ||
		 app_disks_prepare(&ts->byo.disks, r->o->data_root, &ts->tmpl,
				   app->private_mib, app->disposable, env->uid,
				   r->err, sizeof(r->err));
	if (hold >= 0)
		close(hold);
	/* The XML on the version just recorded, not on "current" read
	 * again: a template built meanwhile would put the overlay made on
	 * one version over another's root. */
	return rc ? NULL : app_vm_xml(r, app, env, true, ts);
}

/* A disk VM's disk (copied the first time) and seed, then its XML again
 * (the first start made its machine id, the seed's instance id). */
static char *prepare_byo_vm(struct run *r, const struct topo_app_vm *app,
			    const struct domain_env *env,
			    struct run_template *ts, char *xml)
{
	free(xml);
	return run_byo_prepare(r, app, env->uid, ts) ? NULL :
	       app_vm_xml(r, app, env, false, ts);
}

int start_app_vm(struct run *r, const struct topo_app_vm *app, bool *started)
{
	char domain[128], xpath[PATH_MAX], owner[64];
	struct domain_images images = { 0 };
	struct run_template ts;
	plan_domain_name(app->name, domain, sizeof(domain));
	struct domain_env env;
	if (run_vm_env(r, app->name, &env))
		return -EIO;
	enum virt_state state = virt_domain_state(r->o->conn, domain, owner,
						  sizeof(owner));
	char *xml = app_vm_xml(r, app, &env, state == VIRT_RUNNING, &ts);
	if (!xml)
		return -EIO;    /* r->err says why */
	*started = false;
	int rc = 0;
	if (run_unchanged(r, app->name, domain, xml)) {
		printf("up: %s: running, unchanged\n", app->name);
	} else {
		printf("up: %s: starting\n", app->name);
		fflush(stdout);
		bool made_here = state == VIRT_ABSENT;
		domain_images_app_vm(app, &images);
		/* Its private volume is mounted: a clean power-off first. */
		if (app_vm_clean_shutdown(app) && state == VIRT_RUNNING)
			run_qga_shutdown(r->o->conn, app->name);
		rc = virt_domain_stop(r->o->conn, domain, false, r->err,
				      sizeof(r->err));
		if (!rc && app->template &&
		    !(xml = prepare_template_vm(r, app, &env, &ts, xml)))
			rc = -EIO;
		if (!rc && app->disk &&
		    !(xml = prepare_byo_vm(r, app, &env, &ts, xml)))
			rc = -EIO;
		/* A disk VM boots by its own boot loader: no boot copies. */
		rc = rc || app->disk ? rc : run_prepare_boot(r, app->name,
						app->template ? ts.tmpl.dir : NULL,
						&images, NULL);
		rc = rc ? rc : run_grant_kvm(r, env.uid);
		rc = rc ? rc : virt_domain_define_start(r->o->conn, domain, xml,
							r->err, sizeof(r->err));
		if (!rc) {
			if (made_here)
				run_remember(r, JOURNAL_DOMAIN, domain, NULL);
			state_xml_path(&r->dirs, app->name, xpath, sizeof(xpath));
			rc = write_file(xpath, xml, 0600);
			*started = true;
		}
	}
	free(xml);
	return rc;
}

bool app_vm_clean_shutdown(const struct topo_app_vm *app)
{
	return app && topology_app_qga(app) && !app->disposable;
}

int preload_app_vm(struct run *r, const struct topo_app_vm *app, double t0)
{
	char domain[128];
	plan_domain_name(app->name, domain, sizeof(domain));
	int rc = virt_domain_suspend(r->o->conn, domain, r->err, sizeof(r->err));
	if (!rc)
		printf("up: %s: preloaded, paused until it is taken (%.1f s)\n",
		       app->name, run_now() - t0);
	return rc;
}

/* Sets a resumed guest's clock to the host's: it stood still while the
 * VM was paused. `date -s`, not guest-set-time, whose hwclock waits for
 * the RTC's next second: up to a second more on every take. */
static int set_guest_clock(const struct qga_target *to, char *err,
			   size_t err_len)
{
	struct timespec now;
	char when[48];
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(when, sizeof(when), "@%lld.%09ld", (long long)now.tv_sec,
		 now.tv_nsec);
	const char *const argv[] = { "/usr/bin/date", "-s", when, NULL };
	struct qga_exec_result res;
	int rc = qga_exec(to, argv, 5000, &res, err, err_len);
	if (rc)
		return rc;
	if (res.exit_code != 0) {
		snprintf(err, err_len, "date -s %s exited %d: %.200s", when,
			 res.exit_code, res.err);
		rc = -EIO;
	}
	qga_exec_result_free(&res);
	return rc;
}

int take_preloaded_app_vm(struct run *r, const struct topo_app_vm *app)
{
	char domain[128], why[ERR_LEN];
	struct qga_target to = { r->o->conn, domain, NULL };
	plan_domain_name(app->name, domain, sizeof(domain));
	double t0 = run_now();
	int rc = virt_domain_resume(r->o->conn, domain, r->err, sizeof(r->err));
	rc = rc ? rc : qga_ping(&to, 5000, why, sizeof(why));
	if (rc) {
		if (!r->err[0])
			snprintf(r->err, sizeof(r->err), "%s: resumed from the"
				 " pool, but qemu-guest-agent does not answer"
				 " (%s)", app->name, why);
		return rc;
	}
	double ran = run_now() - t0;
	/* A refusal is said, not fatal: the VM runs, its time behind. */
	if (set_guest_clock(&to, why, sizeof(why)))
		fprintf(stderr, "bulkhead: warning: %s: its clock was not set"
			" after the pause: %s\n", app->name, why);
	printf("start: %s: taken from the pool, running (%.2f s; clock set"
	       " %.2f s)\n", app->name, ran, run_now() - t0);
	return 0;
}

/* cloud-init's word for where it is, from `cloud-init status` (the
 * guest's bytes: only these words are taken, anything else is "?"). */
static const char *cloud_init_state(const struct qga_exec_result *res)
{
	static const char *const known[] = { "running", "not run", "done",
					     "error", "degraded done",
					     "degraded running", "disabled" };
	const char *at = res->out ? strstr(res->out, "status: ") : NULL;
	if (!at)
		return "?";
	at += strlen("status: ");
	size_t n = strcspn(at, "\n");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && strncmp(at, known[i], n) == 0)
			return known[i];
	return "?";
}

/* A brought image's first boot runs its own boot loader, a whole
 * distribution initramfs and cloud-init (host keys: RSA's prime search
 * alone ~20 s under TCG): 170-232 s to ready here under TCG. Unless
 * --boot-timeout says otherwise, it may take BYO_BOOT_TIMEOUT_S. */
#define BYO_BOOT_TIMEOUT_S 600
static int vm_boot_timeout_s(const struct run *r, const struct topo_app_vm *app)
{
	return app->disk && !r->o->boot_timeout_given ? BYO_BOOT_TIMEOUT_S :
	       r->o->boot_timeout_s;
}

/* A brought image is configured from its seed by cloud-init, whose last
 * stages (the user's account, its keys) may still run when the lease is
 * there: ready once cloud-init says it finished, whatever it says of
 * its modules (an image's own may fail; `cloud-init status --long`
 * says which). One `cloud-init status --wait`, waited for until the
 * deadline: qemu-ga cannot stop a command, so one started again while
 * the last still runs runs beside it, and under TCG (a python start is
 * ~10 s) a poll of `cloud-init status` piled them up until the guest,
 * out of memory, never finished. A failed wait (an agent that missed a
 * call) waits for the same pid again; a new one starts only once the
 * last ended, or after WAIT_SAME_PID_TRIES failed waits for it (the
 * agent forgets a pid whose end it reported, in a reply we may have
 * lost). Copies cloud-init's word into STATE. */
#define WAIT_SAME_PID_TRIES 5
static int wait_cloud_init(struct run *r, const struct topo_app_vm *app,
			   const struct qga_target *to, double deadline,
			   int timeout_s, char *state, size_t state_len)
{
	static const char *const argv[] = { "cloud-init", "status", "--wait",
					    NULL };
	char why[ERR_LEN] = "";
	int pid = 0, failed = 0;
	snprintf(state, state_len, "?");
	for (;;) {
		struct qga_exec_result res;
		double left = deadline - run_now();
		int rc = qga_exec_pid(to, argv, &pid, left > 1 ? (int)(left * 1000) :
				      1000, &res, why, sizeof(why));
		if (!rc) {
			failed = 0;
			snprintf(state, state_len, "%s", cloud_init_state(&res));
			qga_exec_result_free(&res);
			if (strcmp(state, "done") == 0 ||
			    strcmp(state, "error") == 0 ||
			    strcmp(state, "degraded done") == 0 ||
			    strcmp(state, "disabled") == 0)
				return 0;
			snprintf(why, sizeof(why), "it says: status: %s", state);
		} else if (pid && ++failed >= WAIT_SAME_PID_TRIES) {
			pid = 0;
			failed = 0;
		}
		if (run_now() > deadline) {
			snprintf(r->err, sizeof(r->err), "%s: cloud-init did not"
				 " finish within %d s (%s); `bulkhead exec %s"
				 " 'cloud-init status --long'` says more",
				 app->name, timeout_s, why, app->name);
			return -ETIMEDOUT;
		}
		sleep(1);
	}
}

/* A template VM is ready when qemu-guest-agent answers and the guest
 * says its NIC holds the address sys-net leases it; a brought image's
 * also once cloud-init finished. */
static int wait_template_vm(struct run *r, const struct topo_app_vm *app,
			    double t0)
{
	char domain[128], why[ERR_LEN], log[PATH_MAX], want[INET_ADDRSTRLEN];
	char got[INET_ADDRSTRLEN] = "";
	struct qga_target to = { r->o->conn, domain, NULL };
	plan_domain_name(app->name, domain, sizeof(domain));
	state_console_log(&r->dirs, app->name, log, sizeof(log));
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(app->net.ip, "/"),
		 app->net.ip);
	int timeout_s = vm_boot_timeout_s(r, app);
	double deadline = t0 + timeout_s;
	int rc = qga_ping(&to, (int)((deadline - run_now()) * 1000), why,
			  sizeof(why));
	if (rc) {
		snprintf(r->err, sizeof(r->err), "%s: qemu-guest-agent did not"
			 " answer within %d s (%s; console: %s)", app->name,
			 timeout_s, why, log);
		return rc;
	}
	/* Until the deadline, whatever the guest says: an agent busy while
	 * the guest boots misses a reply now and then. */
	while ((rc = qga_ipv4_of(&to, app->net.mac, got, 5000, why,
				 sizeof(why))) != 0 || strcmp(got, want)) {
		if (run_now() > deadline) {
			snprintf(r->err, sizeof(r->err), "%s: no DHCP lease from %s"
				 " within %d s (the guest says %s; console: %s)",
				 app->name, app->net.via, timeout_s,
				 rc ? why : got, log);
			return -ETIMEDOUT;
		}
		sleep(1);
	}
	char cloud[32] = "";
	if (app->disk) {
		rc = wait_cloud_init(r, app, &to, deadline, timeout_s, cloud,
				     sizeof(cloud));
		if (rc)
			return rc;
		if (strcmp(cloud, "done") != 0)
			fprintf(stderr, "bulkhead: warning: %s: cloud-init says"
				" '%s' (`bulkhead exec %s 'cloud-init status"
				" --long'` says why)\n", app->name, cloud,
				app->name);
	}
	printf("up: %s: ready, %s from %s%s%s (%.1f s)\n", app->name,
	       app->net.ip, app->net.via, cloud[0] ? ", cloud-init " : "",
	       cloud, run_now() - t0);
	return 0;
}

/* An app VM is ready when its agent answers and it holds its DHCP lease
 * from its driver VM. */
int wait_app_vm(struct run *r, const struct topo_app_vm *app, double t0)
{
	if (topology_app_qga(app))
		return wait_template_vm(r, app, t0);
	char agent[PATH_MAX];
	struct agent_addr to;
	if (run_vm_agent(r, app->name, agent, &to))
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
		if (run_now() > deadline) {
			close(null);
			char log[PATH_MAX];
			state_console_log(&r->dirs, app->name, log, sizeof(log));
			snprintf(r->err, sizeof(r->err), "%s: no DHCP lease from %s"
				 " within %d s (console: %s)", app->name, app->net.via,
				 r->o->boot_timeout_s, log);
			return -ETIMEDOUT;
		}
		sleep(1);
	}
	close(null);
	printf("up: %s: ready, %s from %s (%.1f s)\n", app->name, app->net.ip,
	       app->net.via, run_now() - t0);
	return 0;
}
