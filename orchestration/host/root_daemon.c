#include "root_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid in PID_FILE, 0 when the file is not root's alone or holds no
 * pid. O_NOFOLLOW: a link there would be someone else's file. */
static long read_pid_file(const char *pid_file)
{
	int fd = open(pid_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	char text[32] = { 0 };
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	    !(st.st_mode & (S_IWGRP | S_IWOTH)))
		n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	char *end;
	errno = 0;
	long pid = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n') || pid <= 0 ||
	    pid > INT_MAX)
		return 0;
	return pid;
}

/* Whether /proc/PID/status says real and effective uid 0. The owner of
 * /proc/PID is no proof: a process that makes itself non-dumpable has
 * its /proc/PID owned by root. */
static bool runs_as_root(const char *proc_root, long pid)
{
	char path[PATH_MAX], line[256];
	snprintf(path, sizeof(path), "%s/%ld/status", proc_root, pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool root = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long real, effective;
		if (sscanf(line, "Uid: %lu %lu", &real, &effective) == 2) {
			root = real == 0 && effective == 0;
			break;
		}
	}
	fclose(f);
	return root;
}

static bool exe_is(const char *proc_root, long pid, const char *name)
{
	char path[PATH_MAX], exe[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%ld/exe", proc_root, pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	static const char deleted[] = " (deleted)";
	size_t len = (size_t)n, cut = sizeof(deleted) - 1;
	if (len > cut && strcmp(exe + len - cut, deleted) == 0)
		exe[len - cut] = '\0';
	const char *base = strrchr(exe, '/');
	return base && strcmp(base + 1, name) == 0;
}

bool root_daemon_runs(const char *proc_root, const char *pid_file,
		      const char *name)
{
	long pid = read_pid_file(pid_file);
	return pid > 0 && runs_as_root(proc_root, pid) &&
	       exe_is(proc_root, pid, name);
}
