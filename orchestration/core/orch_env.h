/* The environment the bulkhead command and its daemon run with. Run as
 * root, the command must not find its helpers (ip, modprobe, virsh,
 * libvirtd) through the caller's PATH, nor hand the caller's variables
 * (LD_PRELOAD, PYTHONPATH, ...) to them; the link supervisor, which
 * outlives the command, keeps nothing of the caller's but what names
 * Bulkhead's own directories. */
#ifndef BULKHEAD_ORCH_ENV_H
#define BULKHEAD_ORCH_ENV_H

#include <stdbool.h>
#include <stddef.h>

#define ORCH_ENV_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* BULKHEAD_* variables naming a path: made absolute (the daemon works
 * from "/"). */
extern const char *const orch_env_path_vars[];

enum orch_env_use {
	ORCH_ENV_COMMAND,       /* bulkhead run as root */
	ORCH_ENV_DAEMON,        /* bulkhead supervise */
};

/* Whether the entry NAME=VALUE is kept for USE. */
bool orch_env_keeps(const char *entry, enum orch_env_use use);

/* A new environment for USE out of ENVP: PATH=ORCH_ENV_PATH, then the
 * entries kept, in ENVP's order. NULL-terminated, freed with
 * orch_env_free; NULL when out of memory. */
char **orch_env_build(char *const envp[], enum orch_env_use use);
void orch_env_free(char **env);

/* Whether two environments are the same entries in the same order. */
bool orch_env_same(char *const a[], char *const b[]);

/* PATH against the working directory, when relative, into OUT; not
 * resolved further (it may not exist yet). -ENAMETOOLONG naming it. */
int orch_env_absolute(const char *path, char *out, size_t len);

#endif
