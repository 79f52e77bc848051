#include "journal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_files.h"
#include "state_paths.h"

static const char *const what_names[] = {
	[JOURNAL_DOMAIN] = "domain",
	[JOURNAL_TAP] = "tap",
	[JOURNAL_NETNS] = "netns",
	[JOURNAL_SUPERVISOR] = "supervisor",
	[JOURNAL_VFIO] = "vfio",
	[JOURNAL_STATE_DIR] = "state-dir",
};

static json_object *load(const char *state_dir)
{
	char path[PATH_MAX];
	state_file(state_dir, STATE_JOURNAL, path, sizeof(path));
	json_object *j = json_object_from_file(path);
	if (!j || !json_object_is_type(j, json_type_array)) {
		json_object_put(j);
		j = json_object_new_array();
	}
	return j;
}

static int store(const char *state_dir, json_object *j)
{
	char path[PATH_MAX];
	state_file(state_dir, STATE_JOURNAL, path, sizeof(path));
	return write_file(path, json_object_to_json_string_ext(
				  j, JSON_C_TO_STRING_PRETTY), 0600);
}

int journal_append(const char *state_dir, const struct journal_entry *e)
{
	json_object *j = load(state_dir), *o = json_object_new_object();
	json_object_object_add(o, "what", json_object_new_string(what_names[e->what]));
	json_object_object_add(o, "a", json_object_new_string(e->a));
	json_object_object_add(o, "b", json_object_new_string(e->b));
	json_object_array_add(j, o);
	int rc = store(state_dir, j);
	json_object_put(j);
	return rc;
}

static bool entry_of(json_object *o, struct journal_entry *e)
{
	json_object *what, *a, *b;
	if (!json_object_object_get_ex(o, "what", &what) ||
	    !json_object_object_get_ex(o, "a", &a) ||
	    !json_object_object_get_ex(o, "b", &b))
		return false;
	const char *w = json_object_get_string(what);
	for (size_t i = 0; i < sizeof(what_names) / sizeof(what_names[0]); i++)
		if (w && !strcmp(w, what_names[i])) {
			e->what = (enum journal_what)i;
			snprintf(e->a, sizeof(e->a), "%s", json_object_get_string(a));
			snprintf(e->b, sizeof(e->b), "%s", json_object_get_string(b));
			return e->a[0] != '\0';
		}
	return false;
}

int journal_read(const char *state_dir, struct journal_entry **out,
		 unsigned *count)
{
	json_object *j = load(state_dir);
	size_t n = json_object_array_length(j);
	*out = calloc(n ? n : 1, sizeof(**out));
	*count = 0;
	if (!*out) {
		json_object_put(j);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (entry_of(json_object_array_get_idx(j, i), &(*out)[*count]))
			(*count)++;
	json_object_put(j);
	return 0;
}

int journal_truncate(const char *state_dir, unsigned n)
{
	/* Counted as journal_read counts: a damaged entry (never written by
	 * us) is dropped, not kept in the count. */
	json_object *j = load(state_dir), *kept = json_object_new_array();
	struct journal_entry e;
	for (size_t i = 0; i < json_object_array_length(j) &&
	     json_object_array_length(kept) < n; i++) {
		json_object *o = json_object_array_get_idx(j, i);
		if (entry_of(o, &e))
			json_object_array_add(kept, json_object_get(o));
	}
	int rc = store(state_dir, kept);
	json_object_put(kept);
	json_object_put(j);
	return rc;
}
