/* Whether libvirtd runs (orchestration/root_daemon.c), decided from what
 * only root can make. The impostor: a copy of sleep named libvirtd run as
 * nobody, which pgrep -x libvirtd counts. Real processes on the real
 * /proc, pid files of the test's own; this host's libvirtd is only looked
 * at, never touched. Needs root (to start processes as nobody and as
 * root). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "root_daemon.h"
#include "tap.h"

#define NOBODY 65534

struct fixture {
	char dir[64];
	char fake[256];         /* a copy of sleep named libvirtd */
	pid_t root_fake;        /* it, run as root */
	pid_t nobody_fake;      /* it, run as nobody */
	pid_t root_sleep;       /* sleep itself, as root */
};

static int copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", from, to, to);
	return system(cmd);
}

static pid_t start(const char *exe, uid_t uid)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
			    setresuid(uid, uid, uid)))
			_exit(126);
		execl(exe, exe, "60", (char *)NULL);
		_exit(127);
	}
	/* Until it runs EXE: its /proc/PID/exe is the test's before. */
	char path[64], target[256];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 200; i++) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, exe) == 0 ||
			    (strstr(exe, "/sleep") && strstr(target, "sleep")))
				break;
		}
		usleep(10000);
	}
	return pid;
}

/* A pid file FX->dir/NAME holding PID, owned by OWNER with MODE. */
#define PID_FILE(name, pid, owner, mode) \
	pid_file(fx, name, pid, owner, mode, (char[128]){ 0 })
static const char *pid_file(const struct fixture *fx, const char *name,
			    long pid, uid_t owner, mode_t mode, char *path)
{
	snprintf(path, 128, "%s/%s", fx->dir, name);
	FILE *f = fopen(path, "w");
	fprintf(f, "%ld\n", pid);
	fclose(f);
	if (chown(path, owner, owner) || chmod(path, mode))
		perror(path);
	return path;
}

static void root_libvirtd_counts(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	CHECK(t, root_daemon_runs("/proc", PID_FILE("root.pid", fx->root_fake, 0,
						    0644), "libvirtd"));
}

static void nobody_libvirtd_does_not(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	/* Even named in a root-owned pid file. */
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("nobody.pid",
				   fx->nobody_fake, 0, 0644), "libvirtd"));
}

static void other_root_process_does_not(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("sleep.pid", fx->root_sleep,
				   0, 0644), "libvirtd"));
}

static void pid_file_not_roots_alone(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("user.pid", fx->root_fake,
				   NOBODY, 0644), "libvirtd"));
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("open.pid", fx->root_fake,
				   0, 0666), "libvirtd"));
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("group.pid", fx->root_fake,
				   0, 0664), "libvirtd"));
	char link[128];
	snprintf(link, sizeof(link), "%s/link.pid", fx->dir);
	CHECK(t, symlink(PID_FILE("target.pid", fx->root_fake, 0, 0644), link) == 0);
	CHECK(t, !root_daemon_runs("/proc", link, "libvirtd"));
}

static void no_pid(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	char path[128];
	snprintf(path, sizeof(path), "%s/absent.pid", fx->dir);
	CHECK(t, !root_daemon_runs("/proc", path, "libvirtd"));
	snprintf(path, sizeof(path), "%s/garbage.pid", fx->dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "%dx\n", (int)fx->root_fake);
	fclose(f);
	CHECK(t, !root_daemon_runs("/proc", path, "libvirtd"));
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("zero.pid", 0, 0, 0644),
				   "libvirtd"));
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("negative.pid", -1, 0, 0644),
				   "libvirtd"));
}

static void dead_pid(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	pid_t pid = start(fx->fake, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(t, !root_daemon_runs("/proc", PID_FILE("dead.pid", pid, 0, 0644),
				   "libvirtd"));
}

/* A tree shaped like /proc: a libvirtd replaced on disk by an upgrade
 * still counts; one whose status says another uid does not. */
static void proc_tree(struct tap *t, const void *arg)
{
	const struct fixture *fx = arg;
	char path[256];
	const char *uids[] = { "0\t0\t0\t0", "0\t65534\t0\t0", "65534\t0\t0\t0" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/proc/%d", fx->dir, 4242 + i);
		char cmd[1400];
		snprintf(cmd, sizeof(cmd), "mkdir -p %s && printf 'Name:\\tlibvirtd\\n"
			 "Uid:\\t%s\\n' > %s/status && ln -s '/usr/sbin/libvirtd"
			 " (deleted)' %s/exe", path, uids[i], path, path);
		CHECK_EQ(t, system(cmd), 0);
		char proc[128];
		snprintf(proc, sizeof(proc), "%s/proc", fx->dir);
		CHECK_EQ(t, root_daemon_runs(proc, PID_FILE("tree.pid", 4242 + i, 0,
							     0644), "libvirtd"),
			 i == 0);
	}
}

static void this_hosts_libvirtd(struct tap *t, const void *arg)
{
	(void)arg;
	/* Only when its pid file names a live process: then it counts. */
	FILE *f = fopen("/run/libvirtd.pid", "re");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0 && kill(pid, 0) == 0)
		CHECK(t, root_daemon_runs("/proc", "/run/libvirtd.pid", "libvirtd"));
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	struct fixture fixture, *fx = &fixture;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/bk-root-daemon-XXXXXX");
	if (!mkdtemp(fx->dir) || chmod(fx->dir, 0755))
		return 1;
	snprintf(fx->fake, sizeof(fx->fake), "%.63s/libvirtd", fx->dir);
	if (copy_file("/bin/sleep", fx->fake))
		return 1;
	fx->root_fake = start(fx->fake, 0);
	fx->nobody_fake = start(fx->fake, NOBODY);
	fx->root_sleep = start("/bin/sleep", 0);
	const struct tap_case cases[] = {
		{ "a root process named libvirtd in a root pid file counts",
		  root_libvirtd_counts, fx },
		{ "a process named libvirtd run as nobody does not",
		  nobody_libvirtd_does_not, fx },
		{ "a root process of another binary does not",
		  other_root_process_does_not, fx },
		{ "a pid file not root's alone does not", pid_file_not_roots_alone,
		  fx },
		{ "no pid, a malformed one, 0, -1", no_pid, fx },
		{ "a pid no process has", dead_pid, fx },
		{ "a replaced binary counts; a non-root uid in status does not",
		  proc_tree, fx },
		{ "this host's libvirtd, when its pid file names one, counts",
		  this_hosts_libvirtd, fx },
	};
	int rc = tap_run(cases, (int)(sizeof(cases) / sizeof(cases[0])));
	pid_t started[] = { fx->root_fake, fx->nobody_fake, fx->root_sleep };
	for (int i = 0; i < 3; i++) {
		kill(started[i], SIGKILL);
		waitpid(started[i], NULL, 0);
	}
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.63s'", fx->dir);
	if (system(cmd))
		rc = 1;
	return rc;
}
