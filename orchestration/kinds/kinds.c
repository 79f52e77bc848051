/* Every driver-VM kind there is: adding one is adding its folder and its
 * line here (kind.h). */
#include "kind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_kind.h"
#include "storage/storage_kind.h"
#include "usb/usb_kind.h"
#include "state_paths.h"
#include "strbuf.h"
#if BULKHEAD_TEST_KINDS
#include "dummy_kind.h"
#endif

static const struct driver_kind *const kinds[] = {
	&net_kind,
	&storage_kind,
	&usb_kind,
#if BULKHEAD_TEST_KINDS
	&dummy_kind,    /* tests/kinds/dummy/: a kind in one folder */
#endif
};

#define KINDS_COUNT (sizeof(kinds) / sizeof(kinds[0]))

const struct driver_kind *driver_kind_named(const char *name)
{
	for (size_t i = 0; i < KINDS_COUNT; i++)
		if (!strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

const struct driver_kind *driver_kind_of(const struct topo_driver_vm *drv)
{
	return driver_kind_named(drv->kind);
}

void kind_app_parts_free(struct app_parts_text *parts)
{
	free(parts->devices);
	free(parts->overrides);
	free(parts->cmdline);
	*parts = (struct app_parts_text){ 0 };
}

int kind_app_devices(const struct topology *topo, const struct topo_app_vm *app,
		     const struct domain_env *env, struct app_parts_text *out,
		     char *err, size_t err_len)
{
	struct app_parts p = { 0 };
	int rc = 0;
	strbuf_printf(&p.devices, "%s", "");
	strbuf_printf(&p.overrides, "%s", "");
	strbuf_printf(&p.cmdline, "%s", "");
	/* In class order: net's interface first, as it always was. */
	for (unsigned c = 0; c < TOPO_ATTACH_CLASSES; c++) {
		struct topo_attach at = topology_attach(app, c);
		const struct topo_driver_vm *drv = at.via ?
			topology_driver_vm(topo, at.via) : NULL;
		const struct driver_kind *kind = drv ? driver_kind_of(drv) : NULL;
		if (kind && kind->app_devices)
			rc = rc ? rc : kind->app_devices(topo, drv, app, env, &p);
	}
	out->devices = domain_finish(&p.devices, err, err_len, rc, app->name);
	out->overrides = domain_finish(&p.overrides, err, err_len, rc, app->name);
	out->cmdline = domain_finish(&p.cmdline, err, err_len, rc, app->name);
	if (out->devices && out->overrides && out->cmdline)
		return 0;
	kind_app_parts_free(out);
	return rc ? rc : -ENOMEM;
}

json_object *kind_status_at(json_object *live, const char *path)
{
	char key[64];
	while (live && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_is_type(live, json_type_object) ||
		    !json_object_object_get_ex(live, key, &live))
			return NULL;
		path += n + (path[n] == '.');
	}
	return live;
}

long long kind_status_int(json_object *live, const char *path)
{
	return (long long)json_object_get_int64(kind_status_at(live, path));
}

bool kind_status_bool(json_object *live, const char *path)
{
	return json_object_get_boolean(kind_status_at(live, path));
}

struct link_spec *kind_link_worker(struct link_set *set,
				   const struct link_env *env,
				   const struct driver_kind *kind,
				   const struct topo_driver_vm *drv,
				   const char *name, const char *binary)
{
	struct link_spec *s = link_set_add(set);
	if (!s)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->kind, sizeof(s->kind), "%s", kind->name);
	snprintf(s->driver_vm, sizeof(s->driver_vm), "%s", drv->name);
	snprintf(s->binary, sizeof(s->binary), "%s/%s", env->worker_dir, binary);
	state_ctl_path(env->dirs, name, s->control, sizeof(s->control));
	/* Both fit: the names and paths are bounded well below the room. */
	link_spec_arg(s, "--control");
	link_spec_arg(s, "%s", s->control);
	link_spec_arg(s, "--name");
	link_spec_arg(s, "%s", name);
	return s;
}

/* DEV's disk file, opened without following a symbolic link (so that
 * what is handed to the VM's uid below is that file): made, sparse, of
 * its size when missing (*MADE). The descriptor, or -errno. */
