/* A hostile front end that costs the host by pace rather than by content,
 * against a running, confined bulkhead-link: refused messages as fast as
 * it can send them (the log takes at most VU_LOG_PER_SEC lines a second
 * per side, the counters see every one), a log already near its cap
 * (SANDBOX_LOG_LIMIT: it grows no further), a message dribbled one byte
 * every 45 ms (the worker is held at most 50 ms per message, not per
 * byte: its status keeps answering), and cut messages on one connection
 * after another (VU_WAIT_PER_SEC_MS a second in all).
 *
 * Usage: test_hostile_pace BULKHEAD_LINK (as root: the link confines
 * itself) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "link_proc.h"
#include "tap.h"

/* vmm/vhost_user/vhost_user_dev.h, vmm/sandbox/sandbox.h */
#define LOG_PER_SEC 20
#define LOG_LIMIT (16l << 20)
#define WAIT_PER_SEC 50
#define FLOOD 5000

static const char *binary;

/* Lines of the log that contain `what`. */
static long log_lines(const char *path, const char *what)
{
	char line[512];
	long n = 0;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return n;
}

static long long counter(const struct link_proc *lp, const char *path)
{
	json_object *st = link_control_read(lp->control);
	char v[64];
	long long n = st ? atoll(link_field(st, path, v, sizeof(v))) : -1;

	json_object_put(st);
	return n;
}

/* n messages of an unknown request (refused, no reply asked) on side
 * `side`'s socket. */
static bool refused_flood(const char *sock, unsigned n)
{
	struct fe fe;
	bool ok = fe_connect(&fe, sock, 2000) == 0;

	for (unsigned i = 0; ok && i < n; i++)
		ok = fe_send(&fe, 99, VU_VERSION, NULL, 0, NULL, 0) == 0;
	/* Closed once the link read them all (it counts each). */
	link_sleep_ms(200);
	fe_close(&fe);
	return ok;
}

static void test_flood(struct tap *t, const void *arg)
{
	struct link_proc lp = { 0 };
	long long start = link_now_ms(), errors = -1;
	long lines, seconds;

	(void)arg;
	CHECK_EQ(t, link_proc_start(&lp, binary, "flood", NULL), 0);
	CHECK(t, refused_flood(lp.a, FLOOD));
	for (int i = 0; i < 200 && errors < FLOOD; i++) {
		errors = counter(&lp, "sides.a.protocol_errors");
		link_sleep_ms(20);
	}
	CHECK_EQ(t, errors, FLOOD);
	seconds = (long)((link_now_ms() - start) / 1000) + 2;
	/* A second later, one more: its line says how many were not. */
	link_sleep_ms(1100);
	CHECK(t, refused_flood(lp.a, 1));
	link_sleep_ms(100);
	lines = log_lines(lp.log, "side a:");
	printf("# %d refused in %ld s: %ld lines logged for side a\n", FLOOD,
	       seconds, lines);
	CHECK(t, lines <= (seconds + 1) * (LOG_PER_SEC + 1));
	CHECK(t, log_lines(lp.log, "lines not logged (more than 20 a second)") >= 1);
	CHECK(t, link_proc_alive(&lp));
	CHECK_EQ(t, counter(&lp, "sides.a.protocol_errors"), FLOOD + 1);
	link_proc_stop(&lp);
}

static void test_log_cap(struct tap *t, const void *arg)
{
	struct link_proc lp = { .log_prefill = LOG_LIMIT - 512 };
	struct stat st;

	(void)arg;
	CHECK_EQ(t, link_proc_start(&lp, binary, "logcap", NULL), 0);
	/* Both sides, two seconds: more than the 512 bytes left. */
	for (int round = 0; round < 3; round++) {
		CHECK(t, refused_flood(lp.a, 100));
		CHECK(t, refused_flood(lp.b, 100));
		link_sleep_ms(700);
	}
	CHECK_EQ(t, stat(lp.log, &st), 0);
	printf("# log: %lld bytes (cap %ld)\n", (long long)st.st_size, LOG_LIMIT);
	CHECK(t, st.st_size <= LOG_LIMIT);
	CHECK(t, link_proc_alive(&lp));
	CHECK_EQ(t, counter(&lp, "sides.b.protocol_errors"), 300);
	link_proc_stop(&lp);
}

