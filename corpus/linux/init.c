/*
 * xenrr's own /init for a Linux PV domain (a domU or dom0): proves the kernel reached its
 * userspace and that PV user/kernel transitions work, then powers off.
 *
 * Each check prints one "xenrr-init: <check> ok" or "xenrr-init: FAIL ..."
 * line on the console; the last line before power-off is
 * "xenrr-init: all checks passed" or "xenrr-init: N checks failed".
 * Static (glibc), built by corpus/build.mjs into the initramfs.
 *
 * Run as /sbin/poweroff (a link to it), it is what the kernel starts for an
 * orderly power-off (xl shutdown: Linux's control/shutdown watch, then
 * orderly_poweroff): it says so on the console and powers off at once.
 *
 * The kernel command line picks what is checked: without xenrr.test=, the
 * basics below; xenrr.test=disk loads the initramfs's kernel modules and
 * checks an ext4 disk through Linux's own xen-blkfront (disk.c);
 * xenrr.test=net loads them and checks ICMP and UDP echo with netback's
 * peer through Linux's own xen-netfront (net.c); xenrr.test=drivers does
 * both, disk first. xenrr.test=backends, in a dom0, loads Linux's own
 * xen-blkback and xen-netback and serves a domU's disk and network with them
 * until the domU is gone (backends.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

static int failures;

void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("xenrr-init: ");
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
}

void check(int ok, const char *what, const char *detail) {
  if (ok) say("%s ok%s%s", what, detail[0] ? ": " : "", detail);
  else {
    failures++;
    say("FAIL %s%s%s", what, detail[0] ? ": " : "", detail);
  }
}

/* The first line of `path` (without its newline) into buf; empty on error. */
void read_line(const char *path, char *buf, size_t len) {
  buf[0] = 0;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
}

static void mounts(void) {
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  check(mount("proc", "/proc", "proc", 0, NULL) == 0, "mount /proc", "");
  check(mount("sysfs", "/sys", "sysfs", 0, NULL) == 0, "mount /sys", "");
}

/* Under Xen: /sys/hypervisor/type says so, and the CPU flags carry "hypervisor". */
static void under_xen(void) {
  char buf[4096];
  read_line("/sys/hypervisor/type", buf, sizeof buf);
  check(strcmp(buf, "xen") == 0, "hypervisor type", buf);
  FILE *f = fopen("/proc/cpuinfo", "r");
  int flag = 0;
  while (f && fgets(buf, sizeof buf, f))
    if (strncmp(buf, "flags", 5) == 0 && strstr(buf, " hypervisor")) flag = 1;
  if (f) fclose(f);
  check(flag, "cpuinfo hypervisor flag", "");
}

/*
 * Which domain it is: the Xen features it was given
 * (/sys/hypervisor/properties/features, XENVER_get_features submap 0, hex)
 * have XENFEAT_dom0 (bit 11) only in the initial domain.
 */
int xen_role(void) {
  char buf[64];
  read_line("/sys/hypervisor/properties/features", buf, sizeof buf);
  char *end = buf;
  unsigned long f = strtoul(buf, &end, 16);
  int ok = buf[0] != 0 && *end == 0;
  check(ok, "xen role", !ok ? buf : (f & (1UL << 11)) ? "dom0" : "domU");
  return !ok ? -1 : (f & (1UL << 11)) != 0;
}

static void fork_wait(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(42);
  int status = 0;
  pid_t got = waitpid(pid, &status, 0);
  char d[64];
  snprintf(d, sizeof d, "child %d exited %d", (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  check(pid > 0 && got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42, "fork+wait", d);
}

/* 256 KiB through a pipe from a child, checksummed on both ends. */
static void pipe_transfer(void) {
  int fds[2];
  if (pipe(fds) != 0) return check(0, "pipe", strerror(errno));
  enum { TOTAL = 256 * 1024 };
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    unsigned char block[4096];
    for (int off = 0; off < TOTAL; off += sizeof block) {
      for (unsigned i = 0; i < sizeof block; i++) block[i] = (unsigned char)((off + i) * 2654435761u >> 24);
      if (write(fds[1], block, sizeof block) != (ssize_t)sizeof block) _exit(1);
    }
    _exit(0);
  }
  close(fds[1]);
  unsigned long sum = 0, want = 0;
  long total = 0;
  unsigned char buf[1000];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) sum = sum * 31 + buf[i];
    total += n;
  }
  close(fds[0]);
  for (unsigned i = 0; i < TOTAL; i++) want = want * 31 + (unsigned char)(i * 2654435761u >> 24);
  int status = 0;
  waitpid(pid, &status, 0);
  char d[64];
  snprintf(d, sizeof d, "%ld bytes", total);
  check(total == TOTAL && sum == want && WIFEXITED(status) && WEXITSTATUS(status) == 0, "pipe", d);
}

