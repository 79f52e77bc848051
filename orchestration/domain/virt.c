#include "virt.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_xml.h"
#include "host_net.h"
#include "root_daemon.h"

/* libvirt prints every error to stderr by default; the bulkhead command
 * reports them itself, with what it was doing. */
static void virt_quiet(void *data, virErrorPtr error)
{
	(void)data;
	(void)error;
}

const char *virt_last_error(void)
{
	virErrorPtr e = virGetLastError();
	return e && e->message ? e->message : "unknown libvirt error";
}

/* Where libvirtd -d and virtlogd -d (and their systemd units) say they
 * run: /run is root's, and root_daemon_runs checks the rest. */
static bool daemon_runs(const char *name)
{
	char pid_file[64];
	snprintf(pid_file, sizeof(pid_file), "/run/%s.pid", name);
	return root_daemon_runs("/proc", pid_file, name);
}

virConnectPtr virt_open(const char *uri, char *err, size_t err_len)
{
	virSetErrorFunc(NULL, virt_quiet);
	virConnectPtr conn = virConnectOpen(uri);
	if (conn)
		return conn;
	if (strcmp(uri, VIRT_DEFAULT_URI) != 0 || daemon_runs("libvirtd")) {
		snprintf(err, err_len, "libvirt %s: %s", uri, virt_last_error());
		return NULL;
	}
	fprintf(stderr, "bulkhead: no libvirtd runs; starting virtlogd and"
		" libvirtd\n");
	char *virtlogd[] = { "virtlogd", "-d", NULL };
	char *libvirtd[] = { "libvirtd", "-d", NULL };
	if (!daemon_runs("virtlogd") && run_command(virtlogd, err, err_len))
		return NULL;
	if (run_command(libvirtd, err, err_len))
		return NULL;
	for (int i = 0; i < 100; i++) {
		conn = virConnectOpen(uri);
		if (conn)
			return conn;
		usleep(200000);
	}
	snprintf(err, err_len, "libvirt %s: %s (libvirtd was started)", uri,
		 virt_last_error());
	return NULL;
}

const char *virt_state_name(enum virt_state s)
{
	switch (s) {
	case VIRT_ABSENT: return "absent";
	case VIRT_RUNNING: return "running";
	case VIRT_STOPPED: return "stopped";
	default: return "other";
	}
}

enum virt_state virt_domain_state(virConnectPtr conn, const char *name,
				  char *topology, size_t topology_len)
{
	if (topology_len)
		topology[0] = '\0';
	virDomainPtr dom = virDomainLookupByName(conn, name);
	if (!dom)
		return VIRT_ABSENT;
	int state = 0, reason = 0;
	enum virt_state s = VIRT_OTHER;
	if (virDomainGetState(dom, &state, &reason, 0) == 0) {
		if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED ||
		    state == VIR_DOMAIN_BLOCKED)
			s = VIRT_RUNNING;
		else if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED)
			s = VIRT_STOPPED;
	}
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
					  DOMAIN_XML_NS, 0);
	if (meta && topology_len) {
		const char *open = strstr(meta, "topology>");
		const char *close = open ? strstr(open + 9, "</") : NULL;
		if (close && (size_t)(close - open - 9) < topology_len)
			snprintf(topology, topology_len, "%.*s",
				 (int)(close - open - 9), open + 9);
	}
	free(meta);
	virDomainFree(dom);
	return s;
}

/* A UEFI VM's variable store is the VM's own file, kept like its disk
 * (app_byo.h): libvirt refuses to undefine a domain with <nvram> unless
 * told to keep it or remove it. */
#define UNDEFINE_FLAGS VIR_DOMAIN_UNDEFINE_KEEP_NVRAM

int virt_domain_stop(virConnectPtr conn, const char *name, bool undefine,
		     char *err, size_t err_len)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	if (!dom)
		return 0;
	int rc = 0;
	if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
		snprintf(err, err_len, "%s: destroy: %s", name, virt_last_error());
		rc = -EIO;
	}
	if (!rc && undefine && virDomainUndefineFlags(dom, UNDEFINE_FLAGS) < 0) {
		snprintf(err, err_len, "%s: undefine: %s", name, virt_last_error());
		rc = -EIO;
	}
	virDomainFree(dom);
	return rc;
}

/* Looks NAME up and runs OP on it (OP_NAME says which, for errors). */
static int domain_op(virConnectPtr conn, const char *name,
		     int (*op)(virDomainPtr), const char *op_name, char *err,
		     size_t err_len)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	if (!dom) {
		snprintf(err, err_len, "%s: %s: no such domain", name, op_name);
		return -ENOENT;
	}
	int rc = 0;
	if (op(dom) < 0) {
		snprintf(err, err_len, "%s: %s: %s", name, op_name,
			 virt_last_error());
		rc = -EIO;
	}
	virDomainFree(dom);
	return rc;
}

