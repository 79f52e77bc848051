#define _GNU_SOURCE
#include "app_byo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloud_seed.h"
#include "disk_image.h"
#include "host_net.h"
#include "state_files.h"

int app_byo_paths(const struct plan_dirs *dirs, const char *vm,
		  struct app_byo *out)
{
	memset(out, 0, sizeof(*out));
	int rc = app_disks_paths(dirs, vm, &out->disks);
	rc = rc ? rc : app_disks_join(out->disk, sizeof(out->disk), out->disks.dir,
			    APP_BYO_DISK);
	rc = rc ? rc : app_disks_join(out->nvram, sizeof(out->nvram),
				      out->disks.dir, APP_BYO_NVRAM);
	return rc ? rc : app_disks_join(out->seed, sizeof(out->seed), out->disks.dir,
			      APP_BYO_SEED);
}

/* OVMF's variable store is half a MiB: read whole, written whole. Its
 * code is 2 or 4 MiB; anything past this is no firmware image. */
#define NVRAM_MAX_BYTES (4u << 20)
#define CODE_MAX_BYTES (64u << 20)

/* PATH, an OVMF file, opened: a regular file of 1 byte..MAX; its size. */
static int open_firmware(const char *path, off_t max, size_t *len, char *err,
			 size_t err_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s (firmware: uefi needs Debian's"
			 " ovmf)", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > max) {
		snprintf(err, err_len, "%s: %s of %lld bytes, not OVMF's",
			 path, S_ISREG(st.st_mode) ? "a file" :
			 "no regular file", (long long)st.st_size);
		close(fd);
		return -EINVAL;
	}
	*len = (size_t)st.st_size;
	return fd;
}

