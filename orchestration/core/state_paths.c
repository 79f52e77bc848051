#include "state_paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

static int fmt_path(char *out, size_t len, const char *dir, const char *vm,
		    const char *suffix)
{
	int n = snprintf(out, len, "%s/%s%s%s", dir, vm, suffix[0] ? "." : "",
			 suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int state_vm_dir(const struct plan_dirs *dirs, const char *vm, char *out,
		  size_t len)
{
	return fmt_path(out, len, dirs->vm, vm, "");
}

int state_agent_path(const struct plan_dirs *dirs, const char *vm,
		      char *out, size_t len)
{
	return fmt_path(out, len, dirs->agent, vm, "agent");
}

int state_qga_path(const struct plan_dirs *dirs, const char *vm, char *out,
		   size_t len)
{
	return fmt_path(out, len, dirs->agent, vm, "qga");
}

int state_console_log(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len)
{
	return fmt_path(out, len, dirs->log, vm, "log");
}

int state_config_path(const struct plan_dirs *dirs, const char *vm,
		       char *out, size_t len)
{
	return fmt_path(out, len, dirs->state, vm, "config");
}

int state_link_path(const struct plan_dirs *dirs, const char *owner,
		     const char *link, char *out, size_t len)
{
	char dir[PATH_MAX];
	int rc = state_vm_dir(dirs, owner, dir, sizeof(dir));
	return rc ? rc : fmt_path(out, len, dir, link, "link");
}

int state_disk_path(const struct plan_dirs *dirs, const char *app, char *out,
		    size_t len)
{
	char dir[PATH_MAX];
	int rc = state_vm_dir(dirs, app, dir, sizeof(dir));
	return rc ? rc : fmt_path(out, len, dir, app, "disk");
}

int state_volume_port(const struct plan_dirs *dirs, const char *storage_vm,
		      const char *app, char *out, size_t len)
{
	char dir[PATH_MAX];
	int rc = state_vm_dir(dirs, storage_vm, dir, sizeof(dir));
	return rc ? rc : fmt_path(out, len, dir, app, "volume");
}

int state_input_port(const struct plan_dirs *dirs, const char *drv,
		     const char *class, char *out, size_t len)
{
	char dir[PATH_MAX];
	int rc = state_vm_dir(dirs, drv, dir, sizeof(dir));
	return rc ? rc : fmt_path(out, len, dir, class, "input");
}

int state_ctl_path(const struct plan_dirs *dirs, const char *link, char *out,
		    size_t len)
{
	return fmt_path(out, len, dirs->ctl, link, "ctl");
}

int state_xml_path(const struct plan_dirs *dirs, const char *vm, char *out,
		   size_t len)
{
	return fmt_path(out, len, dirs->state, vm, "xml");
}

int state_topology_copy(const char *state_dir, const char *topology, char *out,
			size_t len)
{
	return fmt_path(out, len, state_dir, topology, "yaml");
}

int state_file(const char *state_dir, const char *name, char *out, size_t len)
{
	return fmt_path(out, len, state_dir, name, "");
}

int state_link_log(const char *state_dir, const char *link, char *out,
		   size_t len)
{
	int n = snprintf(out, len, "%s/link-%s.log", state_dir, link);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
