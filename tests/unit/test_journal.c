/* The topology's journal (orchestration/core/journal.c) on a real state
 * directory: entries kept in order, read back, cut back for a rollback;
 * a damaged entry skipped, never guessed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "tap.h"

static void entry(struct journal_entry *e, enum journal_what what,
		  const char *a, const char *b)
{
	e->what = what;
	snprintf(e->a, sizeof(e->a), "%s", a);
	snprintf(e->b, sizeof(e->b), "%s", b);
}

static void test_order_and_truncate(struct tap *t, const void *arg)
{
	(void)arg;
	char dir[] = "/tmp/bk-journal-XXXXXX";
	struct journal_entry e, *got;
	unsigned n;
	CHECK(t, mkdtemp(dir) != NULL);
	CHECK_EQ(t, journal_read(dir, &got, &n), 0);
	CHECK_EQ(t, n, 0);
	free(got);
	entry(&e, JOURNAL_STATE_DIR, dir, "");
	CHECK_EQ(t, journal_append(dir, &e), 0);
	entry(&e, JOURNAL_NETNS, "bk-outside", "");
	CHECK_EQ(t, journal_append(dir, &e), 0);
	entry(&e, JOURNAL_TAP, "bk0123abcd", "bk-outside");
	CHECK_EQ(t, journal_append(dir, &e), 0);
	entry(&e, JOURNAL_VFIO, "0000:03:00.0", "e1000e");
	CHECK_EQ(t, journal_append(dir, &e), 0);
	CHECK_EQ(t, journal_read(dir, &got, &n), 0);
	CHECK_EQ(t, n, 4);
	CHECK_EQ(t, got[1].what, JOURNAL_NETNS);
	CHECK_STREQ(t, got[2].a, "bk0123abcd");
	CHECK_STREQ(t, got[2].b, "bk-outside");
	CHECK_STREQ(t, got[3].b, "e1000e");
	free(got);
	/* A rollback of the last run's two entries. */
	CHECK_EQ(t, journal_truncate(dir, 2), 0);
	CHECK_EQ(t, journal_read(dir, &got, &n), 0);
	CHECK_EQ(t, n, 2);
	CHECK_EQ(t, got[1].what, JOURNAL_NETNS);
	free(got);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(t, system(cmd), 0);
}

static void test_damaged_entry_skipped(struct tap *t, const void *arg)
{
	(void)arg;
	char dir[] = "/tmp/bk-journal-XXXXXX", path[PATH_MAX];
	struct journal_entry *got;
	unsigned n;
	CHECK(t, mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/journal.json", dir);
	static const char text[] = "[ { \"what\": \"tap\", \"a\": \"bk1\", \"b\": \"\" },"
		" { \"what\": \"rm -rf /\", \"a\": \"/\", \"b\": \"\" },"
		" { \"what\": \"netns\", \"b\": \"\" },"
		" { \"what\": \"netns\", \"a\": \"ns1\", \"b\": \"\" } ]";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(t, fd >= 0 && write(fd, text, sizeof(text) - 1) ==
	      (ssize_t)sizeof(text) - 1);
	close(fd);
	CHECK_EQ(t, journal_read(dir, &got, &n), 0);
	CHECK_EQ(t, n, 2);
	CHECK_STREQ(t, got[0].a, "bk1");
	CHECK_STREQ(t, got[1].a, "ns1");
	free(got);
	/* Cut back as read: the damaged ones do not count. */
	CHECK_EQ(t, journal_truncate(dir, 1), 0);
	CHECK_EQ(t, journal_read(dir, &got, &n), 0);
	CHECK_EQ(t, n, 1);
	CHECK_STREQ(t, got[0].a, "bk1");
	free(got);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(t, system(cmd), 0);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "journal: entries in order, read back, cut back for a rollback", test_order_and_truncate, NULL },
		{ "journal: an unknown kind or a missing field is skipped, not guessed", test_damaged_entry_skipped, NULL },
	};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
