/* A bulkhead-link process for the tests that drive a real one: started on
 * sockets in a scratch directory with its log in a file there, its status
 * fields by path, frames across it; stopped and cleaned up. */
#ifndef BULKHEAD_LINK_PROC_H
#define BULKHEAD_LINK_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "link_control.h"
#include "vu_frontend.h"

struct link_proc {
	char dir[64];
	char a[96], b[96], control[96], log[96];
	pid_t pid;
	off_t log_prefill;      /* the log starts this big (sparse); 0: empty */
};

static inline void link_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline long long link_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* Starts a worker: the nfixed arguments fixed (fixed[0] the binary),
 * then extra (NULL-terminated, may be NULL), its stderr appending to log
 * (prefill bytes long at first). Returns its pid, or -1. */
static inline pid_t worker_spawn(const char *const *fixed, unsigned nfixed,
				 const char *const *extra, const char *log,
				 off_t prefill)
{
	pid_t pid = fork();

	if (pid == 0) {
		const char *argv[24];
		unsigned n = 0;

		while (n < nfixed && n < 23) {
			argv[n] = fixed[n];
			n++;
		}
		while (extra && *extra && n < 23)
			argv[n++] = *extra++;
		argv[n] = NULL;
		/* Appending, as the supervisor's log is opened. */
		if (!freopen(log, "a", stderr) ||
		    ftruncate(fileno(stderr), prefill) != 0)
			_exit(1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits for a worker's control socket to answer (5 s). Returns 0, or -1
 * when it did not, or the worker exited first. */
static inline int worker_wait_control(const char *control, pid_t pid)
{
	if (pid < 0)
		return -1;
	for (int i = 0; i < 500; i++) {
		json_object *st = link_control_read(control);

		if (st) {
			json_object_put(st);
			return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return -1;
		link_sleep_ms(10);
	}
	return -1;
}

/* Starts BINARY --a --b --control --name NAME [extra...] (extra ends with
 * NULL), its stderr appending to lp->log (lp->log_prefill bytes long at
 * first), and waits for its control socket.
 * Returns 0, or -1 when it did not come up within 5 s. */
static inline int link_proc_start(struct link_proc *lp, const char *binary,
				  const char *name, const char *const *extra)
{
	snprintf(lp->dir, sizeof(lp->dir), "/tmp/bulkhead-%s-XXXXXX", name);
	if (!mkdtemp(lp->dir))
		return -1;
	snprintf(lp->a, sizeof(lp->a), "%s/a.sock", lp->dir);
	snprintf(lp->b, sizeof(lp->b), "%s/b.sock", lp->dir);
	snprintf(lp->control, sizeof(lp->control), "%s/control.sock", lp->dir);
	snprintf(lp->log, sizeof(lp->log), "%s/link.log", lp->dir);

	const char *const fixed[] = { binary, "--a", lp->a, "--b", lp->b,
				      "--control", lp->control, "--name", name };

	lp->pid = worker_spawn(fixed, 9, extra, lp->log, lp->log_prefill);
	return worker_wait_control(lp->control, lp->pid);
}

static inline bool link_proc_alive(const struct link_proc *lp)
{
	return waitpid(lp->pid, NULL, WNOHANG) == 0;
}

/* SIGTERM, its exit status (waitpid's), the directory removed. */
static inline int link_proc_stop(struct link_proc *lp)
{
	char cmd[96];
	int status = -1;

	kill(lp->pid, SIGTERM);
	waitpid(lp->pid, &status, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", lp->dir);
	if (system(cmd) != 0)
		status = -1;
	return status;
}

/* A field of a status by path ("sides.a.last_error"), as text. */
static inline const char *link_field(json_object *root, const char *path,
				     char *out, size_t outlen)
{
	char copy[128], *save = NULL;
	json_object *o = root;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *tok = strtok_r(copy, ".", &save); tok && o;
	     tok = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			o = NULL;
	}
	snprintf(out, outlen, "%s", o ? json_object_get_string(o) : "(none)");
	return out;
}

/* A field of lp's status now, as text ("" when it does not answer). */
static inline const char *link_proc_field(struct link_proc *lp,
					  const char *path, char *buf,
					  size_t len)
{
	json_object *st = link_control_read(lp->control);
	const char *v = st ? link_field(st, path, buf, len) : NULL;

	if (st)
		json_object_put(st);
	return v ? v : "";
}

/* Waits (2 s) until the status on control socket CONTROL says `path`
 * contains `want`. */
static inline bool link_says(const char *control, const char *path,
			     const char *want, char *seen, size_t seenlen)
{
	for (int i = 0; i < 100; i++) {
		json_object *st = link_control_read(control);

		if (st) {
			link_field(st, path, seen, seenlen);
			json_object_put(st);
			if (strstr(seen, want))
				return true;
		}
		link_sleep_ms(20);
	}
	return false;
}

/* A 64-byte Ethernet frame from 02:..:src_last with a marker byte. */
static inline void link_frame(uint8_t *f, uint8_t src_last, uint8_t marker)
{
	memset(f, 0, 64);
	memset(f, 0xff, 6);
	f[6] = 0x02;
	f[11] = src_last;
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental EtherType */
	f[14] = marker;
}

/* Sends one frame from `from` and waits (2 s) for it on `to`. */
static inline bool link_crosses(struct fe *from, struct fe *to, uint8_t marker)
{
	uint8_t f[64], got[FE_BUF_SIZE];
	int n;

	link_frame(f, 1, marker);
	fe_reap_tx(from);
	if (fe_send_frame(from, f, sizeof(f)) < 0)
		return false;
	for (;;) {
		n = fe_recv_frame(to, got, sizeof(got), 2000);
		if (n < 0)
			return false;
		fe_post_rx(to, 1);
		if (n == 64 && got[14] == marker)
			return true;
	}
}

#endif
