/* bulkhead view VM: an app VM's display (docs/templates.md). Its QEMU
 * serves VNC on a unix socket libvirt made in the domain's own directory
 * (the VM's uid's): only root reaches it. view hands the domain to
 * virt-viewer when the host has it, and otherwise says where the socket
 * is, for any VNC viewer run as root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orch.h"
#include "plan.h"
#include "virt.h"

/* The socket of the running domain's VNC display, from libvirt's live
 * XML: "" when it has none. */
static void vnc_socket(virConnectPtr conn, const char *domain, char *out,
		       size_t len)
{
	out[0] = '\0';
	virDomainPtr dom = virDomainLookupByName(conn, domain);
	char *xml = dom ? virDomainGetXMLDesc(dom, 0) : NULL;
	const char *g = xml ? strstr(xml, "<graphics type='vnc'") : NULL;
	const char *s = g ? strstr(g, "socket='") : NULL;
	const char *end = s ? strchr(s + 8, '\'') : NULL;
	if (end && (size_t)(end - (s + 8)) < len)
		snprintf(out, len, "%.*s", (int)(end - (s + 8)), s + 8);
	free(xml);
	if (dom)
		virDomainFree(dom);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];
	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (n && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

int cmd_view(struct orch *o, const char *vm)
{
	struct topology *topo;
	if (orch_find_vm(o, vm, &topo))
		return 2;
	const struct topo_app_vm *app = topology_app_vm(topo, vm);
	bool display = app && app->display;
	topology_free(topo);
	if (!display) {
		fprintf(stderr, "bulkhead: view: %s has no display (an app VM on a"
			" template with display: true has one)\n", vm);
		return 2;
	}
	if (orch_connect(o))
		return 1;
	char domain[128], sock[4096];
	plan_domain_name(vm, domain, sizeof(domain));
	vnc_socket(o->conn, domain, sock, sizeof(sock));
	if (!sock[0]) {
		fprintf(stderr, "bulkhead: view: %s is not running (bulkhead start"
			" %s)\n", vm, vm);
		return 1;
	}
	printf("view: %s: vnc+unix://%s\n", vm, sock);
	fflush(stdout);
	if (!isatty(STDOUT_FILENO) || !in_path("virt-viewer")) {
		printf("view: open it with virt-viewer --connect %s %s, or any VNC"
		       " viewer run as root\n", o->uri, domain);
		return 0;
	}
	execlp("virt-viewer", "virt-viewer", "--connect", o->uri, domain,
	       (char *)NULL);
	fprintf(stderr, "bulkhead: view: virt-viewer: %s\n", strerror(errno));
	return 1;
}
