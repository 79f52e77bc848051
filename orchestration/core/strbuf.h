/* A growable string for building XML, configuration files and messages.
 * A failed allocation marks the buffer failed; strbuf_take() then returns
 * NULL, so callers check once at the end instead of after every append. */
#ifndef BULKHEAD_STRBUF_H
#define BULKHEAD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
void strbuf_printf(struct strbuf *sb, const char *fmt, ...);
/* Appends TEXT escaped for XML character data and attribute values. */
void strbuf_xml(struct strbuf *sb, const char *text);
/* The string (caller frees), or NULL after a failed allocation. */
char *strbuf_take(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

#endif