int virt_domain_suspend(virConnectPtr conn, const char *name, char *err,
			size_t err_len)
{
	return domain_op(conn, name, virDomainSuspend, "suspend", err, err_len);
}

int virt_domain_resume(virConnectPtr conn, const char *name, char *err,
		       size_t err_len)
{
	return domain_op(conn, name, virDomainResume, "resume", err, err_len);
}

bool virt_domain_paused(virConnectPtr conn, const char *name)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	if (!dom)
		return false;
	int state = 0, reason = 0;
	/* Paused by us (virDomainSuspend), not by libvirt starting QEMU
	 * stopped (-S) before it lets the vCPUs run: a refill caught in that
	 * moment is not booted, and taking it would resume it early. */
	bool paused = virDomainGetState(dom, &state, &reason, 0) == 0 &&
		      state == VIR_DOMAIN_PAUSED &&
		      reason == VIR_DOMAIN_PAUSED_USER;
	virDomainFree(dom);
	return paused;
}

int virt_domain_define_start(virConnectPtr conn, const char *name,
			     const char *xml, char *err, size_t err_len)
{
	/* A definition of the same name is replaced whole (libvirt refuses
	 * to redefine it in place with another UUID). */
	int rc = virt_domain_stop(conn, name, true, err, err_len);
	if (rc)
		return rc;
	virDomainPtr dom = virDomainDefineXML(conn, xml);
	if (!dom) {
		snprintf(err, err_len, "%s: define: %s", name, virt_last_error());
		return -EINVAL;
	}
	if (virDomainCreate(dom) < 0) {
		snprintf(err, err_len, "%s: start: %s", name, virt_last_error());
		virDomainUndefineFlags(dom, UNDEFINE_FLAGS);
		virDomainFree(dom);
		return -EIO;
	}
	virDomainFree(dom);
	return 0;
}

/* One QMP command; its "return" (caller puts) or NULL with err set. */
static json_object *qmp(virDomainPtr dom, json_object *cmd, char *err,
			size_t err_len)
{
	char *result = NULL;
	const char *text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
	json_object *ret = NULL;
	if (virDomainQemuMonitorCommand(dom, text, &result, 0) < 0) {
		snprintf(err, err_len, "QMP %s: %s", text, virt_last_error());
	} else {
		json_object *reply = json_tokener_parse(result);
		json_object *r = NULL;
		if (reply && json_object_object_get_ex(reply, "return", &r)) {
			ret = json_object_get(r);
		} else {
			snprintf(err, err_len, "QMP %s: %s", text, result);
		}
		if (reply)
			json_object_put(reply);
	}
	free(result);
	json_object_put(cmd);
	return ret;
}

/* A QMP command whose answer does not matter, only that it succeeded. */
static bool qmp_ok(virDomainPtr dom, json_object *cmd, char *err,
		   size_t err_len)
{
	json_object *r = qmp(dom, cmd, err, err_len);
	if (r)
		json_object_put(r);
	return r != NULL;
}

static json_object *qmp_cmd(const char *execute, json_object *args)
{
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "execute", json_object_new_string(execute));
	if (args)
		json_object_object_add(cmd, "arguments", args);
	return cmd;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The qdev id of a PCIe root port with nothing behind it. */
static bool free_root_port(json_object *devices, char *out, size_t len)
{
	for (size_t i = 0; devices && i < json_object_array_length(devices); i++) {
		json_object *d = json_object_array_get_idx(devices, i);
		json_object *bridge = get(d, "pci_bridge");
		if (!bridge)
			continue;
		json_object *below = get(bridge, "devices");
		const char *id = json_object_get_string(get(d, "qdev_id"));
		if ((!below || json_object_array_length(below) == 0) && id && *id) {
			snprintf(out, len, "%s", id);
			return true;
		}
		if (free_root_port(below, out, len))
			return true;
	}
	return false;
}

int virt_attach(virConnectPtr conn, const char *name, const char *xml,
		char *err, size_t err_len)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	int rc = dom && virDomainAttachDeviceFlags(dom, xml,
						   VIR_DOMAIN_AFFECT_LIVE) == 0 ?
		 0 : -EIO;
	if (rc)
		snprintf(err, err_len, "%s: %s", name, virt_last_error());
	if (dom)
		virDomainFree(dom);
	return rc;
}

