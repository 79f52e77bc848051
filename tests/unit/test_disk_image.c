/* The check of an image a person brings (orchestration/core/disk_image.c):
 * - the pure check, one case per field it refuses, at the exact bad
 *   value and the first good one beside it;
 * - disk_image_open on real files: missing, a directory, empty,
 *   truncated, and qcow2 images qemu-img makes (a backing file, an
 *   external data file, encryption) when qemu-img is here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_image.h"
#include "tap.h"

#define MIB (1ull << 20)

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* A qcow2 version 3 header as qemu-img makes one: 64 KiB clusters, 1 GiB. */
static void qcow2_v3(unsigned char *h)
{
	memset(h, 0, DISK_IMAGE_HEAD_BYTES);
	memcpy(h, "QFI\xfb", 4);
	put32(h + 4, 3);
	put32(h + 20, 16);
	put64(h + 24, 1ull << 30);
	put32(h + 96, 4);
	put32(h + 100, 112);
}

enum field { F_NONE, F_VERSION, F_BACKING, F_CLUSTER, F_SIZE, F_CRYPT,
	     F_INCOMPAT, F_HEADER_LEN };

struct qcow2_case {
	const char *name;
	enum field field;
	uint64_t value;
	size_t len;             /* of the head; 0: DISK_IMAGE_HEAD_BYTES */
	uint64_t file_bytes;    /* 0: 2 MiB */
	int rc;
	const char *err_part;
};

static const struct qcow2_case qcow2_cases[] = {
	{ "qcow2 v3", F_NONE, 0, 0, 0, 0, NULL },
	{ "qcow2 v2", F_VERSION, 2, 0, 0, 0, NULL },
	{ "qcow2 version 1", F_VERSION, 1, 0, 0, -EINVAL, "qcow2 version 1" },
	{ "qcow2 version 4", F_VERSION, 4, 0, 0, -EINVAL, "qcow2 version 4" },
	{ "backing file", F_BACKING, 112, 0, 0, -EINVAL,
	  "a qcow2 image with a backing file (its name at offset 112): the image"
	  " must not name a file on the host" },
	{ "backing file at 1", F_BACKING, 1, 0, 0, -EINVAL, "backing file" },
	{ "external data file", F_INCOMPAT, 1u << 2, 0, 0, -EINVAL,
	  "external data file (incompatible feature bit 2)" },
	{ "corrupt", F_INCOMPAT, 1u << 1, 0, 0, -EINVAL, "marked corrupt" },
	{ "dirty is fine", F_INCOMPAT, 1u << 0, 0, 0, 0, NULL },
	{ "extended L2 is fine", F_INCOMPAT, 1u << 4, 0, 0, 0, NULL },
	{ "unknown incompatible bit", F_INCOMPAT, 1u << 5, 0, 0, -EINVAL,
	  "incompatible features 0x20" },
	{ "encrypted (AES)", F_CRYPT, 1, 0, 0, -EINVAL, "crypt_method 1" },
	{ "encrypted (LUKS)", F_CRYPT, 2, 0, 0, -EINVAL, "encrypted" },
	{ "cluster_bits 8", F_CLUSTER, 8, 0, 0, -EINVAL, "cluster_bits 8 (9..21)" },
	{ "cluster_bits 9", F_CLUSTER, 9, 0, 0, 0, NULL },
	{ "cluster_bits 21", F_CLUSTER, 21, 0, 0, 0, NULL },
	{ "cluster_bits 22", F_CLUSTER, 22, 0, 0, -EINVAL, "cluster_bits 22" },
	{ "header length 103", F_HEADER_LEN, 103, 0, 0, -EINVAL,
	  "header length 103" },
	{ "header length 104", F_HEADER_LEN, 104, 0, 0, 0, NULL },
	{ "header length 108", F_HEADER_LEN, 108, 0, 0, -EINVAL,
	  "a multiple of 8" },
	{ "header length past a cluster", F_HEADER_LEN, 65544, 0, 0, -EINVAL,
	  "header length 65544" },
	{ "header past the file", F_NONE, 0, 0, 100, -EINVAL,
	  "truncated: 100 bytes, less than its qcow2 header's 112" },
	{ "size 0", F_SIZE, 0, 0, 0, -EINVAL, "virtual size 0 bytes" },
	{ "size 1 MiB", F_SIZE, MIB, 0, 0, 0, NULL },
	{ "size past 1 TiB", F_SIZE, (1ull << 40) + 512, 0, 0, -EINVAL,
	  "virtual size 1099511628288" },
	{ "truncated header", F_NONE, 0, 71, 71, -EINVAL,
	  "truncated: a qcow2 header is at least 72 bytes, the file has 71" },
	{ "truncated v3 header", F_NONE, 0, 103, 103, -EINVAL,
	  "truncated: a qcow2 version 3 header is at least 104 bytes" },
	{ "v2 header of 72", F_VERSION, 2, 72, 72, 0, NULL },
};

