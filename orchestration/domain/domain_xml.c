#include "domain_xml.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app_byo.h"
#include "app_template.h"
#include "boot_files.h"
#include "strbuf.h"

/* A file of VM's own directory (its boot files). */
void domain_vm_file(struct strbuf *sb, const struct domain_env *env,
		    const char *vm, const char *name)
{
	char dir[PATH_MAX];
	state_vm_dir(env->dirs, vm, dir, sizeof(dir));
	strbuf_xml(sb, dir);
	strbuf_printf(sb, "/%s", name);
}

void domain_images_app_vm(const struct topo_app_vm *app,
			  struct domain_images *out)
{
	out->nvram = NULL;
	if (app->disk) {
		out->kernel = NULL;     /* its own boot loader */
		out->initrd[0] = '\0';
		return;
	}
	if (app->template) {
		out->kernel = TEMPLATE_KERNEL;
		snprintf(out->initrd, sizeof(out->initrd), TEMPLATE_INITRD);
		return;
	}
	out->kernel = "vmlinuz";
	snprintf(out->initrd, sizeof(out->initrd), "%s-initramfs.cpio.gz",
		 app->image);
}

/* The start every domain shares: name, metadata, memory (shared memfd:
 * the link maps it), direct kernel boot. */
void domain_head(struct strbuf *sb, const struct topology *topo,
			const char *vm, const char *role, uint32_t memory_mib,
			uint32_t vcpus, const struct domain_env *env,
			const struct domain_images *images, const char *cmdline)
{
	strbuf_printf(sb, "<domain type='%s' xmlns:qemu='http://libvirt.org/"
		      "schemas/domain/qemu/1.0'>\n  <name>" PLAN_DOMAIN_PREFIX,
		      env->accel == DOMAIN_ACCEL_KVM ? "kvm" : "qemu");
	strbuf_xml(sb, vm);
	strbuf_printf(sb, "</name>\n  <metadata>\n    <bulkhead:vm xmlns:bulkhead='"
		      DOMAIN_XML_NS "'>\n      <bulkhead:topology>");
	strbuf_xml(sb, topo->name);
	strbuf_printf(sb, "</bulkhead:topology>\n      <bulkhead:role>%s"
		      "</bulkhead:role>\n      <bulkhead:accel>%s</bulkhead:accel>\n",
		      role, env->accel == DOMAIN_ACCEL_KVM ? "kvm" : "tcg");
	if (images->kernel) {
		strbuf_printf(sb, "      <bulkhead:kernel>");
		strbuf_xml(sb, images->kernel);
		strbuf_printf(sb, "</bulkhead:kernel>\n      <bulkhead:initrd>");
		strbuf_xml(sb, images->initrd);
		strbuf_printf(sb, "</bulkhead:initrd>\n");
	}
	strbuf_printf(sb, "    </bulkhead:vm>\n  </metadata>\n");
	strbuf_printf(sb, "  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n",
		      memory_mib, vcpus);
	strbuf_printf(sb, "  <memoryBacking><source type='memfd'/><access"
		      " mode='shared'/></memoryBacking>\n");
	/* The VM's own copies (boot_files.h): libvirt hands them to the
	 * VM's user while it runs. */
	strbuf_printf(sb, "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n");
	if (!images->kernel && images->nvram) {
		/* OVMF named, not chosen by libvirt (<os firmware='efi'> would
		 * take the Secure Boot build, which needs SMM); the VM's own
		 * variable store, made by app_byo_nvram. */
		strbuf_printf(sb, "    <loader readonly='yes' type='pflash'>"
			      APP_BYO_OVMF_CODE "</loader>\n    <nvram>");
		strbuf_xml(sb, images->nvram);
		strbuf_printf(sb, "</nvram>\n    <boot dev='hd'/>\n  </os>\n");
	} else if (!images->kernel) {
		/* Its own boot loader from its disk: SeaBIOS, the first disk. */
		strbuf_printf(sb, "    <boot dev='hd'/>\n  </os>\n");
	} else {
		strbuf_printf(sb, "    <kernel>");
		domain_vm_file(sb, env, vm, BOOT_KERNEL);
		strbuf_printf(sb, "</kernel>\n    <initrd>");
		domain_vm_file(sb, env, vm, BOOT_INITRD);
		strbuf_printf(sb, "</initrd>\n    <cmdline>");
		strbuf_xml(sb, cmdline);
		strbuf_printf(sb, "</cmdline>\n  </os>\n");
	}
	/* ACPI: how the guest finds fw_cfg (sys-net's configuration). */
	/* SMM off: OVMF without Secure Boot needs none, and q35 under TCG
	 * would otherwise emulate it. */
	strbuf_printf(sb, "  <features><acpi/><apic/>%s</features>\n",
		      images->nvram ? "<smm state='off'/>" : "");
	/* A guest that reboots or crashes stays down: status shows it, and
	 * start brings it back from the immutable image. */
	strbuf_printf(sb, "  <on_poweroff>destroy</on_poweroff>\n"
		      "  <on_reboot>destroy</on_reboot>\n"
		      "  <on_crash>destroy</on_crash>\n");
}

