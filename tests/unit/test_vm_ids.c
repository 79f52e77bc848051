/* Each VM's own uid (orchestration/vm_ids.c) on this host's real user
 * database and /proc, with a registry of the test's own; and the boot
 * files a VM gets (boot_files.c): copied, verified against the manifest,
 * refused when a byte changed or the cache is not root's alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_files.h"
#include "tap.h"
#include "vm_ids.h"

struct fixture {
	char dir[PATH_MAX];
	char etc[PATH_MAX];
	struct vm_ids_host host;
};

static void fixture_init(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/bk-vm-ids-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->etc, sizeof(f->etc), "%s/etc", f->dir);
	mkdir(f->etc, 0755);
	f->host = (struct vm_ids_host){ f->dir, f->etc, "/proc" };
}

static void fixture_done(struct fixture *f)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", f->dir);
}

static void put_file(const char *dir, const char *name, const void *data,
		     size_t len, mode_t mode)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	fchmod(fd, mode);
	close(fd);
}

static void test_distinct_and_stable(struct tap *t, const void *arg)
{
	(void)arg;
	struct fixture f;
	char err[512];
	uid_t a = 0, b = 0, a2 = 0, other = 0;
	fixture_init(&f);
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "sys-net", &a, err, sizeof(err)), 0);
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "work", &b, err, sizeof(err)), 0);
	CHECK_EQ(t, vm_ids_assign(&f.host, "other", "work", &other, err, sizeof(err)), 0);
	CHECK(t, a != b && b != other && a != other);
	CHECK(t, a >= VM_IDS_FIRST && a < VM_IDS_FIRST + VM_IDS_COUNT);
	/* The same VM gets the same id again, from the record. */
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "sys-net", &a2, err, sizeof(err)), 0);
	CHECK_EQ(t, a2, a);
	CHECK_EQ(t, vm_ids_lookup(&f.host, "demo", "work", &a2, err, sizeof(err)), 0);
	CHECK_EQ(t, a2, b);
	CHECK_EQ(t, vm_ids_lookup(&f.host, "demo", "nobody", &a2, err, sizeof(err)),
		 -ENOENT);
	CHECK_STR(t, err, "demo/nobody");
	fixture_done(&f);
}

/* A process already running as the range's first id (some other program
 * chose it): that id is not given to a VM. */
static void test_running_process_skipped(struct tap *t, const void *arg)
{
	(void)arg;
	struct fixture f;
	char err[512], why[256];
	uid_t got = 0;
	if (getuid() != 0) {
		printf("# needs root\n");
		CHECK(t, false);
		return;
	}
	fixture_init(&f);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(VM_IDS_FIRST, VM_IDS_FIRST, VM_IDS_FIRST) ||
		    setresuid(VM_IDS_FIRST, VM_IDS_FIRST, VM_IDS_FIRST))
			_exit(1);
		pause();
		_exit(0);
	}
	usleep(100000);
	CHECK_EQ(t, vm_ids_unused(&f.host, VM_IDS_FIRST, why, sizeof(why)), -EBUSY);
	CHECK_STR(t, why, "process");
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "work", &got, err, sizeof(err)), 0);
	CHECK(t, got != VM_IDS_FIRST);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fixture_done(&f);
}

/* Ids handed out for user namespaces (/etc/subuid, /etc/subgid) and ids
 * of the user database are never a VM's. */
