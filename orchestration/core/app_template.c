#include "app_template.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_files.h"

int app_template_paths(const char *image_dir, const char *name,
		       const char *version, struct app_template *out,
		       char *err, size_t err_len)
{
	if (!hex_text(version, TEMPLATE_VERSION_LEN)) {
		snprintf(err, err_len, "template %s: '%.40s' is not a version"
			 " (%d hex digits)", name, version, TEMPLATE_VERSION_LEN);
		return -EBADMSG;
	}
	snprintf(out->version, sizeof(out->version), "%s", version);
	int n = snprintf(out->dir, sizeof(out->dir), "%s/" TEMPLATE_DIR "/%s/%s",
			 image_dir, name, version);
	int m = snprintf(out->root, sizeof(out->root), "%s/" TEMPLATE_ROOT,
			 out->dir);
	if (n < 0 || (size_t)n >= sizeof(out->dir) || m < 0 ||
	    (size_t)m >= sizeof(out->root)) {
		snprintf(err, err_len, "template %s: path too long", name);
		return -ENAMETOOLONG;
	}
	return 0;
}

int app_template_version(const char *image_dir, const char *name,
			 const char *version, struct app_template *out,
			 char *err, size_t err_len)
{
	int rc = app_template_paths(image_dir, name, version, out, err, err_len);
	if (rc)
		return rc;
	struct stat st;
	if (lstat(out->root, &st) < 0) {
		int e = errno;
		snprintf(err, err_len, "template %s version %s: %s: %s", name,
			 version, out->root, strerror(e));
		return -e;
	}
	/* Every VM on the template reads this file; one that could write it
	 * would write into all of them. */
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, err_len, "template %s: %s is not a regular file of"
			 " root's that only root can write (uid %u, mode %04o);"
			 " refusing to boot from it", name, out->root,
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* guest-os/template_image.py's TEMPLATES, and whether build-images makes
 * each unasked (test_command.py compares the two lists). */
static const struct app_template_known known[] = {
	{ "debian", true },
	{ "debian-desktop", false },
};

const struct app_template_known *app_template_known(size_t i)
{
	return i < sizeof(known) / sizeof(known[0]) ? &known[i] : NULL;
}

static const struct app_template_known *known_named(const char *name)
{
	const struct app_template_known *k;
	for (size_t i = 0; (k = app_template_known(i)); i++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

bool app_template_built_by_default(const char *name)
{
	const struct app_template_known *k = known_named(name);
	return k && k->by_default;
}

bool app_template_builder_knows(const char *name)
{
	return known_named(name) != NULL;
}

/* What builds template NAME, for a message: "bulkhead template build
 * NAME", or the names the builder knows when it knows none such. */
static void how_to_build(const char *name, char *out, size_t len)
{
	if (known_named(name)) {
		snprintf(out, len, "bulkhead template build %s builds it", name);
		return;
	}
	size_t n = (size_t)snprintf(out, len, "the image builder makes");
	const struct app_template_known *k;
	for (size_t i = 0; (k = app_template_known(i)) && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s %s", i ? "," : "",
				      k->name);
}

int app_template_current(const char *image_dir, const char *name,
			 struct app_template *out, char *err, size_t err_len)
{
	char link[4096], target[64];
	snprintf(link, sizeof(link), "%s/" TEMPLATE_DIR "/%s/" TEMPLATE_CURRENT,
		 image_dir, name);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		int e = errno;
		char how[256];
		how_to_build(name, how, sizeof(how));
		if (e == ENOENT)
			snprintf(err, err_len, "template %s is not built (no %s;"
				 " %s)", name, link, how);
		else
			snprintf(err, err_len, "template %s: %s: %s", name, link,
				 strerror(e));
		return -e;
	}
	target[n] = '\0';
	if (!hex_text(target, TEMPLATE_VERSION_LEN)) {
		snprintf(err, err_len, "template %s: %s points to '%s', not a"
			 " version (%d hex digits)", name, link, target,
			 TEMPLATE_VERSION_LEN);
		return -EBADMSG;
	}
	return app_template_version(image_dir, name, target, out, err, err_len);
}
