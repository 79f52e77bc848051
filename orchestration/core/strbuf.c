#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool strbuf_reserve(struct strbuf *sb, size_t more)
{
	if (sb->failed)
		return false;
	if (sb->cap - sb->len > more)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap - sb->len <= more) {
		if (cap > ((size_t)-1) / 2) {
			sb->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *data = realloc(sb->data, cap);
	if (!data) {
		sb->failed = true;
		return false;
	}
	sb->data = data;
	sb->cap = cap;
	return true;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->failed = true;
		return;
	}
	if (!strbuf_reserve(sb, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void strbuf_xml(struct strbuf *sb, const char *text)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&': strbuf_printf(sb, "&amp;"); break;
		case '<': strbuf_printf(sb, "&lt;"); break;
		case '>': strbuf_printf(sb, "&gt;"); break;
		case '\'': strbuf_printf(sb, "&apos;"); break;
		case '"': strbuf_printf(sb, "&quot;"); break;
		default: strbuf_printf(sb, "%c", *p); break;
		}
	}
}

char *strbuf_take(struct strbuf *sb)
{
	if (sb->failed || !strbuf_reserve(sb, 1)) {
		strbuf_release(sb);
		return NULL;
	}
	sb->data[sb->len] = '\0';
	char *s = sb->data;
	memset(sb, 0, sizeof(*sb));
	return s;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->data);
	memset(sb, 0, sizeof(*sb));
}
