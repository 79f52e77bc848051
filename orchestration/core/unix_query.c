#include "unix_query.h"
#include "mono_time.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How often a connect refused for a full backlog is tried again. */
#define RETRY_MS 20


static int left_ms(long long deadline_ms)
{
	long long left = deadline_ms - mono_ms();
	return left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

/* Non-blocking throughout: a blocking connect() waits, without limit,
 * for room in the server's backlog; unix sockets then say EAGAIN rather
 * than EINPROGRESS, and nothing tells when room appears, so it is tried
 * again every RETRY_MS. */
static int connect_by(const char *path, long long deadline_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (e != EAGAIN || left_ms(deadline_ms) == 0) {
			close(fd);
			return e == EAGAIN ? -ETIMEDOUT : -e;
		}
		int wait = left_ms(deadline_ms);
		usleep((useconds_t)(wait < RETRY_MS ? wait : RETRY_MS) * 1000);
	}
	return fd;
}

long unix_query(const char *path, long long deadline_ms, char *buf, size_t len)
{
	int fd = connect_by(path, deadline_ms);
	if (fd < 0)
		return fd;
	size_t used = 0;
	long rc = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ready = poll(&p, 1, left_ms(deadline_ms));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			rc = ready < 0 ? -errno : -ETIMEDOUT;
			break;
		}
		char drop[512];
		bool room = used + 1 < len;
		ssize_t n = room ? read(fd, buf + used, len - 1 - used) :
			read(fd, drop, sizeof(drop));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		if (room)
			used += (size_t)n;
	}
	close(fd);
	if (len)
		buf[used] = '\0';
	return rc ? rc : (long)used;
}
