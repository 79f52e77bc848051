/* Whether the supervisor logs to the journal (log_target.c): only when
 * JOURNAL_STREAM names the very stream it writes to, as systemd sets it
 * for bulkhead@.service; any other stream, or a variable not systemd's,
 * keeps supervisor.log. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_target.h"
#include "tap.h"

struct pipe_ids {
	int fd[2];
	char value[64];         /* the read end's "DEVICE:INODE" */
};

static int open_pipe(struct pipe_ids *p)
{
	struct stat st;
	if (pipe(p->fd) < 0 || fstat(p->fd[0], &st) < 0)
		return -1;
	snprintf(p->value, sizeof(p->value), "%llu:%llu",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return 0;
}

static void close_pipe(struct pipe_ids *p)
{
	close(p->fd[0]);
	close(p->fd[1]);
}

static void matches(struct tap *t, const void *arg)
{
	(void)arg;
	struct pipe_ids p;
	CHECK_EQ(t, open_pipe(&p), 0);
	/* Both ends of one pipe are one inode: the write end matches too,
	 * as a service's stderr does. */
	CHECK(t, log_target_is_journal(p.value, p.fd[0]));
	CHECK(t, log_target_is_journal(p.value, p.fd[1]));
	close_pipe(&p);
}

static void other_stream(struct tap *t, const void *arg)
{
	(void)arg;
	struct pipe_ids journal, other;
	CHECK_EQ(t, open_pipe(&journal), 0);
	CHECK_EQ(t, open_pipe(&other), 0);
	/* Redirected by a shell, or a child's own output: not the journal. */
	CHECK(t, !log_target_is_journal(journal.value, other.fd[1]));
	CHECK(t, !log_target_is_journal(NULL, journal.fd[1]));
	CHECK(t, !log_target_is_journal(journal.value, -1));
	close_pipe(&journal);
	close_pipe(&other);
}

static void malformed(struct tap *t, const void *arg)
{
	(void)arg;
	struct pipe_ids p;
	CHECK_EQ(t, open_pipe(&p), 0);
	char text[96];
	unsigned long long dev, ino;
	CHECK_EQ(t, sscanf(p.value, "%llu:%llu", &dev, &ino), 2);
	/* Each a near miss of the right value: signs, blanks, missing or
	 * extra parts, trailing bytes. */
	static const struct {
		const char *before, *between, *after;
	} forms[] = { { "", ":", ":" }, { "", ":", "x" }, { " ", ":", "" },
		      { "", ": ", "" }, { "+", ":", "" }, { "", ":+", "" },
		      { "", "", "" }, { ":", "", "" }, { "-", ":", "" } };
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(text, sizeof(text), "%s%llu%s%llu%s", forms[i].before,
			 dev, forms[i].between, ino, forms[i].after);
		if (log_target_is_journal(text, p.fd[1]))
			printf("# '%s' taken for '%s'\n", text, p.value);
		CHECK(t, !log_target_is_journal(text, p.fd[1]));
	}
	CHECK(t, !log_target_is_journal("", p.fd[1]));
	CHECK(t, !log_target_is_journal(":", p.fd[1]));
	/* A device number past uintmax_t wraps nothing into a match. */
	snprintf(text, sizeof(text), "%llu99999999999999999999999:%llu", dev, ino);
	CHECK(t, !log_target_is_journal(text, p.fd[1]));
	close_pipe(&p);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "JOURNAL_STREAM naming the stream: the journal", matches, NULL },
		{ "another stream, no variable, a closed fd: not the journal",
		  other_stream, NULL },
		{ "a value not as systemd writes it: not the journal", malformed,
		  NULL },
	};
	return tap_run(cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
