/* bulkhead: a topology file becomes running driver VMs and app VMs
 * (docs/orchestration.md). */
#define _GNU_SOURCE /* close_range */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "console_filter.h"
#include "console_relay.h"
#include "domain_xml.h"
#include "orch.h"
#include "orch_env.h"
#include "plan.h"
#include "qga.h"
#include "supervisor.h"
#include "virt.h"
#include "vm_ids.h"

extern char **environ;

/* Where the helpers are, fixed at build time (orchestration/meson.build):
 * the build tree's binary names the checkout and vmm/ of its build
 * (./run demo, ./run test); the installed one names the install paths only
 * (orchestration/install/), so it reads nothing of the checkout. */
#if !defined(BULKHEAD_WORKER_DIR) || !defined(BULKHEAD_BUILD_IMAGES) || \
	!defined(BULKHEAD_DEMO)
#error "BULKHEAD_WORKER_DIR, BULKHEAD_BUILD_IMAGES and BULKHEAD_DEMO come from meson"
#endif
#ifndef BULKHEAD_VERSION
#error "BULKHEAD_VERSION comes from meson (the project's version)"
#endif

static const char usage[] =
	"usage: bulkhead [OPTIONS] COMMAND [ARGS]\n"
	"  up FILE          bring the topology up (again: apply what changed)\n"
	"  down FILE        take down everything bulkhead made for it\n"
	"  start VM         start one VM of a running topology\n"
	"  stop VM          stop one VM (its link stays)\n"
	"  disposable [TOPOLOGY]  take a preloaded disposable from the pool;\n"
	"                   prints its name (docs/templates.md)\n"
	"  status [--json]  VMs, links, counters\n"
	"  check [--show] FILE  validate only; start nothing (--show: print\n"
	"                   the sys-net configurations and domain XML)\n"
	"  console VM       the VM's serial console (virsh console)\n"
	"  logs VM          the VM's console log\n"
	"  exec VM CMD...   run a command in an app VM (its agent)\n"
	"  view VM          an app VM's display (virt-viewer, VNC)\n"
	"  template list [--json]  the templates, their versions, the app VMs\n"
	"                   on each\n"
	"  template build [NAME]  build what is missing or stale (build-images;\n"
	"                   NAME: a template it makes only when asked, such as\n"
	"                   debian-desktop): a new template version; VMs move\n"
	"                   at their next start\n"
	"  template clone SRC NEW  template NEW, a copy of SRC's current\n"
	"                   version, to change without touching SRC\n"
	"  template remove NAME  every version of NAME, when no app VM is on\n"
	"                   it\n"
	"  usb list VM      a usb driver VM's devices (or an app VM's sys-usb's)\n"
	"  usb attach [DRIVER-VM:]BUSID APP-VM   a device to an app VM\n"
	"  usb detach DRIVER-VM:BUSID            back from it\n"
	"  demo [--keep]    the demo: sys-net, two app VMs, real traffic\n"
	"  enable [--now] [--root DIR] FILE\n"
	"                   check FILE, copy it to " BULKHEAD_CONFIG_DIR "/NAME.yaml and\n"
	"                   enable bulkhead@NAME.service (systemd) for boot\n"
	"  disable [--now] [--root DIR] FILE|NAME\n"
	"                   disable bulkhead@NAME.service (--now: stop it too)\n"
	"options:\n"
	"  --connect URI    libvirt URI (default " VIRT_DEFAULT_URI ")\n"
	"  --accel kvm|tcg|auto   (default: the file's accel, else auto)\n"
	"  --images DIR     guest images (default /var/cache/bulkhead/images)\n"
	"  --boot-timeout S seconds a VM may take to report ready (default 240;\n"
	"                   600 for a VM on its own disk: cloud-init's first boot)\n"
	"  --version        print the version and exit\n";

int orch_connect(struct orch *o)
{
	if (o->conn)
		return 0;
	char err[1024];
	o->conn = virt_open(o->uri, err, sizeof(err));
	if (!o->conn) {
		fprintf(stderr, "bulkhead: %s\n", err);
		return -EIO;
	}
	return 0;
}

