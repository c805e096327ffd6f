/* What xenrr's /init (init.c) shares with its test modes (disk.c, net.c, backends.c). */
#ifndef XENRR_INIT_H
#define XENRR_INIT_H
#include <stddef.h>

/* One "xenrr-init: ..." console line. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<what> ok[: detail]" or "FAIL <what>[: detail]" (counted). */
void check(int ok, const char *what, const char *detail);
/* The first line of `path` without its newline; empty on error. */
void read_line(const char *path, char *buf, size_t len);

/* The value of `key` (e.g. "xenrr.test=") on the kernel command line into buf, untouched if absent; 1 if there (/proc mounted). */
int cmdline_value(const char *key, char *buf, size_t len);
/* "xen role" check from the Xen features: 1 dom0, 0 domU, -1 unknown. */
int xen_role(void);

/*
 * finit_module for every module /lib/modules/modules.load lists, in order;
 * 1 if all loaded. `after` (or NULL) runs after each one loaded, with its
 * file name; its 0 stops the loading there (load_modules returns 0).
 */
int load_modules(int (*after)(const char *file));
/* xenrr.test=disk: /dev/xvda, ext4 read, write, fsync, remount, trim. */
void disk_checks(void);
/* xenrr.test=net: eth0 up as 10.0.0.2/24, ICMP and UDP echo with 10.0.0.1. */
void net_checks(void);
/* xenrr.test=backends (dom0): loop0, xen-blkback and xen-netback serve a domU until its devices are gone. */
void backends(void);
#endif
