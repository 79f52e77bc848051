/* What a running topology keeps on the host's file system, under its state
 * directory (docs/orchestration.md "Files"): keep-running/ (driver VMs the
 * supervisor restarts), and files written whole or not at all. */
#ifndef BULKHEAD_STATE_FILES_H
#define BULKHEAD_STATE_FILES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"


/* Marks (ON) or unmarks driver VM VM as one the supervisor keeps running. */
void keep_running(const struct plan_dirs *dirs, const char *vm, bool on);
bool wanted_running(const struct plan_dirs *dirs, const char *vm);

/* PATH holds TEXT (mode MODE), written to PATH.tmp and renamed. */
int write_file(const char *path, const char *text, mode_t mode);
/* The file's text (malloc'd), or NULL with errno set. */
char *read_text(const char *path);
int copy_file(const char *from, const char *to);
/* Removes PATH and everything under it, never following a link. */
int remove_tree(const char *path);

#endif
