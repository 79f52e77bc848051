/* An app VM on an image of the person's own (docs/templates.md "Bring your
 * own image"): disk: and its cloud-init seed's values. Everything here
 * ends up in a NoCloud seed's YAML or a domain's XML (core/cloud_seed.c),
 * so the check is strict: names and key lines of a known shape only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_checker.h"

bool topology_app_qga(const struct topo_app_vm *app)
{
	return app->template != NULL || app->disk != NULL;
}

bool topology_user_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TOPO_USER_NAME_MAX || strcmp(s, "root") == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* OpenSSH's public key types (sshkey.c's keytypes, less DSA: OpenSSH 9
 * no longer takes it). */
static const char *const ssh_key_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
};

static bool base64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
}

bool topology_ssh_key_valid(const char *s)
{
	size_t n = strlen(s);

	if (n > TOPO_SSH_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	for (size_t t = 0; t < sizeof(ssh_key_types) / sizeof(*ssh_key_types);
	     t++) {
		size_t len = strlen(ssh_key_types[t]);
		if (strncmp(s, ssh_key_types[t], len) != 0 || s[len] != ' ')
			continue;
		/* The key itself: base64, at least a type name's worth. */
		const char *blob = s + len + 1;
		size_t blob_len = 0;
		while (base64_char(blob[blob_len]))
			blob_len++;
		return blob_len >= 16 && (blob[blob_len] == '\0' ||
					  blob[blob_len] == ' ');
	}
	return false;
}

static int check_cloud_init(struct checker *c, const char *base,
			    struct topo_cloud_init *ci)
{
	char field[TOPO_FIELD_MAX], key[32];

	topo_field(field, base, "cloud_init");
	if (ci->user == NULL) {
		ci->user = strdup("user");
		if (ci->user == NULL)
			return -ENOMEM;
	}
	if (!topology_user_name_valid(ci->user))
		return topo_fail(c->ctx, field, "user", "'%s' is not a user name"
				 " the seed may make (a-z or _, then a-z, 0-9, _"
				 " or -; at most %d; not root)", SHOW(ci->user),
				 TOPO_USER_NAME_MAX);
	for (unsigned k = 0; k < ci->ssh_keys_count; k++) {
		snprintf(key, sizeof(key), "ssh_keys[%u]", k);
		if (!topology_ssh_key_valid(ci->ssh_keys[k]))
			return topo_fail(c->ctx, field, key, "'%s' is not an"
					 " OpenSSH public key line (TYPE BASE64"
					 " [COMMENT] in printable ASCII, at most %d;"
					 " types ssh-ed25519, ssh-rsa, ecdsa-sha2-*,"
					 " sk-*@openssh.com)", SHOW(ci->ssh_keys[k]),
					 TOPO_SSH_KEY_MAX);
	}
	return 0;
}

int chk_app_disk(struct checker *c, const char *base, struct topo_app_vm *app)
{
	if (app->disk == NULL)
		return topo_fail(c->ctx, base, app->cloud_init ? "cloud_init" :
				 "firmware", "only an app VM with its own disk"
				 " takes %s; add disk: PATH", app->cloud_init ?
				 "a cloud-init seed" : "a firmware (the others"
				 " boot their kernel directly)");
	if (app->image || app->template)
		return topo_fail(c->ctx, base, "disk", "'%s' and %s '%s' both; an"
				 " app VM boots one of them", SHOW(app->disk),
				 app->image ? "image" : "template",
				 SHOW(app->image ? app->image : app->template));
	if (!disk_path_valid(app->disk))
		return topo_fail(c->ctx, base, "disk", "'%s' is not an absolute"
				 " path of A-Z a-z 0-9 _ . - / (at most 255, no"
				 " '..')", SHOW(app->disk));
	if (app->private_size)
		return topo_fail(c->ctx, base, "private", "an app VM with its own"
				 " disk has no private volume: the disk is the"
				 " VM's own persistent disk");
	if (app->disposable)
		return topo_fail(c->ctx, base, "disposable", "an app VM with its"
				 " own disk is not disposable: the disk is the"
				 " VM's own persistent disk (disposables are"
				 " template VMs')");
	if (app->usb.via)
		return topo_fail(c->ctx, base, "usb", "an app VM with its own"
				 " disk takes no USB devices yet (bulkhead knows"
				 " nothing of its image's USB/IP import)");
	if (app->firmware == TOPO_FIRMWARE_UNSET)
		app->firmware = TOPO_FIRMWARE_BIOS;
	if (app->cloud_init == NULL) {
		app->cloud_init = calloc(1, sizeof(*app->cloud_init));
		if (app->cloud_init == NULL)
			return -ENOMEM;
	}
	return check_cloud_init(c, base, app->cloud_init);
}
