/* What a running topology keeps on the host's file system, under its state
 * directory (docs/orchestration.md "Files"): keep-running/ (driver VMs the
 * supervisor restarts), and files written whole or not at all. */
#ifndef BULKHEAD_STATE_FILES_H
#define BULKHEAD_STATE_FILES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
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
/* DIR with MODE, root's and GID's, made when missing; never a link.
 * 0, or -errno with ERR naming DIR. */
int own_dir(const char *dir, mode_t mode, gid_t gid, char *err, size_t err_len);
/* Whether S (NULL: no) is exactly LEN lower-case hex digits (the ids, hashes and
 * versions the project's files hold). */
bool hex_text(const char *s, size_t len);
/* Removes PATH and everything under it, never following a link. */
int remove_tree(const char *path);

#endif
