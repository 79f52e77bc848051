/* Asking a local server for one answer (bulkhead-link's control socket:
 * connect, read until it closes) without trusting it to answer: a link
 * that is stuck, or whose listen backlog is full, costs its caller at
 * most the deadline. */
#ifndef BULKHEAD_UNIX_QUERY_H
#define BULKHEAD_UNIX_QUERY_H

#include <stddef.h>

/* Connects to the unix stream socket PATH and reads until the server
 * closes, into BUF (NUL-terminated; at most LEN - 1 bytes, the rest
 * dropped), all before DEADLINE_MS (mono_ms(), mono_time.h). Returns the
 * bytes read, -ETIMEDOUT when the deadline passed first (a full backlog
 * or a server that does not answer), -ENAMETOOLONG, or the connect or
 * read error. */
long unix_query(const char *path, long long deadline_ms, char *buf,
		size_t len);

#endif
