#include "subid.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool subid_covers(const char *etc, const char *file, unsigned long id)
{
	char path[PATH_MAX], line[512];
	snprintf(path, sizeof(path), "%s/%s", etc, file);
	FILE *f = fopen(path, "re");
	bool hit = false;
	while (f && !hit && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		unsigned long first = strtoul(c1 + 1, NULL, 10);
		unsigned long count = strtoul(c2 + 1, NULL, 10);
		hit = id >= first && id - first < count;
	}
	if (f)
		fclose(f);
	return hit;
}
