/* bulkhead template remove NAME (docs/templates.md "Removing a
 * template"), and what a killed `template clone` or `remove` leaves
 * behind. Which app VMs are on a template is the command's check
 * (commands/template.c): this file only removes.
 *
 * Every clone and remove holds a shared flock on IMAGE_DIR/templates
 * while its staging or removal directory exists; the cleanup of such
 * directories takes it exclusively and without waiting, so it runs only
 * when no clone or remove is live and never takes one's directory. */
#define _GNU_SOURCE
#include "app_template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_files.h"
#include "topology.h"

int app_template_live(const char *image_dir, int how)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" TEMPLATE_DIR, image_dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, how) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return fd;
}

int app_template_hold(const char *image_dir, const char *name, int how)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" TEMPLATE_DIR "/%s", image_dir, name);
	/* A remove renames NAME while one waits for the lock: the lock is
	 * NAME's only while the name still leads to the directory locked. */
	for (int tries = 0; tries < 8; tries++) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
		if (fd < 0)
			return errno == ELOOP || errno == ENOTDIR ? -ENOENT :
			       -errno;
		struct stat held, named;
		if (flock(fd, how) < 0) {
			int e = errno;
			close(fd);
			return e == EWOULDBLOCK ? -EBUSY : -e;
		}
		if (fstat(fd, &held) == 0 && lstat(path, &named) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

/* .clone-NAME- then mkdtemp's six characters, or .remove-NAME- then
 * app_template_remove's twelve hex digits: nothing else (NAME-other's
 * are not NAME's). */
static bool leftover_of(const char *entry, const char *name)
{
	static const struct {
		const char *prefix;
		size_t tail;
	} kinds[] = { { ".clone-", 6 }, { ".remove-", 12 } };
	size_t n = strlen(name);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t p = strlen(kinds[k].prefix);
		if (!strncmp(entry, kinds[k].prefix, p) &&
		    !strncmp(entry + p, name, n) && entry[p + n] == '-' &&
		    strlen(entry + p + n + 1) == kinds[k].tail)
			return true;
	}
	return false;
}

int app_template_leftovers(const char *image_dir, const char *name)
{
	int lock = app_template_live(image_dir, LOCK_EX | LOCK_NB);
	if (lock < 0)
		return lock == -ENOENT ? 0 : lock;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" TEMPLATE_DIR, image_dir);
	DIR *d = opendir(dir);
	int removed = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!leftover_of(e->d_name, name))
			continue;
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (remove_tree(path) == 0)
			removed++;
	}
	if (d)
		closedir(d);
	close(lock);
	return removed;
}

int app_template_remove(const char *image_dir, const char *name, char *err,
			size_t err_len)
{
	if (!topology_template_name_valid(name)) {
		snprintf(err, err_len, "'%.64s' is not a template name", name);
		return -EINVAL;
	}
	app_template_leftovers(image_dir, name);
	char path[PATH_MAX], gone[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/" TEMPLATE_DIR "/%s", image_dir, name);
	struct stat st;
	int missing = lstat(path, &st) < 0 ? errno : 0;
	if (missing || !S_ISDIR(st.st_mode)) {
		snprintf(err, err_len, "template %s is not in the image cache"
			 " (%s: %s)", name, path, missing ? strerror(missing) :
			 S_ISLNK(st.st_mode) ? "a symbolic link, not removed" :
			 "not a directory");
		return -ENOENT;
	}
	unsigned char raw[6];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(err, err_len, "getrandom: %s", strerror(errno));
		return -EIO;
	}
	int live = app_template_live(image_dir, LOCK_SH);
	if (live < 0) {
		snprintf(err, err_len, "%s/" TEMPLATE_DIR ": %s", image_dir,
			 strerror(-live));
		return live;
	}
	/* Out of sight in one step (a dot name: list, up and the builder pass
	 * over it), then deleted: a removal killed midway leaves no template
	 * that looks whole, and the next clone or remove of NAME deletes
	 * what it left. */
	snprintf(gone, sizeof(gone), "%s/" TEMPLATE_DIR "/.remove-%s-"
		 "%02x%02x%02x%02x%02x%02x", image_dir, name, raw[0], raw[1],
		 raw[2], raw[3], raw[4], raw[5]);
	int rc = 0;
	if (renameat2(AT_FDCWD, path, AT_FDCWD, gone, RENAME_NOREPLACE) < 0) {
		rc = -errno;
		snprintf(err, err_len, "renaming %s to %s: %s", path, gone,
			 strerror(-rc));
	} else if ((rc = remove_tree(gone))) {
		snprintf(err, err_len, "template %s is gone from the list, but"
			 " %s is left: %s", name, gone, strerror(-rc));
	}
	close(live);
	return rc;
}
