#include "input_status.h"

#include <json-c/json.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#define U64(v) json_object_new_uint64(v)

char *input_status_json(const struct input_state *s, const char *name)
{
	const struct input_filter *f = &s->filter;
	const struct input_counters *c = &f->c;
	json_object *o = json_object_new_object();
	json_object *dropped = json_object_new_object();
	uint64_t down = 0;
	char *text;

	for (uint16_t code = 0; code <= KEY_MAX; code++)
		down += input_filter_key_down(f, code);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "kind", json_object_new_string("input"));
	json_object_object_add(o, "class",
			       json_object_new_string(input_class_caps(f->cls)->name));
	json_object_object_add(o, "port", json_object_new_string(s->port));
	json_object_object_add(o, "connected", json_object_new_boolean(s->connected));
	json_object_object_add(o, "connect_attempts", U64(s->connect_attempts));
	json_object_object_add(o, "device", json_object_new_boolean(s->device_created));
	json_object_object_add(o, "device_creations", U64(s->device_creations));
	json_object_object_add(o, "rate", U64(f->rate));
	json_object_object_add(o, "burst", U64(f->burst));
	json_object_object_add(o, "records", U64(c->records));
	json_object_object_add(o, "passed", U64(c->passed));
	json_object_object_add(o, "frames", U64(c->frames));
	json_object_object_add(o, "keys_down", U64(down));
	json_object_object_add(o, "released_at_end", U64(c->released_at_end));
	json_object_object_add(o, "rate_limited", U64(c->dropped[INPUT_DROP_RATE]));
	for (unsigned r = 0; r < INPUT_DROP_COUNT; r++)
		json_object_object_add(dropped, input_drop_name(r),
				       U64(c->dropped[r]));
	json_object_object_add(o, "dropped", dropped);
	json_object_object_add(o, "uinput_write_errors", U64(s->uinput_write_errors));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return text;
}
