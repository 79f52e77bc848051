/* bulkhead usb list|attach|detach: a usb driver VM's devices, and which
 * app VM has which (docs/sysusb.md). The host asks sys-usb over its
 * agent (bk-request) and takes its answer only as checked words
 * (usb_device_parse); an attach names the device by bus id, device number
 * and vendor:product together, so sys-usb binds nothing that took the
 * port meanwhile. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "mono_time.h"
#include "orch.h"
#include "plan.h"
#include "qga.h"
#include "state_paths.h"
#include "usb/usb_kind.h"
#include "vm_ids.h"

/* What `devices` answered: at most this many (a root hub has 127 at
 * most; sys-usb has a few). */
#define USB_LIST_MAX 128

struct usb_listing {
	struct usb_device_line dev[USB_LIST_MAX];
	unsigned n;
	char err[256];
};

static int take_device(const char *line, void *arg)
{
	struct usb_listing *l = arg;
	if (l->n == USB_LIST_MAX) {
		snprintf(l->err, sizeof(l->err), "more than %d devices listed",
			 USB_LIST_MAX);
		return -E2BIG;
	}
	int rc = usb_device_parse(line, &l->dev[l->n], l->err, sizeof(l->err));
	if (rc == 0)
		l->n++;
	return rc;
}

/* A VM's agent address in the topology TOPO. */
static int vm_agent(struct orch *o, const struct topology *topo, const char *vm,
		    struct agent_addr *to, char *path)
{
	char err[512];
	int rc = orch_vm_agent(o, topo, vm, to, path, err, sizeof(err));
	if (rc)
		fprintf(stderr, "bulkhead usb: %s\n", err);
	return rc;
}

static int list_devices(const struct agent_addr *to, const char *drv,
			struct usb_listing *l)
{
	l->n = 0;
	l->err[0] = '\0';
	int rc = agent_request(to, "devices", 30000, take_device, l);
	if (rc == 0)
		return 0;
	if (rc > 0)
		fprintf(stderr, "bulkhead usb: %s could not list its devices (status"
			" %d)\n", drv, rc);
	else if (l->err[0])
		fprintf(stderr, "bulkhead usb: %s: %s; nothing taken from it\n", drv,
			l->err);
	else
		fprintf(stderr, "bulkhead usb: %s's agent: %s\n", drv, strerror(-rc));
	return -EIO;
}

/* The usb driver VM NAME names (itself, or the one serving app VM NAME),
 * its topology in *TOPO. */
static const struct topo_driver_vm *usb_vm(struct orch *o, const char *name,
					   struct topology **topo)
{
	if (orch_find_vm(o, name, topo))
		return NULL;
	const struct topo_app_vm *app = topology_app_vm(*topo, name);
	const char *drv_name = app ? app->usb.via : name;
	const struct topo_driver_vm *drv = drv_name ?
		topology_driver_vm(*topo, drv_name) : NULL;
	if (!drv || strcmp(drv->kind, "usb")) {
		fprintf(stderr, "bulkhead usb: %s %s\n", name, app ?
			"has no usb: driver VM in its topology" :
			"is not a usb driver VM");
		topology_free(*topo);
		*topo = NULL;
		return NULL;
	}
	return drv;
}

static const char *class_name(unsigned c)
{
	switch (c) {
	case 0x00: return "per-interface";
	case 0x01: return "audio";
	case 0x02: return "comm";
	case 0x03: return "hid";
	case 0x06: return "image";
	case 0x07: return "printer";
	case 0x08: return "storage";
	case 0x09: return "hub";
	case 0x0a: return "cdc-data";
	case 0x0b: return "smart-card";
	case 0x0e: return "video";
	case 0xe0: return "wireless";
	case 0xff: return "vendor";
	default: return "other";
	}
}

static int usb_list(struct orch *o, const char *name)
{
	struct topology *topo;
	const struct topo_driver_vm *drv = usb_vm(o, name, &topo);
	if (!drv)
		return 2;
	struct agent_addr to;
	char path[PATH_MAX];
	struct usb_listing l;
	int rc = vm_agent(o, topo, drv->name, &to, path) ? 1 :
		 list_devices(&to, drv->name, &l) ? 1 : 0;
	if (rc == 0) {
		printf("%-18s %-10s %-6s %-14s %-14s %-20s %s\n", "DEVICE", "ID",
		       "SPEED", "CLASS", "ATTACHED-TO", "SERIAL", "PRODUCT");
		for (unsigned i = 0; i < l.n; i++) {
			char dev[48];
			snprintf(dev, sizeof(dev), "%s:%s", drv->name, l.dev[i].busid);
			printf("%-18s %-10s %-6s %-14s %-14s %-20s %s\n", dev,
			       l.dev[i].vidpid, l.dev[i].speed,
			       class_name(l.dev[i].dev_class),
			       l.dev[i].to[0] ? l.dev[i].to : "-",
			       l.dev[i].serial[0] ? l.dev[i].serial : "-",
			       l.dev[i].product[0] ? l.dev[i].product : "-");
		}
	}
	topology_free(topo);
	return rc;
}

