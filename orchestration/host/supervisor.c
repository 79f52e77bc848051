#define _GNU_SOURCE /* setns */
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state_files.h"
#include "state_paths.h"
#include "mono_time.h"

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
/* A link that ran this long before exiting starts over at the first
 * backoff: it was working, not crash-looping. */
#define HEALTHY_MS 10000

/* Writes PATH whole or not at all (rename), so a reader never sees half;
 * root's alone (it names every socket). */
static int write_json_atomic(const char *path, json_object *root)
{
	return write_file(path, json_object_to_json_string_ext(
				  root, JSON_C_TO_STRING_PRETTY), 0600);
}

/* One supervised link. */
struct worker {
	struct link_spec spec;
	pid_t pid;              /* 0: not running */
	bool wanted;
	unsigned starts;
	unsigned restarts;
	unsigned backoff_ms;
	long long started_ms;
	long long restart_at_ms; /* 0: none pending */
	/* Its next start gets spec.tell_next: it exited LINK_EXIT_TELL_NEXT,
	 * or it was told and then killed by a signal before it said (on
	 * told_fd) that it did what it was told. */
	bool tell_next;
	bool told;              /* this run was started with it */
	/* The read end of the pipe a told run writes a byte into once it
	 * did what it was told (--told-fd): a told run killed by a signal
	 * after that is not told again. -1: none. */
	int told_fd;
	char last_exit[64];
};

struct supervisor {
	char state_dir[PATH_MAX];
	/* Each worker logs to a file of its own (state_link_log) when the
	 * supervisor's own log is a file: a worker's log stops at the cap
	 * (RLIMIT_FSIZE, sandbox.h), and a link that floods its own must
	 * silence only itself. To the journal (a stream, no cap) they keep
	 * the supervisor's. */
	bool link_logs;
	struct worker *workers;
	unsigned count;
	const struct supervisor_vms *vms;
	pid_t vm_restart_pid;           /* a restart of a driver VM under way */
	char vm_restarting[64];
	unsigned vm_restarts;
	long long next_vm_check_ms;
};


static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	time_t t = time(NULL);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", gmtime(&t));
	fprintf(stderr, "%s supervisor: ", stamp);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* What the log calls a link's process: its binary's name. */
static const char *program(const struct link_spec *s)
{
	const char *slash = strrchr(s->binary, '/');
	return slash ? slash + 1 : s->binary;
}

static void told_close(struct worker *w)
{
	if (w->told_fd >= 0)
		close(w->told_fd);
	w->told_fd = -1;
}

/* Whether the told run that ended said it did what it was told. */
static bool told_done(struct worker *w)
{
	char c;
	bool done = w->told_fd >= 0 && read(w->told_fd, &c, 1) == 1;
	told_close(w);
	return done;
}

