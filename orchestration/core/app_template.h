/* Templates in the image cache (guest-os/template_image.py builds them;
 * docs/templates.md): IMAGE_DIR/templates/NAME/VERSION/ holds a root file
 * system (root.qcow2) and the kernel and initramfs that boot it, each
 * version never changed once built; NAME/current links to the newest. An
 * app VM on a template boots the version current at its start, under an
 * overlay of its own, so replacing a template never touches a running
 * VM's disk: it moves at its next start. */
#ifndef BULKHEAD_APP_TEMPLATE_H
#define BULKHEAD_APP_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define TEMPLATE_DIR "templates"
#define TEMPLATE_CURRENT "current"
#define TEMPLATE_ROOT "root.qcow2"
#define TEMPLATE_KERNEL "vmlinuz"
#define TEMPLATE_INITRD "initrd.img"
/* A version is the first 16 hex digits of the template's build key. */
#define TEMPLATE_VERSION_LEN 16

struct app_template {
	char version[TEMPLATE_VERSION_LEN + 1];
	char dir[4096];         /* IMAGE_DIR/templates/NAME/VERSION */
	char root[4096];        /* dir/root.qcow2 */
};

/* A template guest-os/build-images can make: by_default, it makes it
 * unasked (up builds it when it is missing); else only when asked
 * (bulkhead template build NAME), and up refuses a VM on it until then. */
struct app_template_known {
	const char *name;
	bool by_default;
};
/* The I-th known template, NULL past the last. */
const struct app_template_known *app_template_known(size_t i);
bool app_template_built_by_default(const char *name);
bool app_template_builder_knows(const char *name);

/* The version of template NAME that is current (its link's target, which
 * must be a version name) and its paths. The root file system must be a
 * regular file of root's that nobody else writes: every VM on it reads it
 * and none may change it. -ENOENT names the template and what builds it
 * (the command, or the templates the builder knows) when it is missing;
 * -EBADMSG/-EPERM name the link or file at fault. */
int app_template_current(const char *image_dir, const char *name,
			 struct app_template *out, char *err, size_t err_len);

/* The same for a given VERSION (the one a running VM was started on). */
/* Only VERSION's paths, checked for nothing but its syntax: a running VM's
 * version, which the builder may have removed since (its QEMU holds the
 * files open). */
int app_template_paths(const char *image_dir, const char *name,
		       const char *version, struct app_template *out,
		       char *err, size_t err_len);
int app_template_version(const char *image_dir, const char *name,
			 const char *version, struct app_template *out,
			 char *err, size_t err_len);

/* Template DST made a copy of SRC's current version (its root file
 * system, kernel and initramfs copied whole, under a version name of its
 * own, its manifest saying where it came from), for a person to change
 * without touching SRC. Refused, with nothing written: DST not a template
 * name (-EINVAL), a template that exists or one the image builder makes
 * (-EEXIST), SRC not built or not whole (app_template_current's errors).
 * OUT: DST's current version. */
int app_template_clone(const char *image_dir, const char *src, const char *dst,
		       struct app_template *out, char *err, size_t err_len);

/* IMAGE_DIR/templates flocked (HOW: LOCK_SH by a clone or remove while
 * its staging or removal directory exists; LOCK_EX | LOCK_NB by the
 * cleanup): the descriptor holding it, -EBUSY when it would wait. */
int app_template_live(const char *image_dir, int how);
/* IMAGE_DIR/templates/NAME flocked, HOW: LOCK_SH by an up from choosing
 * the version a VM starts on until its record names it, and by a clone
 * of NAME while it copies, LOCK_EX |
 * LOCK_NB by a remove from looking for VMs on NAME until it is gone, so
 * that no VM starts on a template between the two. The descriptor
 * holding it; -ENOENT when NAME is no directory of its own there
 * (missing, a symbolic link, a file: nothing remove takes), -EBUSY when
 * it would wait, or open's other errors. */
int app_template_hold(const char *image_dir, const char *name, int how);
/* Removes what killed clones and removals of NAME left
 * (.clone-NAME-XXXXXX, .remove-NAME-...) when no clone or remove is live
 * (app_template_live); the number removed, or -errno (-EBUSY: one is). */
int app_template_leftovers(const char *image_dir, const char *name);
/* Template NAME removed from the image cache, every version: renamed out
 * of sight at once, then deleted. The caller checks that no app VM is on
 * it. -EINVAL: not a template name; -ENOENT: not in the cache. */
int app_template_remove(const char *image_dir, const char *name, char *err,
			size_t err_len);

#endif
