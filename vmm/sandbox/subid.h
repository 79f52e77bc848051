/* Subordinate id ranges (/etc/subuid, /etc/subgid, subuid(5)): an id in
 * one is an id some user's namespaces may map and act as, so neither a
 * VM's id (orchestration/core/vm_ids.c) nor a worker's own
 * (sandbox.c) may be one. */
#ifndef BULKHEAD_SUBID_H
#define BULKHEAD_SUBID_H

#include <stdbool.h>

/* Whether ID lies in a "name:first:count" range of ETC/FILE (a missing
 * or unreadable file has none). */
bool subid_covers(const char *etc, const char *file, unsigned long id);

#endif
