/* bulkhead check, and what up checks before it starts anything
 * (orch_validate): the file, the derived names, each sys-net's
 * configuration, the PCI devices. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk_image.h"
#include "domain_xml.h"
#include "orch.h"
#include "plan.h"
#include "run.h"
#include "kind.h"
#include "vfio.h"
#include "vm_ids.h"

#define ERR_LEN ORCH_ERR_LEN
#define SYSFS_ROOT ORCH_SYSFS_ROOT

static int check_pci(const struct topology *topo, char *err, size_t err_len)
{
	const char *listed[TOPO_MAX_DRIVER_VMS * TOPO_MAX_DEVICES];
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		unsigned n = 0;
		for (unsigned j = 0; j < d->devices_count; j++)
			if (d->devices[j].pci)
				listed[n++] = d->devices[j].pci;
		if (!n)
			continue;
		char why[ERR_LEN];
		int rc = vfio_check(SYSFS_ROOT, listed, n, why, sizeof(why));
		if (rc) {
			snprintf(err, err_len, "%s: driver VM %s: %s", topo->path,
				 d->name, why);
			return rc;
		}
	}
	return 0;
}

/* Each app VM's template: built, or one the image builder makes unasked
 * (up builds it then). */
static int check_templates(const struct orch *o, const struct topology *topo,
			   char *err, size_t err_len)
{
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		struct app_template t;
		char why[ERR_LEN];
		if (!a->template || app_template_built_by_default(a->template))
			continue;
		int rc = app_template_current(o->image_dir, a->template, &t, why,
					      sizeof(why));
		if (rc) {
			snprintf(err, err_len, "%s: %s", a->name, why);
			return rc;
		}
	}
	return 0;
}

/* What an app VM keeps in the data directory, against the topology: a
 * disk VM's image (disk_image.h) until its first start has copied it into
 * the VM's own disk (later starts never read it); a template VM's private
 * volume against its private: (grown at its next start, never shrunk). */
static int check_app_data(const struct plan_dirs *dirs,
			  const struct topo_app_vm *a, char *why, size_t why_len)
{
	struct app_byo b;
	struct disk_image img;
	uint64_t have;
	int fd, rc;
	if (a->firmware == TOPO_FIRMWARE_UEFI &&
	    (rc = app_byo_firmware_check(why, why_len)))
		return rc;
	if (a->disk) {
		if (app_byo_paths(dirs, a->name, &b))
			return -ENAMETOOLONG;
		if (access(b.disk, F_OK) == 0)
			return 0;
		rc = disk_image_open(a->disk, &fd, &img, why, why_len);
		if (!rc)
			close(fd);
		return rc;
	}
	if (!a->template || a->disposable)
		return 0;
	if (app_disks_paths(dirs, a->name, &b.disks))
		return -ENAMETOOLONG;
	if (access(b.disks.private_vol, F_OK) != 0)
		return 0;
	rc = app_disks_private_fits(b.disks.private_vol, a->private_mib, &have,
				    why, why_len);
	/* A header the VM rewrote stops nobody else's up: its own start
	 * warns of it (app_disks_prepare). */
	return rc == -EBADMSG ? 0 : rc;
}

static int check_data(const struct orch *o, const struct topology *topo,
		      char *err, size_t err_len)
{
	struct plan_dirs dirs;
	if (plan_dirs(o->state_root, o->log_root, o->data_root, topo, &dirs)) {
		snprintf(err, err_len, "state paths too long");
		return -ENAMETOOLONG;
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		char why[ERR_LEN] = "data paths too long";
		int rc = check_app_data(&dirs, &topo->app_vms[i], why, sizeof(why));
		if (rc) {
			snprintf(err, err_len, "%s: %s", topo->app_vms[i].name, why);
			return rc;
		}
	}
	return 0;
}

