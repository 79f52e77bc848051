/* Loading a topology file: read it (bounded), parse it as a libyaml
 * document (syntax errors, lines), load it against the libcyaml schema
 * (shape), then fill the defaults and check every rule (topology_check.c).
 * The first problem is the one reported. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology_internal.h"

/* Moves libcyaml's talk pairs (each its own char *[2]) into
 * struct topo_talk; the names move, the pair arrays are freed. */
static int take_talk(struct topo_raw *raw)
{
	struct topology *topo = &raw->topo;

	if (raw->talk_count == 0)
		return 0;
	topo->talk = calloc(raw->talk_count, sizeof(*topo->talk));
	if (topo->talk == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < raw->talk_count; i++) {
		topo->talk[i].a = raw->talk[i][0];
		topo->talk[i].b = raw->talk[i][1];
		free(raw->talk[i]);
	}
	topo->talk_count = raw->talk_count;
	free(raw->talk);
	raw->talk = NULL;
	raw->talk_count = 0;
	return 0;
}

static void free_fields(struct topology *topo);

/* What libcyaml loaded, when it is not (or not yet) a topology. */
static void free_raw(struct topo_raw *raw)
{
	if (raw == NULL)
		return;
	for (unsigned i = 0; i < raw->talk_count; i++) {
		if (raw->talk[i]) {
			free(raw->talk[i][0]);
			free(raw->talk[i][1]);
		}
		free(raw->talk[i]);
	}
	free(raw->talk);
	free_fields(&raw->topo);
	free(raw);
}

int topology_load_buffer(const char *name, const void *data, size_t len,
			 struct topology **out, char *err, size_t err_len)
{
	struct topo_ctx ctx = { .path = name, .err = err, .err_len = err_len };
	struct topo_raw *raw = NULL;
	struct topology *topo = NULL;
	int rc;

	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if (len > TOPO_FILE_MAX_BYTES) {
		topo_fail_line(&ctx, 0, "", "%zu bytes; a topology file is at"
			       " most %d bytes", len, TOPO_FILE_MAX_BYTES);
		return -EFBIG;
	}
	/* Syntax first: libcyaml would report a syntax error as whatever
	 * event it read before it. */
	rc = topo_doc_load(&ctx, data, len);
	if (rc < 0)
		goto out;
	rc = topo_schema_load(&ctx, data, len, &raw);
	if (rc < 0)
		goto out;
	rc = take_talk(raw);
	if (rc < 0)
		goto out;
	topo = malloc(sizeof(*topo));
	if (topo == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*topo = raw->topo;
	raw->topo = (struct topology){ 0 };
	topo->path = strdup(name);
	if (topo->path == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = topo_check(&ctx, topo);
out:
	if (rc == -ENOMEM && (err_len == 0 || err[0] == '\0'))
		topo_fail_line(&ctx, 0, "", "out of memory");
	free_raw(raw);
	topo_doc_free(&ctx);
	if (rc < 0) {
		topology_free(topo);
		return rc;
	}
	*out = topo;
	return 0;
}

/* Reads at most TOPO_FILE_MAX_BYTES + 1: one more says it is too big,
 * whatever stat said (a pipe has no size). */
static int read_bounded(int fd, char **data, size_t *len)
{
	size_t cap = 64 * 1024, used = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (used == cap) {
			char *bigger;

			if (cap > TOPO_FILE_MAX_BYTES)
				break;
			cap = cap * 2 > TOPO_FILE_MAX_BYTES + 1 ?
			      TOPO_FILE_MAX_BYTES + 1 : cap * 2;
			bigger = realloc(buf, cap);
			if (bigger == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			free(buf);
			return rc;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*data = buf;
	*len = used;
	return 0;
}

int topology_load(const char *path, struct topology **out, char *err,
		  size_t err_len)
{
	struct topo_ctx ctx = { .path = path, .err = err, .err_len = err_len };
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		topo_fail_line(&ctx, 0, "", "cannot read: %s", strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > TOPO_FILE_MAX_BYTES) {
		close(fd);
		topo_fail_line(&ctx, 0, "", "%lld bytes; a topology file is at"
			       " most %d bytes", (long long)st.st_size,
			       TOPO_FILE_MAX_BYTES);
		return -EFBIG;
	}
	rc = read_bounded(fd, &data, &len);
	close(fd);
	if (rc < 0) {
		topo_fail_line(&ctx, 0, "", "cannot read: %s", strerror(-rc));
		return rc;
	}
	rc = topology_load_buffer(path, data, len, out, err, err_len);
	free(data);
	return rc;
}

static void free_device(struct topo_device *dev)
{
	free(dev->pci);
	free(dev->netns);
	free(dev->bridge);
	free(dev->file);
	free(dev->size);
	free(dev->mac);
}

static void free_uplink(struct topo_uplink *up)
{
	if (up == NULL)
		return;
	free(up->address);
	free(up->gateway);
	for (unsigned i = 0; i < up->dns_count; i++)
		free(up->dns[i]);
	free(up->dns);
	free(up->mac);
	free(up->address6);
	free(up->gateway6);
	free(up);
}

static void free_firewall(struct topo_firewall *fw)
{
	if (fw == NULL)
		return;
	for (unsigned i = 0; i < fw->rules_count; i++) {
		free(fw->rules[i].dst);
		free(fw->rules[i].port);
	}
	free(fw->rules);
	free(fw);
}

static void free_fields(struct topology *topo)
{
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		struct topo_driver_vm *drv = &topo->driver_vms[i];

		free(drv->name);
		free(drv->kind);
		for (unsigned j = 0; j < drv->devices_count; j++)
			free_device(&drv->devices[j]);
		free(drv->devices);
		free_uplink(drv->uplink);
		free(drv->input);
	}
	free(topo->driver_vms);
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		struct topo_app_vm *app = &topo->app_vms[i];

		free(app->name);
		free(app->image);
		free(app->template);
		free(app->disk);
		if (app->cloud_init) {
			free(app->cloud_init->user);
			for (unsigned k = 0; k < app->cloud_init->ssh_keys_count; k++)
				free(app->cloud_init->ssh_keys[k]);
			free(app->cloud_init->ssh_keys);
			free(app->cloud_init);
		}
		free(app->private_size);
		free(app->net.via);
		free(app->net.mac);
		free(app->net.ip);
		free(app->net.gateway);
		free(app->net.ipv6);
		free_firewall(app->net.firewall);
		free(app->usb.via);
		for (unsigned k = 0; k < app->usb.pins_count; k++) {
			free(app->usb.pins[k].vidpid);
			free(app->usb.pins[k].serial);
			free(app->usb.pins[k].port);
		}
		free(app->usb.pins);
		free(app->storage.via);
		free(app->storage.size);
	}
	free(topo->app_vms);
	for (unsigned i = 0; i < topo->talk_count; i++) {
		free(topo->talk[i].a);
		free(topo->talk[i].b);
	}
	free(topo->talk);
	if (topo->host_port) {
		free(topo->host_port->via);
		free(topo->host_port->mac);
		free(topo->host_port->ip);
		free(topo->host_port->gateway);
		free(topo->host_port->netns);
		free(topo->host_port);
	}
	free(topo->name);
	free(topo->path);
}

void topology_free(struct topology *topo)
{
	if (topo == NULL)
		return;
	free_fields(topo);
	free(topo);
}

bool topology_name_valid(const char *s)
{
	return topo_name_valid(s);
}

bool topology_template_name_valid(const char *s)
{
	return topo_template_name_valid(s);
}

const struct topo_driver_vm *topology_driver_vm(const struct topology *topo,
						const char *name)
{
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		if (strcmp(topo->driver_vms[i].name, name) == 0)
			return &topo->driver_vms[i];
	}
	return NULL;
}

const struct topo_app_vm *topology_app_vm(const struct topology *topo,
					  const char *name)
{
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		if (strcmp(topo->app_vms[i].name, name) == 0)
			return &topo->app_vms[i];
	}
	return NULL;
}

