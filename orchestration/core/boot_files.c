#include "boot_files.h"
#include "state_files.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void to_hex(const unsigned char *md, char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void boot_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;
	EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
	to_hex(md, hex);
}

/* Root's file, written by nobody else: what the cache's files and its
 * manifest must be for a hash in them to mean anything. */
static int root_only(int fd, const char *path, char *err, size_t err_len)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, err_len, "%s: not a regular file of root's that only"
			 " root can write (uid %u, mode %04o); refusing to boot"
			 " from it", path, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int open_root_file(const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	int rc = root_only(fd, path, err, err_len);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int boot_manifest_hash(const char *image_dir, const char *image, char hex[65],
		       char *err, size_t err_len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/manifest.json", image_dir);
	int fd = open_root_file(path, err, err_len);
	if (fd < 0)
		return fd;
	json_object *m = json_object_from_fd(fd), *sums, *v;
	close(fd);
	if (m && json_object_object_get_ex(m, "sha256", &sums) &&
	    json_object_object_get_ex(sums, image, &v)) {
		const char *s = json_object_get_string(v);
		int rc = hex_text(s, 64) ? 0 : -EINVAL;
		if (rc)
			snprintf(err, err_len, "%s: sha256 of %s is '%s', not 64 hex"
				 " digits", path, image, s ? s : "");
		else
			memcpy(hex, s, 65);
		json_object_put(m);
		return rc;
	}
	json_object_put(m);
	/* An image built by hand beside the built ones has its own file. */
	char own[PATH_MAX], text[80] = "";
	snprintf(own, sizeof(own), "%s/%s.sha256", image_dir, image);
	fd = open_root_file(own, err, err_len);
	if (fd < 0) {
		snprintf(err, err_len, "%s: no sha256 for %s in %s, and no %s",
			 image_dir, image, path, own);
		return -ENOENT;
	}
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	text[strcspn(text, " \t\n")] = '\0';
	if (!hex_text(text, 64)) {
		snprintf(err, err_len, "%s: '%s' is not a sha256 (64 lowercase hex"
			 " digits)", own, text);
		return -EINVAL;
	}
	memcpy(hex, text, 65);
	return 0;
}

/* A fresh NAME.tmp in directory DIRFD (whatever was there goes: the VM's
 * user owned the last copy while it ran). */
static int create_tmp(int dirfd, const char *name, char tmp[NAME_MAX + 1])
{
	snprintf(tmp, NAME_MAX + 1, ".%s.tmp", name);
	unlinkat(dirfd, tmp, 0);
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, 0640);
}

static int open_dir(const char *dir, char *err, size_t err_len)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, err_len, "%s: %s", dir, strerror(errno));
	return fd < 0 ? -errno : fd;
}

int boot_copy_image(const char *image_dir, const char *image, const char *vm_dir,
		    const char *name, char *err, size_t err_len)
{
	char want[65], got[65], src_path[PATH_MAX], tmp[NAME_MAX + 1];
	int rc = boot_manifest_hash(image_dir, image, want, err, err_len);
	if (rc)
		return rc;
	snprintf(src_path, sizeof(src_path), "%s/%s", image_dir, image);
	int src = open_root_file(src_path, err, err_len);
	if (src < 0)
		return src;
	int dirfd = open_dir(vm_dir, err, err_len);
	if (dirfd < 0) {
		close(src);
		return dirfd;
	}
	int dst = create_tmp(dirfd, name, tmp);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (dst < 0 || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = dst < 0 ? -errno : -ENOMEM;
		snprintf(err, err_len, "%s/%s: %s", vm_dir, tmp, strerror(-rc));
		goto out;
	}
	static const size_t chunk = 1 << 20;
	char *buf = malloc(chunk);
	ssize_t n = buf ? 0 : -1;
	while (buf && (n = read(src, buf, chunk)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (write(dst, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	}
	free(buf);
	if (n < 0) {
		rc = -EIO;
		snprintf(err, err_len, "copying %s to %s/%s: %s", src_path, vm_dir,
			 name, strerror(errno ? errno : EIO));
		goto out;
	}
	unsigned char md[32];
	unsigned int md_len = 0;
	EVP_DigestFinal_ex(ctx, md, &md_len);
	to_hex(md, got);
	if (strcmp(got, want) != 0) {
		rc = -EBADMSG;
		snprintf(err, err_len, "%s: sha256 %s, but the image manifest says"
			 " %s: the image was changed after it was built; refusing"
			 " to boot from it (guest-os/build-images builds it again)",
			 src_path, got, want);
		goto out;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s/%s: %s", vm_dir, name, strerror(errno));
	}
out:
	if (rc && dst >= 0)
		unlinkat(dirfd, tmp, 0);
	if (dst >= 0)
		close(dst);
	EVP_MD_CTX_free(ctx);
	close(dirfd);
	close(src);
	return rc;
}

int boot_write_file(const char *vm_dir, const char *name, const char *text,
		    char *err, size_t err_len)
{
	char tmp[NAME_MAX + 1];
	int dirfd = open_dir(vm_dir, err, err_len);
	if (dirfd < 0)
		return dirfd;
	int fd = create_tmp(dirfd, name, tmp), rc = 0;
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len ||
	    renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = -(errno ? errno : EIO);
		snprintf(err, err_len, "%s/%s: %s", vm_dir, name, strerror(-rc));
		unlinkat(dirfd, tmp, 0);
	}
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return rc;
}
