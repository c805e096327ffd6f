/*
 * xenrr.test=disk: Linux's own xen-blkfront and ext4 on dom0's blkback.
 *
 * load_modules loads the initramfs's modules (/lib/modules/modules.load
 * names them in dependency order) with finit_module and the parameters the
 * kernel command line gives them (xen_blkfront.max_ring_page_order=4, as
 * modprobe would pass them), one "xenrr-init: module ok" line each;
 * disk_checks then waits for xvda, mounts it as ext4
 * and checks the files corpus/disks.mjs (ext4Files) put there, writes
 * /written.txt, fsyncs it, reads it back from the disk (page cache
 * dropped), unmounts, mounts again, reads it once more, trims the free
 * space (FITRIM: discard requests), and unmounts: after that every write is
 * in the backend's overlay. Each step prints one "xenrr-init: disk ... ok"
 * line (or FAIL); "disk queue" shows what blkfront negotiated, as the
 * block layer sees it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

#define MOD_DIR "/lib/modules"
#define MNT "/mnt"
#define WRITTEN_LINES 4096 /* "xenrr line %04d\n", 16 bytes each: 64 KiB */

/*
 * A module's parameters from the kernel command line, as modprobe takes
 * them: every "<module>.<param>=<value>" (module names read '-' as '_'),
 * without the "<module>." prefix, space-separated, into buf.
 */
static void module_params(const char *file, char *buf, size_t len) {
  char mod[256], line[4096];
  snprintf(mod, sizeof mod, "%s", file);
  mod[strcspn(mod, ".")] = 0;
  for (char *c = mod; *c; c++)
    if (*c == '-') *c = '_';
  size_t n = strlen(mod);
  read_line("/proc/cmdline", line, sizeof line);
  buf[0] = 0;
  for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
    for (char *c = tok; *c && *c != '.' && *c != '='; c++)
      if (*c == '-') *c = '_';
    if (strncmp(tok, mod, n) == 0 && tok[n] == '.' && strchr(tok + n + 1, '='))
      snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " " : "", tok + n + 1);
  }
}

/* finit_module(2) for every module modules.load lists, in its order, with its command-line parameters; `after` as init.h says. */
int load_modules(int (*after)(const char *file)) {
  FILE *list = fopen(MOD_DIR "/modules.load", "r");
  if (!list) return check(0, "modules", MOD_DIR "/modules.load missing"), 0;
  char name[256], path[512], params[1024], d[1600];
  int n = 0, ok = 1;
  while (ok && fgets(name, sizeof name, list)) {
    name[strcspn(name, "\n")] = 0;
    if (!name[0]) continue;
    snprintf(path, sizeof path, MOD_DIR "/%s", name);
    module_params(name, params, sizeof params);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long r = fd < 0 ? -1 : syscall(SYS_finit_module, fd, params, 0);
    ok = r == 0 || errno == EEXIST;
    snprintf(d, sizeof d, "%s%s%s%s%s", name, params[0] ? " " : "", params, ok ? "" : ": ", ok ? "" : strerror(errno));
    check(ok, "module", d);
    if (fd >= 0) close(fd);
    if (ok && after) ok = after(name);
    n++;
  }
  fclose(list);
  return ok && n > 0;
}

/* /dev/xvda once blkfront has connected: devtmpfs makes the node, else mknod from sysfs. */
static int wait_xvda(void) {
  int devtmpfs = mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0;
  struct stat st;
  int ms = 0;
  for (; stat("/sys/block/xvda/dev", &st) != 0 && ms < 30000; ms += 10) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  char dev[32], size[32], d[160];
  read_line("/sys/block/xvda/dev", dev, sizeof dev);
  read_line("/sys/block/xvda/size", size, sizeof size);
  unsigned maj, min;
  if (!dev[0] || sscanf(dev, "%u:%u", &maj, &min) != 2) return check(0, "disk xvda", "no /sys/block/xvda after 30 s"), 0;
  if (stat("/dev/xvda", &st) != 0 && mknod("/dev/xvda", S_IFBLK | 0600, makedev(maj, min)) != 0) return check(0, "disk xvda", strerror(errno)), 0;
  snprintf(d, sizeof d, "block %s, %s sectors, /dev from %s, waited %d ms", dev, size, devtmpfs ? "devtmpfs" : "mknod", ms);
  check(1, "disk xvda", d);
  return 1;
}

