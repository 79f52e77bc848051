/* libcyaml's errors turned into our one line (topology_schema.c has the
 * schema tables and the load).
 *
 * libcyaml (1.3.1) reports an error through its log callback as a message
 * ("Load: Unexpected key: memry") and a backtrace of its state stack,
 * innermost first ("  in mapping field 'vms' (line: 2, column: 3)",
 * "  in sequence entry '1' ...", "  in mapping ..."). The callback keeps
 * the first message and its frames in a context (no global state); the
 * frames give the field path, and the libyaml document gives the line and
 * the offending value (libcyaml's own line numbers point at whatever event
 * it read last, often the one before the problem). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_internal.h"

static void parse_frame(struct topo_capture *cap, const char *line)
{
	static const char field_prefix[] = "in mapping field '";
	static const char entry_prefix[] = "in sequence entry '";
	struct topo_frame *f;

	line += strspn(line, " ");
	if (cap->nframes == TOPO_CAPTURE_FRAMES)
		return;
	f = &cap->frames[cap->nframes];
	if (strncmp(line, field_prefix, sizeof(field_prefix) - 1) == 0) {
		const char *key = line + sizeof(field_prefix) - 1;
		size_t len = strcspn(key, "'");

		if (len >= sizeof(f->key))
			len = sizeof(f->key) - 1;
		f->kind = FRAME_FIELD;
		memcpy(f->key, key, len);
		f->key[len] = '\0';
	} else if (strncmp(line, entry_prefix, sizeof(entry_prefix) - 1) == 0) {
		f->kind = FRAME_ENTRY;
		f->count = (unsigned)strtoul(line + sizeof(entry_prefix) - 1,
					     NULL, 10);
	} else if (strncmp(line, "in mapping", 10) == 0) {
		f->kind = FRAME_MAPPING;
	} else {
		return;
	}
	cap->nframes++;
}

void topo_capture_log(cyaml_log_t level, void *log_ctx, const char *fmt,
			va_list args)
{
	struct topo_capture *cap = log_ctx;
	char line[256];
	const char *text = line;
	size_t len;

	if (level < CYAML_LOG_ERROR || cap->done)
		return;
	vsnprintf(line, sizeof(line), fmt, args);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
		line[--len] = '\0';
	if (strncmp(text, "Load: ", 6) == 0)
		text += 6;
	if (strcmp(text, "Backtrace:") == 0) {
		cap->in_backtrace = true;
	} else if (cap->in_backtrace && strncmp(text, "  in ", 5) == 0) {
		parse_frame(cap, text);
	} else if (cap->in_backtrace) {
		cap->done = true;
	} else if (cap->msg[0] == '\0') {
		snprintf(cap->msg, sizeof(cap->msg), "%s", text);
	}
}

/* The error's field: the frames, outermost first, as "a[1].b". An entry
 * frame counts the entries begun, the one being read included, so its
 * index is one less. DROP_INNERMOST leaves out the innermost frame when
 * it is a FRAME_FIELD (a key error: the field is the last one read, not
 * the one at fault) or a FRAME_ENTRY (a count error: the list itself). */
static void frames_field(const struct topo_capture *cap, bool drop_innermost,
			 char *field)
{
	unsigned first = 0;

	field[0] = '\0';
	if (drop_innermost && cap->nframes > 0 &&
	    cap->frames[0].kind != FRAME_MAPPING)
		first = 1;
	for (unsigned i = cap->nframes; i-- > first;) {
		const struct topo_frame *f = &cap->frames[i];
		size_t len = strlen(field);

		if (f->kind == FRAME_FIELD)
			snprintf(field + len, TOPO_FIELD_MAX - len, "%s%s",
				 len ? "." : "", f->key);
		else if (f->kind == FRAME_ENTRY)
			snprintf(field + len, TOPO_FIELD_MAX - len, "[%u]",
				 f->count ? f->count - 1 : 0);
	}
}

