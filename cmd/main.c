// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udplb: load, configure and inspect the UDP load balancer (the command line is in cli.c). */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