/* An anonymous mapping touched page by page: one page fault each. */
static void fault_storm(void) {
  enum { PAGES = 4096 };
  long page = sysconf(_SC_PAGESIZE);
  unsigned char *p = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return check(0, "mmap", strerror(errno));
  for (long i = 0; i < PAGES; i++) p[i * page + (i % page)] = (unsigned char)i;
  unsigned long sum = 0;
  for (long i = 0; i < PAGES; i++) sum += p[i * page + (i % page)];
  unsigned long want = 0;
  for (long i = 0; i < PAGES; i++) want += (unsigned char)i;
  check(sum == want && munmap(p, PAGES * page) == 0, "mmap page-fault storm", "4096 pages");
}

/* clock_gettime through the vDSO (or its syscall fallback): monotonic and plausible. */
static void clocks(void) {
  struct timespec a, b, r;
  int ok = clock_gettime(CLOCK_MONOTONIC, &a) == 0;
  for (volatile int i = 0; i < 100000; i++) {
  }
  ok = ok && clock_gettime(CLOCK_MONOTONIC, &b) == 0 && clock_gettime(CLOCK_REALTIME, &r) == 0;
  int forward = b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec);
  char d[96];
  snprintf(d, sizeof d, "monotonic %ld.%09ld -> %ld.%09ld, realtime %ld", (long)a.tv_sec, a.tv_nsec, (long)b.tv_sec, b.tv_nsec, (long)r.tv_sec);
  check(ok && forward, "clock_gettime", d);
}

/* /sbin/poweroff, as a usermode helper: no stdio of its own, so straight to the console. */
static int poweroff(void) {
  int fd = open("/dev/console", O_WRONLY);
  if (fd >= 0) {
    dprintf(fd, "xenrr-init: /sbin/poweroff (pid %d): powering off\n", (int)getpid());
    close(fd);
  }
  sync();
  reboot(RB_POWER_OFF);
  return 1;
}

/* The last `key`<value> on the kernel command line into buf (left as it was if none: a default). */
int cmdline_value(const char *key, char *buf, size_t len) {
  char line[4096];
  size_t n = strlen(key);
  int found = 0;
  read_line("/proc/cmdline", line, sizeof line);
  for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " "))
    if (strncmp(tok, key, n) == 0) found = 1, snprintf(buf, len, "%s", tok + n);
  return found;
}

int main(int argc, char **argv) {
  const char *self = argc > 0 ? strrchr(argv[0], '/') : NULL;
  if (argc > 0 && strcmp(self ? self + 1 : argv[0], "poweroff") == 0) return poweroff();
  say("hello from PID %d", (int)getpid());
  if (getpid() != 1) {
    say("FAIL not PID 1: this is an initramfs /init, it mounts and powers off; not running");
    return 1;
  }
  check(1, "PID 1", "");
  mounts();
  under_xen();
  char mode[64] = "";
  cmdline_value("xenrr.test=", mode, sizeof mode);
  int disk = strcmp(mode, "disk") == 0, net = strcmp(mode, "net") == 0, drivers = strcmp(mode, "drivers") == 0;
  if (disk || net || drivers) {
    if (load_modules(NULL)) {
      if (disk || drivers) disk_checks();
      if (net || drivers) net_checks();
    }
  } else if (strcmp(mode, "backends") == 0) backends();
  else if (mode[0]) check(0, "xenrr.test", "unknown mode (known: disk, net, drivers, backends)");
  else {
    xen_role();
    fork_wait();
    pipe_transfer();
    fault_storm();
    clocks();
  }
  if (failures == 0) say("all checks passed");
  else say("%d checks failed", failures);
  sync();
  reboot(RB_POWER_OFF);
  say("FAIL reboot(RB_POWER_OFF) returned: %s", strerror(errno));
  for (;;) pause();
}