/* The request queue blkfront set up from the backend's features. */
static void queue_info(void) {
  static const char *const keys[] = {"write_cache", "fua", "max_segments", "max_sectors_kb", "discard_granularity", "discard_max_bytes"};
  char d[512] = "", v[64], path[96];
  for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    snprintf(path, sizeof path, "/sys/block/xvda/queue/%s", keys[i]);
    read_line(path, v, sizeof v);
    snprintf(d + strlen(d), sizeof d - strlen(d), "%s%s %s", i ? ", " : "", keys[i], v[0] ? v : "?");
  }
  int queues = 0;
  DIR *mq = opendir("/sys/block/xvda/mq");
  for (struct dirent *e; mq && (e = readdir(mq));) queues += e->d_name[0] != '.';
  if (mq) closedir(mq);
  snprintf(d + strlen(d), sizeof d - strlen(d), ", hardware queues %d", queues);
  check(1, "disk queue", d);
}

/* FITRIM: ext4 discards its free blocks (blkfront's discard requests). */
static void trim(void) {
  int fd = open(MNT, O_RDONLY | O_DIRECTORY);
  struct fstrim_range r = {.start = 0, .len = (unsigned long long)-1, .minlen = 0};
  int ok = fd >= 0 && ioctl(fd, FITRIM, &r) == 0;
  if (fd >= 0) close(fd);
  char d[96];
  snprintf(d, sizeof d, "%llu bytes trimmed", (unsigned long long)r.len);
  check(ok, "disk fstrim", ok ? d : strerror(errno));
}

/* The whole file at `path` into buf (at most len bytes); its length or -1. */
static long slurp(const char *path, char *buf, long len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long got = 0, n;
  while (got < len && (n = read(fd, buf + got, len - got)) > 0) got += n;
  close(fd);
  return got;
}

static void check_text(const char *path, const char *want) {
  char buf[256], d[320];
  long n = slurp(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  int ok = n == (long)strlen(want) && memcmp(buf, want, n) == 0;
  snprintf(d, sizeof d, "%s, %ld bytes", path, n);
  check(ok, "disk read", d);
}

/* /data/pattern.bin: byte i is ((i * 0x9e3779b1) >> 24) ^ (i >> 12), as corpus/disks.mjs wrote it. */
static void check_pattern(void) {
  static unsigned char buf[1 << 20];
  long n = slurp(MNT "/data/pattern.bin", (char *)buf, sizeof buf);
  long bad = n == (long)sizeof buf ? -1 : 0;
  for (long i = 0; bad < 0 && i < n; i++)
    if (buf[i] != (unsigned char)((((unsigned)i * 0x9e3779b1u) >> 24) ^ ((unsigned)i >> 12))) bad = i;
  char d[128];
  snprintf(d, sizeof d, MNT "/data/pattern.bin, %ld bytes%s", n, bad >= 0 ? ", differs" : "");
  check(bad < 0, "disk read", d);
}

static char written[WRITTEN_LINES * 16 + 1];

static void check_written(const char *what) {
  static char back[sizeof written];
  long n = slurp(MNT "/written.txt", back, sizeof back);
  char d[96];
  snprintf(d, sizeof d, MNT "/written.txt, %ld bytes", n);
  check(n == (long)strlen(written) && memcmp(back, written, n) == 0, what, d);
}

static void write_file(void) {
  for (int i = 0; i < WRITTEN_LINES; i++) snprintf(written + 16 * i, 17, "xenrr line %04d\n", i);
  int fd = open(MNT "/written.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  long len = (long)strlen(written);
  int ok = fd >= 0 && write(fd, written, len) == len && fsync(fd) == 0;
  if (fd >= 0) ok = close(fd) == 0 && ok;
  check(ok, "disk write+fsync", ok ? MNT "/written.txt, 65536 bytes" : strerror(errno));
  /* Clean pages only now: drop them so the read below comes from the disk. */
  int dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (dc >= 0) {
    ok = write(dc, "3", 1) == 1;
    close(dc);
  }
  check(dc >= 0 && ok, "disk drop_caches", "");
  check_written("disk read back");
}

static int mount_ext4(const char *what) {
  int ok = mount("/dev/xvda", MNT, "ext4", 0, NULL) == 0;
  check(ok, what, ok ? "ext4 /dev/xvda on " MNT : strerror(errno));
  return ok;
}

static int unmount(void) {
  int ok = umount(MNT) == 0;
  check(ok, "disk umount", ok ? MNT : strerror(errno));
  return ok;
}

void disk_checks(void) {
  if (!wait_xvda()) return;
  queue_info();
  mkdir(MNT, 0755);
  if (!mount_ext4("disk mount")) return;
  check_text(MNT "/hello.txt", "hello from xenrr's ext4 disk\n");
  check_text(MNT "/data/deep/nested.txt", "three levels down\n");
  check_pattern();
  write_file();
  if (!unmount()) return;
  if (!mount_ext4("disk remount")) return;
  check_written("disk read after remount");
  trim();
  unmount();
}
