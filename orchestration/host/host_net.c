#define _GNU_SOURCE
#include "host_net.h"

#include "drop_ids.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int run_command(char *const argv[], char *err, size_t err_len)
{
	return run_command_as(argv, 0, -1, err, err_len);
}

int run_command_as(char *const argv[], uid_t id, int keep_fd, char *err,
		   size_t err_len)
{
	char out_path[] = "/tmp/bulkhead-cmd-XXXXXX";
	int out = mkstemp(out_path);
	if (out < 0) {
		snprintf(err, err_len, "mkstemp: %s", strerror(errno));
		return -errno;
	}
	unlink(out_path);
	/* fork, not posix_spawn: the ids are dropped between fork and exec.
	 * The child makes system calls and snprintf only; whatever goes
	 * wrong there is written to its output, which ERR then holds. */
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(out);
		snprintf(err, err_len, "%s: fork: %s", argv[0], strerror(-rc));
		return rc;
	}
	if (pid == 0) {
		char why[256];
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0)
			_exit(127);
		if (in > 2)
			close(in);
		if (out > 2)
			close(out);
		/* As a VM's uid it gets no descriptor of bulkhead's but
		 * KEEP_FD, whether or not it was close-on-exec. */
		if (id && ((keep_fd > 3 &&
			    close_range(3, (unsigned)keep_fd - 1,
					CLOSE_RANGE_CLOEXEC) < 0) ||
			   close_range(keep_fd >= 3 ? (unsigned)keep_fd + 1 : 3,
				       ~0u, CLOSE_RANGE_CLOEXEC) < 0 ||
			   (keep_fd >= 3 && fcntl(keep_fd, F_SETFD, 0) < 0))) {
			dprintf(2, "close_range: %s\n", strerror(errno));
			_exit(127);
		}
		if (id && drop_ids(id, id, why, sizeof(why)) < 0) {
			dprintf(2, "becoming uid %u: %s\n", (unsigned)id, why);
			_exit(127);
		}
		execvp(argv[0], argv);
		dprintf(2, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status = 0;
	pid_t got;
	while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		close(out);
		return 0;
	}
	char text[512] = { 0 };
	ssize_t n = pread(out, text, sizeof(text) - 1, 0);
	close(out);
	if (n > 0 && text[n - 1] == '\n')
		text[n - 1] = '\0';
	size_t used = 0;
	for (int i = 0; argv[i] && used < err_len; i++) {
		int w = snprintf(err + used, err_len - used, "%s%s", i ? " " : "",
				 argv[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	if (used < err_len)
		snprintf(err + used, err_len - used, ": %s", text[0] ? text :
			 "failed");
	return -EIO;
}

bool host_net_netns_exists(const char *netns)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	return access(path, F_OK) == 0;
}

int host_net_netns_add(const char *netns, char *err, size_t err_len)
{
	char *argv[] = { "ip", "netns", "add", (char *)netns, NULL };
	int rc = run_command(argv, err, err_len);
	if (rc)
		return rc;
	char *lo[] = { "ip", "-n", (char *)netns, "link", "set", "lo", "up", NULL };
	return run_command(lo, err, err_len);
}

int host_net_netns_delete(const char *netns, char *err, size_t err_len)
{
	char *argv[] = { "ip", "netns", "delete", (char *)netns, NULL };
	return run_command(argv, err, err_len);
}

int host_net_ip(const char *netns, char *const args[], char *err,
		size_t err_len)
{
	char *argv[HOST_NET_IP_ARGS + 4] = { "ip" };
	unsigned n = 1, i;
	if (netns && netns[0]) {
		argv[n++] = "-n";
		argv[n++] = (char *)netns;
	}
	for (i = 0; args[i] && i < HOST_NET_IP_ARGS; i++)
		argv[n++] = args[i];
	if (args[i]) {
		snprintf(err, err_len, "ip: more than %d arguments",
			 HOST_NET_IP_ARGS);
		return -E2BIG;
	}
	argv[n] = NULL;
	return run_command(argv, err, err_len);
}

int host_net_sysctl(const char *netns, const char *key, const char *value,
		    char *err, size_t err_len)
{
	char setting[256];
	int w = snprintf(setting, sizeof(setting), "%s=%s", key, value);
	if (w < 0 || (size_t)w >= sizeof(setting)) {
		snprintf(err, err_len, "sysctl %s: longer than %zu bytes", key,
			 sizeof(setting) - 1);
		return -E2BIG;
	}
	/* "ip netns exec" so the setting is the namespace's: /proc/sys/net
	 * shows the namespace of whoever opens it. */
	char *in_ns[] = { "ip", "netns", "exec", (char *)netns, "sysctl", "-q",
			  "-w", setting, NULL };
	char *here[] = { "sysctl", "-q", "-w", setting, NULL };
	return run_command(netns && netns[0] ? in_ns : here, err, err_len);
}

bool host_net_link_exists(const char *netns, const char *name)
{
	char err[256];
	char *args[] = { "link", "show", "dev", (char *)name, NULL };
	return host_net_ip(netns, args, err, sizeof(err)) == 0;
}

int host_net_tap_add(const char *name, const char *user, char *err,
		     size_t err_len)
{
	char *argv[] = { "ip", "tuntap", "add", "dev", (char *)name, "mode", "tap",
			 user ? "user" : NULL, (char *)user, NULL };
	return run_command(argv, err, err_len);
}

int host_net_tap_move(const char *name, const char *netns, const char *bridge,
		      char *err, size_t err_len)
{
	/* QEMU opened the tap in the host's namespace (libvirt opens it by
	 * name); its file descriptor stays attached across the move. */
	char *mv[] = { "ip", "link", "set", "dev", (char *)name, "netns",
		       (char *)netns, NULL };
	int rc = run_command(mv, err, err_len);
	if (rc)
		return rc;
	if (bridge) {
		char *br[] = { "ip", "-n", (char *)netns, "link", "set", "dev",
			       (char *)name, "master", (char *)bridge, NULL };
		rc = run_command(br, err, err_len);
		if (rc)
			return rc;
	}
	char *up[] = { "ip", "-n", (char *)netns, "link", "set", "dev",
		       (char *)name, "up", NULL };
	return run_command(up, err, err_len);
}

int host_net_link_delete(const char *netns, const char *name, char *err,
			 size_t err_len)
{
	char *args[] = { "link", "delete", "dev", (char *)name, NULL };
	return host_net_ip(netns, args, err, err_len);
}

void host_net_tap_remove(const char *name, const char *netns)
{
	char err[256];
	if (netns && netns[0] && host_net_netns_exists(netns) &&
	    host_net_link_exists(netns, name))
		host_net_link_delete(netns, name, err, sizeof(err));
	else if (host_net_link_exists(NULL, name))
		host_net_link_delete(NULL, name, err, sizeof(err));
}
