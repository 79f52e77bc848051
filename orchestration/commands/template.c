/* bulkhead template list|build|clone|remove: the templates in the image cache
 * (and those the image builder makes that are not built yet), their
 * versions, and which app VMs run on which (docs/templates.md). */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app_template.h"
#include "orch.h"
#include "state_files.h"
#include "topology.h"

/* The app VMs whose recorded template version (DATA/TOPO/VM/template) is
 * VERSION, as "TOPO/VM" strings into VMS; -errno when a directory there
 * could not be read (a missing DATA is no VM). */
static int vms_on(const char *data_root, const char *version,
		  json_object *vms)
{
	DIR *topos = opendir(data_root);
	int rc = topos || errno == ENOENT ? 0 : -errno;
	struct dirent *t;
	while (topos && (t = readdir(topos))) {
		if (t->d_name[0] == '.')
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", data_root, t->d_name);
		DIR *d = opendir(dir);
		if (!d && errno != ENOENT && errno != ENOTDIR)
			rc = -errno;
		struct dirent *v;
		while (d && (v = readdir(d))) {
			if (v->d_name[0] == '.')
				continue;
			char path[PATH_MAX + 512];
			snprintf(path, sizeof(path), "%s/%s/template", dir, v->d_name);
			char *on = read_text(path);
			if (on && !strncmp(on, version, TEMPLATE_VERSION_LEN) &&
			    strlen(on) >= TEMPLATE_VERSION_LEN) {
				char name[600];
				snprintf(name, sizeof(name), "%s/%s", t->d_name,
					 v->d_name);
				json_object_array_add(vms, json_object_new_string(name));
			}
			free(on);
		}
		if (d)
			closedir(d);
	}
	if (topos)
		closedir(topos);
	return rc;
}

/* One version of a template: what its manifest recorded (the builder
 * wrote it; root's cache), and the VMs on it. */
static json_object *version_json(const char *data_root, const char *dir,
				 const char *version, const char *current)
{
	char path[PATH_MAX + 300];
	json_object *v = json_object_new_object();
	json_object_object_add(v, "version", json_object_new_string(version));
	json_object_object_add(v, "current",
			       json_object_new_boolean(!strcmp(version, current)));
	snprintf(path, sizeof(path), "%s/%s/manifest.json", dir, version);
	json_object *m = json_object_from_file(path);
	json_object *x;
	if (m && json_object_object_get_ex(m, "build_seconds", &x))
		json_object_object_add(v, "build_seconds",
				       json_object_new_double(json_object_get_double(x)));
	if (m && json_object_object_get_ex(m, "packages", &x) &&
	    json_object_is_type(x, json_type_array))
		json_object_object_add(v, "packages", json_object_new_int(
				       (int)json_object_array_length(x)));
	if (m && json_object_object_get_ex(m, "kernel_version", &x) &&
	    json_object_is_type(x, json_type_string))
		json_object_object_add(v, "kernel", json_object_new_string(
				       json_object_get_string(x)));
	/* A clone's (template clone): the template and version it copied. */
	if (m && json_object_object_get_ex(m, "cloned_from", &x) &&
	    json_object_is_type(x, json_type_string))
		json_object_object_add(v, "cloned_from", json_object_new_string(
				       json_object_get_string(x)));
	json_object_put(m);
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s/" TEMPLATE_ROOT, dir, version);
	if (stat(path, &st) == 0) {
		json_object_object_add(v, "root_bytes", json_object_new_int64(st.st_size));
		char when[32];
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M",
			 gmtime(&st.st_mtime));
		json_object_object_add(v, "built", json_object_new_string(when));
	}
	json_object *vms = json_object_new_array();
	vms_on(data_root, version, vms);
	json_object_object_add(v, "vms", vms);
	return v;
}

static json_object *template_json(const char *image_dir, const char *data_root,
				  const char *name)
{
	char dir[PATH_MAX], link[PATH_MAX + 16], current[64] = "";
	snprintf(dir, sizeof(dir), "%s/" TEMPLATE_DIR "/%s", image_dir, name);
	snprintf(link, sizeof(link), "%s/" TEMPLATE_CURRENT, dir);
	ssize_t n = readlink(link, current, sizeof(current) - 1);
	current[n > 0 ? n : 0] = '\0';
	json_object *t = json_object_new_object();
	json_object_object_add(t, "template", json_object_new_string(name));
	json_object_object_add(t, "current", json_object_new_string(current));
	json_object *versions = json_object_new_array();
	struct dirent **names;
	int count = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < count; i++) {
		if (strlen(names[i]->d_name) == TEMPLATE_VERSION_LEN &&
		    hex_text(names[i]->d_name, TEMPLATE_VERSION_LEN))
			json_object_array_add(versions, version_json(
				data_root, dir, names[i]->d_name, current));
		free(names[i]);
	}
	if (count > 0)
		free(names);
	json_object_object_add(t, "versions", versions);
	return t;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(json_object_get_string(get(*(json_object *const *)a,
						 "template")),
		      json_object_get_string(get(*(json_object *const *)b,
						 "template")));
}

