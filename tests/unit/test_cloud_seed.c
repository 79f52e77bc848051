/* A disk VM's NoCloud seed (orchestration/core/cloud_seed.c): the three
 * files for a VM of the defaults and for one with keys, a quote and a
 * backslash in a key's comment escaped, IPv6 off followed. */
#include <stdlib.h>
#include <string.h>

#include "cloud_seed.h"
#include "tap.h"

#define ID "0123456789abcdef0123456789abcdef"

static void test_defaults(struct tap *t, const void *arg)
{
	struct topo_app_vm app = { .name = "own" };
	struct cloud_seed s;
	(void)arg;
	app.net.mac = "52:54:00:a0:00:01";
	CHECK_EQ(t, cloud_seed_make(&app, ID, &s), 0);
	CHECK_STREQ(t, s.meta_data, "instance-id: \"bk-" ID "\"\n"
		    "local-hostname: \"own\"\n");
	CHECK_STREQ(t, s.user_data, "#cloud-config\nusers:\n  - name: \"user\"\n"
		    "    shell: /bin/bash\n    lock_passwd: true\n"
		    "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\nssh_pwauth: false\n"
		    "disable_root: true\npreserve_hostname: false\n");
	CHECK_STREQ(t, s.network_config, "version: 2\nethernets:\n  bk0:\n"
		    "    match:\n      macaddress: \"52:54:00:a0:00:01\"\n"
		    "    dhcp4: true\n    dhcp6: false\n    accept-ra: true\n");
	cloud_seed_free(&s);
}

static void test_keys(struct tap *t, const void *arg)
{
	char *keys[] = { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA a\"b\\c",
			 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB" };
	struct topo_cloud_init ci = { "ann", keys, 2 };
	struct topo_app_vm app = { .name = "own", .cloud_init = &ci };
	struct cloud_seed s;
	(void)arg;
	app.net.mac = "52:54:00:a0:00:01";
	app.net.ipv6_mode = TOPO_IPV6_OFF;
	CHECK_EQ(t, cloud_seed_make(&app, ID, &s), 0);
	CHECK_STR(t, s.user_data, "  - name: \"ann\"\n");
	CHECK_STR(t, s.user_data, "    ssh_authorized_keys:\n"
		  "      - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA a\\\"b\\\\c\"\n"
		  "      - \"ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB\"\nssh_pwauth");
	CHECK_STR(t, s.network_config, "    accept-ra: false\n");
	cloud_seed_free(&s);
}

int main(void)
{
	const struct tap_case cases[] = {
		{ "the defaults", test_defaults, NULL },
		{ "keys quoted, IPv6 off", test_keys, NULL },
	};
	return tap_run(cases, 2);
}
