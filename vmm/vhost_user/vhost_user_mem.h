/* A back end's guest memory table: the front end's regions, each checked
 * against its file and mapped, entered into dev->mem (virtio/guest_mem.c:
 * no overlap, no wrap). Inside vhost_user/ only: the handlers of
 * SET_MEM_TABLE, ADD_MEM_REG and REM_MEM_REG, which set started rings up
 * again over the new table afterwards. */
#ifndef BULKHEAD_VHOST_USER_MEM_H
#define BULKHEAD_VHOST_USER_MEM_H

#include "vhost_user_dev.h"

/* Replaces the table with t's regions (fds[i] for region i), all or
 * nothing: on a bad region no table is left. Returns 0 or -errno (refused
 * with the region named). */
int vu_mem_set_table(struct vu_dev *dev, const struct vu_mem_table *t,
		     const int *fds);

/* Adds region r, mapped from fd. Returns 0 or -errno (refused). */
int vu_mem_add(struct vu_dev *dev, const struct vu_mem_region *r, int fd);

/* Removes the region at r's gpa and size. Returns 0, or -ENOENT
 * (refused) when there is none. */
int vu_mem_remove(struct vu_dev *dev, const struct vu_mem_region *r);

/* Unmaps every region and empties the table. */
void vu_mem_clear(struct vu_dev *dev);

#endif
