/* sys-storage, the storage driver VM (docs/sysstorage.md): it owns a disk
 * controller (passed through, or QEMU's emulated nvme over a host file
 * standing in for the disk), keeps a thin volume per app VM it serves and
 * serves each as NBD on a virtio-serial port of its own. The host's side
 * of each volume is a bulkhead-blk link: the app VM's virtio-blk disk
 * (vhost-user) on one side, that port on the other. */
#include "storage_kind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_files.h"
#include "state_paths.h"
#include "strbuf.h"
#include "virt.h"

static void storage_images(const struct topo_driver_vm *drv,
			   struct domain_images *out)
{
	/* The driver VMs' one kernel (the image builder's copy under the
	 * image's name); the disk controllers' drivers and device-mapper
	 * are its modules. */
	(void)drv;
	out->kernel = "sysstorage-vmlinuz";
	snprintf(out->initrd, sizeof(out->initrd), "sysstorage-initramfs.cpio.gz");
}

/* The virtio-serial port name of APP's volume, as the guest looks it up. */
#define STORAGE_PORT_PREFIX "org.bulkhead.volume."

/* The virtio-serial port serving APP's volume: QEMU listens, the
 * volume's link connects. */
static int volume_port(struct strbuf *sb, const struct plan_dirs *dirs,
		       const char *drv, const char *app)
{
	char path[PATH_MAX];
	int rc = state_volume_port(dirs, drv, app, path, sizeof(path));
	strbuf_printf(sb, "    <channel type='unix'><source mode='bind' path='");
	strbuf_xml(sb, path);
	strbuf_printf(sb, "'/><target type='virtio' name='" STORAGE_PORT_PREFIX
		      "%s'/></channel>\n", app);
	return rc;
}

/* The root-bus slot of the first emulated NVMe controller (the next one
 * below, at most TOPO_MAX_DEVICES). */
#define STORAGE_NVME_SLOT 0x1b

static char *storage_domain_xml(const struct topology *topo,
				const struct topo_driver_vm *drv,
				const struct domain_env *env, char *err,
				size_t err_len)
{
	struct strbuf sb = { 0 };
	struct domain_images images = { 0 };
	int rc = 0;
	storage_images(drv, &images);
	domain_head(&sb, topo, drv->name, storage_kind.name, drv->memory_mib,
		    drv->vcpus, env, &images, "console=ttyS0 panic=-1 quiet");
	domain_fwcfg_config(&sb, env, drv->name);
	strbuf_printf(&sb, "  <devices>\n");
	for (unsigned i = 0; i < drv->devices_count; i++)
		if (drv->devices[i].pci)
			domain_pci_hostdev(&sb, drv->devices[i].pci);
	/* One port per volume; QEMU listens, the volume's link connects. */
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_STORAGE))
			continue;
		rc = rc ? rc : volume_port(&sb, env->dirs, drv->name, a->name);
	}
	domain_console_agent(&sb, env, drv->name);
	strbuf_printf(&sb, "  </devices>\n");
	domain_seclabels(&sb, env);
	/* libvirt 9.0 has no emulated NVMe controller: QEMU's own options.
	 * The file's path was checked to hold no ',' or quote
	 * (topology_check_driver.c); the VM's uid owns it (host_before). */
	bool args = false;
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (dev->emulated != TOPO_EMULATED_NVME)
			continue;
		if (!args)
			strbuf_printf(&sb, "  <qemu:commandline>\n");
		args = true;
		strbuf_printf(&sb, "    <qemu:arg value='-drive'/>\n    <qemu:arg"
			      " value='if=none,id=bkdisk%u,format=raw,file=", i);
		strbuf_xml(&sb, dev->file);
		/* On the root bus, from slot 0x1b down: libvirt fills its
		 * own devices from slot 1 up and would otherwise take the
		 * slot QEMU gives the controller. */
		strbuf_printf(&sb, "'/>\n    <qemu:arg value='-device'/>\n"
			      "    <qemu:arg value='nvme,drive=bkdisk%u,serial=bk-%s-%u,"
			      "bus=pcie.0,addr=0x%x'/>\n", i, drv->name, i,
			      STORAGE_NVME_SLOT - i);
	}
	if (args)
		strbuf_printf(&sb, "  </qemu:commandline>\n");
	strbuf_printf(&sb, "</domain>\n");
	return domain_finish(&sb, err, err_len, rc, drv->name);
}

/* What an app VM it serves gets: a virtio-blk disk whose back end is its
 * volume's link (QEMU the reconnecting client). */
static int storage_app_devices(const struct topology *topo,
			       const struct topo_driver_vm *drv,
			       const struct topo_app_vm *app,
			       const struct domain_env *env, struct app_parts *out)
{
	char path[PATH_MAX];
	struct strbuf *sb = &out->devices;
	(void)topo;
	(void)drv;
	int rc = state_disk_path(env->dirs, app->name, path, sizeof(path));
	strbuf_printf(sb, "    <disk type='vhostuser' device='disk'>\n"
		      "      <driver name='qemu' type='raw'/>\n"
		      "      <source type='unix' path='");
	strbuf_xml(sb, path);
	/* A template VM's root and private volume are vda and vdb
	 * (domain_xml.c); its guest finds each disk by serial, not name. */
	strbuf_printf(sb, "'><reconnect enabled='yes' timeout='1'/></source>\n"
		      "      <target dev='%s' bus='virtio'/>\n    </disk>\n",
		      topology_app_qga(app) ? "vdc" : "vda");
	return rc;
}