/* VMS ("TOPO/VM" strings) as one line, space-separated, cut at LEN. */
static void join_vms(json_object *vms, char *on, size_t len)
{
	size_t at = 0;
	on[0] = '\0';
	for (size_t k = 0; k < json_object_array_length(vms) && at < len - 1; k++)
		at += (size_t)snprintf(on + at, len - at, "%s%s", k ? " " : "",
				       json_object_get_string(
					       json_object_array_get_idx(vms, k)));
}

static void print_template(json_object *t)
{
	const char *name = json_object_get_string(get(t, "template"));
	json_object *versions = get(t, "versions");
	if (json_object_array_length(versions) == 0) {
		printf("template %s: not built (bulkhead template build %s)\n",
		       name, name);
		return;
	}
	printf("template %s (current: %s)\n", name,
	       json_object_get_string(get(t, "current"))[0] ?
	       json_object_get_string(get(t, "current")) : "none");
	printf("  %-17s %-17s %-8s %-9s %s\n", "VERSION", "BUILT (UTC)",
	       "PACKAGES", "ROOT", "APP VMS ON IT");
	for (size_t i = 0; i < json_object_array_length(versions); i++) {
		json_object *v = json_object_array_get_idx(versions, i);
		char on[512];
		join_vms(get(v, "vms"), on, sizeof(on));
		char root[32] = "-";
		if (get(v, "root_bytes"))
			snprintf(root, sizeof(root), "%lld MiB",
				 (long long)(json_object_get_int64(get(v, "root_bytes")) >> 20));
		printf("  %-17s %-17s %-8s %-9s %s%s\n",
		       json_object_get_string(get(v, "version")),
		       get(v, "built") ? json_object_get_string(get(v, "built")) : "-",
		       get(v, "packages") ? json_object_get_string(get(v, "packages")) : "-",
		       root, on[0] ? on : "-",
		       json_object_get_boolean(get(v, "current")) ? "  (current)" : "");
	}
}

/* Every template the builder makes (a known one not built yet has no
 * versions), then any other the cache holds, in name order. */
static int template_list(struct orch *o)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" TEMPLATE_DIR, o->image_dir);
	json_object *all = json_object_new_array();
	struct dirent **names;
	int count = scandir(dir, &names, NULL, alphasort);
	const struct app_template_known *k;
	for (size_t i = 0; (k = app_template_known(i)); i++) {
		bool built = false;
		for (int j = 0; j < count; j++)
			built |= !strcmp(names[j]->d_name, k->name);
		if (!built)
			json_object_array_add(all, template_json(
				o->image_dir, o->data_root, k->name));
	}
	for (int i = 0; i < count; i++) {
		if (names[i]->d_name[0] != '.')
			json_object_array_add(all, template_json(
				o->image_dir, o->data_root, names[i]->d_name));
		free(names[i]);
	}
	if (count > 0)
		free(names);
	json_object_array_sort(all, by_name);
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(all,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	for (size_t i = 0; !o->json && i < json_object_array_length(all); i++)
		print_template(json_object_array_get_idx(all, i));
	json_object_put(all);
	return 0;
}

/* The image builder makes every image that is missing or stale, the
 * templates among them (those it makes unasked, or NAME): a new template
 * version when its packages or files changed (app VMs move to it at
 * their next start). */
static int template_build(struct orch *o, const char *name)
{
	if (name && !app_template_builder_knows(name)) {
		fprintf(stderr, "bulkhead: template build: the image builder"
			" makes no template '%.64s'; bulkhead template list"
			" names those it makes\n", name);
		return 2;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("BULKHEAD_IMAGE_DIR", o->image_dir, 1);
		if (name)
			execl(o->build_images, o->build_images, "--template",
			      name, (char *)NULL);
		else
			execl(o->build_images, o->build_images, (char *)NULL);
		fprintf(stderr, "bulkhead: %s: %s\n", o->build_images,
			strerror(errno));
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "bulkhead: template build: %s failed\n",
			o->build_images);
		return 1;
	}
	return template_list(o);
}

/* A copy of SRC's current version as template DST (app_template_clone);
 * 2 for a refusal (nothing written), 1 when the copy failed. */
