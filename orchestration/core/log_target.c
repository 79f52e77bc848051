#include "log_target.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

bool log_target_is_journal(const char *journal_stream, int fd)
{
	/* Both numbers whole and decimal, as systemd writes them: anything
	 * else is not its variable (strtoumax alone would take " 5" and
	 * "-1"), and a partial parse could match by accident. */
	if (!journal_stream || !isdigit((unsigned char)journal_stream[0]))
		return false;
	char *end;
	errno = 0;
	uintmax_t dev = strtoumax(journal_stream, &end, 10);
	if (errno || end == journal_stream || *end != ':')
		return false;
	const char *ino_text = end + 1;
	if (!isdigit((unsigned char)ino_text[0]))
		return false;
	uintmax_t ino = strtoumax(ino_text, &end, 10);
	if (errno || *end)
		return false;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}
