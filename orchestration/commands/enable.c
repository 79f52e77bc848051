/* bulkhead enable / disable: a topology as a systemd unit of its own
 * (docs/orchestration.md "Under systemd"). The file goes to
 * /etc/bulkhead/NAME.yaml, where the template bulkhead@.service reads it,
 * and systemctl enables or disables bulkhead@NAME.service. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_net.h"
#include "orch.h"
#include "state_files.h"

#ifndef BULKHEAD_CONFIG_DIR
#error "BULKHEAD_CONFIG_DIR comes from meson (/etc/bulkhead)"
#endif

/* sd_booted(3): systemd is the running manager when this exists. */
#define SYSTEMD_RUNNING_DIR "/run/systemd/system"

/* --now needs a systemd to start or stop the unit in, and only the
 * running system's. */
static int now_possible(const struct orch_unit_args *a, const char *cmd)
{
	if (!a->now)
		return 0;
	if (a->root) {
		fprintf(stderr, "bulkhead %s: --now with --root %s: a unit is"
			" started only on the running system\n", cmd, a->root);
		return -EINVAL;
	}
	if (access(SYSTEMD_RUNNING_DIR, F_OK) < 0) {
		fprintf(stderr, "bulkhead %s: --now: systemd does not run here (no"
			" %s); bulkhead up/down FILE start and stop the topology"
			" without it\n", cmd, SYSTEMD_RUNNING_DIR);
		return -ENOENT;
	}
	return 0;
}

/* systemctl [--root=ROOT] VERB [--now] UNIT; its own message on failure. */
static int systemctl(const struct orch_unit_args *a, const char *verb,
		     bool now, const char *unit)
{
	char root_opt[PATH_MAX + 8];
	char *argv[6];
	unsigned n = 0;
	argv[n++] = "systemctl";
	if (a->root) {
		snprintf(root_opt, sizeof(root_opt), "--root=%s", a->root);
		argv[n++] = root_opt;
	}
	argv[n++] = (char *)verb;
	if (now)
		argv[n++] = "--now";
	argv[n++] = (char *)unit;
	argv[n] = NULL;
	char err[1024];
	int rc = run_command(argv, err, sizeof(err));
	if (rc)
		fprintf(stderr, "bulkhead: %s\n", err);
	return rc;
}

/* ROOT's /etc/bulkhead (made when MAKE) and NAME.yaml in it. */
static int config_path(const struct orch_unit_args *a, const char *name,
		       bool make, char *path, size_t len)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s%s", a->root ? a->root : "",
			 BULKHEAD_CONFIG_DIR);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (make) {
		/* The parents first: a fresh --root has no etc/. */
		for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
			*p = '\0';
			int rc = mkdir(dir, 0755);
			*p = '/';
			if (rc < 0 && errno != EEXIST)
				return -errno;
		}
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	n = snprintf(path, len, "%s/%s.yaml", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int cmd_enable(struct orch *o, const struct orch_unit_args *a)
{
	if (now_possible(a, "enable"))
		return 2;
	/* Everything up would check, so that a file that cannot come up is
	 * refused now rather than at the next boot. */
	struct topology *topo;
	if (orch_validate(o, a->target, &topo))
		return 2;
	char path[PATH_MAX], unit[64];
	int rc = config_path(a, topo->name, false, path, sizeof(path));
	if (rc) {
		fprintf(stderr, "bulkhead enable: %s%s: %s\n", a->root ? a->root : "",
			BULKHEAD_CONFIG_DIR, strerror(-rc));
		topology_free(topo);
		return 1;
	}
	snprintf(unit, sizeof(unit), "bulkhead@%s.service", topo->name);
	/* The unit first: where bulkhead@.service is not installed, systemctl
	 * says so and nothing is left in /etc/bulkhead. */
	rc = systemctl(a, "enable", false, unit);
	if (!rc && !same_file(a->target, path)) {
		rc = config_path(a, topo->name, true, path, sizeof(path));
		rc = rc ? rc : copy_file(a->target, path);
		if (rc) {
			fprintf(stderr, "bulkhead enable: %s: %s\n", path,
				strerror(-rc));
			systemctl(a, "disable", false, unit);
		} else {
			printf("enable: %s copied to %s\n", a->target, path);
		}
	}
	/* Started already: an edited file applied as a second up would
	 * (the unit's ExecReload); else started. */
	if (!rc && a->now)
		rc = systemctl(a, "reload-or-restart", false, unit);
	if (!rc)
		printf("enable: %s starts topology %s at boot%s\n", unit, topo->name,
		       a->now ? ", and runs it now" : "");
	topology_free(topo);
	return rc ? 1 : 0;
}

int cmd_disable(struct orch *o, const struct orch_unit_args *a)
{
	(void)o;
	if (now_possible(a, "disable"))
		return 2;
	/* A file (its name: says which unit; it need not check any more),
	 * or the name itself. */
	char name[TOPO_NAME_MAX + 1], err[ORCH_ERR_LEN];
	struct stat st;
	if (stat(a->target, &st) == 0 && S_ISREG(st.st_mode)) {
		struct topology *topo;
		if (topology_load(a->target, &topo, err, sizeof(err))) {
			fprintf(stderr, "bulkhead: %s\n", err);
			return 2;
		}
		snprintf(name, sizeof(name), "%s", topo->name);
		topology_free(topo);
	} else if (topology_name_valid(a->target)) {
		snprintf(name, sizeof(name), "%s", a->target);
	} else {
		fprintf(stderr, "bulkhead disable: '%s' is neither a topology file"
			" nor a topology name (a-z, then a-z 0-9 -, at most %d)\n",
			a->target, TOPO_NAME_MAX);
		return 2;
	}
	char unit[64], path[PATH_MAX];
	snprintf(unit, sizeof(unit), "bulkhead@%s.service", name);
	if (systemctl(a, "disable", a->now, unit))
		return 1;
	/* The admin's configuration stays, as systemctl disable leaves any
	 * unit's: enable (or systemctl enable) takes it up again. */
	config_path(a, name, false, path, sizeof(path));
	printf("disable: %s no longer starts at boot%s; %s stays\n", unit,
	       a->now ? " and is stopped" : "", path);
	return 0;
}
