/* What xenrr's /init (init.c) shares with its test modes (disk.c). */
#ifndef XENRR_INIT_H
#define XENRR_INIT_H
#include <stddef.h>

/* One "xenrr-init: ..." console line. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<what> ok[: detail]" or "FAIL <what>[: detail]" (counted). */
void check(int ok, const char *what, const char *detail);
/* The first line of `path` without its newline; empty on error. */
void read_line(const char *path, char *buf, size_t len);

/* xenrr.test=disk: modules, /dev/xvda, ext4 read, write, fsync, remount. */
void disk_checks(void);
#endif