static void worker_start(struct supervisor *sv, struct worker *w)
{
	bool tell = w->tell_next && w->spec.tell_next[0];
	int told[2] = { -1, -1 };
	char told_arg[16];
	told_close(w);
	/* Non-blocking: the worker's one write never waits, and the read
	 * after its death never blocks on a pipe a grandchild kept. */
	if (tell && pipe2(told, O_CLOEXEC | O_NONBLOCK) < 0) {
		say("%s: pipe: %s (a kill after it did what it was told will"
		    " tell the next again)", w->spec.name, strerror(errno));
		told[0] = told[1] = -1;
	}
	snprintf(told_arg, sizeof(told_arg), "%d", told[1]);
	pid_t pid = fork();
	if (pid < 0) {
		say("%s: fork: %s", w->spec.name, strerror(errno));
		w->restart_at_ms = mono_ms() + BACKOFF_MAX_MS;
		if (told[0] >= 0) {
			close(told[0]);
			close(told[1]);
		}
		return;
	}
	if (pid == 0) {
		/* The write end stays open across exec, in this child only. */
		if (told[1] >= 0)
			fcntl(told[1], F_SETFD, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Sockets 0660: a link's socket takes the group of the VM
		 * directory it is in (02750, plan.h), so that VM's QEMU
		 * connects and no other does; control sockets are root's. */
		umask(0117);
		if (sv->link_logs) {
			char log[PATH_MAX];
			int fd = state_link_log(sv->state_dir, w->spec.name, log,
						sizeof(log)) ? -1 :
				 open(log, O_WRONLY | O_CREAT | O_APPEND |
				      O_NOCTTY | O_CLOEXEC, 0600);
			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
				fprintf(stderr, "supervisor: %s: log %s: %s\n",
					w->spec.name, log, strerror(errno));
				_exit(127);
			}
			if (fd != STDERR_FILENO)
				close(fd);
		}
		/* A link that opens a device by name (net's tap) does in
		 * the namespace the device is in. */
		if (w->spec.netns[0]) {
			char ns[PATH_MAX];
			snprintf(ns, sizeof(ns), "/run/netns/%s", w->spec.netns);
			int fd = open(ns, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
				fprintf(stderr, "supervisor: %s: namespace %s: %s\n",
					w->spec.name, w->spec.netns, strerror(errno));
				_exit(127);
			}
			close(fd);
		}
		char *argv[LINK_ARGS_MAX + 5];
		char *arg = w->spec.args;
		unsigned n = 0;
		argv[n++] = w->spec.binary;
		for (unsigned i = 0; i < w->spec.argc; i++, arg += strlen(arg) + 1)
			argv[n++] = arg;
		if (tell) {
			argv[n++] = w->spec.tell_next;
			if (told[1] >= 0) {
				argv[n++] = "--told-fd";
				argv[n++] = told_arg;
			}
		}
		argv[n] = NULL;
		execv(w->spec.binary, argv);
		fprintf(stderr, "supervisor: exec %s: %s\n", w->spec.binary,
			strerror(errno));
		_exit(127);
	}
	if (told[1] >= 0)
		close(told[1]);
	w->told_fd = told[0];
	if (tell)
		say("%s: its last run asked to tell the next: %s", w->spec.name,
		    w->spec.tell_next);
	w->told = tell;
	w->tell_next = false;
	w->pid = pid;
	w->starts++;
	w->started_ms = mono_ms();
	w->restart_at_ms = 0;
	say("%s: started %s pid %d", w->spec.name, program(&w->spec), (int)pid);
}

static void write_state(struct supervisor *sv)
{
	json_object *root = json_object_new_object();
	json_object *links = json_object_new_array();
	json_object_object_add(root, "supervisor_pid", json_object_new_int(getpid()));
	for (unsigned i = 0; i < sv->count; i++) {
		struct worker *w = &sv->workers[i];
		json_object *l = json_object_new_object();
		json_object_object_add(l, "name", json_object_new_string(w->spec.name));
		json_object_object_add(l, "pid", json_object_new_int(w->pid));
		json_object_object_add(l, "running", json_object_new_boolean(w->pid > 0));
		json_object_object_add(l, "starts", json_object_new_int((int)w->starts));
		json_object_object_add(l, "restarts",
				       json_object_new_int((int)w->restarts));
		json_object_object_add(l, "last_exit",
				       json_object_new_string(w->last_exit));
		json_object_object_add(l, "control",
				       json_object_new_string(w->spec.control));
		json_object_array_add(links, l);
	}
	json_object_object_add(root, "links", links);
	json_object_object_add(root, "driver_vm_restarts",
			       json_object_new_int((int)sv->vm_restarts));
	char path[PATH_MAX];
	state_file(sv->state_dir, STATE_LINKS_STATE, path, sizeof(path));
	if (write_json_atomic(path, root))
		say("cannot write %s", path);
	json_object_put(root);
}