int virt_hotplug_vhost_user_net(virConnectPtr conn, const char *name,
				const char *id, const char *sock, const char *mac,
				bool vectors0, char *err, size_t err_len)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	if (!dom) {
		snprintf(err, err_len, "%s: %s", name, virt_last_error());
		return -ENOENT;
	}
	int rc = -EIO;
	char port[64], chr_id[80], net_id[80];
	snprintf(chr_id, sizeof(chr_id), "chr-%s", id);
	snprintf(net_id, sizeof(net_id), "net-%s", id);
	json_object *pci = qmp(dom, qmp_cmd("query-pci", NULL), err, err_len);
	bool found = false;
	for (size_t i = 0; pci && !found && i < json_object_array_length(pci); i++)
		found = free_root_port(get(json_object_array_get_idx(pci, i), "devices"),
				       port, sizeof(port));
	if (pci)
		json_object_put(pci);
	if (!found) {
		if (pci)
			snprintf(err, err_len, "%s: no free PCIe root port to hot-plug"
				 " %s into", name, id);
		rc = pci ? -ENOSPC : -EIO;
		goto out;
	}
	json_object *addr = json_object_new_object();
	json_object *unix_data = json_object_new_object();
	json_object_object_add(unix_data, "path", json_object_new_string(sock));
	json_object_object_add(addr, "type", json_object_new_string("unix"));
	json_object_object_add(addr, "data", unix_data);
	json_object *sock_data = json_object_new_object();
	json_object_object_add(sock_data, "addr", addr);
	json_object_object_add(sock_data, "server", json_object_new_boolean(false));
	json_object_object_add(sock_data, "reconnect", json_object_new_int(1));
	json_object *backend = json_object_new_object();
	json_object_object_add(backend, "type", json_object_new_string("socket"));
	json_object_object_add(backend, "data", sock_data);
	json_object *chr = json_object_new_object();
	json_object_object_add(chr, "id", json_object_new_string(chr_id));
	json_object_object_add(chr, "backend", backend);
	if (!qmp_ok(dom, qmp_cmd("chardev-add", chr), err, err_len))
		goto out;
	json_object *net = json_object_new_object();
	json_object_object_add(net, "type", json_object_new_string("vhost-user"));
	json_object_object_add(net, "id", json_object_new_string(net_id));
	json_object_object_add(net, "chardev", json_object_new_string(chr_id));
	if (!qmp_ok(dom, qmp_cmd("netdev_add", net), err, err_len))
		goto out;
	json_object *dev = json_object_new_object();
	json_object_object_add(dev, "driver", json_object_new_string("virtio-net-pci"));
	json_object_object_add(dev, "id", json_object_new_string(id));
	json_object_object_add(dev, "netdev", json_object_new_string(net_id));
	json_object_object_add(dev, "mac", json_object_new_string(mac));
	json_object_object_add(dev, "bus", json_object_new_string(port));
	if (vectors0)
		json_object_object_add(dev, "vectors", json_object_new_int(0));
	if (!qmp_ok(dom, qmp_cmd("device_add", dev), err, err_len))
		goto out;
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

unsigned virt_sec_models(virConnectPtr conn)
{
	char *caps = virConnectGetCapabilities(conn);
	unsigned models = 0;
	if (caps && strstr(caps, "<model>apparmor</model>"))
		models |= DOMAIN_SEC_APPARMOR;
	if (caps && strstr(caps, "<model>selinux</model>"))
		models |= DOMAIN_SEC_SELINUX;
	free(caps);
	return models;
}

int virt_allow_traverse(const char *dir, char *err, size_t err_len)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", dir, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	int rc = 0;
	if (!(st.st_mode & S_IXOTH)) {
		rc = fchmod(fd, (st.st_mode & 07777) | S_IXOTH) < 0 ? -errno : 1;
		if (rc < 0)
			snprintf(err, err_len, "%s: chmod o+x: %s", dir, strerror(-rc));
	}
	close(fd);
	return rc;
}

int virt_domain_dac_uid(virConnectPtr conn, const char *name, uid_t *uid)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	virSecurityLabelPtr labels = NULL;
	int n = dom && virDomainIsActive(dom) == 1 ?
		virDomainGetSecurityLabelList(dom, &labels) : -1;
	int rc = -ENOENT;
	/* The list has one label per security driver; DAC's is "+UID:+GID". */
	for (int i = 0; i < n && rc; i++) {
		unsigned long u;
		char end;
		if (sscanf(labels[i].label, "+%lu:+%*u%c", &u, &end) == 1) {
			*uid = (uid_t)u;
			rc = 0;
		}
	}
	free(labels);
	if (dom)
		virDomainFree(dom);
	return rc;
}