/* The schema at FIELD (a path frames_field wrote) under ROOT, or NULL. */
static const cyaml_schema_value_t *schema_at(const cyaml_schema_value_t *root,
					     const char *field)
{
	const cyaml_schema_value_t *schema = root;
	const char *p = field;

	while (*p != '\0' && schema != NULL) {
		if (*p == '.') {
			p++;
		} else if (*p == '[') {
			if (schema->type != CYAML_SEQUENCE &&
			    schema->type != CYAML_SEQUENCE_FIXED)
				return NULL;
			schema = schema->sequence.entry;
			p += strcspn(p, "]");
			p += *p == ']';
		} else {
			size_t len = strcspn(p, ".[");
			const cyaml_schema_field_t *f;

			if (schema->type != CYAML_MAPPING)
				return NULL;
			for (f = schema->mapping.fields; f->key != NULL; f++) {
				if (strlen(f->key) == len &&
				    memcmp(f->key, p, len) == 0)
					break;
			}
			schema = f->key ? &f->value : NULL;
			p += len;
		}
	}
	return schema;
}

/* "a, b, c" of the keys of a mapping or the names of an enum. */
static void list_names(const cyaml_schema_value_t *schema, char *out,
		       size_t out_len)
{
	size_t len = 0;

	out[0] = '\0';
	if (schema == NULL)
		return;
	if (schema->type == CYAML_MAPPING) {
		for (const cyaml_schema_field_t *f = schema->mapping.fields;
		     f->key != NULL && len < out_len; f++)
			len += (size_t)snprintf(out + len, out_len - len, "%s%s",
						len ? ", " : "", f->key);
	} else if (schema->type == CYAML_ENUM) {
		for (uint32_t i = 0; i < schema->enumeration.count &&
		     len < out_len; i++)
			len += (size_t)snprintf(out + len, out_len - len, "%s%s",
						len ? ", " : "",
						schema->enumeration.strings[i].str);
	}
}

/* What the schema wants, for "expected X, got Y". */
static void describe_schema(const cyaml_schema_value_t *schema, char *out,
			    size_t out_len)
{
	char names[160];

	switch (schema ? schema->type : CYAML__TYPE_COUNT) {
	case CYAML_STRING:
		snprintf(out, out_len, "a string");
		break;
	case CYAML_UINT:
	case CYAML_INT:
		snprintf(out, out_len, "a number");
		break;
	case CYAML_ENUM:
		list_names(schema, names, sizeof(names));
		snprintf(out, out_len, "one of %s", names);
		break;
	case CYAML_MAPPING:
		snprintf(out, out_len, "a mapping (key: value)");
		break;
	case CYAML_SEQUENCE:
	case CYAML_SEQUENCE_FIXED:
		snprintf(out, out_len, "a list");
		break;
	default:
		snprintf(out, out_len, "something else");
		break;
	}
}

/* What the file has at a node, for "got Y". */
static void describe_node(const yaml_node_t *node, char *out, size_t out_len)
{
	const char *v;

	if (node == NULL) {
		snprintf(out, out_len, "something else");
		return;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE:
		v = (const char *)node->data.scalar.value;
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (v[0] == '\0' || strcmp(v, "~") == 0 ||
		     strcmp(v, "null") == 0))
			snprintf(out, out_len, "nothing");
		else
			snprintf(out, out_len, "'%s'", topo_show(v).s);
		break;
	case YAML_SEQUENCE_NODE:
		snprintf(out, out_len, "a list");
		break;
	case YAML_MAPPING_NODE:
		snprintf(out, out_len, "a mapping");
		break;
	default:
		snprintf(out, out_len, "nothing");
		break;
	}
}

static unsigned doc_count(struct topo_ctx *ctx, const char *field)
{
	yaml_node_t *node = topo_doc_node(ctx, field);

	if (node == NULL || node->type != YAML_SEQUENCE_NODE)
		return 0;
	return (unsigned)(node->data.sequence.items.top -
			  node->data.sequence.items.start);
}

/* "Unexpected key: K", "Missing required mapping field: K", "Mapping
 * field already seen: K": at the key, in the mapping the frames lead to. */
static int key_error(struct topo_ctx *ctx, const struct topo_capture *cap,
		     const char *key, int what)
{
	char map[TOPO_FIELD_MAX], field[TOPO_FIELD_MAX], names[200];

	frames_field(cap, true, map);
	topo_field(field, map, topo_show(key).s);
	switch (what) {
	case 'u':
		list_names(schema_at(cap->root, map), names, sizeof(names));
		return topo_fail_line(ctx, topo_doc_key_line(ctx, map, key, 0),
				      field, "unknown key (known: %s)", names);
	case 'm':
		return topo_fail_line(ctx, topo_doc_line(ctx, map), field,
				      "missing (required)");
	default:
		return topo_fail_line(ctx, topo_doc_key_line(ctx, map, key, 1),
				      field, "given twice (first on line %u)",
				      topo_doc_key_line(ctx, map, key, 0));
	}
}

