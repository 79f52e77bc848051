/* sys-usb, the usb driver VM (docs/sysusb.md): it owns the USB controller
 * (passed through, or QEMU's emulated xHCI with emulated devices on it),
 * exports the devices assigned to an app VM over USB/IP on that app VM's
 * own link (a bulkhead-link pair, as sys-net's), and sends the host the
 * input events of the classes its policy allows (a bulkhead-input per
 * class, into uinput). The host never reads a USB descriptor: sys-usb
 * lists its devices as checked words (usb_device.c). */
#include "usb_kind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_files.h"
#include "state_paths.h"
#include "strbuf.h"

static void usb_images(const struct topo_driver_vm *drv,
		       struct domain_images *out)
{
	/* The driver VMs' one kernel; the USB host controllers, usb-storage,
	 * HID and usbip-host are its modules. */
	(void)drv;
	out->kernel = "sysusb-vmlinuz";
	snprintf(out->initrd, sizeof(out->initrd), "sysusb-initramfs.cpio.gz");
}

static const char *const input_classes[] = { "keyboard", "pointer" };

/* Whether DRV has input devices for CLASS (0 keyboard, 1 pointer) to send
 * the host: a passed-through controller may have any; emulated ones only
 * those the file gives. */
static bool usb_input_runs(const struct topo_driver_vm *drv, unsigned class)
{
	if (!usb_input_allowed(drv, class == 0))
		return false;
	for (unsigned i = 0; i < drv->devices_count; i++) {
		enum topo_emulated_model m = drv->devices[i].emulated;
		if (m == TOPO_EMULATED_NONE ||
		    (class == 0 && m == TOPO_EMULATED_USB_KBD) ||
		    (class == 1 && (m == TOPO_EMULATED_USB_TABLET ||
				    m == TOPO_EMULATED_USB_MOUSE)))
			return true;
	}
	return false;
}

/* The port sys-usb sends CLASS's input events on: QEMU listens, the
 * input worker connects. */
static int input_port(struct strbuf *sb, const struct plan_dirs *dirs,
		      const char *drv, const char *class)
{
	char path[PATH_MAX];
	int rc = state_input_port(dirs, drv, class, path, sizeof(path));
	strbuf_printf(sb, "    <channel type='unix'><source mode='bind' path='");
	strbuf_xml(sb, path);
	strbuf_printf(sb, "'/><target type='virtio' name='org.bulkhead.input.%s'/>"
		      "</channel>\n", class);
	return rc;
}

/* The emulated USB devices, on one emulated xHCI controller. */
static void emulated_usb(struct strbuf *sb, const struct topo_driver_vm *drv)
{
	unsigned disks = 0;
	bool controller = false;
	for (unsigned i = 0; i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		if (!topology_emulated_usb(dev->emulated))
			continue;
		if (!controller)
			strbuf_printf(sb, "    <controller type='usb' model='qemu-xhci'"
				      " ports='8'/>\n");
		controller = true;
		switch (dev->emulated) {
		case TOPO_EMULATED_USB_STORAGE:
			/* The file's path was checked (topology_check_driver.c);
			 * the VM's uid owns it (kind_prepare_disk_files). */
			strbuf_printf(sb, "    <disk type='file' device='disk'>\n"
				      "      <driver name='qemu' type='raw'/>\n"
				      "      <source file='");
			strbuf_xml(sb, dev->file);
			strbuf_printf(sb, "'/>\n      <target dev='sd%c' bus='usb'/>\n"
				      "      <serial>bk-%s-%u</serial>\n    </disk>\n",
				      'a' + disks++, drv->name, i);
			break;
		case TOPO_EMULATED_USB_KBD:
			strbuf_printf(sb, "    <input type='keyboard' bus='usb'/>\n");
			break;
		case TOPO_EMULATED_USB_TABLET:
			strbuf_printf(sb, "    <input type='tablet' bus='usb'/>\n");
			break;
		default:
			strbuf_printf(sb, "    <input type='mouse' bus='usb'/>\n");
			break;
		}
	}
	if (!controller)
		strbuf_printf(sb, "    <controller type='usb' model='none'/>\n");
}