/* Whether PATH passes open_firmware (nothing read). */
static int firmware_there(const char *path, off_t max, char *err,
			  size_t err_len)
{
	size_t len;
	int fd = open_firmware(path, max, &len, err, err_len);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int app_byo_firmware_check(char *err, size_t err_len)
{
	int rc = firmware_there(APP_BYO_OVMF_CODE, CODE_MAX_BYTES, err, err_len);
	return rc ? rc : firmware_there(APP_BYO_OVMF_VARS, NVRAM_MAX_BYTES,
					err, err_len);
}

static int read_vars_template(char **buf, size_t *len, char *err,
			      size_t err_len)
{
	int fd = open_firmware(APP_BYO_OVMF_VARS, NVRAM_MAX_BYTES, len, err,
			       err_len);
	if (fd < 0)
		return fd;
	*buf = malloc(*len);
	ssize_t n = *buf ? read(fd, *buf, *len) : -1;
	int e = n < 0 ? errno : EIO;
	close(fd);
	if (n != (ssize_t)*len) {
		snprintf(err, err_len, "%s: %s", APP_BYO_OVMF_VARS, strerror(e));
		free(*buf);
		*buf = NULL;
		return -e;
	}
	return 0;
}

int app_byo_nvram(struct app_byo *b, const char *vm, char *err,
		  size_t err_len)
{
	char *vars = NULL, tmp[PATH_MAX];
	size_t len = 0;
	/* The code checked here, the store as it is read: each file once. */
	int rc = firmware_there(APP_BYO_OVMF_CODE, CODE_MAX_BYTES, err, err_len);
	rc = rc ? rc : read_vars_template(&vars, &len, err, err_len);
	if (rc)
		return rc;
	struct stat st;
	if (lstat(b->nvram, &st) == 0) {
		free(vars);
		if (!S_ISREG(st.st_mode) || (size_t)st.st_size != len) {
			snprintf(err, err_len, "%s: %s of %lld bytes, not %s's"
				 " UEFI variable store (%zu bytes, as %s);"
				 " remove it to start %s with fresh variables",
				 b->nvram, S_ISREG(st.st_mode) ? "a file" :
				 "no regular file", (long long)st.st_size, vm,
				 len, APP_BYO_OVMF_VARS, vm);
			return -EINVAL;
		}
		/* Root's, 0600 whatever a run left (libvirt gives it back at
		 * stop, but not if it died meanwhile). */
		return app_disks_hand(b->nvram, 0, err, err_len);
	}
	if (errno != ENOENT) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", b->nvram, strerror(errno));
		free(vars);
		return rc;
	}
	rc = app_disks_join(tmp, sizeof(tmp), b->disks.dir, APP_BYO_NVRAM ".new");
	int fd = -1;
	if (!rc) {
		/* The directory is root's: nothing of the VM's is in the way. */
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		rc = fd < 0 ? -errno : 0;
	}
	if (!rc) {
		ssize_t w = write(fd, vars, len);
		rc = w < 0 ? -errno : (size_t)w != len ? -EIO : 0;
	}
	/* Root's group, not the setgid directory's (the VM's): libvirt
	 * gives the file back at stop to the owner it found. */
	if (!rc && fchown(fd, 0, 0) < 0)
		rc = -errno;
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, b->nvram) < 0)
		rc = -errno;
	free(vars);
	if (rc) {
		snprintf(err, err_len, "%s: %s", b->nvram, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

/* When the VM's uid may not read the checked file itself (qemu-img
 * opens /dev/fd/N afresh, and the kernel checks the file's mode against
 * the opener): its bytes, from the descriptor the check read, into
 * STAGED, root's and the VM's group's, 0640 (readable by the VM's uid,
 * writable by nobody but root); *FD then reads STAGED. */
static int stage_image(int *fd, const char *staged, uid_t uid, char *err,
		       size_t err_len)
{
	struct stat st;
	if (fstat(*fd, &st) < 0)
		return -errno;
	if ((st.st_mode & S_IROTH) ||
	    (st.st_uid == uid && (st.st_mode & S_IRUSR)))
		return 0;
	unlink(staged);
	int out = open(staged, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		       O_NOFOLLOW, 0600);
	if (out < 0) {
		snprintf(err, err_len, "%s: %s", staged, strerror(errno));
		return -errno;
	}
	int rc = 0;
	loff_t in_off = 0;
	while (!rc && in_off < st.st_size) {
		ssize_t n = copy_file_range(*fd, &in_off, out, NULL,
					    (size_t)(st.st_size - in_off), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
	}
	if (!rc && (fchown(out, 0, uid) < 0 || fchmod(out, 0640) < 0))
		rc = -errno;
	if (rc) {
		snprintf(err, err_len, "%s: %s", staged, strerror(-rc));
		close(out);
		unlink(staged);
		return rc;
	}
	close(*fd);
	*fd = out;
	return 0;
}

/* The VM's disk from the person's image, once: checked (disk_image.h)
 * and copied from the descriptor the check read, as /dev/fd/N, so that
 * what is copied is what was checked; the format is stated, never
 * probed. The copy (qemu-img's parser of the person's file) runs as the
 * VM's own uid, so an image that exploits qemu-img holds what that VM's
 * QEMU holds and no more: root makes a blank qcow2 of the checked size,
 * hands it to the uid, the uid's qemu-img converts into it (-n: it
 * creates nothing; it cannot in the VM's directory), root takes it back
 * (0600) and renames it into place. */
int app_byo_copy(struct app_byo *b, const char *image, uid_t uid, char *err,
		 size_t err_len)
{
	struct disk_image img;
	int fd;
	char tmp[PATH_MAX], staged[PATH_MAX], why[512];
	if (uid == 0) {
		snprintf(err, err_len, "%s: no copy as root", image);
		return -EPERM;
	}
	int n = snprintf(tmp, sizeof(tmp), "%s.new", b->disk);
	int m = snprintf(staged, sizeof(staged), "%s.in", b->disk);
	if (n < 0 || (size_t)n >= sizeof(tmp) || m < 0 ||
	    (size_t)m >= sizeof(staged)) {
		snprintf(err, err_len, "%s: %s", b->disk, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	int rc = disk_image_open(image, &fd, &img, err, err_len);
	if (rc)
		return rc;
	rc = stage_image(&fd, staged, uid, why, sizeof(why));
	if (rc) {
		snprintf(err, err_len, "%s: copying it failed: %s", image, why);
		close(fd);
		return rc;
	}
	char src[32], size[32];
	snprintf(src, sizeof(src), "/dev/fd/%d", fd);
	snprintf(size, sizeof(size), "%llu",
		 (unsigned long long)img.virtual_bytes);
	char *create[] = { "qemu-img", "create", "-q", "-f", "qcow2", tmp, size,
			   NULL };
	char *convert[] = { "qemu-img", "convert", "-q", "-n", "-f",
			    (char *)disk_format_name(img.format), "-O", "qcow2",
			    src, tmp, NULL };
	printf("up: copying %s (%s, %llu MiB) into %s as uid %u\n", image,
	       disk_format_name(img.format),
	       (unsigned long long)(img.virtual_bytes >> 20), b->disk,
	       (unsigned)uid);
	fflush(stdout);
	unlink(tmp);
	rc = run_command(create, why, sizeof(why));
	rc = rc ? rc : app_disks_hand(tmp, uid, why, sizeof(why));
	rc = rc ? rc : run_command_as(convert, uid, fd, why, sizeof(why));
	rc = rc ? rc : app_disks_hand(tmp, 0, why, sizeof(why));
	if (!rc && rename(tmp, b->disk) < 0) {
		rc = -errno;
		snprintf(why, sizeof(why), "%s: %s", tmp, strerror(errno));
	}
	close(fd);
	unlink(staged);
	if (rc) {
		unlink(tmp);
		snprintf(err, err_len, "%s: copying it failed: %s", image, why);
	}
	return rc;
}

/* The seed's files in a directory of their own, then genisoimage; the
 * ISO root's and the VM's group's, 0640: its QEMU reads it through the
 * group and libvirt never relabels it (domain_xml.c), so no run leaves
 * it the VM's. */
static int write_seed(struct app_byo *b, const struct topo_app_vm *app,
		      gid_t gid, char *err, size_t err_len)
{
	struct cloud_seed seed;
	char dir[PATH_MAX];
	if (cloud_seed_make(app, b->disks.machine_id, &seed)) {
		snprintf(err, err_len, "%s: the seed: out of memory", app->name);
		return -ENOMEM;
	}
	const char *names[] = { "meta-data", "user-data", "network-config" };
	const char *texts[] = { seed.meta_data, seed.user_data,
				seed.network_config };
	char files[3][PATH_MAX];
	int rc = app_disks_join(dir, sizeof(dir), b->disks.dir, "seed.d");
	if (!rc) {
		remove_tree(dir);
		rc = mkdir(dir, 0700) ? -errno : 0;
	}
	for (int i = 0; !rc && i < 3; i++) {
		rc = app_disks_join(files[i], sizeof(files[i]), dir, names[i]);
		rc = rc ? rc : write_file(files[i], texts[i], 0600);
	}
	cloud_seed_free(&seed);
	if (rc) {
		snprintf(err, err_len, "%s: %s", dir, strerror(-rc));
		remove_tree(dir);
		return rc;
	}
	/* ISO 9660 with Rock Ridge and Joliet names, volume cidata: what
	 * cloud-init's NoCloud looks for (and cloud-localds makes). */
	char *argv[] = { "genisoimage", "-quiet", "-output", "@OUT@", "-volid",
			 "cidata", "-joliet", "-rock", files[0], files[1],
			 files[2], NULL };
	rc = app_disks_make(argv, b->seed, err, err_len);
	remove_tree(dir);
	int fd = rc ? -1 : open(b->seed, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (!rc && (fd < 0 || fchown(fd, 0, gid) < 0 || fchmod(fd, 0640) < 0)) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", b->seed, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int app_byo_prepare(struct app_byo *b, const char *data_root,
		    const struct topo_app_vm *app, uid_t uid, char *err,
		    size_t err_len)
{
	int rc = app_disks_own(&b->disks, data_root, uid, err, err_len);
	if (rc)
		return rc;
	struct stat st;
	if (lstat(b->disk, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, err_len, "%s: not a regular file; refusing"
				 " to use it as %s's disk", b->disk, app->name);
			return -EPERM;
		}
	} else if (errno != ENOENT) {
		snprintf(err, err_len, "%s: %s", b->disk, strerror(errno));
		return -errno;
	} else if ((rc = app_byo_copy(b, app->disk, uid, err, err_len))) {
		return rc;
	}
	if (app->firmware == TOPO_FIRMWARE_UEFI &&
	    (rc = app_byo_nvram(b, app->name, err, err_len)))
		return rc;
	/* The VM's gid is its uid (vm_ids.h). */
	return write_seed(b, app, (gid_t)uid, err, err_len);
}