static void test_qcow2(struct tap *t, const void *arg)
{
	const struct qcow2_case *c = arg;
	unsigned char h[DISK_IMAGE_HEAD_BYTES];
	struct disk_image img = { DISK_FORMAT_RAW, 0 };
	char err[256] = "";

	qcow2_v3(h);
	switch (c->field) {
	case F_VERSION: put32(h + 4, (uint32_t)c->value); break;
	case F_BACKING: put64(h + 8, c->value); break;
	case F_CLUSTER: put32(h + 20, (uint32_t)c->value); break;
	case F_SIZE: put64(h + 24, c->value); break;
	case F_CRYPT: put32(h + 32, (uint32_t)c->value); break;
	case F_INCOMPAT: put64(h + 72, c->value); break;
	case F_HEADER_LEN: put32(h + 100, (uint32_t)c->value); break;
	default: break;
	}
	int rc = disk_image_check(h, c->len ? c->len : sizeof(h),
				  c->file_bytes ? c->file_bytes : 2 * MIB, &img,
				  err, sizeof(err));
	CHECK_EQ(t, rc, c->rc);
	if (c->rc == 0) {
		CHECK_EQ(t, img.format, DISK_FORMAT_QCOW2);
		CHECK(t, img.virtual_bytes >= MIB);
	} else {
		CHECK_STR(t, err, c->err_part);
	}
}

struct other_case {
	const char *name;
	size_t offset;
	const char *bytes;
	size_t len;
	uint64_t file_bytes;
	int rc;
	const char *err_part;
};

static const struct other_case other_cases[] = {
	{ "raw of zeros", 0, "", 0, MIB, 0, NULL },
	{ "raw with an MBR", 510, "\x55\xaa", 2, 2 * MIB, 0, NULL },
	{ "raw of 1 MiB - 512", 0, "", 0, MIB - 512, -EINVAL,
	  "1048064 bytes is not a raw disk (a multiple of 512, 1 MiB..1 TiB)" },
	{ "raw of 1 MiB + 1", 0, "", 0, MIB + 1, -EINVAL, "1048577 bytes" },
	{ "raw past 1 TiB", 0, "", 0, (1ull << 40) + 512, -EINVAL, "1 TiB" },
	{ "empty", 0, "", 0, 0, -ENODATA, "empty" },
	{ "QED", 0, "QFI\0", 4, MIB, -EINVAL, "a QED image, not a qcow2 or raw" },
	{ "VMDK", 0, "KDMV", 4, MIB, -EINVAL, "a VMDK image" },
	{ "VDI", 0x40, "\x7f\x10\xda\xbe", 4, MIB, -EINVAL, "a VDI image" },
	{ "VHD", 0, "conectix", 8, MIB, -EINVAL, "a VHD image" },
	{ "VHDX", 0, "vhdxfile", 8, MIB, -EINVAL, "a VHDX image" },
	{ "LUKS", 0, "LUKS\xba\xbe", 6, MIB, -EINVAL, "a LUKS volume" },
	{ "xz", 0, "\xfd" "7zXZ\0", 6, MIB, -EINVAL, "xz-compressed" },
	{ "gzip", 0, "\x1f\x8b", 2, MIB, -EINVAL, "gzip-compressed" },
	{ "tar", 257, "ustar", 5, MIB, -EINVAL, "a tar archive" },
	{ "a magic one bit off qcow2's", 0, "QFI\xfa", 4, MIB, 0, NULL },
};

static void test_other(struct tap *t, const void *arg)
{
	const struct other_case *c = arg;
	unsigned char h[DISK_IMAGE_HEAD_BYTES] = { 0 };
	struct disk_image img;
	char err[256] = "";

	memcpy(h + c->offset, c->bytes, c->len);
	size_t len = c->file_bytes < sizeof(h) ? (size_t)c->file_bytes : sizeof(h);
	int rc = disk_image_check(h, len, c->file_bytes, &img, err, sizeof(err));
	CHECK_EQ(t, rc, c->rc);
	if (c->rc == 0) {
		CHECK_EQ(t, img.format, DISK_FORMAT_RAW);
		CHECK_EQ(t, img.virtual_bytes, c->file_bytes);
	} else {
		CHECK_STR(t, err, c->err_part);
	}
}

/* --- real files -------------------------------------------------------- */

