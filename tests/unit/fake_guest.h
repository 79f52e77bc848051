/* A fake guest for tests of the host's end of a VM's channel (the agent
 * channel, test_agent.c; qemu-ga, test_qga.c): a child process listening
 * on a real unix socket, as a VM's QEMU does for its chardev, as the uid
 * that QEMU would run as, saying what a compromised guest may say. */
#ifndef BULKHEAD_FAKE_GUEST_H
#define BULKHEAD_FAKE_GUEST_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes all of DATA, or as much as the host still reads. */
static inline void put(int fd, const void *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data = (const char *)data + n;
		len -= (size_t)n;
	}
}

static inline void puts_fd(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

struct guest {
	char path[108];
	pid_t pid;
};

/* Starts a guest that listens on /tmp/bk-NAME-PID.sock as UID, accepts
 * one connection and runs FN(fd, ARG) on it (ARG as it was at the call:
 * the child has its own copy). 0, or -1 when it did not come up. */
static inline int guest_start_with(struct guest *g, const char *name,
				   void (*fn)(int fd, const void *arg),
				   const void *arg, uid_t uid)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(g->path, sizeof(g->path), "/tmp/bk-%s-%d.sock", name, getpid());
	unlink(g->path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", g->path);
	int ready[2];
	char c = 0;
	if (pipe(ready))
		return -1;
	g->pid = fork();
	if (g->pid == 0) {
		/* Gone with the test, even if a check aborts it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int l = socket(AF_UNIX, SOCK_STREAM, 0);
		if ((uid != getuid() && (setresgid(uid, uid, uid) ||
					 setresuid(uid, uid, uid))) ||
		    l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(l, 1))
			_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		int fd = accept(l, NULL, NULL);
		if (fd >= 0)
			fn(fd, arg);
		/* Hold the connection until killed: a guest that stops
		 * talking without going away. */
		pause();
		_exit(0);
	}
	close(ready[1]);
	bool up = g->pid > 0 && read(ready[0], &c, 1) == 1;
	close(ready[0]);
	return up ? 0 : -1;
}

static inline void guest_stop(struct guest *g)
{
	kill(g->pid, SIGKILL);
	waitpid(g->pid, NULL, 0);
	unlink(g->path);
}

#endif
