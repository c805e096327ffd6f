/* What xenrr's /init (init.c) shares with its test modes (disk.c, net.c). */
#ifndef XENRR_INIT_H
#define XENRR_INIT_H
#include <stddef.h>

/* One "xenrr-init: ..." console line. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<what> ok[: detail]" or "FAIL <what>[: detail]" (counted). */
void check(int ok, const char *what, const char *detail);
/* The first line of `path` without its newline; empty on error. */
void read_line(const char *path, char *buf, size_t len);

/* finit_module for every module /lib/modules/modules.load lists; 1 if all loaded. */
int load_modules(void);
/* xenrr.test=disk: /dev/xvda, ext4 read, write, fsync, remount, trim. */
void disk_checks(void);
/* xenrr.test=net: eth0 up as 10.0.0.2/24, ICMP and UDP echo with 10.0.0.1. */
void net_checks(void);
#endif
