#define _GNU_SOURCE
#include "agent_socket.h"
#include "mono_time.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Whether FD's peer (the process that listens: the VM's QEMU) runs as
 * UID. */
static int peer_is(int fd, uid_t uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.uid == uid ? 0 : -EPERM;
}

int agent_socket_connect(const struct agent_addr *to,
			 const struct agent_alive *alive, long long deadline)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(to->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, to->path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		/* connect() and send() wait at most until the deadline: a guest
		 * that stops reading fills the socket, and a busy chardev's
		 * backlog makes connect() wait. */
		long long left = deadline - mono_ms();
		if (left < 1000)
			left = 1000;
		struct timeval tv = { .tv_sec = left / 1000,
				      .tv_usec = (left % 1000) * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			int rc = peer_is(fd, to->uid);
			if (rc)
				close(fd);
			return rc ? rc : fd;
		}
		int e = errno;
		close(fd);
		if (mono_ms() >= deadline)
			return -e;
		if (alive && !alive->alive(alive->arg))
			return -ESRCH;
		usleep(200000);
	}
}