/* "Excessive entries ..." / "Insufficient entries ...": at the list. */
static int count_error(struct topo_ctx *ctx, const struct topo_capture *cap,
		       bool excessive)
{
	char list[TOPO_FIELD_MAX], entry[TOPO_FIELD_MAX + 16];
	const cyaml_schema_value_t *schema;
	unsigned count, min = 0, max = 0, line;

	frames_field(cap, true, list);
	schema = schema_at(cap->root, list);
	if (schema && (schema->type == CYAML_SEQUENCE ||
		       schema->type == CYAML_SEQUENCE_FIXED)) {
		min = schema->sequence.min;
		max = schema->sequence.max;
	}
	count = doc_count(ctx, list);
	line = topo_doc_line(ctx, list);
	if (excessive) {
		/* Blame the first entry past the limit. */
		snprintf(entry, sizeof(entry), "%s[%u]", list, max);
		line = topo_doc_line(ctx, entry);
	}
	return topo_fail_line(ctx, line, list, "%u %s; %s %u", count,
			      count == 1 ? "entry" : "entries",
			      min == max ? "it takes exactly" :
			      excessive ? "at most" : "at least",
			      excessive ? max : min);
}

/* A value of the wrong type or syntax: at the value, naming it. */
static int value_error(struct topo_ctx *ctx, const struct topo_capture *cap)
{
	char field[TOPO_FIELD_MAX], want[200], got[64];
	const cyaml_schema_value_t *schema;
	yaml_node_t *node;

	frames_field(cap, false, field);
	schema = schema_at(cap->root, field);
	node = topo_doc_node(ctx, field);
	describe_schema(schema, want, sizeof(want));
	describe_node(node, got, sizeof(got));
	if (node && node->type == YAML_SCALAR_NODE && schema &&
	    schema->type == CYAML_ENUM)
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "%s is not %s", got, want);
	if (node && node->type == YAML_SCALAR_NODE && schema &&
	    (schema->type == CYAML_UINT || schema->type == CYAML_INT))
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "%s is not a number", got);
	if (field[0] == '\0')
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "the file holds %s; expected a mapping"
				      " (version: 2, driver-vms: ...)", got);
	return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
			      "expected %s, got %s", want, got);
}

static bool starts(const char *s, const char *prefix, const char **rest)
{
	size_t len = strlen(prefix);

	if (strncmp(s, prefix, len) != 0)
		return false;
	*rest = s + len;
	return true;
}

int topo_schema_report(struct topo_ctx *ctx, const struct topo_capture *cap,
		       cyaml_err_t cerr)
{
	char field[TOPO_FIELD_MAX];
	const char *rest;

	if (cerr == CYAML_ERR_OOM) {
		topo_fail_line(ctx, 0, "", "out of memory");
		return -ENOMEM;
	}
	if (starts(cap->msg, "Unexpected key: ", &rest))
		return key_error(ctx, cap, rest, 'u');
	if (starts(cap->msg, "Missing required mapping field: ", &rest))
		return key_error(ctx, cap, rest, 'm');
	if (starts(cap->msg, "Mapping field already seen: ", &rest))
		return key_error(ctx, cap, rest, 'd');
	if (starts(cap->msg, "Excessive entries", &rest))
		return count_error(ctx, cap, true);
	if (starts(cap->msg, "Insufficient entries", &rest))
		return count_error(ctx, cap, false);
	if (starts(cap->msg, "Expecting ", &rest) ||
	    strstr(cap->msg, "Invalid") != NULL)
		return value_error(ctx, cap);
	frames_field(cap, false, field);
	if (cerr == CYAML_ERR_ALIAS)
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "aliases (*name) are not supported");
	return topo_fail_line(ctx, topo_doc_line(ctx, field), field, "%s",
			      cap->msg[0] ? cap->msg : cyaml_strerror(cerr));
}
