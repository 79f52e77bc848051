/* links.json: the links up asks the supervisor to run (link_set.h). */
#include "link_set.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_files.h"

static const char *json_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int copy_field(char *dst, size_t len, json_object *o, const char *key,
		      char *err, size_t err_len)
{
	const char *v = json_str(o, key);
	if (!v || strlen(v) >= len) {
		snprintf(err, err_len, "links file: field '%s' missing or too long",
			 key);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int link_spec_arg(struct link_spec *s, const char *fmt, ...)
{
	size_t used = 0;
	if (s->argc == LINK_ARGS_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < s->argc; i++)
		used += strlen(s->args + used) + 1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->args + used, sizeof(s->args) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s->args) - used) {
		memset(s->args + used, 0, sizeof(s->args) - used);
		return -E2BIG;
	}
	s->argc++;
	return 0;
}

struct link_spec *link_set_add(struct link_set *set)
{
	if (set->count == set->room) {
		unsigned room = set->room ? 2 * set->room : 8;
		struct link_spec *more = realloc(set->links, room * sizeof(*more));
		if (!more)
			return NULL;
		set->links = more;
		set->room = room;
	}
	struct link_spec *s = &set->links[set->count++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* links.json is up's, root's alone: its fields are checked to fit, not
 * distrusted. */
static int read_spec(json_object *l, struct link_spec *s, char *err,
		     size_t err_len)
{
	json_object *arr;
	int rc = copy_field(s->name, sizeof(s->name), l, "name", err, err_len);
	rc = rc ? rc : copy_field(s->kind, sizeof(s->kind), l, "kind", err, err_len);
	rc = rc ? rc : copy_field(s->driver_vm, sizeof(s->driver_vm), l,
				  "driver_vm", err, err_len);
	rc = rc ? rc : copy_field(s->binary, sizeof(s->binary), l, "binary", err,
				  err_len);
	rc = rc ? rc : copy_field(s->netns, sizeof(s->netns), l, "netns", err,
				  err_len);
	rc = rc ? rc : copy_field(s->control, sizeof(s->control), l, "control",
				  err, err_len);
	rc = rc ? rc : copy_field(s->tell_next, sizeof(s->tell_next), l,
				  "tell_next", err, err_len);
	if (!rc && (!json_object_object_get_ex(l, "sockets", &arr) ||
		    !json_object_is_type(arr, json_type_array) ||
		    json_object_array_length(arr) > 2)) {
		snprintf(err, err_len, "links file: %s: 'sockets' is not a list"
			 " of at most 2", s->name);
		rc = -EINVAL;
	}
	for (size_t i = 0; !rc && i < json_object_array_length(arr); i++) {
		const char *v = json_object_get_string(
			json_object_array_get_idx(arr, i));
		if (!v || strlen(v) >= sizeof(s->sockets[i])) {
			snprintf(err, err_len, "links file: %s: sockets[%zu] missing"
				 " or too long", s->name, i);
			rc = -EINVAL;
		} else {
			memcpy(s->sockets[i], v, strlen(v) + 1);
		}
	}
	if (!rc && (!json_object_object_get_ex(l, "args", &arr) ||
		    !json_object_is_type(arr, json_type_array))) {
		snprintf(err, err_len, "links file: %s: no 'args' list", s->name);
		rc = -EINVAL;
	}
	for (size_t i = 0; !rc && i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string) ||
		    link_spec_arg(s, "%s", json_object_get_string(v))) {
			snprintf(err, err_len, "links file: %s: args[%zu] is not a"
				 " string, or the arguments are too long", s->name, i);
			rc = -EINVAL;
		}
	}
	return rc;
}

int link_set_read(const char *path, struct link_set *set, char *err,
		  size_t err_len)
{
	memset(set, 0, sizeof(*set));
	json_object *root = json_object_from_file(path);
	if (!root) {
		snprintf(err, err_len, "%s: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	json_object *links;
	int rc = 0;
	if (!json_object_object_get_ex(root, "links", &links) ||
	    !json_object_is_type(links, json_type_array)) {
		snprintf(err, err_len, "%s: no links array", path);
		rc = -EINVAL;
	}
	size_t n = rc ? 0 : json_object_array_length(links);
	for (size_t i = 0; !rc && i < n; i++) {
		struct link_spec *s = link_set_add(set);
		rc = s ? read_spec(json_object_array_get_idx(links, i), s, err,
				   err_len) : -ENOMEM;
	}
	json_object_put(root);
	if (rc)
		link_set_free(set);
	return rc;
}

void link_set_free(struct link_set *set)
{
	free(set->links);
	memset(set, 0, sizeof(*set));
}

static void add_string(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

int link_set_write(const char *path, const struct link_set *set)
{
	json_object *root = json_object_new_object();
	json_object *links = json_object_new_array();
	for (unsigned i = 0; i < set->count; i++) {
		const struct link_spec *s = &set->links[i];
		json_object *l = json_object_new_object();
		add_string(l, "name", s->name);
		add_string(l, "kind", s->kind);
		add_string(l, "driver_vm", s->driver_vm);
		add_string(l, "binary", s->binary);
		add_string(l, "netns", s->netns);
		add_string(l, "control", s->control);
		add_string(l, "tell_next", s->tell_next);
		json_object *sockets = json_object_new_array();
		for (unsigned j = 0; j < 2; j++)
			if (s->sockets[j][0])
				json_object_array_add(sockets,
					json_object_new_string(s->sockets[j]));
		json_object_object_add(l, "sockets", sockets);
		json_object *args = json_object_new_array();
		const char *arg = s->args;
		for (unsigned j = 0; j < s->argc; j++, arg += strlen(arg) + 1)
			json_object_array_add(args, json_object_new_string(arg));
		json_object_object_add(l, "args", args);
		json_object_array_add(links, l);
	}
	json_object_object_add(root, "links", links);
	/* Whole or not at all (rename), so the supervisor never reads
	 * half; root's alone (it names every socket). */
	int rc = write_file(path, json_object_to_json_string_ext(
				    root, JSON_C_TO_STRING_PRETTY), 0600);
	json_object_put(root);
	return rc;
}
