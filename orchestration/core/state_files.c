#include "state_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_paths.h"

/* Removes the tree under directory DIRFD (which it closes). Relative to
 * open directories and never following a link: a VM's QEMU owned its boot
 * files while it ran, and a link planted must not steer root's deletes. */
static void remove_under(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			remove_under(sub);
			unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, e->d_name, 0);
		}
	}
	closedir(d);
}

int own_dir(const char *dir, mode_t mode, gid_t gid, char *err, size_t err_len)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_len, "mkdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, 0, gid) < 0 || fchmod(fd, mode) < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", dir, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

bool hex_text(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

int remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	remove_under(fd);
	return rmdir(path) < 0 ? -errno : 0;
}

/* --- keep-running: driver VMs the supervisor restarts when they die ---- */

void keep_running(const struct plan_dirs *dirs, const char *vm, bool on)
{
	char path[PATH_MAX];
	state_file(dirs->state, STATE_KEEP_RUNNING, path, sizeof(path));
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/" STATE_KEEP_RUNNING "/%s", dirs->state, vm);
	if (on) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
	} else {
		unlink(path);
	}
}

bool wanted_running(const struct plan_dirs *dirs, const char *vm)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" STATE_KEEP_RUNNING "/%s", dirs->state, vm);
	return access(path, F_OK) == 0;
}

/* --- files --------------------------------------------------------------- */

int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      mode);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int rc = n == (ssize_t)len ? 0 : -EIO;
	if (fchmod(fd, mode) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	return rc;
}

char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (cap - len < 4096) {
			char *more = realloc(buf, cap + 65536);
			if (!more)
				break;
			buf = more;
			cap += 65536;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

int copy_file(const char *from, const char *to)
{
	char *text = read_text(from);
	if (!text)
		return -errno;
	int rc = write_file(to, text, 0600);
	free(text);
	return rc;
}

