/* A driver-VM kind that exists only in test builds (-Dtest_triggers=true):
 * it boots, reports READY and gives its app VMs nothing. It shows that a
 * kind is one folder and one line of orchestration/kinds/kinds.c. */
#ifndef BULKHEAD_DUMMY_KIND_H
#define BULKHEAD_DUMMY_KIND_H

#include "kind.h"

extern const struct driver_kind dummy_kind;

#endif