/* Console on a pty (virsh console) logged to a file (bulkhead logs), and
 * the agent's virtio-serial channel on a unix socket QEMU listens on. */
void domain_console_agent(struct strbuf *sb, const struct domain_env *env,
				 const char *vm)
{
	char path[PATH_MAX];
	state_console_log(env->dirs, vm, path, sizeof(path));
	strbuf_printf(sb, "    <serial type='pty'><log file='");
	strbuf_xml(sb, path);
	strbuf_printf(sb, "' append='on'/></serial>\n"
		      "    <console type='pty'><target type='serial'/></console>\n");
	state_agent_path(env->dirs, vm, path, sizeof(path));
	strbuf_printf(sb, "    <channel type='unix'><source mode='bind' path='");
	strbuf_xml(sb, path);
	strbuf_printf(sb, "'/><target type='virtio' name='org.bulkhead.agent'/>"
		      "</channel>\n    <memballoon model='none'/>\n");
}

void domain_vhost_user_interface(struct strbuf *sb, const char *mac,
				 const char *sock, const char *alias,
				 unsigned queues)
{
	/* QEMU is the client and reconnects (1 s) when a link restarts. */
	strbuf_printf(sb, "    <interface type='vhostuser'>\n      <mac address='%s'/>\n"
		      "      <source type='unix' path='", mac);
	strbuf_xml(sb, sock);
	strbuf_printf(sb, "' mode='client'><reconnect enabled='yes' timeout='1'/>"
		      "</source>\n      <model type='virtio'/>\n");
	/* One pair is QEMU's default: the element only for more. */
	if (queues > 1)
		strbuf_printf(sb, "      <driver queues='%u'/>\n", queues);
	strbuf_printf(sb, "      <alias name='%s'/>\n    </interface>\n", alias);
}

/* Under TCG, QEMU 7.2 crashes in msix_set_vector_notifiers when a guest
 * starts a vhost-user virtio-net with MSI-X (design.md): vectors=0. */
void domain_vectors_devices(struct strbuf *sb, const struct domain_env *env,
			    const char *alias_prefix, unsigned first, unsigned n)
{
	for (unsigned i = 0; env->accel != DOMAIN_ACCEL_KVM && i < n; i++)
		strbuf_printf(sb, "    <qemu:device alias='%s%u'><qemu:frontend>"
			      "<qemu:property name='vectors' type='unsigned'"
			      " value='0'/></qemu:frontend></qemu:device>\n",
			      alias_prefix, first + i);
}

void domain_vectors_override(struct strbuf *sb, const struct domain_env *env,
			     const char *alias_prefix, unsigned first, unsigned n)
{
	if (env->accel == DOMAIN_ACCEL_KVM || n == 0)
		return;
	strbuf_printf(sb, "  <qemu:override>\n");
	domain_vectors_devices(sb, env, alias_prefix, first, n);
	strbuf_printf(sb, "  </qemu:override>\n");
}

