/* The topology file as a libyaml document: libcyaml's result has no line
 * numbers, so every message finds its line here by walking the field's
 * path ("app-vms[1].mac") through the document's nodes. The document is
 * also what tells a key given from one left out (libcyaml leaves both
 * zero). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_internal.h"

struct topo_shown topo_show(const char *value)
{
	struct topo_shown shown;
	size_t n = 0;

	for (; value[n] != '\0' && n < TOPO_SHOW_MAX; n++) {
		unsigned char c = (unsigned char)value[n];

		shown.s[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (value[n] != '\0') {
		memcpy(shown.s + n, "...", 3);
		n += 3;
	}
	shown.s[n] = '\0';
	return shown;
}

void topo_field(char *field, const char *base, const char *key)
{
	if (key == NULL)
		snprintf(field, TOPO_FIELD_MAX, "%s", base);
	else
		snprintf(field, TOPO_FIELD_MAX, "%s%s%s", base,
			 base[0] != '\0' ? "." : "", key);
}

void topo_fieldf(char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(field, TOPO_FIELD_MAX, fmt, ap);
	va_end(ap);
}

static int vfail(struct topo_ctx *ctx, unsigned line, const char *field,
		 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static int vfail(struct topo_ctx *ctx, unsigned line, const char *field,
		 const char *fmt, va_list ap)
{
	char where[TOPO_FIELD_MAX + 16];
	int n;

	if (ctx->err == NULL || ctx->err_len == 0)
		return -EINVAL;
	if (line != 0)
		snprintf(where, sizeof(where), ":%u", line);
	else
		where[0] = '\0';
	n = snprintf(ctx->err, ctx->err_len, "%s%s: %s%s", ctx->path, where,
		     field, field[0] != '\0' ? ": " : "");
	if (n >= 0 && (size_t)n < ctx->err_len)
		vsnprintf(ctx->err + n, ctx->err_len - (size_t)n, fmt, ap);
	/* One line, whatever the path or the values held. */
	for (char *p = ctx->err; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return -EINVAL;
}

