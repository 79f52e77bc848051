#include "app_disks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_image.h"
#include "host_net.h"
#include "state_files.h"

int app_disks_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int app_disks_paths(const struct plan_dirs *dirs, const char *vm,
		    struct app_disks *out)
{
	memset(out, 0, sizeof(*out));
	int rc = app_disks_join(out->dir, sizeof(out->dir), dirs->data, vm);
	rc = rc ? rc : app_disks_join(out->root, sizeof(out->root), out->dir, APP_DISK_ROOT);
	return rc ? rc : app_disks_join(out->private_vol, sizeof(out->private_vol),
			      out->dir, APP_DISK_PRIVATE);
}

/* DIR/NAME's first line when it is LEN lower-case hex digits, else "". */
static void read_hex(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX];
	out[0] = '\0';
	if (app_disks_join(path, sizeof(path), dir, name))
		return;
	char *text = read_text(path);
	if (!text)
		return;
	text[strcspn(text, "\n")] = '\0';
	if (hex_text(text, len - 1))
		snprintf(out, len, "%s", text);
	free(text);
}

void app_disks_read(struct app_disks *d)
{
	read_hex(d->dir, APP_DISK_MACHINE_ID, d->machine_id,
		 sizeof(d->machine_id));
	read_hex(d->dir, APP_DISK_TEMPLATE, d->template_version,
		 sizeof(d->template_version));
}

/* The machine id systemd takes from the command line: 128 random bits. */
static int make_machine_id(struct app_disks *d, char *err, size_t err_len)
{
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(err, err_len, "getrandom: %s", strerror(errno));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(d->machine_id + 2 * i, 3, "%02x", raw[i]);
	char path[PATH_MAX], text[34];
	snprintf(text, sizeof(text), "%s\n", d->machine_id);
	int rc = app_disks_join(path, sizeof(path), d->dir, APP_DISK_MACHINE_ID);
	rc = rc ? rc : write_file(path, text, 0600);
	if (rc)
		snprintf(err, err_len, "%s/" APP_DISK_MACHINE_ID ": %s", d->dir,
			 strerror(-rc));
	return rc;
}

/* A command ARGV (qemu-img, genisoimage) writing PATH (through PATH.new, renamed when whole), the
 * result root's and 0600: libvirt hands it to the VM's uid while the VM
 * runs and gives it back after, so between runs nothing running as that
 * uid reaches it. */
int app_disks_make(char **argv, const char *path, char *err,
		       size_t err_len)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], "@OUT@"))
			argv[i] = tmp;
	int rc = run_command(argv, err, err_len);
	if (!rc && (chmod(tmp, 0600) < 0 || rename(tmp, path) < 0)) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", tmp, strerror(errno));
	}
	if (rc)
		unlink(tmp);
	return rc;
}

