/* The copy of an image a person brings into a VM's own disk
 * (app_byo_copy): qemu-img parses it as the VM's uid (a qemu-img first on
 * PATH records the identity it runs as, then runs the real one), with no
 * supplementary groups and no capabilities; the disk is the image's
 * content, root's and 0600; an image only root may read is copied too;
 * a qemu-img failure names the image and leaves nothing behind. A UEFI
 * VM's variable store (app_byo_nvram): made from OVMF's template, root's
 * and 0600, then kept with whatever the VM wrote into it; a file of
 * another size, a directory or a symbolic link in its place is refused
 * by name. Needs root, qemu-img and Debian's ovmf. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_byo.h"
#include "tap.h"

/* Some id of the VM range (vm_ids.h) no one on this host has. */
#define VM_UID 0x70b1fffeu

static char dir[] = "/tmp/bulkhead-byo-XXXXXX";
static char data_root[PATH_MAX];
static struct app_byo byo;

__attribute__((format(printf, 1, 2)))
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* What the fake qemu-img recorded of the convert: "UID GID GROUPS CAPEFF". */
static void read_log(char *out, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/log/convert", dir);
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
	unlink(path);
}

/* The disk is root's, 0600, a regular file with the raw image's bytes;
 * no temporary file is left. */
static void check_disk(struct tap *t)
{
	struct stat st;
	CHECK_EQ(t, lstat(byo.disk, &st), 0);
	CHECK(t, S_ISREG(st.st_mode));
	CHECK_EQ(t, st.st_uid, 0);
	CHECK_EQ(t, st.st_gid, 0);
	CHECK_EQ(t, st.st_mode & 07777, 0600);
	CHECK_EQ(t, sh("qemu-img compare -q -f raw %s/data.raw -F qcow2 %s", dir,
		       byo.disk), 0);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s.new", byo.disk);
	CHECK(t, access(path, F_OK) < 0 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s.in", byo.disk);
	CHECK(t, access(path, F_OK) < 0 && errno == ENOENT);
}

/* app_byo_copy with its "up: copying ..." line kept out of the TAP
 * output. */
static int copy(const char *image, uid_t uid, char *err, size_t err_len)
{
	fflush(stdout);
	int saved = dup(1), null = open("/dev/null", O_WRONLY);
	if (saved < 0 || null < 0 || dup2(null, 1) < 0)
		return -EIO;
	close(null);
	int rc = app_byo_copy(&byo, image, uid, err, err_len);
	fflush(stdout);
	if (dup2(saved, 1) < 0)
		return -EIO;
	close(saved);
	return rc;
}

static void copy_as(struct tap *t, const char *name)
{
	char image[PATH_MAX], err[1024], log[256], want[256];
	snprintf(image, sizeof(image), "%s/%s", dir, name);
	unlink(byo.disk);
	int rc = copy(image, VM_UID, err, sizeof(err));
	if (rc)
		printf("# %s\n", err);
	CHECK_EQ(t, rc, 0);
	read_log(log, sizeof(log));
	/* id -u, id -g, id -G (its groups: its gid alone), CapEff. */
	snprintf(want, sizeof(want), "%u %u %u 0000000000000000", VM_UID,
		 VM_UID, VM_UID);
	CHECK_STREQ(t, log, want);
	check_disk(t);
}

static void test_readable(struct tap *t, const void *arg)
{
	(void)arg;
	copy_as(t, "image.qcow2");
}

/* qemu-img opens /dev/fd/N afresh, checked against the VM's uid: a file
 * only root reads is staged first. */
static void test_root_only(struct tap *t, const void *arg)
{
	(void)arg;
	copy_as(t, "private.qcow2");
}

/* A header the check takes, one qemu-img refuses (an L1 table offset
 * not on a cluster): the error names the image, the VM's disk is not made. */
static void test_qemu_img_fails(struct tap *t, const void *arg)
{
	char image[PATH_MAX], err[1024];
	(void)arg;
	snprintf(image, sizeof(image), "%s/broken.qcow2", dir);
	unlink(byo.disk);
	int rc = copy(image, VM_UID, err, sizeof(err));
	CHECK_EQ(t, rc, -EIO);
	CHECK_STR(t, err, image);
	CHECK_STR(t, err, ": copying it failed: ");
	printf("# %s\n", err);
	CHECK(t, access(byo.disk, F_OK) < 0);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s.new", byo.disk);
	CHECK(t, access(path, F_OK) < 0 && errno == ENOENT);
}

static void test_root_refused(struct tap *t, const void *arg)
{
	char image[PATH_MAX], err[1024];
	(void)arg;
	snprintf(image, sizeof(image), "%s/image.qcow2", dir);
	CHECK_EQ(t, copy(image, 0, err, sizeof(err)), -EPERM);
	CHECK_STR(t, err, image);
}

/* Whether files A and B hold the same bytes. */
static bool same_bytes(const char *a, const char *b)
{
	return sh("cmp -s %s %s", a, b) == 0;
}

static void test_nvram_made_kept(struct tap *t, const void *arg)
{
	char err[1024] = "", tmp[PATH_MAX];
	struct stat st;
	(void)arg;
	CHECK_EQ(t, app_byo_nvram(&byo, "vm", err, sizeof(err)), 0);
	CHECK_STREQ(t, err, "");
	CHECK_EQ(t, lstat(byo.nvram, &st), 0);
	CHECK(t, S_ISREG(st.st_mode));
	/* Root's group too, not the setgid directory's (the VM's). */
	CHECK_EQ(t, st.st_uid, 0);
	CHECK_EQ(t, st.st_gid, 0);
	CHECK_EQ(t, st.st_mode & 07777, 0600);
	CHECK(t, same_bytes(byo.nvram, APP_BYO_OVMF_VARS));
	snprintf(tmp, sizeof(tmp), "%s.new", byo.nvram);
	CHECK(t, access(tmp, F_OK) < 0 && errno == ENOENT);
	/* What the VM's firmware wrote (a boot entry) stays. */
	CHECK_EQ(t, sh("printf BootXXXX | dd of=%s bs=1 seek=4096 conv=notrunc"
		       " status=none", byo.nvram), 0);
	/* Left the VM's by a run libvirt did not end: root's again. */
	CHECK_EQ(t, chown(byo.nvram, VM_UID, VM_UID), 0);
	CHECK_EQ(t, app_byo_nvram(&byo, "vm", err, sizeof(err)), 0);
	CHECK(t, !same_bytes(byo.nvram, APP_BYO_OVMF_VARS));
	CHECK_EQ(t, lstat(byo.nvram, &st), 0);
	CHECK(t, st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 07777) == 0600);
	unlink(byo.nvram);
}

