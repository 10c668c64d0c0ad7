/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stubs of cmd/instance.c: see cli_stubs.c. */
#ifndef __CLI_STUBS_H
#define __CLI_STUBS_H

#include "cli.h"
#include "instance.h"

struct cli_stub_calls {
	int privileges;	 /* cli_check_privileges(): the first step towards the kernel */
	int open;	 /* inst_open() */
	int change;	 /* inst_change(): returns EXIT_OK without doing anything */
	int last_nr_pos; /* positional arguments of the last inst_change() */
};

extern struct cli_stub_calls cli_stub_calls;

#endif /* __CLI_STUBS_H */