int topo_fail_line(struct topo_ctx *ctx, unsigned line, const char *field,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ctx, line, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int topo_fail(struct topo_ctx *ctx, const char *base, const char *key,
	      const char *fmt, ...)
{
	char field[TOPO_FIELD_MAX];
	va_list ap;

	topo_field(field, base, key);
	va_start(ap, fmt);
	vfail(ctx, topo_doc_line(ctx, field), field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The line of a syntax error: libyaml's reader reports a byte offset
 * (bad UTF-8, a control character), the scanner and parser a mark. */
static unsigned error_line(const yaml_parser_t *parser, const void *data,
			   size_t len)
{
	unsigned line = 1;

	if (parser->error != YAML_READER_ERROR)
		return (unsigned)parser->problem_mark.line + 1;
	for (size_t i = 0; i < parser->problem_offset && i < len; i++)
		line += ((const char *)data)[i] == '\n';
	return line;
}

static int syntax_error(struct topo_ctx *ctx, const yaml_parser_t *parser,
			const void *data, size_t len)
{
	unsigned line = error_line(parser, data, len);
	const char *problem = parser->problem ? parser->problem : "error";

	if (parser->error == YAML_MEMORY_ERROR) {
		topo_fail_line(ctx, 0, "", "out of memory parsing YAML");
		return -ENOMEM;
	}
	if (parser->context != NULL &&
	    parser->context_mark.line + 1 != line)
		return topo_fail_line(ctx, line, "", "not valid YAML: %s (%s on line %u)",
				      problem, parser->context,
				      (unsigned)parser->context_mark.line + 1);
	if (parser->context != NULL)
		return topo_fail_line(ctx, line, "", "not valid YAML: %s (%s)",
				      problem, parser->context);
	return topo_fail_line(ctx, line, "", "not valid YAML: %s", problem);
}

/* libyaml 0.2.5's scanner keeps a possible simple key per open [ or {
 * and checks them all at every token: nesting costs tokens x depth (100k
 * brackets take 10 s, a 1 MiB file many minutes). The input is fed in
 * small pieces and stops once the nesting is deeper than any topology's. */
#define FLOW_DEPTH_MAX 32
#define READ_CHUNK 256

struct reader {
	yaml_parser_t *parser;
	const unsigned char *data;
	size_t len;
	size_t pos;
	unsigned too_deep_line;         /* 0: not too deep */
};

static int read_chunk(void *opaque, unsigned char *buffer, size_t size,
		      size_t *size_read)
{
	struct reader *r = opaque;
	size_t n = r->len - r->pos;

	if (r->parser->flow_level > FLOW_DEPTH_MAX) {
		r->too_deep_line = (unsigned)r->parser->mark.line + 1;
		return 0;
	}
	if (n > size)
		n = size;
	if (n > READ_CHUNK)
		n = READ_CHUNK;
	memcpy(buffer, r->data + r->pos, n);
	r->pos += n;
	*size_read = n;
	return 1;
}

static int load_error(struct topo_ctx *ctx, const struct reader *r)
{
	if (r->too_deep_line != 0)
		return topo_fail_line(ctx, r->too_deep_line, "", "[ ] and { }"
				      " nested deeper than %d levels",
				      FLOW_DEPTH_MAX);
	return syntax_error(ctx, r->parser, r->data, r->len);
}

int topo_doc_load(struct topo_ctx *ctx, const void *data, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t next;
	struct reader r = { &parser, data, len, 0, 0 };
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input(&parser, read_chunk, &r);
	if (!yaml_parser_load(&parser, &ctx->doc)) {
		rc = load_error(ctx, &r);
		goto out;
	}
	ctx->have_doc = true;
	if (yaml_document_get_root_node(&ctx->doc) == NULL) {
		rc = topo_fail_line(ctx, 0, "", "the file is empty (it needs at"
				    " least version: 2 and driver-vms)");
		goto out;
	}
	/* libcyaml reads the first document and ignores the rest: a second
	 * one is a mistake to report, not to drop. */
	if (!yaml_parser_load(&parser, &next)) {
		rc = load_error(ctx, &r);
		goto out;
	}
	if (yaml_document_get_root_node(&next) != NULL)
		rc = topo_fail_line(ctx, (unsigned)next.start_mark.line + 1, "",
				    "a second YAML document; a topology is one");
	yaml_document_delete(&next);
out:
	yaml_parser_delete(&parser);
	return rc;
}

void topo_doc_free(struct topo_ctx *ctx)
{
	if (ctx->have_doc)
		yaml_document_delete(&ctx->doc);
	ctx->have_doc = false;
}

static yaml_node_t *node_at(struct topo_ctx *ctx, yaml_node_item_t index)
{
	return yaml_document_get_node(&ctx->doc, index);
}

static unsigned node_line(const yaml_node_t *node)
{
	return (unsigned)node->start_mark.line + 1;
}

static bool key_is(const yaml_node_t *key, const char *name, size_t len)
{
	return key != NULL && key->type == YAML_SCALAR_NODE &&
	       key->data.scalar.length == len &&
	       memcmp(key->data.scalar.value, name, len) == 0;
}

/* The pair of MAP whose key is NAME (LEN bytes), the NTH such. */
static yaml_node_pair_t *find_pair(struct topo_ctx *ctx, yaml_node_t *map,
				   const char *name, size_t len, unsigned nth)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		if (key_is(node_at(ctx, pair->key), name, len) && nth-- == 0)
			return pair;
	}
	return NULL;
}

/* Follows FIELD from the root; *line is the line of the last part found.
 * Returns the node at the end, or NULL if a part is missing. */
static yaml_node_t *walk(struct topo_ctx *ctx, const char *field,
			 unsigned *line)
{
	yaml_node_t *node;
	const char *p = field;

	*line = 0;
	if (!ctx->have_doc)
		return NULL;
	node = yaml_document_get_root_node(&ctx->doc);
	if (node == NULL)
		return NULL;
	*line = node_line(node);
	while (*p != '\0') {
		if (*p == '.') {
			p++;
		} else if (*p == '[') {
			char *end;
			unsigned long idx = strtoul(p + 1, &end, 10);

			if (*end != ']' || node->type != YAML_SEQUENCE_NODE ||
			    idx >= (unsigned long)(node->data.sequence.items.top -
						   node->data.sequence.items.start))
				return NULL;
			node = node_at(ctx, node->data.sequence.items.start[idx]);
			*line = node_line(node);
			p = end + 1;
		} else {
			size_t len = strcspn(p, ".[");
			yaml_node_pair_t *pair = find_pair(ctx, node, p, len, 0);

			if (pair == NULL)
				return NULL;
			*line = node_line(node_at(ctx, pair->key));
			node = node_at(ctx, pair->value);
			p += len;
		}
		if (node == NULL)
			return NULL;
	}
	return node;
}

yaml_node_t *topo_doc_node(struct topo_ctx *ctx, const char *field)
{
	unsigned line;

	return walk(ctx, field, &line);
}

const char *topo_doc_scalar(struct topo_ctx *ctx, const char *field)
{
	yaml_node_t *node = topo_doc_node(ctx, field);

	if (node == NULL || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

unsigned topo_doc_line(struct topo_ctx *ctx, const char *field)
{
	unsigned line;

	walk(ctx, field, &line);
	return line;
}

unsigned topo_doc_key_line(struct topo_ctx *ctx, const char *field,
			   const char *key, unsigned nth)
{
	yaml_node_pair_t *pair = find_pair(ctx, topo_doc_node(ctx, field), key,
					   strlen(key), nth);

	return pair ? node_line(node_at(ctx, pair->key)) : 0;
}
