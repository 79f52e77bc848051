/* The environment of a root bulkhead and of its daemon (orch_env.c): a
 * fixed PATH, the caller's variables dropped but those Bulkhead needs. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orch_env.h"
#include "tap.h"

static char *const caller[] = {
	"PATH=/tmp/evil:/usr/bin",
	"LD_PRELOAD=/tmp/evil/hook.so",
	"PYTHONPATH=/tmp/evil",
	"BULKHEAD_STATE_DIR=/tmp/state",
	"IFS=x",
	"TERM=xterm-256color",
	"LANG=C.UTF-8",
	"LC_ALL=C",
	"http_proxy=http://proxy:3128",
	"JOURNAL_STREAM=8:12345",
	"HOME=/home/someone",
	"PATHX=1",
	"noequals",
	NULL,
};

static bool has(char *const env[], const char *entry)
{
	for (size_t i = 0; env[i]; i++)
		if (!strcmp(env[i], entry))
			return true;
	return false;
}

static size_t count(char *const env[])
{
	size_t n = 0;
	while (env[n])
		n++;
	return n;
}

static void command_env(struct tap *t, const void *arg)
{
	(void)arg;
	char **env = orch_env_build(caller, ORCH_ENV_COMMAND);
	CHECK(t, env != NULL);
	if (!env)
		return;
	CHECK_STREQ(t, env[0], "PATH=" ORCH_ENV_PATH);
	CHECK(t, has(env, "BULKHEAD_STATE_DIR=/tmp/state"));
	CHECK(t, has(env, "TERM=xterm-256color"));
	CHECK(t, has(env, "LANG=C.UTF-8"));
	CHECK(t, has(env, "LC_ALL=C"));
	CHECK(t, has(env, "http_proxy=http://proxy:3128"));
	/* Under systemd, up tells from it where the supervisor logs. */
	CHECK(t, has(env, "JOURNAL_STREAM=8:12345"));
	CHECK(t, !has(env, "LD_PRELOAD=/tmp/evil/hook.so"));
	CHECK(t, !has(env, "PYTHONPATH=/tmp/evil"));
	CHECK(t, !has(env, "IFS=x"));
	CHECK(t, !has(env, "HOME=/home/someone"));
	CHECK(t, !has(env, "PATHX=1"));
	CHECK(t, !has(env, "PATH=/tmp/evil:/usr/bin"));
	CHECK_EQ(t, count(env), 7);
	orch_env_free(env);
}

static void daemon_env(struct tap *t, const void *arg)
{
	(void)arg;
	char **env = orch_env_build(caller, ORCH_ENV_DAEMON);
	CHECK(t, env != NULL);
	if (!env)
		return;
	CHECK_STREQ(t, env[0], "PATH=" ORCH_ENV_PATH);
	CHECK_STREQ(t, env[1], "BULKHEAD_STATE_DIR=/tmp/state");
	CHECK(t, env[2] == NULL);
	/* Settled: building it again changes nothing (the daemon starts
	 * itself again only once). */
	char **again = orch_env_build(env, ORCH_ENV_DAEMON);
	CHECK(t, again && orch_env_same(env, again));
	CHECK(t, !orch_env_same(env, caller));
	orch_env_free(again);
	orch_env_free(env);
}

static void absolute(struct tap *t, const void *arg)
{
	(void)arg;
	char out[4096], cwd[4096], want[8192];
	CHECK_EQ(t, orch_env_absolute("/run/x", out, sizeof(out)), 0);
	CHECK_STREQ(t, out, "/run/x");
	CHECK(t, getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(want, sizeof(want), "%s/state", cwd);
	CHECK_EQ(t, orch_env_absolute("state", out, sizeof(out)), 0);
	CHECK_STREQ(t, out, want);
	CHECK_EQ(t, orch_env_absolute("state", out, 4), -ENAMETOOLONG);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "a root command: fixed PATH, only what it reads", command_env,
		  NULL },
		{ "the daemon: fixed PATH and BULKHEAD_* only", daemon_env, NULL },
		{ "relative paths made absolute", absolute, NULL },
	};
	return tap_run(cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