int orch_vm_agent(struct orch *o, const struct topology *topo, const char *vm,
		  struct agent_addr *to, char path[PATH_MAX], char *err,
		  size_t err_len)
{
	struct plan_dirs dirs;
	struct vm_ids_host host;
	plan_dirs(o->state_root, o->log_root, o->data_root, topo, &dirs);
	state_agent_path(&dirs, vm, path, PATH_MAX);
	to->path = path;
	vm_ids_host_default(&host);
	return vm_ids_lookup(&host, topo->name, vm, &to->uid, err, err_len) ?
	       -ENOENT : 0;
}

static int cmd_logs(struct orch *o, const char *vm)
{
	struct topology *topo;
	if (orch_find_vm(o, vm, &topo))
		return 2;
	struct plan_dirs dirs;
	char path[PATH_MAX];
	plan_dirs(o->state_root, o->log_root, o->data_root, topo, &dirs);
	state_console_log(&dirs, vm, path, sizeof(path));
	topology_free(topo);
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "bulkhead: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* The guest wrote it: through the console filter, as on the
	 * console itself. */
	struct console_filter filter;
	console_filter_init(&filter);
	uint8_t buf[65536], clean[sizeof(buf) + CONSOLE_FILTER_SLACK];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(clean, 1, console_filter_run(&filter, buf, n, clean), stdout);
	fclose(f);
	return 0;
}

static int cmd_console(struct orch *o, const char *vm)
{
	struct topology *topo;
	if (orch_find_vm(o, vm, &topo))
		return 2;
	topology_free(topo);
	char domain[128];
	plan_domain_name(vm, domain, sizeof(domain));
	char *argv[] = { "virsh", "-c", (char *)o->uri, "console", domain, NULL };
	fflush(stdout);
	int rc = console_relay_run(argv, STDIN_FILENO, STDOUT_FILENO);
	if (rc < 0) {
		fprintf(stderr, "bulkhead: console %s: %s\n", vm, strerror(-rc));
		return 1;
	}
	return rc;
}

/* The guest's bytes to FD; through the console filter when FD is a
 * terminal (guest text never drives the admin's terminal). */
static void guest_output(int fd, const char *data, size_t len)
{
	FILE *f = fd == STDOUT_FILENO ? stdout : stderr;
	if (!isatty(fd)) {
		fwrite(data, 1, len, f);
		return;
	}
	struct console_filter filter;
	console_filter_init(&filter);
	uint8_t clean[4096 + CONSOLE_FILTER_SLACK];
	for (size_t off = 0; off < len; off += 4096) {
		size_t n = len - off < 4096 ? len - off : 4096;
		fwrite(clean, 1, console_filter_run(&filter, (const uint8_t *)data +
						    off, n, clean), f);
	}
}

/* exec in a template VM: sh -c CMD through qemu-guest-agent (which hands
 * the output back when the command ends). */
static int exec_qga(struct orch *o, const char *vm, const char *cmd)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct qga_exec_result res;
	char err[512], domain[128];
	plan_domain_name(vm, domain, sizeof(domain));
	if (orch_connect(o))
		return 125;
	struct qga_target to = { o->conn, domain, NULL };
	int rc = qga_exec(&to, argv, 600 * 1000, &res, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "bulkhead: exec in %s: %s\n", vm, err);
		return 125;
	}
	guest_output(STDOUT_FILENO, res.out, res.out_len);
	fflush(stdout);
	guest_output(STDERR_FILENO, res.err, res.err_len);
	rc = res.signal ? 128 + res.signal : res.exit_code;
	qga_exec_result_free(&res);
	return rc;
}

