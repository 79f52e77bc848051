/* bulkhead template remove NAME (docs/templates.md "Removing a
 * template"), and the staging directories a killed `template clone`
 * leaves behind. Which app VMs are on a template is the command's check
 * (commands/template.c): this file only removes. */
#define _GNU_SOURCE
#include "app_template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_files.h"
#include "topology.h"

int app_template_stage_lock(const char *stage)
{
	int fd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return fd;
}

int app_template_stale_stages(const char *image_dir, const char *name)
{
	char dir[PATH_MAX], prefix[TOPO_TEMPLATE_NAME_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/" TEMPLATE_DIR, image_dir);
	snprintf(prefix, sizeof(prefix), ".clone-%s-", name);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		/* .clone-NAME- then mkdtemp's six characters, nothing else
		 * (NAME-other's are not NAME's). */
		if (strncmp(e->d_name, prefix, strlen(prefix)) ||
		    strlen(e->d_name) != strlen(prefix) + 6)
			continue;
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* A clone still copying holds its lock: only a dead one's
		 * directory is free to take. */
		int fd = app_template_stage_lock(path);
		if (fd < 0)
			continue;
		if (remove_tree(path) == 0)
			removed++;
		close(fd);
	}
	closedir(d);
	return removed;
}

int app_template_remove(const char *image_dir, const char *name, char *err,
			size_t err_len)
{
	if (!topology_template_name_valid(name)) {
		snprintf(err, err_len, "'%.64s' is not a template name", name);
		return -EINVAL;
	}
	char path[PATH_MAX], gone[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/" TEMPLATE_DIR "/%s", image_dir, name);
	struct stat st;
	int missing = lstat(path, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 :
		      ENOTDIR;
	if (missing) {
		snprintf(err, err_len, "template %s is not in the image cache"
			 " (%s: %s)", name, path, strerror(missing));
		return -ENOENT;
	}
	/* Out of sight in one step (a dot name: list, up and the builder pass
	 * over it), then deleted: a removal killed midway leaves no template
	 * that looks whole. */
	snprintf(gone, sizeof(gone), "%s/" TEMPLATE_DIR "/.remove-%s-%ld",
		 image_dir, name, (long)getpid());
	if (renameat2(AT_FDCWD, path, AT_FDCWD, gone, RENAME_NOREPLACE) < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	int rc = remove_tree(gone);
	if (rc) {
		snprintf(err, err_len, "template %s is gone from the list, but"
			 " %s is left: %s", name, gone, strerror(-rc));
		return rc;
	}
	app_template_stale_stages(image_dir, name);
	return 0;
}
