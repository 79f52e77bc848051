#include "dummy_kind.h"

#include <errno.h>
#include <stdio.h>

#include "strbuf.h"

/* Debian's kernel and the app image, whose agent says READY once it runs.
 * That image's init wants a NIC and an address: QEMU's user-mode one,
 * reaching nothing of the topology's. */
static void dummy_images(const struct topo_driver_vm *drv,
			 struct domain_images *out)
{
	(void)drv;
	out->kernel = "vmlinuz";
	snprintf(out->initrd, sizeof(out->initrd), "app-initramfs.cpio.gz");
}

static char *dummy_domain_xml(const struct topology *topo,
			      const struct topo_driver_vm *drv,
			      const struct domain_env *env, char *err,
			      size_t err_len)
{
	struct strbuf sb = { 0 };
	struct domain_images images = { 0 };
	dummy_images(drv, &images);
	domain_head(&sb, topo, drv->name, dummy_kind.name, drv->memory_mib,
		    drv->vcpus, env, &images,
		    "console=ttyS0 panic=-1 bk.role=app bk.ip=10.0.2.15/24");
	strbuf_printf(&sb, "  <devices>\n    <interface type='user'><model"
		      " type='virtio'/></interface>\n");
	domain_console_agent(&sb, env, drv->name);
	strbuf_printf(&sb, "  </devices>\n");
	domain_seclabels(&sb, env);
	strbuf_printf(&sb, "</domain>\n");
	return domain_finish(&sb, err, err_len, 0, drv->name);
}

/* One worker of its own that joins nothing: the supervisor runs any
 * kind's binary and arguments as given (no control socket: status says
 * so). */
static int dummy_links(const struct topology *topo,
		       const struct topo_driver_vm *drv,
		       const struct link_env *env, struct link_set *set)
{
	(void)topo;
	(void)env;
	struct link_spec *s = link_set_add(set);
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s.idle", drv->name);
	snprintf(s->kind, sizeof(s->kind), "%s", dummy_kind.name);
	snprintf(s->driver_vm, sizeof(s->driver_vm), "%s", drv->name);
	snprintf(s->binary, sizeof(s->binary), "/bin/sleep");
	return link_spec_arg(s, "infinity");
}

const struct driver_kind dummy_kind = {
	.name = "dummy",
	.images = dummy_images,
	.domain_xml = dummy_domain_xml,
	.links = dummy_links,
};