/* One bulkhead-blk per volume. */
static int storage_links(const struct topology *topo,
			 const struct topo_driver_vm *drv,
			 const struct link_env *env, struct link_set *set)
{
	char port[PATH_MAX], name[64];
	int rc = 0;
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_STORAGE))
			continue;
		snprintf(name, sizeof(name), "%s.disk", a->name);
		struct link_spec *s = kind_link_worker(set, env, &storage_kind, drv,
						       name, "bulkhead-blk");
		if (!s)
			return -ENOMEM;
		/* Its NBD connection died with acknowledged writes unflushed:
		 * the next one fails the app VM's next flush. */
		snprintf(s->tell_next, sizeof(s->tell_next), "--lost-writes");
		rc = state_disk_path(env->dirs, a->name, s->sockets[0],
				     sizeof(s->sockets[0])) ?:
		     state_volume_port(env->dirs, drv->name, a->name, port,
				       sizeof(port)) ?:
		     link_spec_arg(s, "--socket") ?: link_spec_arg(s, "%s", s->sockets[0]) ?:
		     link_spec_arg(s, "--nbd") ?: link_spec_arg(s, "%s", port) ?:
		     link_spec_arg(s, "--serial") ?: link_spec_arg(s, "%s", a->name);
	}
	return rc;
}

/* App VMs added after those it served: their ports hot-plugged, then the
 * new configuration (their volumes made and served; a larger size grown)
 * applied by sys-storage itself. Anything else restarts it. */
static bool storage_live_update(struct run *r, const struct topo_driver_vm *drv,
				const char *domain, const char *cfg)
{
	char why[ERR_LEN];
	const char *now[TOPO_MAX_APP_VMS];
	unsigned nwas;
	int nnow = kind_added_app_vms(r, drv, domain, TOPO_ATTACH_STORAGE, now, &nwas);
	for (unsigned i = nwas; nnow > 0 && i < (unsigned)nnow; i++) {
		struct strbuf sb = { 0 };
		int rc = volume_port(&sb, &r->dirs, drv->name, now[i]);
		char *xml = strbuf_take(&sb);
		rc = rc ? rc : !xml ? -ENOMEM :
		     virt_attach(r->o->conn, domain, xml, why, sizeof(why));
		free(xml);
		if (rc) {
			printf("up: %s: the port for %s's volume could not be"
			       " hot-plugged (%s); restarting it\n", drv->name,
			       now[i], rc == -EIO ? why : strerror(-rc));
			return false;
		}
		printf("up: %s: port for %s's volume hot-plugged\n", drv->name,
		       now[i]);
	}
	return nnow >= 0 && kind_send_config(r, drv, cfg);
}

/* A virtio-serial device has 31 ports (QEMU's max_ports default), the
 * agent's among them. */
#define STORAGE_MAX_VOLUMES 30

static int storage_check(const struct topology *topo,
			 const struct topo_driver_vm *drv, char *err,
			 size_t err_len)
{
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_STORAGE) ||
		    ++n <= STORAGE_MAX_VOLUMES)
			continue;
		snprintf(err, err_len, "%s:%u: app-vms[%u].storage.via: '%s' would"
			 " serve more than %d volumes (one virtio-serial port"
			 " each, and its agent's)", topo->path, a->storage.via_line,
			 i, drv->name, STORAGE_MAX_VOLUMES);
		return -E2BIG;
	}
	return 0;
}

/* The volume's size, the app VM's requests by type, those refused at
 * the host's boundary, and the NBD errors. */
static void storage_status_row(const char *link, json_object *live, char *out,
			       size_t out_len)
{
	json_object *ref = kind_status_at(live, "refusals");
	long long refused = 0;
	(void)link;
	if (json_object_is_type(ref, json_type_object)) {
		json_object_object_foreach(ref, key, val) {
			(void)key;
			refused += (long long)json_object_get_int64(val);
		}
	}
	char size[24];
	snprintf(size, sizeof(size), "%lld MiB",
		 kind_status_int(live, "volume.capacity_sectors") / 2048);
	snprintf(out, out_len, "%-9s %-10s %-8lld %-8lld %-8lld %-8lld %-8lld %lld",
		 kind_status_bool(live, "front_end.connected") ?
		 "app/nbd" : "-/nbd", size, kind_status_int(live, "reads"),
		 kind_status_int(live, "writes"), kind_status_int(live, "flushes"),
		 kind_status_int(live, "discards"), refused,
		 kind_status_int(live, "nbd.errors"));
}

const struct driver_kind storage_kind = {
	.name = "storage",
	.serves = KIND_SERVES(TOPO_ATTACH_STORAGE),
	.takes = KIND_TAKES_DEVICES | KIND_NEEDS_DEVICES,
	.emulated_models = KIND_MODEL(TOPO_EMULATED_NVME),
	.check = storage_check,
	.images = storage_images,
	.guest_config = storage_config,
	.guest_config_title = "sys-storage configuration",
	.domain_xml = storage_domain_xml,
	.app_devices = storage_app_devices,
	.links = storage_links,
	.status_header = "SIDES     SIZE       READS    WRITES   FLUSHES  DISCARDS REFUSED  NBD-ERRORS",
	.status_row = storage_status_row,
	.host_before_start = kind_prepare_disk_files,
	.live_update = storage_live_update,
};
