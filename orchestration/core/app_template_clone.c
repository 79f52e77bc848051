/* bulkhead template clone SRC NEW (docs/templates.md "Cloning a
 * template"): a template of a new name whose one version is a copy of
 * SRC's current one, Qubes' qvm-clone for templates. The copy is the
 * person's to change; SRC and the VMs on it never see it. */
#define _GNU_SOURCE
#include "app_template.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_files.h"
#include "topology.h"

/* The files of a version, each copied whole (the manifest is written
 * anew). */
static const char *const version_files[] = {
	TEMPLATE_ROOT, TEMPLATE_KERNEL, TEMPLATE_INITRD,
};

/* FROM's bytes into TO (a new file, root's, 0644 like the builder's: every
 * VM reads it, only root writes it), flushed before the clone is renamed
 * into place so a crash never leaves a whole-looking template with a torn
 * root file system. */
static int copy_whole(const char *from, const char *to, char *err,
		      size_t err_len)
{
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, err_len, "%s: %s", from, strerror(errno));
		return -errno;
	}
	struct stat st;
	int rc = fstat(in, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (rc) {
		snprintf(err, err_len, "%s: %s", from, rc == -EINVAL ?
			 "not a regular file" : strerror(-rc));
		close(in);
		return rc;
	}
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (out < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", to, strerror(e));
		close(in);
		return -e;
	}
	loff_t off = 0;
	while (!rc && off < st.st_size) {
		ssize_t n = copy_file_range(in, &off, out, NULL,
					    (size_t)(st.st_size - off), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;   /* 0: FROM shrank */
	}
	if (!rc && (fchmod(out, 0644) < 0 || fsync(out) < 0))
		rc = -errno;
	if (rc)
		snprintf(err, err_len, "copying %s to %s: %s", from, to,
			 strerror(-rc));
	close(out);
	close(in);
	return rc;
}

/* SRC's manifest with the clone's name and version and where it came
 * from; the rest (packages, kernel, sizes, the files' sha256) holds for
 * the copy as it was for SRC. */
static int write_manifest(const struct app_template *src, const char *src_name,
			  const char *dst_name, const char *dir,
			  const char *version, char *err, size_t err_len)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/manifest.json", src->dir);
	json_object *m = json_object_from_file(path);
	if (!m || !json_object_is_type(m, json_type_object)) {
		json_object_put(m);
		m = json_object_new_object();
	}
	char from[TOPO_TEMPLATE_NAME_MAX + TEMPLATE_VERSION_LEN + 2];
	snprintf(from, sizeof(from), "%s/%s", src_name, src->version);
	json_object_object_add(m, "template", json_object_new_string(dst_name));
	json_object_object_add(m, "version", json_object_new_string(version));
	json_object_object_add(m, "cloned_from", json_object_new_string(from));
	/* The key is the builder's, of SRC's inputs: not this template's. */
	json_object_object_del(m, "key");
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	int rc = write_file(path, json_object_to_json_string_ext(m,
				JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_NOSLASHESCAPE), 0644);
	json_object_put(m);
	if (rc)
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
	return rc;
}

/* The refusals, before anything is written: DST a valid name that no
 * template has and the builder does not make (it would replace it),
 * SRC's current version whole and root's. */
static int clone_check(const char *image_dir, const char *src, const char *dst,
		       struct app_template *s, char *err, size_t err_len)
{
	if (!topology_template_name_valid(dst)) {
		snprintf(err, err_len, "'%.64s' is not a template name (a-z,"
			 " then a-z, 0-9 or '-'; at most %d characters)", dst,
			 TOPO_TEMPLATE_NAME_MAX);
		return -EINVAL;
	}
	if (app_template_builder_knows(dst)) {
		snprintf(err, err_len, "template %s is the image builder's (its"
			 " next build would replace the copy); choose another"
			 " name", dst);
		return -EEXIST;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" TEMPLATE_DIR "/%s", image_dir, dst);
	struct stat st;
	if (lstat(path, &st) == 0) {
		snprintf(err, err_len, "template %s exists (%s)", dst, path);
		return -EEXIST;
	}
	if (errno != ENOENT) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!topology_template_name_valid(src)) {
		snprintf(err, err_len, "'%.64s' is not a template name", src);
		return -EINVAL;
	}
	return app_template_current(image_dir, src, s, err, err_len);
}

/* A version name of its own: app VMs record the version they run on, and
 * `template list` finds them by it, so the clone's must not be SRC's. */
static int new_version(char version[TEMPLATE_VERSION_LEN + 1], char *err,
		       size_t err_len)
{
	unsigned char raw[TEMPLATE_VERSION_LEN / 2];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(err, err_len, "getrandom: %s", strerror(errno));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(version + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* The clone made whole in IMAGE_DIR/templates/.clone-DST-XXXXXX (a name
 * `template list` and the builder pass over), then renamed to DST without
 * replacing anything: a DST made meanwhile wins and this one is removed. */
int app_template_clone(const char *image_dir, const char *src, const char *dst,
		       struct app_template *out, char *err, size_t err_len)
{
	struct app_template s;
	int rc = clone_check(image_dir, src, dst, &s, err, err_len);
	if (rc)
		return rc;
	char stage[PATH_MAX], vdir[PATH_MAX + 32], final[PATH_MAX];
	char version[TEMPLATE_VERSION_LEN + 1];
	snprintf(stage, sizeof(stage), "%s/" TEMPLATE_DIR "/.clone-%s-XXXXXX",
		 image_dir, dst);
	snprintf(final, sizeof(final), "%s/" TEMPLATE_DIR "/%s", image_dir, dst);
	rc = new_version(version, err, err_len);
	if (rc)
		return rc;
	/* What a killed clone of DST left is removed first; this one holds
	 * the templates directory shared while its own exists, so no
	 * cleanup takes it (app_template_leftovers). */
	app_template_leftovers(image_dir, dst);
	int lock = app_template_live(image_dir, LOCK_SH);
	if (lock < 0) {
		snprintf(err, err_len, "%s/" TEMPLATE_DIR ": %s", image_dir,
			 strerror(-lock));
		return lock;
	}
	if (!mkdtemp(stage)) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", stage, strerror(-rc));
		close(lock);
		return rc;
	}
	snprintf(vdir, sizeof(vdir), "%s/%s", stage, version);
	if (chmod(stage, 0755) < 0 || mkdir(vdir, 0755) < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", vdir, strerror(-rc));
	}
	for (size_t i = 0; !rc && i < sizeof(version_files) /
	     sizeof(version_files[0]); i++) {
		char from[PATH_MAX + 32], to[PATH_MAX + 64];
		snprintf(from, sizeof(from), "%s/%s", s.dir, version_files[i]);
		snprintf(to, sizeof(to), "%s/%s", vdir, version_files[i]);
		rc = copy_whole(from, to, err, err_len);
	}
	rc = rc ? rc : write_manifest(&s, src, dst, vdir, version, err, err_len);
	char link[PATH_MAX + 32];
	snprintf(link, sizeof(link), "%s/" TEMPLATE_CURRENT, stage);
	if (!rc && symlink(version, link) < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", link, strerror(-rc));
	}
	if (!rc && renameat2(AT_FDCWD, stage, AT_FDCWD, final,
			     RENAME_NOREPLACE) < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			snprintf(err, err_len, "template %s exists (%s, made"
				 " while copying)", dst, final);
		else
			snprintf(err, err_len, "%s: %s", final, strerror(-rc));
	}
	if (rc)
		remove_tree(stage);
	close(lock);
	return rc ? rc : app_template_current(image_dir, dst, out, err, err_len);
}
