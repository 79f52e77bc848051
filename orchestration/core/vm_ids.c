#include "vm_ids.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_files.h"
#include "subid.h"

void vm_ids_host_default(struct vm_ids_host *host)
{
	const char *lib = getenv("BULKHEAD_LIB_DIR");
	host->lib_dir = lib && lib[0] ? lib : "/var/lib/bulkhead";
	host->etc_dir = "/etc";
	host->proc_dir = "/proc";
}

/* The pid of a process whose real, effective, saved or file-system uid
 * or gid is ID, or 0. */
static long process_with(const char *proc, unsigned long id)
{
	DIR *d = opendir(proc);
	struct dirent *e;
	long found = 0;
	while (d && !found && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[PATH_MAX], line[256];
		snprintf(path, sizeof(path), "%s/%s/status", proc, e->d_name);
		FILE *f = fopen(path, "re");
		while (f && !found && fgets(line, sizeof(line), f)) {
			if (strncmp(line, "Uid:", 4) && strncmp(line, "Gid:", 4))
				continue;
			char *p = line + 4;
			for (int i = 0; i < 4 && !found; i++) {
				char *end;
				unsigned long v = strtoul(p, &end, 10);
				if (end == p)
					break;
				if (v == id)
					found = strtol(e->d_name, NULL, 10);
				p = end;
			}
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

int vm_ids_unused(const struct vm_ids_host *host, uid_t uid, char *why,
		  size_t why_len)
{
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrgid((gid_t)uid);
	long pid;
	if (pw)
		snprintf(why, why_len, "uid %u is user '%s'", (unsigned)uid, pw->pw_name);
	else if (gr)
		snprintf(why, why_len, "gid %u is group '%s'", (unsigned)uid,
			 gr->gr_name);
	else if (subid_covers(host->etc_dir, "subuid", uid))
		snprintf(why, why_len, "uid %u is in a range of %s/subuid",
			 (unsigned)uid, host->etc_dir);
	else if (subid_covers(host->etc_dir, "subgid", uid))
		snprintf(why, why_len, "gid %u is in a range of %s/subgid",
			 (unsigned)uid, host->etc_dir);
	else if ((pid = process_with(host->proc_dir, uid)))
		snprintf(why, why_len, "process %ld runs as uid or gid %u", pid,
			 (unsigned)uid);
	else
		return 0;
	return -EBUSY;
}

/* The registry, locked: LIB/vm-ids.json under LIB/.vm-ids.lock. */
struct registry {
	char path[PATH_MAX];
	int lock_fd;
	json_object *root;      /* { "TOPOLOGY/VM": uid, ... } */
};

static int registry_open(const struct vm_ids_host *host, struct registry *reg,
			 char *err, size_t err_len)
{
	char lock[PATH_MAX];
	if (mkdir(host->lib_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_len, "mkdir %s: %s", host->lib_dir, strerror(errno));
		return -errno;
	}
	snprintf(lock, sizeof(lock), "%s/.vm-ids.lock", host->lib_dir);
	snprintf(reg->path, sizeof(reg->path), "%s/vm-ids.json", host->lib_dir);
	reg->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (reg->lock_fd < 0 || flock(reg->lock_fd, LOCK_EX) < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", lock, strerror(e));
		if (reg->lock_fd >= 0)
			close(reg->lock_fd);
		return -e;
	}
	reg->root = NULL;
	if (access(reg->path, F_OK) == 0) {
		reg->root = json_object_from_file(reg->path);
		if (!reg->root || !json_object_is_type(reg->root, json_type_object)) {
			snprintf(err, err_len, "%s: not a JSON object of VM ids (fix"
				 " or remove it; VMs keep no files yet that need"
				 " their old ids)", reg->path);
			json_object_put(reg->root);
			close(reg->lock_fd);
			return -EINVAL;
		}
	} else {
		reg->root = json_object_new_object();
	}
	return 0;
}

static void registry_close(struct registry *reg)
{
	json_object_put(reg->root);
	close(reg->lock_fd);
}

/* KEY's id: 1 found (in *UID), 0 absent, -EINVAL when the record holds
 * something that is not an id of the range. */
static int registry_get(const struct registry *reg, const char *key, uid_t *uid,
			char *err, size_t err_len)
{
	json_object *v;
	if (!json_object_object_get_ex(reg->root, key, &v))
		return 0;
	int64_t id = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || id < VM_IDS_FIRST ||
	    id >= (int64_t)VM_IDS_FIRST + VM_IDS_COUNT) {
		snprintf(err, err_len, "%s: %s: '%s' is not an id of %u..%u",
			 reg->path, key, json_object_get_string(v), VM_IDS_FIRST,
			 VM_IDS_FIRST + VM_IDS_COUNT - 1);
		return -EINVAL;
	}
	*uid = (uid_t)id;
	return 1;
}

static bool registry_holds(const struct registry *reg, uid_t uid)
{
	json_object_object_foreach(reg->root, key, v) {
		(void)key;
		if (json_object_get_int64(v) == (int64_t)uid)
			return true;
	}
	return false;
}

static int lookup_or_assign(const struct vm_ids_host *host, const char *topology,
			    const char *vm, bool assign, uid_t *uid, char *err,
			    size_t err_len)
{
	struct registry reg;
	char key[256], why[256];
	snprintf(key, sizeof(key), "%s/%s", topology, vm);
	int rc = registry_open(host, &reg, err, err_len);
	if (rc)
		return rc;
	rc = registry_get(&reg, key, uid, err, err_len);
	if (rc == 1) {
		/* Recorded earlier: still nobody else's? */
		struct passwd *pw = getpwuid(*uid);
		struct group *gr = getgrgid((gid_t)*uid);
		rc = 0;
		if (pw || gr) {
			snprintf(err, err_len, "%s: id %u recorded for VM %s is now %s"
				 " '%s' of the user database; refusing to run %s"
				 " as it (remove that %s, or the VM's entry)",
				 reg.path, (unsigned)*uid, key, pw ? "user" : "group",
				 pw ? pw->pw_name : gr->gr_name, vm,
				 pw ? "user" : "group");
			rc = -EEXIST;
		}
	} else if (rc == 0 && !assign) {
		snprintf(err, err_len, "%s: no id recorded for VM %s", reg.path, key);
		rc = -ENOENT;
	} else if (rc == 0) {
		rc = -ENOSPC;
		for (uint32_t i = 0; i < VM_IDS_COUNT && rc == -ENOSPC; i++) {
			uid_t cand = VM_IDS_FIRST + i;
			if (registry_holds(&reg, cand) || vm_ids_unused(host, cand, why,
									 sizeof(why)))
				continue;
			json_object_object_add(reg.root, key, json_object_new_int64(cand));
			char *text = (char *)json_object_to_json_string_ext(
				reg.root, JSON_C_TO_STRING_PRETTY);
			rc = write_file(reg.path, text, 0600);
			if (rc)
				snprintf(err, err_len, "%s: %s", reg.path, strerror(-rc));
			else
				*uid = cand;
		}
		if (rc == -ENOSPC)
			snprintf(err, err_len, "no free id left in %u..%u for VM %s",
				 VM_IDS_FIRST, VM_IDS_FIRST + VM_IDS_COUNT - 1, key);
	}
	registry_close(&reg);
	return rc;
}

int vm_ids_assign(const struct vm_ids_host *host, const char *topology,
		  const char *vm, uid_t *uid, char *err, size_t err_len)
{
	return lookup_or_assign(host, topology, vm, true, uid, err, err_len);
}

int vm_ids_lookup(const struct vm_ids_host *host, const char *topology,
		  const char *vm, uid_t *uid, char *err, size_t err_len)
{
	return lookup_or_assign(host, topology, vm, false, uid, err, err_len);
}
