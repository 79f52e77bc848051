#ifndef BULKHEAD_BLK_STATUS_H
#define BULKHEAD_BLK_STATUS_H

#include "blk_dev.h"

/* The control socket's JSON (malloc'd), or NULL. */
char *blk_status_json(const struct blk_dev *b, const char *name);

#endif