static char *usb_domain_xml(const struct topology *topo,
			    const struct topo_driver_vm *drv,
			    const struct domain_env *env, char *err, size_t err_len)
{
	struct strbuf sb = { 0 };
	struct domain_images images = { 0 };
	char path[PATH_MAX];
	int rc = 0;
	usb_images(drv, &images);
	domain_head(&sb, topo, drv->name, usb_kind.name, drv->memory_mib,
		    drv->vcpus, env, &images, "console=ttyS0 panic=-1 quiet");
	domain_fwcfg_config(&sb, env, drv->name);
	strbuf_printf(&sb, "  <devices>\n");
	for (unsigned i = 0; i < drv->devices_count; i++)
		if (drv->devices[i].pci)
			domain_pci_hostdev(&sb, drv->devices[i].pci);
	emulated_usb(&sb, drv);
	/* A NIC per app VM it serves, the side b of that app VM's USB link
	 * (ua-us1..: hot-plugging goes on with bk-us N). */
	unsigned n = 0;
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_USB))
			continue;
		char mac[18], link[64], alias[16];
		plan_usb_link_mac(topo, a->name, true, mac);
		snprintf(link, sizeof(link), "%s.usb", a->name);
		rc = rc ? rc : state_link_path(env->dirs, drv->name, link, path,
						sizeof(path));
		snprintf(alias, sizeof(alias), "ua-us%u", ++n);
		domain_vhost_user_interface(&sb, mac, path, alias, 1);
	}
	for (unsigned c = 0; c < 2; c++)
		if (usb_input_runs(drv, c))
			rc = rc ? rc : input_port(&sb, env->dirs, drv->name,
						  input_classes[c]);
	/* A root port for each PCI device (the passed-through controllers,
	 * the emulated one, the NICs, virtio-serial) and spare ones for app
	 * VMs added later. */
	strbuf_printf(&sb, "    <controller type='pci' index='0' model='pcie-root'/>\n");
	for (unsigned i = 0; i < drv->devices_count + n + 2 + DOMAIN_SPARE_ROOT_PORTS;
	     i++)
		strbuf_printf(&sb, "    <controller type='pci' model='pcie-root-port'/>\n");
	domain_console_agent(&sb, env, drv->name);
	strbuf_printf(&sb, "  </devices>\n");
	domain_vectors_override(&sb, env, "ua-us", 1, n);
	domain_seclabels(&sb, env);
	strbuf_printf(&sb, "</domain>\n");
	return domain_finish(&sb, err, err_len, rc, drv->name);
}

/* What an app VM it serves gets: a virtio-net NIC, side a of its USB
 * link, named on its kernel command line (its init finds it by MAC). */
static int usb_app_devices(const struct topology *topo,
			   const struct topo_driver_vm *drv,
			   const struct topo_app_vm *app,
			   const struct domain_env *env, struct app_parts *out)
{
	char path[PATH_MAX], mac[18], link[64];
	(void)drv;
	plan_usb_link_mac(topo, app->name, false, mac);
	snprintf(link, sizeof(link), "%s.usb", app->name);
	int rc = state_link_path(env->dirs, app->name, link, path, sizeof(path));
	domain_vhost_user_interface(&out->devices, mac, path, "ua-usb0", 1);
	domain_vectors_devices(&out->overrides, env, "ua-usb", 0, 1);
	strbuf_printf(&out->cmdline, " bk.usb=%s", mac);
	return rc;
}

/* A bulkhead-link per app VM it serves (side a the app VM's, side b its
 * own), and a bulkhead-input per input class that runs. */
static int usb_links(const struct topology *topo,
		     const struct topo_driver_vm *drv,
		     const struct link_env *env, struct link_set *set)
{
	char mac_a[18], mac_b[18], name[64];
	int rc = 0;
	for (unsigned i = 0; !rc && i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_USB))
			continue;
		snprintf(name, sizeof(name), "%s.usb", a->name);
		struct link_spec *s = kind_link_worker(set, env, &usb_kind, drv,
						       name, "bulkhead-link");
		if (!s)
			return -ENOMEM;
		plan_usb_link_mac(topo, a->name, false, mac_a);
		plan_usb_link_mac(topo, a->name, true, mac_b);
		rc = state_link_path(env->dirs, a->name, name, s->sockets[0],
				     sizeof(s->sockets[0])) ?:
		     state_link_path(env->dirs, drv->name, name, s->sockets[1],
				     sizeof(s->sockets[1])) ?:
		     link_spec_arg(s, "--a") ?: link_spec_arg(s, "%s", s->sockets[0]) ?:
		     link_spec_arg(s, "--b") ?: link_spec_arg(s, "%s", s->sockets[1]) ?:
		     link_spec_arg(s, "--mac-a") ?: link_spec_arg(s, "%s", mac_a) ?:
		     link_spec_arg(s, "--mac-b") ?: link_spec_arg(s, "%s", mac_b);
	}
	for (unsigned c = 0; !rc && c < 2; c++) {
		if (!usb_input_runs(drv, c))
			continue;
		char port[PATH_MAX];
		snprintf(name, sizeof(name), "%s.%s", drv->name, input_classes[c]);
		struct link_spec *s = kind_link_worker(set, env, &usb_kind, drv,
						       name, "bulkhead-input");
		if (!s)
			return -ENOMEM;
		rc = state_input_port(env->dirs, drv->name, input_classes[c], port,
				      sizeof(port)) ?:
		     link_spec_arg(s, "--port") ?: link_spec_arg(s, "%s", port) ?:
		     link_spec_arg(s, "--class") ?: link_spec_arg(s, "%s",
								input_classes[c]);
	}
	return rc;
}

