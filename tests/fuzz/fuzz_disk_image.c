/* The check of an image a person brings (disk_image.c) under arbitrary
 * bytes: the first 8 bytes of the input are the file's size, the rest its
 * head. Whatever comes, an image taken is qcow2 or raw with a virtual
 * size in range, a qcow2 taken has no backing file, external data file or
 * encryption, a raw one is a multiple of 512; a refusal's message is
 * printable and bounded. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disk_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t file_bytes = 0;
	struct disk_image img;
	char err[256];

	if (size < 8)
		return 0;
	for (int i = 0; i < 8; i++)
		file_bytes = file_bytes << 8 | data[i];
	data += 8;
	size -= 8;
	if (size > DISK_IMAGE_HEAD_BYTES)
		size = DISK_IMAGE_HEAD_BYTES;
	/* The head is never longer than the file. */
	if (file_bytes < size)
		file_bytes = size;
	/* A copy of exactly SIZE bytes: ASan sees any read past it. */
	uint8_t *head = malloc(size ? size : 1);
	if (!head)
		abort();
	memcpy(head, data, size);
	memset(err, 'X', sizeof(err));
	int rc = disk_image_check(head, size, file_bytes, &img, err, sizeof(err));
	if (rc == 0) {
		if (img.virtual_bytes < DISK_IMAGE_MIN_BYTES ||
		    img.virtual_bytes > DISK_IMAGE_MAX_BYTES)
			abort();
		if (img.format == DISK_FORMAT_QCOW2) {
			if (size < 72 || memcmp(head, "QFI\xfb", 4) ||
			    be32(head + 8) || be32(head + 12) || be32(head + 32))
				abort();
			if (be32(head + 4) == 3 && (head[79] & 4))
				abort();
		} else if (img.format != DISK_FORMAT_RAW ||
			   file_bytes % 512 || img.virtual_bytes != file_bytes ||
			   (size >= 4 && !memcmp(head, "QFI\xfb", 4))) {
			abort();
		}
	} else {
		if (rc != -EINVAL && rc != -ENODATA)
			abort();
		size_t n = strnlen(err, sizeof(err));
		if (n == 0 || n == sizeof(err))
			abort();
		for (size_t i = 0; i < n; i++)
			if (err[i] < 0x20 || err[i] > 0x7e)
				abort();
	}
	free(head);
	return 0;
}