static int cmd_exec(struct orch *o, const char *vm, int argc, char **argv)
{
	struct topology *topo;
	if (orch_find_vm(o, vm, &topo))
		return 2;
	if (!topology_app_vm(topo, vm)) {
		fprintf(stderr, "bulkhead: exec: %s is a driver VM; only app VMs run"
			" commands\n", vm);
		topology_free(topo);
		return 2;
	}
	char path[PATH_MAX], cmd[4096], err[512];
	struct agent_addr to;
	bool on_template = topology_app_qga(topology_app_vm(topo, vm));
	int rc = orch_vm_agent(o, topo, vm, &to, path, err, sizeof(err));
	topology_free(topo);
	if (rc) {
		fprintf(stderr, "bulkhead: exec: %s\n", err);
		return 125;
	}
	size_t used = 0;
	for (int i = 0; i < argc; i++) {
		int n = snprintf(cmd + used, sizeof(cmd) - used, "%s%s", i ? " " : "",
				 argv[i]);
		if (n < 0 || (size_t)n >= sizeof(cmd) - used || strchr(argv[i], '\n')) {
			fprintf(stderr, "bulkhead: exec: the command is too long or has"
				" a newline\n");
			return 2;
		}
		used += (size_t)n;
	}
	fflush(stdout);
	if (on_template)
		return exec_qga(o, vm, cmd);
	rc = agent_exec(&to, cmd, 600 * 1000, STDOUT_FILENO);
	if (rc == -EPERM) {
		fprintf(stderr, "bulkhead: exec in %s: %s is served by another uid"
			" than the VM's (%u); refused\n", vm, path, (unsigned)to.uid);
		return 125;
	}
	if (rc < 0) {
		fprintf(stderr, "bulkhead: exec in %s: %s\n", vm, strerror(-rc));
		return 125;
	}
	return rc;
}

static int cmd_demo(struct orch *o, int argc, char **argv)
{
	char script[] = BULKHEAD_DEMO, self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	setenv("BULKHEAD", self, 1);
	setenv("BULKHEAD_IMAGE_DIR", o->image_dir, 1);
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		return 1;
	args[0] = script;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	execv(script, args);
	fprintf(stderr, "bulkhead: %s: %s\n", script, strerror(errno));
	return 1;
}

/* For the supervisor: whether driver VM VM's domain runs. */
static int domain_running(void *ctx, const char *vm)
{
	struct orch *o = ctx;
	if (o->conn && virConnectIsAlive(o->conn) != 1) {
		virConnectClose(o->conn);
		o->conn = NULL;
	}
	if (orch_connect(o))
		return -1;
	char domain[128];
	plan_domain_name(vm, domain, sizeof(domain));
	enum virt_state s = virt_domain_state(o->conn, domain, NULL, 0);
	/* Absent is down too: a stopped disposable is undefined. */
	return s == VIRT_STOPPED || s == VIRT_ABSENT ? 0 :
	       s == VIRT_RUNNING ? 1 : -1;
}

