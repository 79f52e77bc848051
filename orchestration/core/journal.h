/* A topology's journal (STATE/journal.json): what bulkhead made for it on
 * the host, in the order made, each entry on disk before the next step
 * runs. Rollback undoes its own run's entries in reverse; down undoes
 * them all (run/run.c run_undo). */
#ifndef BULKHEAD_JOURNAL_H
#define BULKHEAD_JOURNAL_H

#include <limits.h>

enum journal_what { JOURNAL_DOMAIN, JOURNAL_TAP, JOURNAL_NETNS,
		    JOURNAL_SUPERVISOR, JOURNAL_VFIO, JOURNAL_STATE_DIR };

struct journal_entry {
	enum journal_what what;
	char a[PATH_MAX];       /* the domain, tap, namespace, PCI device, dir */
	char b[64];             /* a tap's namespace; a device's old driver */
};

/* Appends E (the file written whole before it returns). */
int journal_append(const char *state_dir, const struct journal_entry *e);
/* Its entries (malloc'd; *COUNT of them), none when there is no journal;
 * an entry it cannot read is skipped, never guessed. */
int journal_read(const char *state_dir, struct journal_entry **out,
		 unsigned *count);
/* Keeps the first N entries journal_read gives (rollback took the rest
 * away). */
int journal_truncate(const char *state_dir, unsigned n);

#endif
