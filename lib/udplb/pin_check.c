// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "pin_check.h"
#include "trusted_path.h"
#include "udplb.skel.h"

int lb_pin_dir_trusted(const char *path, bool create, struct lb_err *err)
{
	static const char root[] = LB_BPFFS_ROOT "/";
	char base[LB_PATH_MAX], *slash;

	if (!strncmp(path, root, strlen(root)))
		return lb_trusted_dir(LB_BPFFS_ROOT, path + strlen(root), create, err);
	if (snprintf(base, sizeof(base), "%s", path) >= (int)sizeof(base))
		return lb_fail(err, -ENAMETOOLONG, "%s: path too long", path);
	while ((slash = strrchr(base, '/')) && !slash[1] && slash != base)
		*slash = '\0';
	slash = strrchr(base, '/');
	if (!slash || slash == base || !slash[1])
		return lb_fail(err, -EINVAL, "%s: a pin directory is an absolute path below /",
			       path);
	*slash = '\0';
	return lb_trusted_dir(base, slash + 1, create, err);
}

int lb_pin_wants(struct lb_map_want wants[__LB_PIN_MAX], struct lb_err *err)
{
	struct bpf_map *map;
	struct udplb *skel;
	int i, ret = 0;

	skel = udplb__open();
	if (!skel)
		return lb_fail(err, -errno, "cannot open the embedded BPF object: %s",
			       strerror(errno));
	for (i = 0; i < __LB_PIN_MAX && !ret; i++) {
		map = bpf_object__find_map_by_name(skel->obj, lb_pin_name(i));
		if (!map) {
			ret = lb_fail(err, -ENOENT, "the embedded BPF object has no map %s",
				      lb_pin_name(i));
			break;
		}
		lb_map_want_of(map, &wants[i]);
		wants[i].name = lb_pin_name(i); /* outlives the object */
	}
	udplb__destroy(skel);
	return ret;
}

int lb_pin_open_checked(const char *dir, enum lb_pin pin, const struct lb_map_want *want,
			struct lb_err *err)
{
	char path[LB_PATH_MAX + 64];
	int fd, ret;

	ret = lb_trusted_pin(dir, lb_pin_name(pin), err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", dir, lb_pin_name(pin));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return lb_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
	ret = lb_map_check(fd, want, err);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int lb_pin_dir_check_present(const char *dir, struct lb_err *err)
{
	struct lb_map_want wants[__LB_PIN_MAX];
	int i, fd, ret;

	ret = lb_pin_wants(wants, err);
	for (i = 0; i < __LB_PIN_MAX && !ret; i++) {
		fd = lb_pin_open_checked(dir, i, &wants[i], err);
		if (fd >= 0)
			close(fd);
		else if (fd != -ENOENT)
			ret = fd;
	}
	if (!ret)
		lb_err_clear(err);
	return ret;
}
