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
#include "state_files.h"

int app_byo_paths(const struct plan_dirs *dirs, const char *vm,
		  struct app_byo *out)
{
	memset(out, 0, sizeof(*out));
	int rc = app_disks_paths(dirs, vm, &out->disks);
	rc = rc ? rc : app_disks_join(out->disk, sizeof(out->disk), out->disks.dir,
			    APP_BYO_DISK);
	return rc ? rc : app_disks_join(out->seed, sizeof(out->seed), out->disks.dir,
			      APP_BYO_SEED);
}

/* The VM's disk from the person's image, once: checked (disk_image.h)
 * and copied from the descriptor the check read, as /dev/fd/N, so that
 * what is copied is what was checked; the format is stated, never
 * probed. */
static int copy_image(struct app_byo *b, const char *image, char *err,
		      size_t err_len)
{
	struct disk_image img;
	int fd;
	int rc = disk_image_open(image, &fd, &img, err, err_len);
	if (rc)
		return rc;
	char src[32], why[512];
	snprintf(src, sizeof(src), "/dev/fd/%d", fd);
	/* qemu-img inherits it (posix_spawn keeps what is not close-on-exec). */
	if (fcntl(fd, F_SETFD, 0) < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", image, strerror(errno));
		close(fd);
		return rc;
	}
	char *argv[] = { "qemu-img", "convert", "-q", "-f",
			 (char *)disk_format_name(img.format), "-O", "qcow2",
			 src, "@OUT@", NULL };
	printf("up: copying %s (%s, %llu MiB) into %s\n", image,
	       disk_format_name(img.format),
	       (unsigned long long)(img.virtual_bytes >> 20), b->disk);
	fflush(stdout);
	rc = app_disks_qemu_img(argv, b->disk, why, sizeof(why));
	close(fd);
	if (rc)
		snprintf(err, err_len, "%s: copying it failed: %s", image, why);
	return rc;
}

/* The seed's files in a directory of their own, then genisoimage. */
static int write_seed(struct app_byo *b, const struct topo_app_vm *app,
		      char *err, size_t err_len)
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
	rc = app_disks_qemu_img(argv, b->seed, err, err_len);
	remove_tree(dir);
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
	} else if ((rc = copy_image(b, app->disk, err, err_len))) {
		return rc;
	}
	return write_seed(b, app, err, err_len);
}