int orch_validate(struct orch *o, const char *path, struct topology **topo)
{
	char err[ERR_LEN];
	int rc = topology_load(path, topo, err, sizeof(err));
	if (!rc && (rc = driver_kinds_check(*topo, err, sizeof(err)))) {
		topology_free(*topo);
		*topo = NULL;
	}
	if (rc) {
		fprintf(stderr, "bulkhead: %s\n", err);
		return rc;
	}
	rc = plan_check(*topo, err, sizeof(err));
	/* Under bulkhead@NAME.service (which sets it) the file must be
	 * topology NAME: the unit finds its supervisor (PIDFile) and its
	 * state by that name, and would otherwise fail after bringing another
	 * topology up. */
	const char *unit_name = getenv("BULKHEAD_TOPOLOGY");
	if (!rc && unit_name && unit_name[0] && strcmp(unit_name, (*topo)->name)) {
		snprintf(err, sizeof(err), "%s: name '%s' is not '%s', the topology"
			 " bulkhead@%s.service runs (BULKHEAD_TOPOLOGY): rename the"
			 " file's topology or the unit", path, (*topo)->name,
			 unit_name, unit_name);
		rc = -EINVAL;
	}
	for (unsigned i = 0; !rc && i < (*topo)->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &(*topo)->driver_vms[i];
		const struct driver_kind *kind = driver_kind_of(d);
		rc = kind->check ? kind->check(*topo, d, err, sizeof(err)) : 0;
	}
	if (!rc)
		rc = check_pci(*topo, err, sizeof(err));
	if (!rc)
		rc = check_templates(o, *topo, err, sizeof(err));
	if (!rc)
		rc = check_data(o, *topo, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "bulkhead: %s\n", err);
		topology_free(*topo);
		*topo = NULL;
	}
	return rc;
}

/* VM's recorded uid; one not yet allocated shows as the range's first
 * (check allocates nothing; up does). */
static void show_uid(const struct topology *topo, const char *vm,
		     struct domain_env *env)
{
	struct vm_ids_host host;
	char err[ERR_LEN];
	vm_ids_host_default(&host);
	if (access(host.lib_dir, F_OK) ||
	    vm_ids_lookup(&host, topo->name, vm, &env->uid, err, sizeof(err))) {
		env->uid = VM_IDS_FIRST;
	}
}

/* What up would make, for a reader (check --show). */
static void show_plan(struct orch *o, const struct topology *topo)
{
	struct plan_dirs dirs;
	char err[ERR_LEN];
	plan_dirs(o->state_root, o->log_root, o->data_root, topo, &dirs);
	struct domain_env env = { &dirs,
		o->accel_given && o->accel == TOPO_ACCEL_KVM ? DOMAIN_ACCEL_KVM :
		DOMAIN_ACCEL_TCG, 0, 0 };
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		const struct driver_kind *kind = driver_kind_of(d);
		show_uid(topo, d->name, &env);
		if (kind->guest_config) {
			char *cfg = kind->guest_config(topo, d, err, sizeof(err));
			printf("=== %s: %s\n%s", d->name, kind->guest_config_title,
			       cfg ? cfg : err);
			free(cfg);
		}
		char *xml = kind->domain_xml(topo, d, &env, err, sizeof(err));
		printf("=== %s: libvirt domain\n%s", d->name, xml ? xml : err);
		free(xml);
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		show_uid(topo, a->name, &env);
		struct app_parts_text parts = { 0 };
		struct run_template ts;
		char *xml = (topology_app_qga(a) &&
			     run_template_plan(&dirs, o->image_dir, a, true, &ts,
					       err, sizeof(err))) ||
			    kind_app_devices(topo, a, &env, &parts, err,
					     sizeof(err)) ? NULL :
			    domain_xml_app_vm(topo, a, &env, &parts,
					      topology_app_qga(a) ? &ts.tb : NULL, err,
					      sizeof(err));
		kind_app_parts_free(&parts);
		printf("=== %s: libvirt domain\n%s", a->name, xml ? xml : err);
		free(xml);
	}
}

int cmd_check(struct orch *o, const char *path, bool show)
{
	struct topology *topo;
	int rc = orch_validate(o, path, &topo);
	if (rc)
		return 2;
	if (show)
		show_plan(o, topo);
	printf("%s: ok: topology %s, %u driver VM%s, %u app VM%s\n", path,
	       topo->name, topo->driver_vms_count,
	       topo->driver_vms_count == 1 ? "" : "s", topo->app_vms_count,
	       topo->app_vms_count == 1 ? "" : "s");
	topology_free(topo);
	return 0;
}

