#include "console_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "console_filter.h"

static int write_all(int fd, const uint8_t *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static pid_t spawn_on_pty(char *const argv[], int in_fd, int *master)
{
	struct winsize ws;
	bool sized = ioctl(in_fd, TIOCGWINSZ, &ws) == 0;
	int slave;
	if (openpty(master, &slave, NULL, NULL, sized ? &ws : NULL) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(*master);
		close(slave);
		return -e;
	}
	if (pid == 0) {
		/* The pty is its controlling terminal: virsh puts it in raw
		 * mode and reads Ctrl-] from it. */
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		close(*master);
		execvp(argv[0], argv);
		fprintf(stderr, "bulkhead: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(slave);
	fcntl(*master, F_SETFD, FD_CLOEXEC);
	return pid;
}

/* Copies until the client's side of the pty is closed (it exited). */
static int relay(int master, int in_fd, int out_fd, bool in_tty, pid_t pid)
{
	struct console_filter filter;
	console_filter_init(&filter);
	uint8_t buf[4096], clean[sizeof(buf) + CONSOLE_FILTER_SLACK];
	bool reading_in = true;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = master, .events = POLLIN },
			{ .fd = reading_in ? in_fd : -1, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			/* EIO: every process of the session closed the pty. */
			if (n <= 0)
				return 0;
			size_t kept = console_filter_run(&filter, buf, (size_t)n,
							 clean);
			int rc = write_all(out_fd, clean, kept);
			if (rc)
				return rc;
		}
		if (p[1].revents) {
			ssize_t n = read(in_fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* The admin's terminal hung up: so does the
				 * session. Input from a file just ends. */
				if (in_tty)
					kill(pid, SIGHUP);
				reading_in = false;
				continue;
			}
			int rc = write_all(master, buf, (size_t)n);
			if (rc)
				return rc;
		}
	}
}

int console_relay_run(char *const argv[], int in_fd, int out_fd)
{
	int master;
	pid_t pid = spawn_on_pty(argv, in_fd, &master);
	if (pid < 0)
		return pid;
	struct termios saved;
	bool in_tty = tcgetattr(in_fd, &saved) == 0;
	if (in_tty) {
		struct termios raw = saved;
		cfmakeraw(&raw);
		tcsetattr(in_fd, TCSANOW, &raw);
	}
	int rc = relay(master, in_fd, out_fd, in_tty, pid);
	if (in_tty)
		tcsetattr(in_fd, TCSANOW, &saved);
	close(master);
	int status = 0;
	if (rc < 0)
		kill(pid, SIGHUP);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return rc;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
