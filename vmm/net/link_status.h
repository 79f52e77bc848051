/* The link's status as JSON (json-c): per side, connection, features,
 * queues (ok / stopped / broken and why); per direction, packets, bytes
 * and drops by reason. */
#ifndef BULKHEAD_LINK_STATUS_H
#define BULKHEAD_LINK_STATUS_H

#include "net_link.h"

/* Returns a malloc'd JSON text, or NULL on allocation failure. */
char *link_status_json(const struct net_link *l, const char *name,
		       bool poll_mode);

#endif