/* Each VM its own principal: its QEMU runs as the VM's uid and gid
 * (vm_ids.h), with no supplementary groups; relabel='yes' hands it what it
 * opens by path (its boot files, its vfio group) while it runs. Where the
 * host has AppArmor or SELinux, libvirt's sVirt confines it too. */
void domain_seclabels(struct strbuf *sb, const struct domain_env *env)
{
	strbuf_printf(sb, "  <seclabel type='static' model='dac' relabel='yes'>"
		      "<label>+%u:+%u</label></seclabel>\n", (unsigned)env->uid,
		      (unsigned)env->uid);
	if (env->sec_models & DOMAIN_SEC_APPARMOR)
		strbuf_printf(sb, "  <seclabel type='dynamic' model='apparmor'"
			      " relabel='yes'/>\n");
	if (env->sec_models & DOMAIN_SEC_SELINUX)
		strbuf_printf(sb, "  <seclabel type='dynamic' model='selinux'"
			      " relabel='yes'/>\n");
}

char *domain_finish(struct strbuf *sb, char *err, size_t err_len, int rc,
		    const char *vm)
{
	if (rc) {
		strbuf_release(sb);
		snprintf(err, err_len, "%s: a path is too long", vm);
		return NULL;
	}
	char *xml = strbuf_take(sb);
	if (!xml)
		snprintf(err, err_len, "%s: domain XML: out of memory", vm);
	return xml;
}

void domain_pci_hostdev(struct strbuf *sb, const char *bdf)
{
	unsigned dom, bus, slot, fn;
	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return; /* topology_load normalized it; cannot happen */
	/* managed='no': the bulkhead command binds vfio-pci itself, after
	 * checking the IOMMU group (orchestration/vfio.c). */
	strbuf_printf(sb, "    <hostdev mode='subsystem' type='pci' managed='no'>"
		      "<source><address domain='0x%04x' bus='0x%02x' slot='0x%02x'"
		      " function='0x%x'/></source></hostdev>\n", dom, bus, slot, fn);
}

void domain_fwcfg_config(struct strbuf *sb, const struct domain_env *env,
			 const char *vm)
{
	/* Read-only for the guest, and never on a network it serves
	 * (docs/sysnet.md). */
	strbuf_printf(sb, "  <sysinfo type='fwcfg'><entry name='opt/bulkhead/config'"
		      " file='");
	domain_vm_file(sb, env, vm, BOOT_CONFIG);
	strbuf_printf(sb, "'/></sysinfo>\n");
}

/* A virtio disk of a template VM; SERIAL is how its guest finds it
 * (/dev/disk/by-id/virtio-SERIAL). Serials are the host's to give: a
 * volume from a storage driver VM has the one bulkhead-blk answers
 * (vmm/blk), never what the driver VM says. BACKING: the template's
 * file, which libvirt must neither relabel (every VM on the template
 * reads it) nor write. */
static void template_disk(struct strbuf *sb, const char *file,
			  const char *backing, const char *target,
			  const char *serial)
{
	/* The cloud-init seed (app_byo.h) is the one raw, read-only disk. */
	bool seed = !strcmp(serial, "bk-seed");
	strbuf_printf(sb, "    <disk type='file' device='disk'>\n"
		      "      <driver name='qemu' type='%s'/>\n"
		      "      <source file='", seed ? "raw" :
		      "qcow2' discard='unmap");
	strbuf_xml(sb, file);
	/* The seed is root's, read through the VM's group (app_byo.c):
	 * nothing to hand over, and nothing left the VM's after it. */
	strbuf_printf(sb, seed ? "'><seclabel model='dac' relabel='no'/>"
		      "</source>\n" : "'/>\n");
	if (backing) {
		strbuf_printf(sb, "      <backingStore type='file'>"
			      "<format type='qcow2'/><source file='");
		strbuf_xml(sb, backing);
		strbuf_printf(sb, "'><seclabel model='dac' relabel='no'/>"
			      "</source><backingStore/></backingStore>\n");
	} else {
		/* The chain ends here whatever the file's header says: the VM's
		 * QEMU owns the file while it runs and could name another VM's
		 * disk as its backing file, which libvirt would otherwise open
		 * and hand to this VM's uid at the next start. */
		strbuf_printf(sb, "      <backingStore/>\n");
	}
	strbuf_printf(sb, "      <target dev='%s' bus='virtio'/>\n%s"
		      "      <serial>%s</serial>\n    </disk>\n", target,
		      seed ? "      <readonly/>\n" : "", serial);
}