static void test_nvram_refused(struct tap *t, const void *arg)
{
	char err[1024];
	(void)arg;
	/* Another size, a directory, a link to the right bytes. */
	const char *make[] = { "head -c 1000 /dev/zero >", "mkdir",
			       "ln -s", };
	const char *arg2[] = { "", "", APP_BYO_OVMF_VARS };
	for (unsigned i = 0; i < 3; i++) {
		err[0] = '\0';
		CHECK_EQ(t, sh("%s %s %s", make[i], arg2[i], byo.nvram), 0);
		CHECK_EQ(t, app_byo_nvram(&byo, "vm", err, sizeof(err)), -EINVAL);
		CHECK_STR(t, err, byo.nvram);
		CHECK_STR(t, err, "remove it to start vm with fresh variables");
		sh("rm -rf %s", byo.nvram);
	}
}

static int setup(void)
{
	char real[PATH_MAX] = "", path[PATH_MAX];
	FILE *p = popen("command -v qemu-img", "r");
	if (!p || !fgets(real, sizeof(real), p) || pclose(p) != 0)
		return -1;
	real[strcspn(real, "\n")] = '\0';
	/* The VM's uid passes through (as through DATA_ROOT, 0711). */
	if (chmod(dir, 0711) < 0)
		return -1;
	/* 1 MiB and a bit of text at 512 KiB; a qcow2 of it readable by
	 * all, one only root reads, one whose L1 table offset (header
	 * byte 40) is on no cluster boundary. */
	if (sh("cd %s && head -c 1048576 /dev/zero > data.raw && printf"
	       " 'the person s data' | dd of=data.raw bs=1 seek=524288"
	       " conv=notrunc status=none && qemu-img convert -q -f raw -O"
	       " qcow2 data.raw image.qcow2 && chmod 0644 image.qcow2 &&"
	       " cp image.qcow2 private.qcow2 && chmod 0600 private.qcow2 &&"
	       " cp image.qcow2 broken.qcow2 && chmod 0644 broken.qcow2 &&"
	       " printf '\\0\\0\\0\\0\\0\\1\\0\\1' | dd of=broken.qcow2 bs=1"
	       " seek=40 conv=notrunc status=none", dir))
		return -1;
	/* The qemu-img first on PATH: records who runs the convert (in a
	 * directory only the VM's uid writes), then runs the real one. */
	if (sh("mkdir -m 0755 %s/bin && mkdir -m 0700 %s/log", dir, dir))
		return -1;
	snprintf(path, sizeof(path), "%s/log", dir);
	if (chown(path, VM_UID, VM_UID) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/bin/qemu-img", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n"
		"if [ \"$1\" = convert ]; then\n"
		"  echo \"$(id -u) $(id -g) $(id -G)"
		" $(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$$/status)\""
		" > %s/log/convert\n"
		"fi\n"
		"exec %s \"$@\"\n", dir, real);
	if (fclose(f) || chmod(path, 0755) < 0)
		return -1;
	char env[PATH_MAX + 4096];
	snprintf(env, sizeof(env), "%s/bin:%s", dir, getenv("PATH") ?
		 getenv("PATH") : "/usr/bin:/bin");
	if (setenv("PATH", env, 1) < 0)
		return -1;
	/* The VM's directory as up makes it (02750, root and the VM's
	 * group) under DATA_ROOT/TOPOLOGY. */
	struct plan_dirs dirs = { 0 };
	char err[512];
	snprintf(data_root, sizeof(data_root), "%s/data", dir);
	snprintf(dirs.data, sizeof(dirs.data), "%s/topo", data_root);
	if (app_byo_paths(&dirs, "vm", &byo) ||
	    app_disks_own(&byo.disks, data_root, VM_UID, err, sizeof(err))) {
		printf("# %s\n", err);
		return -1;
	}
	return 0;
}

int main(void)
{
	if (getuid() != 0 || system("command -v qemu-img >/dev/null") != 0) {
		printf("1..0 # SKIP needs root and qemu-img\n");
		return 77;
	}
	if (getpwuid(VM_UID) || getgrgid(VM_UID)) {
		printf("Bail out! id %u is a user or group here\n", VM_UID);
		return 1;
	}
	if (!mkdtemp(dir) || setup() < 0) {
		printf("Bail out! setup in %s failed\n", dir);
		return 1;
	}
	struct tap_case cases[] = {
		{ "an image all may read: copied as the VM's uid", test_readable,
		  NULL },
		{ "an image only root reads: staged, copied as the VM's uid",
		  test_root_only, NULL },
		{ "qemu-img refuses the image: the error names it, no disk",
		  test_qemu_img_fails, NULL },
		{ "uid 0 refused", test_root_refused, NULL },
		{ "UEFI variables: made from OVMF's, root's, 0600; then kept",
		  test_nvram_made_kept, NULL },
		{ "UEFI variables: another size, a directory, a link: refused",
		  test_nvram_refused, NULL },
	};
	int rc = tap_run(cases, sizeof(cases) / sizeof(cases[0]));
	sh("rm -rf %s", dir);
	return rc;
}