static void stop_pid(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Makes the workers match links.json: new ones start, removed ones stop,
 * changed ones restart. */
static void reload(struct supervisor *sv)
{
	char path[PATH_MAX], err[512];
	struct link_set set;
	state_file(sv->state_dir, STATE_LINKS, path, sizeof(path));
	if (link_set_read(path, &set, err, sizeof(err))) {
		say("keeping the links as they are: %s", err);
		return;
	}
	for (unsigned i = 0; i < sv->count; i++)
		sv->workers[i].wanted = false;
	for (unsigned j = 0; j < set.count; j++) {
		struct worker *w = NULL;
		for (unsigned i = 0; i < sv->count && !w; i++)
			if (strcmp(sv->workers[i].spec.name, set.links[j].name) == 0)
				w = &sv->workers[i];
		if (w && memcmp(&w->spec, &set.links[j], sizeof(w->spec)) != 0) {
			say("%s: changed; restarting it", w->spec.name);
			if (w->pid > 0)
				stop_pid(w->pid);
			w->pid = 0;
			w->spec = set.links[j];
			w->restart_at_ms = 1;
		}
		if (!w) {
			struct worker *more = realloc(sv->workers,
						      (sv->count + 1) * sizeof(*more));
			if (!more) {
				say("%s: out of memory", set.links[j].name);
				continue;
			}
			sv->workers = more;
			w = &sv->workers[sv->count++];
			memset(w, 0, sizeof(*w));
			w->told_fd = -1;
			w->spec = set.links[j];
			w->backoff_ms = BACKOFF_FIRST_MS;
			w->restart_at_ms = 1;
		}
		w->wanted = true;
	}
	for (unsigned i = 0; i < sv->count;) {
		struct worker *w = &sv->workers[i];
		if (w->wanted) {
			i++;
			continue;
		}
		say("%s: no longer in the topology; stopping it", w->spec.name);
		if (w->pid > 0)
			stop_pid(w->pid);
		told_close(w);
		sv->workers[i] = sv->workers[--sv->count];
	}
	link_set_free(&set);
}

/* Restarts a driver VM in keep-running/ whose domain is down. */
static void check_vms(struct supervisor *sv)
{
	sv->next_vm_check_ms = mono_ms() + SUPERVISOR_VM_CHECK_MS;
	if (!sv->vms || sv->vm_restart_pid > 0)
		return;
	/* While a bulkhead command holds the topology's lock (STATE_ROOT/
	 * .NAME.lock), a driver VM that is down is being restarted on
	 * purpose: not a crash. */
	char dir[PATH_MAX];
	const char *slash = strrchr(sv->state_dir, '/');
	snprintf(dir, sizeof(dir), "%.*s/.%s.lock",
		 slash ? (int)(slash - sv->state_dir) : 1,
		 slash ? sv->state_dir : ".", slash ? slash + 1 : sv->state_dir);
	int lock = open(dir, O_RDONLY | O_CLOEXEC);
	if (lock >= 0) {
		bool busy = flock(lock, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
		close(lock);
		if (busy)
			return;
	}
	state_file(sv->state_dir, STATE_KEEP_RUNNING, dir, sizeof(dir));
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(sv->vm_restarting))
			continue;
		if (sv->vms->running(sv->vms->ctx, e->d_name) != 0)
			continue;
		char *argv[16];
		unsigned n = 0;
		while (sv->vms->restart_argv[n] && n < 14) {
			argv[n] = sv->vms->restart_argv[n];
			n++;
		}
		argv[n++] = e->d_name;
		argv[n] = NULL;
		pid_t pid = fork();
		if (pid == 0) {
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execv(argv[0], argv);
			_exit(127);
		}
		if (pid > 0) {
			sv->vm_restart_pid = pid;
			snprintf(sv->vm_restarting, sizeof(sv->vm_restarting), "%s",
				 e->d_name);
			sv->vm_restarts++;
			say("%s: its domain is down; restarting it (pid %d)",
			    e->d_name, (int)pid);
		}
		break;
	}
	if (d)
		closedir(d);
}

static void reap(struct supervisor *sv)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == sv->vm_restart_pid) {
			say("%s: restart %s", sv->vm_restarting,
			    WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
			    "done" : "failed (tried again shortly)");
			sv->vm_restart_pid = 0;
			continue;
		}
		for (unsigned i = 0; i < sv->count; i++) {
			struct worker *w = &sv->workers[i];
			if (w->pid != pid)
				continue;
			if (WIFSIGNALED(status))
				snprintf(w->last_exit, sizeof(w->last_exit),
					 "killed by signal %d", WTERMSIG(status));
			else
				snprintf(w->last_exit, sizeof(w->last_exit),
					 "exit status %d", WEXITSTATUS(status));
			bool done = told_done(w);
			w->tell_next = WIFEXITED(status) ?
				       WEXITSTATUS(status) == LINK_EXIT_TELL_NEXT :
				       w->told && !done;
			if (WIFSIGNALED(status) && w->told && done)
				say("%s: it had done what it was told: the next"
				    " is not told again", w->spec.name);
			long long ran = mono_ms() - w->started_ms;
			if (ran >= HEALTHY_MS)
				w->backoff_ms = BACKOFF_FIRST_MS;
			w->pid = 0;
			if (WIFEXITED(status) &&
			    WEXITSTATUS(status) == LINK_EXIT_CONFIG) {
				w->restart_at_ms = 0;
				say("%s: %s pid %d %s: the host lacks what it needs"
				    " (its log says what); not restarted until its"
				    " spec changes", w->spec.name, program(&w->spec),
				    (int)pid, w->last_exit);
				continue;
			}
			w->restarts++;
			w->restart_at_ms = mono_ms() + w->backoff_ms;
			say("%s: %s pid %d %s after %lld ms; restarting in %u ms",
			    w->spec.name, program(&w->spec), (int)pid, w->last_exit,
			    ran, w->backoff_ms);
			if (w->backoff_ms < BACKOFF_MAX_MS)
				w->backoff_ms *= 2;
			if (w->backoff_ms > BACKOFF_MAX_MS)
				w->backoff_ms = BACKOFF_MAX_MS;
		}
	}
}

