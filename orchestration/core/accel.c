#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int accel_kvm_opens(char *reason, size_t reason_len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(reason, reason_len, "/dev/kvm: %s", strerror(e));
		return -e;
	}
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (version != KVM_API_VERSION) {
		snprintf(reason, reason_len, "/dev/kvm: API version %d, not %d",
			 version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	snprintf(reason, reason_len, "/dev/kvm opens (API %d)", version);
	return 0;
}

static void verdict_path(const char *state_root, char *out, size_t len)
{
	snprintf(out, len, "%s/accel", state_root);
}

enum accel_verdict accel_verdict_read(const char *state_root, char *reason,
				      size_t reason_len)
{
	char path[PATH_MAX], line[512] = { 0 };
	verdict_path(state_root, path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (!f)
		return ACCEL_UNTRIED;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	enum accel_verdict v = ACCEL_UNTRIED;
	const char *why = "";
	if (strncmp(line, "kvm ", 4) == 0) {
		v = ACCEL_USE_KVM;
		why = line + 4;
	} else if (strncmp(line, "tcg ", 4) == 0) {
		v = ACCEL_USE_TCG;
		why = line + 4;
	}
	snprintf(reason, reason_len, "%s", why);
	return v;
}

int accel_verdict_write(const char *state_root, enum accel_verdict v,
			const char *reason)
{
	char path[PATH_MAX];
	verdict_path(state_root, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	fprintf(f, "%s %s\n", v == ACCEL_USE_KVM ? "kvm" : "tcg", reason);
	return fclose(f) ? -errno : 0;
}

enum accel_verdict accel_choose(const char *state_root, enum topo_accel asked,
				char *reason, size_t reason_len)
{
	if (asked == TOPO_ACCEL_TCG) {
		snprintf(reason, reason_len, "asked for tcg");
		return ACCEL_USE_TCG;
	}
	char why[256];
	if (accel_kvm_opens(why, sizeof(why)) < 0) {
		snprintf(reason, reason_len, "%s", why);
		return ACCEL_USE_TCG;
	}
	if (asked == TOPO_ACCEL_KVM) {
		snprintf(reason, reason_len, "asked for kvm");
		return ACCEL_USE_KVM;
	}
	enum accel_verdict v = accel_verdict_read(state_root, why, sizeof(why));
	if (v != ACCEL_UNTRIED) {
		snprintf(reason, reason_len, "%s", why);
		return v;
	}
	snprintf(reason, reason_len, "/dev/kvm opens; on probation until a guest"
		 " reports within %d s", ACCEL_KVM_PROOF_SECONDS);
	return ACCEL_UNTRIED;
}