/* DEVICE is [DRIVER-VM:]BUSID; the bus id into BUSID, and the driver VM
 * it names (or NULL) into *DRV_NAME. */
static int parse_device(char *device, const char **drv_name, const char **busid)
{
	char *colon = strchr(device, ':');
	*drv_name = NULL;
	*busid = device;
	if (colon) {
		*colon = '\0';
		*drv_name = device;
		*busid = colon + 1;
	}
	if (!topology_usb_busid_valid(*busid) ||
	    (*drv_name && !topology_name_valid(*drv_name))) {
		fprintf(stderr, "bulkhead usb: '%s%s%s' is not a device ([DRIVER-VM:]"
			"BUSID, as usb list shows it: sys-usb:1-1)\n",
			*drv_name ? *drv_name : "", *drv_name ? ":" : "", *busid);
		return -EINVAL;
	}
	return 0;
}

/* The devid vhci knows the device by: bus number << 16 | devnum. */
static unsigned long devid_of(const struct usb_device_line *d)
{
	return strtoul(d->busid, NULL, 10) << 16 | d->devnum;
}

/* How the host asks an app VM: its agent (the app image), or qemu-ga
 * through libvirt (a template VM: bk-usb-status is in its /usr/sbin). */
struct app_side {
	struct orch *o;
	struct agent_addr to;
	char path[PATH_MAX];
	char domain[128];
	bool qga;
};

static int app_side(struct orch *o, const struct topology *topo,
		    const char *app, struct app_side *side)
{
	side->o = o;
	side->qga = topology_app_qga(topology_app_vm(topo, app));
	plan_domain_name(app, side->domain, sizeof(side->domain));
	return vm_agent(o, topo, app, &side->to, side->path);
}

/* bk-usb-status's output in the app VM, into BUF (LEN > 0): its length
 * or -errno. */
static ssize_t app_usb_status(const struct app_side *side, char *buf, size_t len)
{
	if (side->qga) {
		const char *argv[] = { "/usr/sbin/bk-usb-status", NULL };
		struct qga_exec_result res;
		char err[256];
		if (orch_connect(side->o))
			return -EIO;
		struct qga_target to = { side->o->conn, side->domain, NULL };
		int rc = qga_exec(&to, argv, 5000, &res, err, sizeof(err));
		if (rc)
			return rc;
		size_t n = res.exit_code == 0 && res.out_len < len ? res.out_len : 0;
		memcpy(buf, res.out, n);
		rc = res.exit_code == 0 ? 0 : -EIO;
		qga_exec_result_free(&res);
		return rc ? rc : (ssize_t)n;
	}
	char tmp[] = "/tmp/bulkhead-usb-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	unlink(tmp);
	int rc = agent_exec(&side->to, "bk-usb-status", 5000, fd);
	ssize_t n = rc == 0 ? pread(fd, buf, len, 0) : -1;
	close(fd);
	return n < 0 ? (rc < 0 ? rc : -EIO) : n;
}

/* Whether the app VM shows DEVID on a vhci port now (bk-usb-status). */
static int app_has(const struct app_side *side, unsigned long devid)
{
	char buf[4096];
	ssize_t n = app_usb_status(side, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	char want[32];
	snprintf(want, sizeof(want), " %lu ", devid);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "PORT ", 5) && strstr(line, want))
			return 1;
	return 0;
}

/* Waits up to TIMEOUT_MS for app VM APP to show (or no longer show)
 * DEVID: the seconds it took, or -1. */
static double wait_app(const struct app_side *to, unsigned long devid,
		       bool present, long long start, int timeout_ms)
{
	while (mono_ms() - start < timeout_ms) {
		if (app_has(to, devid) == present)
			return (double)(mono_ms() - start) / 1000.0;
		usleep(200000);
	}
	return -1;
}

static int reply_line(const char *line, void *arg)
{
	snprintf(arg, 256, "%s", line);
	return 0;
}