int app_disks_hand(const char *path, uid_t owner, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
		      O_NONBLOCK);
	struct stat st;
	int rc = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EPERM;
	else if (fchown(fd, owner, owner) < 0 || fchmod(fd, 0600) < 0)
		rc = -errno;
	if (rc)
		snprintf(err, err_len, "%s: %s", path, rc == -EPERM ?
			 "not a regular file" : strerror(-rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

int app_disks_private_fits(const char *path, uint32_t private_mib,
			   uint64_t *have, char *err, size_t err_len)
{
	struct disk_image img;
	int fd;
	/* The VM's QEMU wrote this file: its header is read once, by the
	 * checked parser, before anything else opens it. */
	if (disk_image_open(path, &fd, &img, err, err_len))
		return -EBADMSG;
	close(fd);
	if (img.format != DISK_FORMAT_QCOW2) {
		snprintf(err, err_len, "%s: not a qcow2 image any more (its"
			 " header was rewritten)", path);
		return -EBADMSG;
	}
	*have = img.virtual_bytes;
	if ((uint64_t)private_mib << 20 < img.virtual_bytes) {
		snprintf(err, err_len, "private: %uM is smaller than the private"
			 " volume %s (%lluM); a private volume is never shrunk"
			 " (its file system would be cut): say %lluM or more, or"
			 " remove it to start over", (unsigned)private_mib, path,
			 (unsigned long long)(img.virtual_bytes >> 20),
			 (unsigned long long)(img.virtual_bytes >> 20));
		return -EINVAL;
	}
	return 0;
}

/* PRIVATE_MIB over the volume's size: qemu-img grows it as the VM's uid
 * (it parses a file the VM wrote), handed over and taken back; the guest
 * grows its file system to it at boot (bk-private). */
static int grow_private(const struct app_disks *d, uint32_t private_mib,
			uint64_t have, uid_t uid, char *err, size_t err_len)
{
	char size[32], why[512];
	snprintf(size, sizeof(size), "%uM", (unsigned)private_mib);
	char *resize[] = { "qemu-img", "resize", "-q", "-f", "qcow2",
			   (char *)d->private_vol, size, NULL };
	int rc = app_disks_hand(d->private_vol, uid, why, sizeof(why));
	rc = rc ? rc : run_command_as(resize, uid, -1, why, sizeof(why));
	int back = app_disks_hand(d->private_vol, 0, why, sizeof(why));
	rc = rc ? rc : back;
	if (rc)
		snprintf(err, err_len, "%s: growing it to %s failed: %s",
			 d->private_vol, size, why);
	else
		printf("up: private volume %s grown from %lluM to %s\n",
		       d->private_vol, (unsigned long long)(have >> 20), size);
	return rc;
}

int app_disks_own(struct app_disks *d, const char *data_root, uid_t uid,
		  char *err, size_t err_len)
{
	char topo_dir[PATH_MAX];
	snprintf(topo_dir, sizeof(topo_dir), "%s", d->dir);
	char *slash = strrchr(topo_dir, '/');
	if (slash)
		*slash = '\0';
	int rc = own_dir(data_root, 0711, 0, err, err_len);
	rc = rc ? rc : own_dir(topo_dir, 0711, 0, err, err_len);
	rc = rc ? rc : own_dir(d->dir, 02750, uid, err, err_len);
	if (rc)
		return rc;
	app_disks_read(d);
	return d->machine_id[0] ? 0 : make_machine_id(d, err, err_len);
}

int app_disks_prepare(struct app_disks *d, const char *data_root,
		      const struct app_template *t, uint32_t private_mib,
		      bool disposable, uid_t uid, char *err, size_t err_len)
{
	int rc = disposable ? app_disks_drop(d, err, err_len) : 0;
	rc = rc ? rc : app_disks_own(d, data_root, uid, err, err_len);
	if (rc)
		return rc;
	/* The overlay names the version's file, never "current": a template
	 * rebuilt meanwhile changes nothing under a running VM. */
	char *overlay[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F",
			    "qcow2", "-b", (char *)t->root, "@OUT@", NULL };
	rc = app_disks_make(overlay, d->root, err, err_len);
	if (rc)
		return rc;
	char path[PATH_MAX], text[TEMPLATE_VERSION_LEN + 2];
	snprintf(text, sizeof(text), "%s\n", t->version);
	rc = app_disks_join(path, sizeof(path), d->dir, APP_DISK_TEMPLATE);
	rc = rc ? rc : write_file(path, text, 0600);
	if (rc) {
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	snprintf(d->template_version, sizeof(d->template_version), "%s",
		 t->version);
	struct stat st;
	if (lstat(d->private_vol, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, err_len, "%s: not a regular file; refusing"
				 " to use it as a private volume", d->private_vol);
			return -EPERM;
		}
		uint64_t have;
		rc = app_disks_private_fits(d->private_vol, private_mib, &have,
					    err, err_len);
		/* What the VM did to its own volume's header is its own
		 * problem (its QEMU takes no backing file from it: domain
		 * XML); it starts, its volume as it left it. */
		if (rc == -EBADMSG) {
			fprintf(stderr, "bulkhead: warning: %s; not grown\n", err);
			return 0;
		}
		if (rc || (uint64_t)private_mib << 20 == have)
			return rc;
		return grow_private(d, private_mib, have, uid, err, err_len);
	}
	char size[32];
	snprintf(size, sizeof(size), "%uM", (unsigned)private_mib);
	char *private_img[] = { "qemu-img", "create", "-q", "-f", "qcow2",
				"@OUT@", size, NULL };
	return app_disks_make(private_img, d->private_vol, err, err_len);
}

int app_disks_drop(const struct app_disks *d, char *err, size_t err_len)
{
	int rc = remove_tree(d->dir);
	if (rc)
		snprintf(err, err_len, "removing %s: %s", d->dir, strerror(-rc));
	return rc;
}
