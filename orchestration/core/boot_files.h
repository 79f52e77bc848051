/* What a VM boots from, as its own copies: libvirt's DAC driver hands a
 * domain's kernel, initrd and fw_cfg files to that domain's user while it
 * runs, so a file two domains shared would be writable by both. Before
 * each start, each file is copied from the image cache into the VM's own
 * directory and hashed on the way; a hash that differs from the image
 * cache's manifest refuses the start. docs/security.md. */
#ifndef BULKHEAD_BOOT_FILES_H
#define BULKHEAD_BOOT_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* The names a VM's copies have in its directory (domain_xml.c names the
 * same). */
#define BOOT_KERNEL "kernel"
#define BOOT_INITRD "initrd"
#define BOOT_CONFIG "config"

/* The SHA-256 the image cache's manifest (IMAGE_DIR/manifest.json,
 * "sha256") gives IMAGE, or for an image built by hand the one in
 * IMAGE_DIR/IMAGE.sha256, as 64 lowercase hex digits. */
int boot_manifest_hash(const char *image_dir, const char *image, char hex[65],
		       char *err, size_t err_len);

/* Copies IMAGE_DIR/IMAGE to VM_DIR/NAME, replacing what is there, and
 * checks its SHA-256 against the manifest on the way: -EBADMSG with ERR
 * naming the file and both hashes when they differ (nothing is left at
 * NAME then). The source must be a regular file owned by root and
 * writable by nobody else (-EPERM otherwise). */
int boot_copy_image(const char *image_dir, const char *image, const char *vm_dir,
		    const char *name, char *err, size_t err_len);

/* VM_DIR/NAME holds TEXT (mode 0640: the directory's group is the VM's),
 * replacing what is there. */
int boot_write_file(const char *vm_dir, const char *name, const char *text,
		    char *err, size_t err_len);

/* SHA-256 of LEN bytes at DATA, as lowercase hex. */
void boot_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