static void test_subuid_and_users_skipped(struct tap *t, const void *arg)
{
	(void)arg;
	struct fixture f;
	char err[512], why[256], line[128];
	uid_t got = 0;
	fixture_init(&f);
	int n = snprintf(line, sizeof(line), "someone:%u:16\n", VM_IDS_FIRST);
	put_file(f.etc, "subuid", line, (size_t)n, 0644);
	n = snprintf(line, sizeof(line), "someone:%u:4\n", VM_IDS_FIRST + 16);
	put_file(f.etc, "subgid", line, (size_t)n, 0644);
	CHECK_EQ(t, vm_ids_unused(&f.host, VM_IDS_FIRST + 3, why, sizeof(why)), -EBUSY);
	CHECK_STR(t, why, "subuid");
	CHECK_EQ(t, vm_ids_unused(&f.host, VM_IDS_FIRST + 17, why, sizeof(why)), -EBUSY);
	CHECK_STR(t, why, "subgid");
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "work", &got, err, sizeof(err)), 0);
	CHECK(t, got >= VM_IDS_FIRST + 20);
	/* root and nobody are users: never free. */
	CHECK_EQ(t, vm_ids_unused(&f.host, 0, why, sizeof(why)), -EBUSY);
	CHECK_STR(t, why, "user 'root'");
	CHECK_EQ(t, vm_ids_unused(&f.host, 65534, why, sizeof(why)), -EBUSY);
	fixture_done(&f);
}

/* A record that holds something else than an id of the range is an
 * error naming the file and the value, not an id to use. */
static void test_bad_record(struct tap *t, const void *arg)
{
	(void)arg;
	struct fixture f;
	char err[512];
	uid_t got = 0;
	fixture_init(&f);
	static const char bad[] = "{ \"demo/work\": 0 }";
	put_file(f.dir, "vm-ids.json", bad, sizeof(bad) - 1, 0600);
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "work", &got, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(t, err, "vm-ids.json");
	CHECK_STR(t, err, "'0'");
	static const char junk[] = "not json";
	put_file(f.dir, "vm-ids.json", junk, sizeof(junk) - 1, 0600);
	CHECK_EQ(t, vm_ids_assign(&f.host, "demo", "work", &got, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(t, err, "not a JSON object");
	fixture_done(&f);
}

/* --- boot files ------------------------------------------------------- */

struct images {
	struct fixture f;
	char images[PATH_MAX];
	char vm[PATH_MAX];
	char good[65];
};

static const char kernel_bytes[] = "a kernel, or something standing in for one";

static void images_init(struct images *im)
{
	fixture_init(&im->f);
	snprintf(im->images, sizeof(im->images), "%s/images", im->f.dir);
	snprintf(im->vm, sizeof(im->vm), "%s/vm", im->f.dir);
	mkdir(im->images, 0755);
	mkdir(im->vm, 0750);
	put_file(im->images, "vmlinuz", kernel_bytes, sizeof(kernel_bytes), 0644);
	boot_sha256_hex(kernel_bytes, sizeof(kernel_bytes), im->good);
	char manifest[256];
	int n = snprintf(manifest, sizeof(manifest),
			 "{ \"sha256\": { \"vmlinuz\": \"%s\" } }", im->good);
	put_file(im->images, "manifest.json", manifest, (size_t)n, 0644);
}

static bool same_bytes(const char *path, const void *want, size_t len)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)len && memcmp(buf, want, len) == 0;
}