static int open_disk(const struct topo_device *dev, bool *made)
{
	int fd = open(dev->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		      O_NOFOLLOW, 0600);
	*made = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(dev->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
			  O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (*made && ftruncate(fd, (off_t)dev->size_mib << 20) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int kind_prepare_disk_files(struct run *r, const struct topo_driver_vm *drv)
{
	uid_t uid;
	int rc = run_vm_uid(r, drv->name, &uid);
	for (unsigned i = 0; !rc && i < drv->devices_count; i++) {
		const struct topo_device *dev = &drv->devices[i];
		struct stat st;
		bool made;
		if (!topology_emulated_disk(dev->emulated))
			continue;
		int fd = open_disk(dev, &made);
		rc = fd < 0 ? fd : fstat(fd, &st) < 0 ? -errno :
		     !S_ISREG(st.st_mode) ? -EINVAL :
		     fchown(fd, uid, uid) < 0 || fchmod(fd, 0600) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		if (rc)
			snprintf(r->err, sizeof(r->err), "%s: its disk %s: %s",
				 drv->name, dev->file,
				 rc == -ELOOP ? "a symbolic link, not a disk file" :
				 rc == -EINVAL ? "not a regular file" : strerror(-rc));
		else if (made)
			printf("up: %s: made its disk %s (%u MiB, sparse)\n",
			       drv->name, dev->file, dev->size_mib);
	}
	return rc;
}

/* The kinds, for a message: "net, dummy", or "none here". Those whose
 * serves, takes or emulated_models meets the matching mask; all of them
 * when every mask is 0. */
static void kind_list(unsigned serves, unsigned takes, unsigned models,
		      char *out, size_t out_len)
{
	bool all = !serves && !takes && !models;
	size_t len = 0;

	out[0] = '\0';
	for (size_t k = 0; k < KINDS_COUNT && len < out_len; k++)
		if (all || (kinds[k]->serves & serves) ||
		    (kinds[k]->takes & takes) ||
		    (kinds[k]->emulated_models & models))
			len += (size_t)snprintf(out + len, out_len - len, "%s%s",
						len ? ", " : "", kinds[k]->name);
	if (len == 0)
		snprintf(out, out_len, "none here");
}

/* APP's attachment of CLASS (when it has one) names a driver VM of a kind
 * that serves CLASS. The names were checked by topology_load (safe to
 * show, and each names a driver VM). */
static int check_attach(const struct topology *topo, unsigned i,
			enum topo_attach_class class, char *err, size_t err_len)
{
	struct topo_attach at = topology_attach(&topo->app_vms[i], class);
	const struct topo_driver_vm *drv;
	const struct driver_kind *kind;
	const char *name = topology_attach_name(class);
	char serving[128];

	if (at.via == NULL)
		return 0;
	drv = topology_driver_vm(topo, at.via);
	kind = drv ? driver_kind_of(drv) : NULL;
	if (kind == NULL || kind->serves & KIND_SERVES(class))
		return 0;
	kind_list(KIND_SERVES(class), 0, 0, serving, sizeof(serving));
	/* Version 1 names the driver VM at the app VM's "net". */
	snprintf(err, err_len, "%s:%u: app-vms[%u].%s%s: '%s' is a %s driver"
		 " VM, which serves no %s (kinds that do: %s)", topo->path,
		 at.via_line, i, name, topo->version == 1 ? "" : ".via", at.via,
		 kind->name, name, serving);
	return -EINVAL;
}


/* Driver VM I's entry gives what its kind takes. */
static int check_section(const struct topology *topo, unsigned i,
			 const struct driver_kind *kind, char *err,
			 size_t err_len)
{
	const struct topo_driver_vm *d = &topo->driver_vms[i];
	char who[128];

	if ((kind->takes & KIND_NEEDS_DEVICES) && d->devices_count == 0) {
		snprintf(err, err_len, "%s:%u: driver-vms[%u].devices: %s; a %s"
			 " driver VM needs at least one", topo->path,
			 d->devices_line ? d->devices_line : d->line, i,
			 d->devices_line ? "0 entries" : "missing", kind->name);
		return -EINVAL;
	}
	const struct { unsigned bit; const char *key; unsigned line; } keys[] = {
		{ KIND_TAKES_DEVICES, "devices", d->devices_line },
		{ KIND_TAKES_UPLINK, "uplink", d->uplink_line },
		{ KIND_TAKES_INPUT, "input", d->input_line },
	};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if ((kind->takes & keys[k].bit) || !keys[k].line)
			continue;
		kind_list(0, keys[k].bit, 0, who, sizeof(who));
		snprintf(err, err_len, "%s:%u: driver-vms[%u].%s: a %s driver VM"
			 " takes none (kinds that do: %s)", topo->path,
			 keys[k].line, i, keys[k].key, kind->name, who);
		return -EINVAL;
	}
	for (unsigned j = 0; j < d->devices_count; j++) {
		enum topo_emulated_model m = d->devices[j].emulated;

		if (m == TOPO_EMULATED_NONE ||
		    kind->emulated_models & KIND_MODEL(m))
			continue;
		kind_list(0, 0, KIND_MODEL(m), who, sizeof(who));
		snprintf(err, err_len, "%s:%u: driver-vms[%u].devices[%u].emulated:"
			 " a %s driver VM emulates no '%s' (kinds that do: %s)",
			 topo->path, d->devices[j].line, i, j, kind->name,
			 topology_emulated_name(m), who);
		return -EINVAL;
	}
	return 0;
}

int driver_kinds_check(const struct topology *topo, char *err, size_t err_len)
{
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *d = &topo->driver_vms[i];
		const struct driver_kind *kind = driver_kind_of(d);
		if (kind) {
			int rc = check_section(topo, i, kind, err, err_len);
			if (rc < 0)
				return rc;
			continue;
		}
		char names[128];
		kind_list(0, 0, 0, names, sizeof(names));
		/* The kind was checked to be a name (topology_load): safe
		 * to show. */
		snprintf(err, err_len, "%s:%u: driver-vms[%u].kind: '%s' is not"
			 " one of %s", topo->path, d->kind_line, i, d->kind, names);
		return -EINVAL;
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++)
		for (int c = 0; c < TOPO_ATTACH_CLASSES; c++) {
			int rc = check_attach(topo, i, (enum topo_attach_class)c,
					      err, err_len);
			if (rc < 0)
				return rc;
		}
	return 0;
}