static int lock_pidfile(const char *state_dir)
{
	char path[PATH_MAX];
	state_file(state_dir, STATE_SUPERVISOR_PID, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* supervisor_pid() holds the lock shared for an instant to look:
	 * that is not another supervisor, so try for a second. */
	int tries = 0;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK && ++tries < 50) {
			usleep(20000);
			continue;
		}
		close(fd);
		return e == EWOULDBLOCK ? -EALREADY : -e;
	}
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		close(fd);
		return -EIO;
	}
	return fd;
}

pid_t supervisor_pid(const char *state_dir)
{
	char path[PATH_MAX];
	state_file(state_dir, STATE_SUPERVISOR_PID, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	pid_t pid = 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		char text[32] = { 0 };
		if (read(fd, text, sizeof(text) - 1) > 0)
			pid = (pid_t)atoi(text);
	}
	close(fd);
	return pid;
}

int supervisor_run(const char *state_dir, const struct supervisor_vms *vms)
{
	struct supervisor sv = { .vms = vms };
	snprintf(sv.state_dir, sizeof(sv.state_dir), "%s", state_dir);
	struct stat st;
	sv.link_logs = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	int lock = lock_pidfile(state_dir);
	if (lock < 0) {
		say("%s: %s", state_dir, lock == -EALREADY ?
		    "another supervisor runs" : strerror(-lock));
		return 1;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		say("signalfd: %s", strerror(errno));
		return 1;
	}
	say("running for %s", state_dir);
	reload(&sv);
	bool running = true;
	while (running) {
		long long now = mono_ms(), next = -1;
		bool changed = false;
		for (unsigned i = 0; i < sv.count; i++) {
			struct worker *w = &sv.workers[i];
			if (w->pid || !w->restart_at_ms)
				continue;
			if (w->restart_at_ms <= now) {
				worker_start(&sv, w);
				changed = true;
			} else if (next < 0 || w->restart_at_ms < next) {
				next = w->restart_at_ms;
			}
		}
		if (changed)
			write_state(&sv);
		if (sv.vms) {
			if (now >= sv.next_vm_check_ms) {
				unsigned before = sv.vm_restarts;
				check_vms(&sv);
				if (sv.vm_restarts != before)
					write_state(&sv);
			}
			if (next < 0 || sv.next_vm_check_ms < next)
				next = sv.next_vm_check_ms;
		}
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		int timeout = next < 0 ? -1 : next > now ? (int)(next - now) : 0;
		if (poll(&pfd, 1, timeout) <= 0)
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(&sv);
			break;
		case SIGHUP:
			reload(&sv);
			break;
		default:
			running = false;
			break;
		}
		write_state(&sv);
	}
	say("stopping %u links", sv.count);
	/* All at once, then wait: one slow link must not hold up the rest
	 * past the patience of whoever stops the supervisor. */
	for (unsigned i = 0; i < sv.count; i++)
		if (sv.workers[i].pid > 0)
			kill(sv.workers[i].pid, SIGTERM);
	for (unsigned i = 0; i < sv.count; i++)
		if (sv.workers[i].pid > 0)
			stop_pid(sv.workers[i].pid);
	sv.count = 0;
	write_state(&sv);
	free(sv.workers);
	close(sfd);
	close(lock);
	return 0;
}
