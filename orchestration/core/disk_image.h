/* An image a person brings for an app VM (topology `disk:`,
 * docs/templates.md "Bring your own image"), checked before any
 * qemu-img ever reads it: its format is decided here, from its first
 * bytes read once, and always stated to qemu-img (never probed: a raw
 * file that starts like a qcow2 header would otherwise be read as one).
 *
 * qcow2 (magic "QFI\xfb"): version 2 or 3, cluster_bits 9..21, a virtual
 * size of 1 MiB..1 TiB, a header length QEMU takes; refused: a backing
 * file (it names a file on the host, which qemu-img would read
 * into the VM's disk), an external data file (the same, incompatible
 * feature bit 2), encryption, the corrupt bit, feature bits QEMU 7.2 does
 * not know. Other formats QEMU knows (VMDK, VDI, VHD, VHDX, QED, LUKS,
 * ...) and compressed files are refused by name. Anything else is raw:
 * a multiple of 512 bytes, at least 1 MiB. */
#ifndef BULKHEAD_DISK_IMAGE_H
#define BULKHEAD_DISK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum disk_format { DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 };

struct disk_image {
	enum disk_format format;
	uint64_t virtual_bytes;         /* what the VM sees */
};

/* What is read of the file: a qcow2 v3 header is 104 bytes; tar's magic
 * is at 257. */
#define DISK_IMAGE_HEAD_BYTES 512
#define DISK_IMAGE_MIN_BYTES (1ull << 20)
#define DISK_IMAGE_MAX_BYTES (1ull << 40)

/* "raw", "qcow2": qemu-img's name for FORMAT. */
const char *disk_format_name(enum disk_format format);

/* Pure: the image whose first LEN bytes are HEAD (min(file size,
 * DISK_IMAGE_HEAD_BYTES)) and whose file is FILE_BYTES long. 0 and *OUT,
 * or -EINVAL (-ENODATA when empty) with ERR saying what is wrong (without
 * the path: the caller names it). */
int disk_image_check(const unsigned char *head, size_t len,
		     uint64_t file_bytes, struct disk_image *out, char *err,
		     size_t err_len);

/* Checks the regular file PATH: opens it (read-only), reads its head
 * once and checks it. On success *FD is the open file (the caller hands
 * it to qemu-img as /dev/fd/N, so what is copied is what was checked)
 * and 0 is returned; else a negative errno and ERR naming PATH and the
 * problem. */
int disk_image_open(const char *path, int *fd, struct disk_image *out,
		    char *err, size_t err_len);

#endif