/* An app VM's USB link: frames each way and those refused as spoofed; an
 * input worker: events passed to the host and those it dropped. */
static void usb_status_row(const char *link, json_object *live, char *out,
			   size_t out_len)
{
	size_t n = strlen(link);
	if (n > 4 && !strcmp(link + n - 4, ".usb")) {
		char sides[16], ab[32], ba[32];
		snprintf(sides, sizeof(sides), "%s/%s",
			 kind_status_bool(live, "sides.a.connected") ?
			 "app" : "-",
			 kind_status_bool(live, "sides.b.connected") ?
			 "usb" : "-");
		snprintf(ab, sizeof(ab), "%lld pkt", kind_status_int(live, "a_to_b.packets"));
		snprintf(ba, sizeof(ba), "%lld pkt", kind_status_int(live, "b_to_a.packets"));
		snprintf(out, out_len, "%-9s %-12s %-12s %lld spoofed", sides, ab, ba,
			 kind_status_int(live, "a_to_b.drops.spoofed") +
			 kind_status_int(live, "b_to_a.drops.spoofed"));
		return;
	}
	snprintf(out, out_len, "%-9s %-12lld %-12lld input",
		 kind_status_bool(live, "connected") ?
		 "usb/host" : "-/host", kind_status_int(live, "passed"),
		 kind_status_int(live, "dropped"));
}

/* sys-usb's bk-config takes at most 16 KiB. */
#define USB_CONFIG_MAX_BYTES 16384

static int usb_check(const struct topology *topo,
		     const struct topo_driver_vm *drv, char *err, size_t err_len)
{
	char *cfg = usb_config(topo, drv, err, err_len);
	int rc = cfg ? 0 : -ENOMEM;
	if (cfg && strlen(cfg) > USB_CONFIG_MAX_BYTES) {
		snprintf(err, err_len, "%s: driver VM %s: its sys-usb configuration"
			 " would be %zu bytes, more than the %d it takes: fewer"
			 " pins or app VMs", topo->path, drv->name, strlen(cfg),
			 USB_CONFIG_MAX_BYTES);
		rc = -E2BIG;
	}
	free(cfg);
	return rc ? rc : usb_host_keyboard_check(topo, drv);
}

/* The NIC facing APP (side b of its USB link): its socket and MAC. */
static void usb_link_nic(const struct run *r, const struct topo_driver_vm *drv,
			 const char *app, char *sock, size_t sock_len, char mac[18])
{
	char link[64];
	snprintf(link, sizeof(link), "%s.usb", app);
	state_link_path(&r->dirs, drv->name, link, sock, sock_len);
	plan_usb_link_mac(r->topo, app, true, mac);
}

/* App VMs added after those it served: their NICs hot-plugged, then the
 * new configuration (their links, pins) applied by sys-usb itself.
 * Anything else restarts it. */
static bool usb_live_update(struct run *r, const struct topo_driver_vm *drv,
			    const char *domain, const char *cfg)
{
	static const struct kind_nic_plug plug = {
		TOPO_ATTACH_USB, "bk-us", "USB link NIC", usb_link_nic };
	return kind_live_add_nics(r, drv, domain, &plug) &&
	       kind_send_config(r, drv, cfg);
}

const struct driver_kind usb_kind = {
	.name = "usb",
	.serves = KIND_SERVES(TOPO_ATTACH_USB),
	.takes = KIND_TAKES_DEVICES | KIND_NEEDS_DEVICES | KIND_TAKES_INPUT,
	.emulated_models = KIND_MODEL(TOPO_EMULATED_USB_STORAGE) |
			   KIND_MODEL(TOPO_EMULATED_USB_KBD) |
			   KIND_MODEL(TOPO_EMULATED_USB_TABLET) |
			   KIND_MODEL(TOPO_EMULATED_USB_MOUSE),
	.check = usb_check,
	.images = usb_images,
	.guest_config = usb_config,
	.guest_config_title = "sys-usb configuration",
	.domain_xml = usb_domain_xml,
	.app_devices = usb_app_devices,
	.links = usb_links,
	.status_header = "SIDES     IN           OUT          DROPS",
	.status_row = usb_status_row,
	.host_before_start = kind_prepare_disk_files,
	.live_update = usb_live_update,
};