static int cmd_supervise(struct orch *o, const char *state_arg)
{
	char state_dir[PATH_MAX], self[PATH_MAX];

	/* A daemon keeps nothing its starter leaked (descriptors without
	 * close-on-exec): its link workers would get them too. Nothing of
	 * its own is open yet. */
	close_range(3, ~0u, 0);
	if (orch_env_absolute(state_arg, state_dir, sizeof(state_dir)))
		return 2;
	/* A daemon outlives its caller: it works from "/" (keeping no
	 * directory of the caller's busy) with only the environment it
	 * needs. Started otherwise (by up, by hand), it starts itself again
	 * so: /proc/PID/environ then shows what it runs with. */
	if (chdir("/") < 0) {
		fprintf(stderr, "bulkhead: supervise: chdir /: %s\n", strerror(errno));
		return 1;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return supervisor_run(state_dir, NULL);
	self[n] = '\0';
	char **env = orch_env_build(environ, ORCH_ENV_DAEMON);
	if (env && !orch_env_same(env, environ)) {
		char *argv[] = { self, "--connect", (char *)o->uri, "supervise",
				 state_dir, NULL };
		execve(self, argv, env);
		fprintf(stderr, "bulkhead: supervise: %s: %s\n", self, strerror(errno));
		return 1;
	}
	orch_env_free(env);
	char *restart[] = { self, "--connect", (char *)o->uri, "start",
			    "--if-wanted", NULL };
	struct supervisor_vms vms = { domain_running, o, restart };
	return supervisor_run(state_dir, &vms);
}

/* Run as root: helpers from a fixed PATH, none of the caller's variables
 * but those orch_env.h keeps; everywhere: Bulkhead's directories made
 * absolute before anything uses them. */
static int settle_environment(void)
{
	if (geteuid() == 0) {
		/* Lives as long as the process: environ points into it. */
		char **env = orch_env_build(environ, ORCH_ENV_COMMAND);
		if (!env) {
			fprintf(stderr, "bulkhead: out of memory\n");
			return -ENOMEM;
		}
		environ = env;
	}
	for (unsigned i = 0; orch_env_path_vars[i]; i++) {
		const char *value = getenv(orch_env_path_vars[i]);
		char path[PATH_MAX];
		if (!value || value[0] == '/')
			continue;
		int rc = orch_env_absolute(value, path, sizeof(path));
		if (rc)
			return rc;
		if (setenv(orch_env_path_vars[i], path, 1) < 0)
			return -errno;
	}
	return 0;
}

/* enable/disable's [--now] [--root DIR] TARGET into A; 2 on a wrong
 * argument, with its message. */
static int unit_args(int argc, char **argv, char *root,
		     struct orch_unit_args *a)
{
	const char *cmd = argv[0];
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--now")) {
			a->now = true;
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			if (orch_env_absolute(argv[++i], root, PATH_MAX))
				return 2;
			a->root = root;
		} else if (argv[i][0] == '-' || a->target) {
			fprintf(stderr, "bulkhead %s: unexpected argument '%s'\n%s",
				cmd, argv[i], usage);
			return 2;
		} else {
			a->target = argv[i];
		}
	}
	if (!a->target) {
		fprintf(stderr, "bulkhead %s: missing argument\n%s", cmd, usage);
		return 2;
	}
	return 0;
}

static int need(int argc, int want, const char *cmd)
{
	if (argc >= want)
		return 0;
	fprintf(stderr, "bulkhead %s: missing argument\n%s", cmd, usage);
	return 2;
}

