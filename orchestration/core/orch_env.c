#include "orch_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const orch_env_path_vars[] = {
	"BULKHEAD_STATE_DIR", "BULKHEAD_LOG_DIR", "BULKHEAD_IMAGE_DIR",
	"BULKHEAD_WORKER_DIR", "BULKHEAD_DATA_DIR", NULL,
};

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool orch_env_keeps(const char *entry, enum orch_env_use use)
{
	if (!strchr(entry, '=') || has_prefix(entry, "PATH="))
		return false;
	/* What the project reads (grep getenv; guest-os/build-images reads
	 * BULKHEAD_IMAGE_DIR). */
	if (has_prefix(entry, "BULKHEAD_"))
		return true;
	/* Sanitizer builds (the tests) pass their runtime's options on, so
	 * the command's children and the daemon report the same way
	 * (log_path). */
#if BULKHEAD_SANITIZED
	if (has_prefix(entry, "ASAN_OPTIONS=") ||
	    has_prefix(entry, "UBSAN_OPTIONS=") ||
	    has_prefix(entry, "LSAN_OPTIONS="))
		return true;
#endif
	if (use == ORCH_ENV_DAEMON)
		return false;
	/* The console client draws with the admin's terminal and locale;
	 * build-images' apt-get reaches the archive through the host's
	 * proxy, when it has one; under systemd, up tells from
	 * JOURNAL_STREAM that its output is the journal (log_target.h). */
	static const char *const command_keeps[] = {
		"TERM=", "LANG=", "LANGUAGE=", "LC_", "http_proxy=",
		"https_proxy=", "no_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=",
		"NO_PROXY=", "JOURNAL_STREAM=", NULL,
	};
	for (unsigned i = 0; command_keeps[i]; i++)
		if (has_prefix(entry, command_keeps[i]))
			return true;
	return false;
}

char **orch_env_build(char *const envp[], enum orch_env_use use)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	size_t used = 0;
	env[used++] = strdup("PATH=" ORCH_ENV_PATH);
	for (size_t i = 0; i < n && env[used - 1]; i++)
		if (orch_env_keeps(envp[i], use))
			env[used++] = strdup(envp[i]);
	if (!env[used - 1]) {
		orch_env_free(env);
		return NULL;
	}
	return env;
}

void orch_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

bool orch_env_same(char *const a[], char *const b[])
{
	size_t i = 0;
	for (; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return !a[i] && !b[i];
}

int orch_env_absolute(const char *path, char *out, size_t len)
{
	char cwd[4096];
	int n;
	if (path[0] == '/')
		n = snprintf(out, len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, len, "%s/%s", cwd, path);
	else
		return -errno;
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "bulkhead: '%s': path too long made absolute\n",
			path);
		return -ENAMETOOLONG;
	}
	return 0;
}