/* qemu-guest-agent's port on a unix socket QEMU binds (only root reaches
 * its directory): how the host talks to a template VM (qga.h). */
static void template_qga(struct strbuf *sb, const char *path)
{
	strbuf_printf(sb, "    <channel type='unix'><source mode='bind' path='");
	strbuf_xml(sb, path);
	strbuf_printf(sb, "'/><target type='virtio' name='org.qemu.guest_agent.0'/>"
		      "</channel>\n");
}

char *domain_xml_app_vm(const struct topology *topo,
			const struct topo_app_vm *app,
			const struct domain_env *env, const struct app_parts_text *parts,
			const struct domain_template_boot *tb, char *err,
			size_t err_len)
{
	struct strbuf sb = { 0 };
	struct domain_images images = { 0 };
	char cmdline[512];
	domain_images_app_vm(app, &images);
	if (tb && tb->own_disk)
		images.nvram = tb->nvram;
	/* A template's systemd takes its identity from the command line: the
	 * machine id the host keeps for the VM, its name as hostname. */
	if (tb && tb->own_disk)
		cmdline[0] = '\0';     /* its boot loader's */
	else if (tb)
		/* quiet: every console line is slow under TCG; warnings and
		 * failures still show (bulkhead logs VM). */
		snprintf(cmdline, sizeof(cmdline), "console=ttyS0 root=/dev/disk/"
			 "by-id/virtio-bk-root rw quiet panic=-1"
			 " systemd.machine_id=%s"
			 " systemd.hostname=%s%s", tb->machine_id, app->name,
			 parts->cmdline);
	else
		snprintf(cmdline, sizeof(cmdline), "console=ttyS0 panic=-1"
			 " bk.role=app bk.ip=dhcp%s", parts->cmdline);
	domain_head(&sb, topo, app->name, "app", app->memory_mib, app->vcpus, env,
		    &images, cmdline);
	strbuf_printf(&sb, "  <devices>\n");
	if (tb && tb->own_disk) {
		/* Its own disk (no backing file: the chain ends here, as for a
		 * private volume), then its cloud-init seed, read-only. */
		template_disk(&sb, tb->own_disk, NULL, "vda", "bk-disk");
		template_disk(&sb, tb->seed, NULL, "vdb", "bk-seed");
		template_qga(&sb, tb->qga);
	} else if (tb) {
		template_disk(&sb, tb->root, tb->template_root, "vda", "bk-root");
		template_disk(&sb, tb->private_vol, NULL, "vdb", "bk-private");
		template_qga(&sb, tb->qga);
	}
	/* VNC on a socket libvirt makes in the domain's own directory (the
	 * VM's uid's, 0750): root reaches it, no other VM's QEMU does. */
	if (app->display)
		strbuf_printf(&sb, "    <graphics type='vnc'><listen type='socket'/>"
			      "</graphics>\n    <video><model type='virtio'"
			      " heads='1'/></video>\n"
			      "    <input type='tablet' bus='virtio'/>\n"
			      "    <input type='keyboard' bus='virtio'/>\n");
	strbuf_printf(&sb, "%s", parts->devices);
	domain_console_agent(&sb, env, app->name);
	strbuf_printf(&sb, "  </devices>\n");
	if (*parts->overrides)
		strbuf_printf(&sb, "  <qemu:override>\n%s  </qemu:override>\n",
			      parts->overrides);
	domain_seclabels(&sb, env);
	strbuf_printf(&sb, "</domain>\n");
	return domain_finish(&sb, err, err_len, 0, app->name);
}
