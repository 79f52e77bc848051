/* Logging to standard error, one line per event; the supervisor (or the
 * terminal) keeps it. */
#ifndef BULKHEAD_LOG_H
#define BULKHEAD_LOG_H

#include <stdio.h>

#define bh_log(fmt, ...) fprintf(stderr, "bulkhead: " fmt "\n", ##__VA_ARGS__)

#endif