int main(int argc, char **argv)
{
	if (settle_environment())
		return 2;
	char image_dir[PATH_MAX];
	struct orch o = {
		.uri = VIRT_DEFAULT_URI,
		.state_root = getenv("BULKHEAD_STATE_DIR") ?
			getenv("BULKHEAD_STATE_DIR") : "/run/bulkhead",
		.log_root = getenv("BULKHEAD_LOG_DIR") ?
			getenv("BULKHEAD_LOG_DIR") : "/var/log/bulkhead",
		.image_dir = getenv("BULKHEAD_IMAGE_DIR") ?
			getenv("BULKHEAD_IMAGE_DIR") : "/var/cache/bulkhead/images",
		.data_root = getenv("BULKHEAD_DATA_DIR") ?
			getenv("BULKHEAD_DATA_DIR") : "/var/lib/bulkhead",
		.worker_dir = getenv("BULKHEAD_WORKER_DIR") ?
			getenv("BULKHEAD_WORKER_DIR") : BULKHEAD_WORKER_DIR,
		.build_images = BULKHEAD_BUILD_IMAGES,
		.boot_timeout_s = 240,
	};
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "accel", required_argument, NULL, 'a' },
		{ "images", required_argument, NULL, 'i' },
		{ "boot-timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* "+": options end at the command, so exec's command keeps its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.uri = optarg; break;
		case 'i':
			if (orch_env_absolute(optarg, image_dir, sizeof(image_dir)))
				return 2;
			o.image_dir = image_dir;
			break;
		case 'j': o.json = true; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 10 || v > 3600) {
				fprintf(stderr, "bulkhead: --boot-timeout '%s': not a"
					" number of seconds in 10..3600\n", optarg);
				return 2;
			}
			o.boot_timeout_s = (int)v;
			o.boot_timeout_given = true;
			break;
		}
		case 'a':
			o.accel_given = true;
			if (!strcmp(optarg, "kvm"))
				o.accel = TOPO_ACCEL_KVM;
			else if (!strcmp(optarg, "tcg"))
				o.accel = TOPO_ACCEL_TCG;
			else if (!strcmp(optarg, "auto"))
				o.accel = TOPO_ACCEL_AUTO;
			else {
				fprintf(stderr, "bulkhead: --accel '%s': not kvm, tcg"
					" or auto\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			puts("bulkhead " BULKHEAD_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[0];
	int rc;
	if (!strcmp(cmd, "up"))
		rc = need(argc, 2, cmd) ? 2 : cmd_up(&o, argv[1]);
	else if (!strcmp(cmd, "down"))
		rc = need(argc, 2, cmd) ? 2 : cmd_down(&o, argv[1]);
	else if (!strcmp(cmd, "start")) {
		/* --if-wanted (the supervisor's): only while it should run. */
		bool if_wanted = argc > 1 && !strcmp(argv[1], "--if-wanted");
		rc = need(argc, if_wanted ? 3 : 2, cmd) ? 2 :
			cmd_start(&o, argv[if_wanted ? 2 : 1], if_wanted);
	}
	else if (!strcmp(cmd, "disposable")) {
		if (argc > 2) {
			fprintf(stderr, "bulkhead disposable: one topology at"
				" most, not '%s' too\n%s", argv[2], usage);
			rc = 2;
		} else {
			rc = cmd_disposable(&o, argc == 2 ? argv[1] : NULL);
		}
	}
	else if (!strcmp(cmd, "stop"))
		rc = need(argc, 2, cmd) ? 2 : cmd_stop(&o, argv[1]);
	else if (!strcmp(cmd, "status")) {
		if (argc > 1 && !strcmp(argv[1], "--json"))
			o.json = true;
		rc = cmd_status(&o);
	} else if (!strcmp(cmd, "check")) {
		bool show = argc > 1 && !strcmp(argv[1], "--show");
		rc = need(argc, show ? 3 : 2, cmd) ? 2 :
			cmd_check(&o, argv[show ? 2 : 1], show);
	}
	else if (!strcmp(cmd, "console"))
		rc = need(argc, 2, cmd) ? 2 : cmd_console(&o, argv[1]);
	else if (!strcmp(cmd, "logs"))
		rc = need(argc, 2, cmd) ? 2 : cmd_logs(&o, argv[1]);
	else if (!strcmp(cmd, "usb"))
		rc = cmd_usb(&o, argc - 1, argv + 1);
	else if (!strcmp(cmd, "template"))
		rc = cmd_template(&o, argc - 1, argv + 1);
	else if (!strcmp(cmd, "view"))
		rc = need(argc, 2, cmd) ? 2 : cmd_view(&o, argv[1]);
	else if (!strcmp(cmd, "exec"))
		rc = need(argc, 3, cmd) ? 2 : cmd_exec(&o, argv[1], argc - 2, argv + 2);
	else if (!strcmp(cmd, "enable") || !strcmp(cmd, "disable")) {
		char root[PATH_MAX];
		struct orch_unit_args a;
		rc = unit_args(argc, argv, root, &a) ? 2 : cmd[0] == 'e' ?
			cmd_enable(&o, &a) : cmd_disable(&o, &a);
	}
	else if (!strcmp(cmd, "demo"))
		rc = cmd_demo(&o, argc - 1, argv + 1);
	else if (!strcmp(cmd, "supervise"))
		/* Internal: the link supervisor up starts (supervisor.h). */
		rc = need(argc, 2, cmd) ? 2 : cmd_supervise(&o, argv[1]);
	else {
		fprintf(stderr, "bulkhead: unknown command '%s'\n%s", cmd, usage);
		rc = 2;
	}
	if (o.conn)
		virConnectClose(o.conn);
	return rc;
}