static char dir[] = "/tmp/bk-disk-image-XXXXXX";

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* ERR after disk_image_open of NAME in the scratch directory: its rc. */
static int open_named(const char *name, char *err, size_t err_len,
		      struct disk_image *img)
{
	char path[256];
	int fd = -1;
	path_of(path, sizeof(path), name);
	int rc = disk_image_open(path, &fd, img, err, err_len);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void expect_refused(struct tap *t, const char *name, int want_rc,
			   const char *why)
{
	char err[512] = "", want[512];
	struct disk_image img;
	CHECK_EQ(t, open_named(name, err, sizeof(err), &img), want_rc);
	path_of(want, sizeof(want), name);
	CHECK(t, strncmp(err, want, strlen(want)) == 0);   /* names the path */
	CHECK_STR(t, err, why);
}

static void test_files(struct tap *t, const void *arg)
{
	char path[256], err[512];
	struct disk_image img;
	(void)arg;

	expect_refused(t, "missing.qcow2", -ENOENT, ": no such file");
	path_of(path, sizeof(path), "a-dir");
	CHECK_EQ(t, mkdir(path, 0700), 0);
	expect_refused(t, "a-dir", -EINVAL, ": not a regular file");
	path_of(path, sizeof(path), "empty.raw");
	FILE *f = fopen(path, "w");
	CHECK(t, f != NULL);
	if (f)
		fclose(f);
	expect_refused(t, "empty.raw", -ENODATA, ": empty");
	/* A qcow2 cut off inside its header. */
	unsigned char h[DISK_IMAGE_HEAD_BYTES];
	qcow2_v3(h);
	path_of(path, sizeof(path), "cut.qcow2");
	f = fopen(path, "w");
	CHECK(t, f && fwrite(h, 1, 60, f) == 60);
	if (f)
		fclose(f);
	expect_refused(t, "cut.qcow2", -EINVAL, ": truncated: a qcow2 header is"
		       " at least 72 bytes, the file has 60");
	/* A sparse raw disk of 4 MiB. */
	path_of(path, sizeof(path), "disk.raw");
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(t, fd >= 0 && ftruncate(fd, 4 * MIB) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ(t, open_named("disk.raw", err, sizeof(err), &img), 0);
	CHECK_EQ(t, img.format, DISK_FORMAT_RAW);
	CHECK_EQ(t, img.virtual_bytes, 4 * MIB);
}

/* Images qemu-img makes: what the check sees in real headers. */
static void test_qemu_img(struct tap *t, const void *arg)
{
	char cmd[1024], err[512];
	struct disk_image img;
	(void)arg;

	if (system("command -v qemu-img >/dev/null") != 0) {
		printf("# qemu-img missing: skipped\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "cd %s && qemu-img create -q -f qcow2 base.qcow2"
		 " 16M && qemu-img create -q -f qcow2 -b /etc/shadow -F raw"
		 " shadow.qcow2 16M && qemu-img create -q -f qcow2 -o"
		 " data_file=%s/data.raw ext.qcow2 16M && qemu-img create -q -f"
		 " qcow2 --object secret,id=s0,data=secret -o"
		 " encrypt.format=luks,encrypt.key-secret=s0 enc.qcow2 16M &&"
		 " qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 16M", dir,
		 dir);
	CHECK_EQ(t, system(cmd), 0);
	CHECK_EQ(t, open_named("base.qcow2", err, sizeof(err), &img), 0);
	CHECK_EQ(t, img.format, DISK_FORMAT_QCOW2);
	CHECK_EQ(t, img.virtual_bytes, 16 * MIB);
	CHECK_EQ(t, open_named("v2.qcow2", err, sizeof(err), &img), 0);
	expect_refused(t, "shadow.qcow2", -EINVAL, ": a qcow2 image with a"
		       " backing file");
	expect_refused(t, "ext.qcow2", -EINVAL, "external data file");
	expect_refused(t, "enc.qcow2", -EINVAL, "an encrypted qcow2 image"
		       " (crypt_method 2)");
}

int main(void)
{
	struct tap_case cases[64];
	int n = 0;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < sizeof(qcow2_cases) / sizeof(*qcow2_cases); i++)
		cases[n++] = (struct tap_case){ qcow2_cases[i].name, test_qcow2,
						&qcow2_cases[i] };
	for (size_t i = 0; i < sizeof(other_cases) / sizeof(*other_cases); i++)
		cases[n++] = (struct tap_case){ other_cases[i].name, test_other,
						&other_cases[i] };
	cases[n++] = (struct tap_case){ "files", test_files, NULL };
	cases[n++] = (struct tap_case){ "qemu-img's images", test_qemu_img, NULL };
	int rc = tap_run(cases, n);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