static int usb_attach(struct orch *o, char *device, const char *app_name)
{
	struct topology *topo;
	const char *want_drv, *busid;
	if (parse_device(device, &want_drv, &busid))
		return 2;
	const struct topo_driver_vm *drv = usb_vm(o, app_name, &topo);
	if (!drv)
		return 2;
	int rc = 1;
	if (!topology_app_vm(topo, app_name)) {
		fprintf(stderr, "bulkhead usb attach: %s is a driver VM; devices go"
			" to app VMs\n", app_name);
		goto out;
	}
	if (want_drv && strcmp(want_drv, drv->name)) {
		fprintf(stderr, "bulkhead usb attach: %s's USB comes from %s, not"
			" %s\n", app_name, drv->name, want_drv);
		goto out;
	}
	struct agent_addr to;
	struct app_side app_to;
	char path[PATH_MAX];
	struct usb_listing l;
	if (vm_agent(o, topo, drv->name, &to, path) ||
	    app_side(o, topo, app_name, &app_to) ||
	    list_devices(&to, drv->name, &l))
		goto out;
	const struct usb_device_line *d = NULL;
	for (unsigned i = 0; i < l.n && !d; i++)
		if (!strcmp(l.dev[i].busid, busid))
			d = &l.dev[i];
	if (!d) {
		fprintf(stderr, "bulkhead usb attach: %s has no device at %s\n",
			drv->name, busid);
		goto out;
	}
	if (d->dev_class == USB_CLASS_HID) {
		fprintf(stderr, "bulkhead usb attach: %s:%s (%s) is an input device;"
			" those stay in %s (their events reach the host by its"
			" input policy)\n", drv->name, busid, d->vidpid, drv->name);
		goto out;
	}
	if (d->to[0]) {
		fprintf(stderr, "bulkhead usb attach: %s:%s is %s %s%s\n", drv->name,
			busid, !strcmp(d->to, app_name) ? "already attached to" :
			"attached to", d->to, !strcmp(d->to, app_name) ? "" :
			"; detach it first");
		rc = !strcmp(d->to, app_name) ? 0 : 1;
		goto out;
	}
	char words[128], reply[256] = "";
	snprintf(words, sizeof(words), "attach %s %s %u %s", app_name, busid,
		 d->devnum, d->vidpid);
	long long start = mono_ms();
	int st = agent_request(&to, words, 30000, reply_line, reply);
	if (st != 0) {
		fprintf(stderr, "bulkhead usb attach: %s refused %s:%s: %s\n",
			drv->name, drv->name, busid, st < 0 ? strerror(-st) : reply);
		goto out;
	}
	double secs = wait_app(&app_to, devid_of(d), true, start, 15000);
	if (secs < 0) {
		fprintf(stderr, "bulkhead usb attach: %s exported %s:%s, but %s did"
			" not show it within 15 s\n", drv->name, drv->name, busid,
			app_name);
		goto out;
	}
	printf("usb: %s:%s (%s%s%s) attached to %s in %.1f s\n", drv->name, busid,
	       d->vidpid, d->product[0] ? " " : "", d->product, app_name, secs);
	rc = 0;
out:
	topology_free(topo);
	return rc;
}

static int usb_detach(struct orch *o, char *device)
{
	struct topology *topo;
	const char *drv_name, *busid;
	if (parse_device(device, &drv_name, &busid))
		return 2;
	if (!drv_name) {
		fprintf(stderr, "bulkhead usb detach: name the driver VM too"
			" (sys-usb:%s)\n", busid);
		return 2;
	}
	const struct topo_driver_vm *drv = usb_vm(o, drv_name, &topo);
	if (!drv)
		return 2;
	struct agent_addr to;
	struct app_side app_to;
	char path[PATH_MAX], words[64], reply[256] = "";
	struct usb_listing l;
	int rc = 1;
	if (vm_agent(o, topo, drv->name, &to, path) || list_devices(&to, drv->name, &l))
		goto out;
	const struct usb_device_line *d = NULL;
	for (unsigned i = 0; i < l.n && !d; i++)
		if (!strcmp(l.dev[i].busid, busid))
			d = &l.dev[i];
	if (!d || !d->to[0]) {
		fprintf(stderr, "bulkhead usb detach: %s:%s is %s\n", drv->name, busid,
			d ? "attached to no app VM" : "not there");
		rc = d ? 0 : 1;
		goto out;
	}
	snprintf(words, sizeof(words), "detach %s", busid);
	long long start = mono_ms();
	int st = agent_request(&to, words, 30000, reply_line, reply);
	if (st != 0) {
		fprintf(stderr, "bulkhead usb detach: %s refused: %s\n", drv->name,
			st < 0 ? strerror(-st) : reply);
		goto out;
	}
	double secs = -1;
	if (topology_app_vm(topo, d->to) && !app_side(o, topo, d->to, &app_to))
		secs = wait_app(&app_to, devid_of(d), false, start, 10000);
	if (secs < 0)
		printf("usb: %s:%s detached from %s (it did not confirm within 10 s)\n",
		       drv->name, busid, d->to);
	else
		printf("usb: %s:%s detached from %s in %.1f s\n", drv->name, busid,
		       d->to, secs);
	rc = 0;
out:
	topology_free(topo);
	return rc;
}

int cmd_usb(struct orch *o, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[0], "list"))
		return usb_list(o, argv[1]);
	if (argc >= 3 && !strcmp(argv[0], "attach"))
		return usb_attach(o, argv[1], argv[2]);
	if (argc >= 2 && !strcmp(argv[0], "detach"))
		return usb_detach(o, argv[1]);
	fprintf(stderr, "usage: bulkhead usb list VM | attach [DRIVER-VM:]BUSID"
		" APP-VM | detach DRIVER-VM:BUSID\n");
	return 2;
}