static int template_clone(struct orch *o, const char *src, const char *dst)
{
	struct app_template t;
	char err[ORCH_ERR_LEN];
	/* SRC held (shared) while it is copied: a remove of SRC refuses
	 * meanwhile (app_template_hold) instead of deleting the files being
	 * read. A SRC that is no template is app_template_clone's to say. */
	int hold = topology_template_name_valid(src) ?
		   app_template_hold(o->image_dir, src, LOCK_SH) : -ENOENT;
	if (hold < 0 && hold != -ENOENT) {
		fprintf(stderr, "bulkhead: template clone: %s/" TEMPLATE_DIR
			"/%s: %s; nothing written\n", o->image_dir, src,
			strerror(-hold));
		return 1;
	}
	int rc = app_template_clone(o->image_dir, src, dst, &t, err, sizeof(err));
	if (hold >= 0)
		close(hold);
	if (rc) {
		fprintf(stderr, "bulkhead: template clone: %s\n", err);
		return rc == -EINVAL || rc == -EEXIST || rc == -ENOENT ||
		       rc == -EBADMSG || rc == -EPERM ? 2 : 1;
	}
	printf("template clone: %s version %s, a copy of %s (%s); app VMs name"
	       " it as template: %s\n", dst, t.version, src, t.dir, dst);
	return 0;
}

/* template_remove's work, NAME held (or not a directory). */
static int template_remove_held(struct orch *o, const char *name,
				const char *dir, char *err, size_t err_len)
{
	json_object *vms = json_object_new_array();
	struct dirent **names;
	int count = topology_template_name_valid(name) ?
		    scandir(dir, &names, NULL, alphasort) : -1;
	/* Fail closed: a version or a VM record that could not be read may
	 * be the one a VM is on. */
	int unread = count < 0 && topology_template_name_valid(name) &&
		     errno != ENOENT && errno != ENOTDIR ? errno : 0;
	for (int i = 0; i < count; i++) {
		int rc = 0;
		if (strlen(names[i]->d_name) == TEMPLATE_VERSION_LEN &&
		    hex_text(names[i]->d_name, TEMPLATE_VERSION_LEN))
			rc = vms_on(o->data_root, names[i]->d_name, vms);
		unread = unread ? unread : -rc;
		free(names[i]);
	}
	if (count > 0)
		free(names);
	if (unread) {
		fprintf(stderr, "bulkhead: template remove: cannot tell whether"
			" app VMs are on template %s (reading %s or %s: %s);"
			" nothing removed\n", name, dir, o->data_root,
			strerror(unread));
		json_object_put(vms);
		return 1;
	}
	size_t n = json_object_array_length(vms);
	if (n) {
		char on[512];
		join_vms(vms, on, sizeof(on));
		fprintf(stderr, "bulkhead: template remove: template %s has app"
			" VMs on it: %s (give them another template and up, or"
			" remove them, first)\n", name, on);
		json_object_put(vms);
		return 2;
	}
	json_object_put(vms);
	int rc = app_template_remove(o->image_dir, name, err, err_len);
	if (rc) {
		fprintf(stderr, "bulkhead: template remove: %s\n", err);
		return rc == -EINVAL || rc == -ENOENT ? 2 : 1;
	}
	printf("template remove: %s removed (%s)\n", name, dir);
	return 0;
}

/* Template NAME removed (app_template_remove) unless an app VM is on one
 * of its versions: a running VM's overlay is backed by its root file
 * system, and a stopped one's next start would find no template. 2 for a
 * refusal (nothing removed). */
static int template_remove(struct orch *o, const char *name)
{
	char dir[PATH_MAX], err[ORCH_ERR_LEN];
	snprintf(dir, sizeof(dir), "%s/" TEMPLATE_DIR "/%s", o->image_dir, name);
	/* Held until NAME is gone: an up that starts a VM on it holds it
	 * until the VM's record names its version, a clone of it while it
	 * copies (app_template_hold). A
	 * name that is no directory there is app_template_remove's to say. */
	int hold = topology_template_name_valid(name) ?
		   app_template_hold(o->image_dir, name, LOCK_EX | LOCK_NB) :
		   -ENOENT;
	if (hold == -EBUSY) {
		fprintf(stderr, "bulkhead: template remove: an up or a clone is"
			" using template %s; nothing removed\n", name);
		return 2;
	}
	if (hold < 0 && hold != -ENOENT) {
		fprintf(stderr, "bulkhead: template remove: %s: %s; nothing"
			" removed\n", dir, strerror(-hold));
		return 1;
	}
	int rc = template_remove_held(o, name, dir, err, sizeof(err));
	if (hold >= 0)
		close(hold);
	return rc;
}

int cmd_template(struct orch *o, int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[0], "list") && !strcmp(argv[1], "--json"))
		o->json = true;
	if (argc >= 1 && !strcmp(argv[0], "list") && (argc == 1 || o->json))
		return template_list(o);
	if ((argc == 1 || argc == 2) && !strcmp(argv[0], "build"))
		return template_build(o, argc == 2 ? argv[1] : NULL);
	if (argc == 3 && !strcmp(argv[0], "clone"))
		return template_clone(o, argv[1], argv[2]);
	if (argc == 2 && !strcmp(argv[0], "remove"))
		return template_remove(o, argv[1]);
	fprintf(stderr, "bulkhead: template: '%s' is not list, build, clone"
		" SRC NEW or remove NAME\n", argc ? argv[0] : "");
	return 2;
}