static void test_boot_copy_verified(struct tap *t, const void *arg)
{
	(void)arg;
	struct images im;
	char err[1024], path[PATH_MAX];
	images_init(&im);
	snprintf(path, sizeof(path), "%s/kernel", im.vm);
	/* A link planted where the copy goes is replaced, not followed. */
	CHECK_EQ(t, symlink("/etc/passwd", path), 0);
	CHECK_EQ(t, boot_copy_image(im.images, "vmlinuz", im.vm, "kernel", err,
				    sizeof(err)), 0);
	CHECK(t, same_bytes(path, kernel_bytes, sizeof(kernel_bytes)));
	struct stat st;
	CHECK(t, lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	fixture_done(&im.f);
}

static void test_boot_flipped_byte_refused(struct tap *t, const void *arg)
{
	(void)arg;
	struct images im;
	char err[1024], path[PATH_MAX], flipped[sizeof(kernel_bytes)], bad[65];
	images_init(&im);
	memcpy(flipped, kernel_bytes, sizeof(flipped));
	flipped[7] ^= 0x01;
	boot_sha256_hex(flipped, sizeof(flipped), bad);
	put_file(im.images, "vmlinuz", flipped, sizeof(flipped), 0644);
	CHECK_EQ(t, boot_copy_image(im.images, "vmlinuz", im.vm, "kernel", err,
				    sizeof(err)), -EBADMSG);
	/* The file and both hashes, so the admin sees what changed. */
	CHECK_STR(t, err, "images/vmlinuz");
	CHECK_STR(t, err, bad);
	CHECK_STR(t, err, im.good);
	snprintf(path, sizeof(path), "%s/kernel", im.vm);
	CHECK(t, access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/.kernel.tmp", im.vm);
	CHECK(t, access(path, F_OK) != 0);
	fixture_done(&im.f);
}

static void test_boot_not_root_only_refused(struct tap *t, const void *arg)
{
	(void)arg;
	struct images im;
	char err[1024], path[PATH_MAX];
	images_init(&im);
	/* Writable by its group: someone besides root could have changed it
	 * and its hash both. */
	snprintf(path, sizeof(path), "%s/manifest.json", im.images);
	chmod(path, 0664);
	CHECK_EQ(t, boot_copy_image(im.images, "vmlinuz", im.vm, "kernel", err,
				    sizeof(err)), -EPERM);
	CHECK_STR(t, err, "manifest.json");
	CHECK_STR(t, err, "0664");
	chmod(path, 0644);
	snprintf(path, sizeof(path), "%s/vmlinuz", im.images);
	CHECK_EQ(t, chown(path, 65534, 0), 0);
	CHECK_EQ(t, boot_copy_image(im.images, "vmlinuz", im.vm, "kernel", err,
				    sizeof(err)), -EPERM);
	CHECK_STR(t, err, "uid 65534");
	fixture_done(&im.f);
}

static void test_boot_unlisted_image(struct tap *t, const void *arg)
{
	(void)arg;
	struct images im;
	char err[1024], hex[65];
	images_init(&im);
	put_file(im.images, "mine-initramfs.cpio.gz", kernel_bytes,
		 sizeof(kernel_bytes), 0644);
	CHECK_EQ(t, boot_copy_image(im.images, "mine-initramfs.cpio.gz", im.vm,
				    "initrd", err, sizeof(err)), -ENOENT);
	CHECK_STR(t, err, "mine-initramfs.cpio.gz.sha256");
	/* An image built by hand carries its hash beside it. */
	char line[128];
	int n = snprintf(line, sizeof(line), "%s  mine-initramfs.cpio.gz\n", im.good);
	put_file(im.images, "mine-initramfs.cpio.gz.sha256", line, (size_t)n, 0644);
	CHECK_EQ(t, boot_manifest_hash(im.images, "mine-initramfs.cpio.gz", hex, err,
				       sizeof(err)), 0);
	CHECK_STREQ(t, hex, im.good);
	CHECK_EQ(t, boot_copy_image(im.images, "mine-initramfs.cpio.gz", im.vm,
				    "initrd", err, sizeof(err)), 0);
	fixture_done(&im.f);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "ids: one per VM, distinct across topologies, the same again from the record", test_distinct_and_stable, NULL },
		{ "ids: an id a running process holds is not given out", test_running_process_skipped, NULL },
		{ "ids: subuid/subgid ranges and the user database's ids are not given out", test_subuid_and_users_skipped, NULL },
		{ "ids: a malformed record is an error naming the file and value", test_bad_record, NULL },
		{ "boot: copied and verified; a planted link is replaced, not followed", test_boot_copy_verified, NULL },
		{ "boot: a flipped byte is refused, naming the file and both hashes; nothing left", test_boot_flipped_byte_refused, NULL },
		{ "boot: an image or manifest someone besides root could write is refused", test_boot_not_root_only_refused, NULL },
		{ "boot: an image the manifest does not list needs its own .sha256", test_boot_unlisted_image, NULL },
	};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