/* A child sends SET_FEATURES (header and payload, 20 bytes) one byte
 * every 45 ms while the status is read again and again: no reading may
 * wait long for the worker. */
static void test_dribble(struct tap *t, const void *arg)
{
	struct link_proc lp = { 0 };
	long long worst = 0, until;
	char seen[256];
	pid_t child;

	(void)arg;
	CHECK_EQ(t, link_proc_start(&lp, binary, "dribble", NULL), 0);
	child = fork();
	if (child == 0) {
		struct { struct vu_hdr h; uint64_t features; } m = {
			{ VU_SET_FEATURES, VU_VERSION, 8 }, 0 };
		const uint8_t *p = (const uint8_t *)&m;
		struct fe fe;

		if (fe_connect(&fe, lp.a, 2000) != 0)
			_exit(1);
		for (size_t i = 0; i < sizeof(m); i++) {
			if (send(fe.sock, p + i, 1, MSG_NOSIGNAL) != 1)
				_exit(0);  /* the link hung up: as it should */
			link_sleep_ms(45);
		}
		_exit(0);
	}
	link_sleep_ms(20);
	until = link_now_ms() + 1200;
	while (link_now_ms() < until) {
		long long t0 = link_now_ms();
		json_object *st = link_control_read(lp.control);
		long long took = link_now_ms() - t0;

		json_object_put(st);
		if (took > worst)
			worst = took;
		link_sleep_ms(5);
	}
	waitpid(child, NULL, 0);
	printf("# status waited at most %lld ms for the worker\n", worst);
	CHECK(t, worst < 250);
	CHECK(t, link_says(lp.control, "sides.a.last_error", "cut", seen,
			   sizeof(seen)) ||
		 link_says(lp.control, "sides.a.last_error", "not sent", seen,
			   sizeof(seen)));
	printf("# reason: %s\n", seen);
	CHECK(t, link_proc_alive(&lp));
	link_proc_stop(&lp);
}

/* The same front end, one byte and then a new connection, for 1.5 s:
 * each cut message cost the worker its whole deadline before; in all
 * the side may make it wait VU_WAIT_PER_SEC_MS a second. */
static void test_dribble_reconnect(struct tap *t, const void *arg)
{
	struct link_proc lp = { 0 };
	long long waited, until;
	unsigned cycles = 0;

	(void)arg;
	CHECK_EQ(t, link_proc_start(&lp, binary, "redribble", NULL), 0);
	until = link_now_ms() + 1500;
	while (link_now_ms() < until) {
		struct vu_hdr h = { VU_SET_FEATURES, VU_VERSION, 8 };
		struct vu_msg r;
		struct fe fe;

		if (fe_connect(&fe, lp.a, 2000) != 0)
			break;
		if (send(fe.sock, &h, 1, MSG_NOSIGNAL) == 1)
			fe_recv(&fe, &r, 500);  /* until the link hangs up */
		fe_close(&fe);
		cycles++;
	}
	waited = counter(&lp, "sides.a.read_wait_ms");
	printf("# %u cut messages in 1.5 s; the worker waited %lld ms for them\n",
	       cycles, waited);
	CHECK(t, cycles > 0);
	/* 1.5 s touch at most 3 seconds; a busy machine may wake the
	 * worker late from its last wait in each. */
	CHECK(t, waited >= 0 && waited <= 3 * WAIT_PER_SEC + 60);
	CHECK(t, link_proc_alive(&lp));
	link_proc_stop(&lp);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
		{ "refused messages: at most 20 log lines a second per side", test_flood, NULL },
		{ "the log grows no further than its cap", test_log_cap, NULL },
		{ "a byte every 45 ms holds the worker one deadline per message", test_dribble, NULL },
		{ "reconnecting after each cut message: 50 ms a second in all", test_dribble_reconnect, NULL },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_hostile_pace BULKHEAD_LINK\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (the link confines itself)\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	binary = argv[1];
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