struct topo_attach topology_attach(const struct topo_app_vm *app,
				   enum topo_attach_class class)
{
	switch (class) {
	case TOPO_ATTACH_NET:
		return (struct topo_attach){ app->net.via, app->net.via_line };
	case TOPO_ATTACH_USB:
		return (struct topo_attach){ app->usb.via, app->usb.via_line };
	case TOPO_ATTACH_STORAGE:
		return (struct topo_attach){ app->storage.via,
					     app->storage.via_line };
	default:
		return (struct topo_attach){ NULL, 0 };
	}
}

const char *topology_attach_name(enum topo_attach_class class)
{
	static const char *const names[TOPO_ATTACH_CLASSES] = {
		[TOPO_ATTACH_NET] = "net",
		[TOPO_ATTACH_USB] = "usb",
		[TOPO_ATTACH_STORAGE] = "storage",
	};

	return (unsigned)class < TOPO_ATTACH_CLASSES ? names[class] : "?";
}

bool topology_serves(const char *drv, const struct topo_app_vm *app,
		     enum topo_attach_class class)
{
	struct topo_attach at = topology_attach(app, class);

	return at.via != NULL && strcmp(at.via, drv) == 0;
}

bool topology_emulated_nic(enum topo_emulated_model model)
{
	return model == TOPO_EMULATED_E1000E || model == TOPO_EMULATED_IGB;
}

bool topology_usb_busid_valid(const char *s)
{
	unsigned digits = 0, parts = 0;
	bool dash = false;
	if (strlen(s) > 20)
		return false;
	for (const char *p = s;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (++digits > 3)
				return false;
			continue;
		}
		if (digits == 0)
			return false;
		digits = 0;
		parts++;
		if (*p == '\0')
			return dash && parts <= 6;
		if (*p == '-' && !dash)
			dash = true;
		else if (*p != '.' || !dash)
			return false;
	}
}

bool topology_usb_serial_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

bool topology_emulated_disk(enum topo_emulated_model model)
{
	return model == TOPO_EMULATED_NVME || model == TOPO_EMULATED_USB_STORAGE;
}

bool topology_emulated_usb(enum topo_emulated_model model)
{
	return model >= TOPO_EMULATED_USB_STORAGE &&
	       model <= TOPO_EMULATED_USB_MOUSE;
}

const char *topology_emulated_name(enum topo_emulated_model model)
{
	switch (model) {
	case TOPO_EMULATED_E1000E:
		return "e1000e";
	case TOPO_EMULATED_IGB:
		return "igb";
	case TOPO_EMULATED_NVME:
		return "nvme";
	case TOPO_EMULATED_USB_STORAGE:
		return "usb-storage";
	case TOPO_EMULATED_USB_KBD:
		return "usb-kbd";
	case TOPO_EMULATED_USB_TABLET:
		return "usb-tablet";
	case TOPO_EMULATED_USB_MOUSE:
		return "usb-mouse";
	default:
		return "none";
	}
}
