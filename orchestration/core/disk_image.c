#include "disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *disk_format_name(enum disk_format format)
{
	return format == DISK_FORMAT_QCOW2 ? "qcow2" : "raw";
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* docs/interop/qcow2.txt of QEMU 7.2: the header's fields by offset. */
#define QCOW2_VERSION 4
#define QCOW2_BACKING_OFFSET 8
#define QCOW2_CLUSTER_BITS 20
#define QCOW2_SIZE 24
#define QCOW2_CRYPT_METHOD 32
#define QCOW2_INCOMPATIBLE 72
#define QCOW2_HEADER_LENGTH 100
#define QCOW2_V2_HEADER 72
#define QCOW2_V3_HEADER 104
/* Incompatible feature bits: dirty (0, QEMU repairs it), corrupt (1),
 * external data file (2), compression type (3), extended L2 entries
 * (4); none past those in QEMU 7.2. */
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_KNOWN 0x1full

static int check_qcow2(const unsigned char *h, size_t len, uint64_t file_bytes,
		       struct disk_image *out, char *err, size_t err_len)
{
	if (len < QCOW2_V2_HEADER) {
		snprintf(err, err_len, "truncated: a qcow2 header is at least %d"
			 " bytes, the file has %zu", QCOW2_V2_HEADER, len);
		return -EINVAL;
	}
	uint32_t version = be32(h + QCOW2_VERSION);
	if (version != 2 && version != 3) {
		snprintf(err, err_len, "qcow2 version %u (QEMU knows 2 and 3)",
			 version);
		return -EINVAL;
	}
	uint32_t header_len = QCOW2_V2_HEADER;
	uint64_t incompat = 0;
	if (version == 3) {
		if (len < QCOW2_V3_HEADER) {
			snprintf(err, err_len, "truncated: a qcow2 version 3 header"
				 " is at least %d bytes, the file has %zu",
				 QCOW2_V3_HEADER, len);
			return -EINVAL;
		}
		incompat = be64(h + QCOW2_INCOMPATIBLE);
		header_len = be32(h + QCOW2_HEADER_LENGTH);
	}
	uint32_t cluster_bits = be32(h + QCOW2_CLUSTER_BITS);
	/* QEMU's MIN_CLUSTER_BITS and MAX_CLUSTER_BITS. */
	if (cluster_bits < 9 || cluster_bits > 21) {
		snprintf(err, err_len, "qcow2 cluster_bits %u (9..21)",
			 cluster_bits);
		return -EINVAL;
	}
	/* QEMU takes a v3 header of 104 bytes up to a cluster, in 8s. */
	if (version == 3 && (header_len < QCOW2_V3_HEADER ||
			     header_len > (1u << cluster_bits) ||
			     header_len % 8)) {
		snprintf(err, err_len, "qcow2 header length %u (%d..%u, a"
			 " multiple of 8)", header_len, QCOW2_V3_HEADER,
			 1u << cluster_bits);
		return -EINVAL;
	}
	if (file_bytes < header_len) {
		snprintf(err, err_len, "truncated: %llu bytes, less than its"
			 " qcow2 header's %u", (unsigned long long)file_bytes,
			 header_len);
		return -EINVAL;
	}
	uint64_t backing = be64(h + QCOW2_BACKING_OFFSET);
	if (backing != 0) {
		snprintf(err, err_len, "a qcow2 image with a backing file (its"
			 " name at offset %llu): the image must not name a file"
			 " on the host; qemu-img convert it to a whole image",
			 (unsigned long long)backing);
		return -EINVAL;
	}
	if (incompat & QCOW2_INCOMPAT_DATA_FILE) {
		snprintf(err, err_len, "a qcow2 image with an external data file"
			 " (incompatible feature bit 2): the image must not name a"
			 " file on the host");
		return -EINVAL;
	}
	if (incompat & QCOW2_INCOMPAT_CORRUPT) {
		snprintf(err, err_len, "qcow2 marked corrupt (incompatible"
			 " feature bit 1): qemu-img check -r all repairs it");
		return -EINVAL;
	}
	if (incompat & ~QCOW2_INCOMPAT_KNOWN) {
		snprintf(err, err_len, "qcow2 incompatible features 0x%llx that"
			 " QEMU 7.2 does not know", (unsigned long long)incompat);
		return -EINVAL;
	}
	uint32_t crypt = be32(h + QCOW2_CRYPT_METHOD);
	if (crypt != 0) {
		snprintf(err, err_len, "an encrypted qcow2 image (crypt_method"
			 " %u): decrypt it first", crypt);
		return -EINVAL;
	}
	uint64_t size = be64(h + QCOW2_SIZE);
	if (size < DISK_IMAGE_MIN_BYTES || size > DISK_IMAGE_MAX_BYTES) {
		snprintf(err, err_len, "qcow2 virtual size %llu bytes (1 MiB..1"
			 " TiB)", (unsigned long long)size);
		return -EINVAL;
	}
	*out = (struct disk_image){ DISK_FORMAT_QCOW2, size };
	return 0;
}

/* Formats QEMU or a packer knows by their first bytes, refused by name:
 * not raw disks, and QEMU would need to probe them. */
struct magic {
	size_t offset;
	const char *bytes;
	size_t len;
	const char *what;
};

#define MAGIC(off, b, w) { off, b, sizeof(b) - 1, w }
static const struct magic other_formats[] = {
	MAGIC(0, "QFI\0", "a QED image"),
	MAGIC(0, "KDMV", "a VMDK image"),
	MAGIC(0, "# Disk DescriptorFile", "a VMDK descriptor"),
	MAGIC(0x40, "\x7f\x10\xda\xbe", "a VDI image"),
	MAGIC(0, "conectix", "a VHD image"),
	MAGIC(0, "vhdxfile", "a VHDX image"),
	MAGIC(0, "LUKS\xba\xbe", "a LUKS volume"),
	MAGIC(0, "WithoutFreeSpace", "a Parallels image"),
	MAGIC(0, "WithouFreSpacExt", "a Parallels image"),
	MAGIC(0, "Bochs Virtual HD Image", "a Bochs image"),
	MAGIC(0, "#!/bin/sh\n#V2.0 Format", "a cloop image"),
	MAGIC(0, "\x1f\x8b", "gzip-compressed"),
	MAGIC(0, "\xfd" "7zXZ\0", "xz-compressed"),
	MAGIC(0, "\x28\xb5\x2f\xfd", "zstd-compressed"),
	MAGIC(0, "BZh", "bzip2-compressed"),
	MAGIC(257, "ustar", "a tar archive"),
};

int disk_image_check(const unsigned char *head, size_t len,
		     uint64_t file_bytes, struct disk_image *out, char *err,
		     size_t err_len)
{
	if (file_bytes == 0) {
		snprintf(err, err_len, "empty");
		return -ENODATA;
	}
	if (len >= 4 && !memcmp(head, "QFI\xfb", 4))
		return check_qcow2(head, len, file_bytes, out, err, err_len);
	for (size_t i = 0; i < sizeof(other_formats) / sizeof(*other_formats);
	     i++) {
		const struct magic *m = &other_formats[i];
		if (len >= m->offset + m->len &&
		    !memcmp(head + m->offset, m->bytes, m->len)) {
			snprintf(err, err_len, "%s, not a qcow2 or raw disk image"
				 " (qemu-img convert it, or unpack it)", m->what);
			return -EINVAL;
		}
	}
	if (file_bytes % 512 || file_bytes < DISK_IMAGE_MIN_BYTES ||
	    file_bytes > DISK_IMAGE_MAX_BYTES) {
		snprintf(err, err_len, "not a disk image: no qcow2 header, and"
			 " %llu bytes is not a raw disk (a multiple of 512, 1 MiB"
			 "..1 TiB)", (unsigned long long)file_bytes);
		return -EINVAL;
	}
	*out = (struct disk_image){ DISK_FORMAT_RAW, file_bytes };
	return 0;
}

int disk_image_open(const char *path, int *fd_out, struct disk_image *out,
		    char *err, size_t err_len)
{
	unsigned char head[DISK_IMAGE_HEAD_BYTES];
	char why[200];
	struct stat st;
	int rc = 0;
	*fd_out = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", path, errno == ENOENT ?
			 "no such file" : strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(why, sizeof(why), "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(why, sizeof(why), "not a regular file (a disk image"
			 " is a file)");
	}
	ssize_t n = 0;
	size_t want = rc || (uint64_t)st.st_size > sizeof(head) ? sizeof(head) :
		      (size_t)st.st_size;
	while (!rc && (size_t)n < want) {
		ssize_t got = pread(fd, head + n, want - (size_t)n, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? -errno : -EIO;
			snprintf(why, sizeof(why), "%s", got < 0 ?
				 strerror(errno) : "shorter than its size");
			break;
		}
		n += got;
	}
	if (!rc)
		rc = disk_image_check(head, (size_t)n, (uint64_t)st.st_size, out,
				      why, sizeof(why));
	if (rc) {
		snprintf(err, err_len, "%s: %s", path, why);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}
