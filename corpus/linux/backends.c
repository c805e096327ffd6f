/*
 * xenrr.test=backends: a dom0 serving a domU's disk and network with Linux's
 * own xen-blkback and xen-netback (the domU runs xenrr.test=drivers).
 *
 * In order, each step one "xenrr-init: ..." line (or FAIL):
 *  - it must be dom0 (xen_role);
 *  - /dev becomes devtmpfs and the initramfs's modules load
 *    (/lib/modules/modules.load: loop, xen-blkback, xen-netback). Right after
 *    loop.ko, before xen-blkback: /disks/ext4.img is attached read-write to
 *    /dev/loop0. The toolstack's "block" hotplug step writes
 *    physical-device=7:0 once blkback's probe reached InitWait, and blkback
 *    opens that device at once, so it must be ready first;
 *  - "backends ready": both registered on the xen-backend bus;
 *  - netback's vif<domid>.<handle> (made when it probes the domU's vif) gets
 *    xenrr.dom0ip=A/N (10.0.0.1/24) and is brought up; dom0's kernel answers
 *    ARP and ICMP echo on it, a child echoes UDP datagrams on port 7;
 *  - once /sys/bus/xen-backend/devices, having had vbd and vif devices, has
 *    none again (the domU powered off, the toolstack removed its devices),
 *    the echo child is stopped and loop0 detached.
 * Waits poll every 100 ms for up to xenrr.wait=S simulated seconds (300),
 * counted from "backends ready".
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

#define DISK "/disks/ext4.img"
#define LOOP_DEV "/dev/loop0"
#define DEVICES "/sys/bus/xen-backend/devices"

static long long deadline_ms; /* CLOCK_MONOTONIC, ms */
static char seen[512];        /* every vbd and vif backend device seen, space-separated, in order of first sight */

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Adds `name` to `seen` unless there. */
static void note_device(const char *name) {
  char padded[sizeof seen + 2], word[300];
  snprintf(padded, sizeof padded, " %s ", seen);
  snprintf(word, sizeof word, " %s ", name);
  if (!strstr(padded, word) && strlen(seen) + strlen(name) + 2 < sizeof seen)
    snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s", seen[0] ? " " : "", name);
}

/* Entries of `dir` (not . or ..) whose names start with `prefix`; the first into first[len]. */
static int entries(const char *dir, const char *prefix, char *first, size_t len) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    if (n++ == 0 && first) {
      size_t k = strnlen(e->d_name, len - 1);
      memcpy(first, e->d_name, k);
      first[k] = 0;
    }
    if (strcmp(dir, DEVICES) == 0) note_device(e->d_name);
  }
  if (d) closedir(d);
  return n;
}

/*
 * The backend devices blkback and netback serve, vbd-<domid>-<devid> and
 * vif-<domid>-<devid>; others on the bus (console-<domid>-0: the toolstack
 * writes a console backend, served by no dom0 driver here) do not count.
 */
static int served(void) { return entries(DEVICES, "vbd-", NULL, 0) + entries(DEVICES, "vif-", NULL, 0); }

/* 100 ms of sleep, after a look at the backend devices; 0 once past the deadline. */
static int tick(void) {
  served();
  if (now_ms() >= deadline_ms) return 0;
  nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
  return 1;
}

/* loop.ko just loaded: /disks/ext4.img read-write on /dev/loop0 (LOOP_CONFIGURE). 0 stops the loading. */
static int after_module(const char *module) {
  if (strcmp(module, "loop.ko") != 0) return 1;
  struct stat st;
  if (stat(LOOP_DEV, &st) != 0 && mknod(LOOP_DEV, S_IFBLK | 0600, makedev(7, 0)) != 0) return check(0, "loop", LOOP_DEV ": no such device"), 0;
  int file = open(DISK, O_RDWR | O_CLOEXEC), loop = open(LOOP_DEV, O_RDWR | O_CLOEXEC);
  struct loop_config c = {.fd = (unsigned)file};
  snprintf((char *)c.info.lo_file_name, LO_NAME_SIZE, "%s", DISK);
  const char *why = file < 0 ? "open " DISK : loop < 0 ? "open " LOOP_DEV : ioctl(loop, LOOP_CONFIGURE, &c) != 0 ? "LOOP_CONFIGURE" : NULL;
  unsigned long long bytes = 0;
  if (!why && (ioctl(loop, BLKGETSIZE64, &bytes) != 0 || fstat(file, &st) != 0 || bytes != (unsigned long long)st.st_size)) why = "size differs from the image's";
  char d[160];
  if (why) snprintf(d, sizeof d, "%s: %s", why, strerror(errno));
  else snprintf(d, sizeof d, LOOP_DEV " on " DISK ", %llu bytes", bytes);
  check(!why, "loop", d);
  if (file >= 0) close(file);
  if (loop >= 0) close(loop);
  return !why;
}

/* `ifname` up with address/prefix `cidr` (A/N): SIOCSIFADDR, SIOCSIFNETMASK, IFF_UP. */
static int vif_up(const char *ifname, const char *cidr) {
  char addr[32];
  snprintf(addr, sizeof addr, "%s", cidr);
  char *slash = strchr(addr, '/');
  int bits = slash ? atoi(slash + 1) : 24;
  if (slash) *slash = 0;
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  const char *step = "bad xenrr.dom0ip (A.B.C.D/N)";
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int ok = fd >= 0 && bits > 0 && bits <= 32 && inet_pton(AF_INET, addr, &sin->sin_addr) == 1;
  if (ok) ok = ioctl(fd, SIOCSIFADDR, &ifr) == 0 || (step = "SIOCSIFADDR", 0);
  sin->sin_addr.s_addr = ok ? htonl(~0u << (32 - bits)) : 0;
  if (ok) ok = ioctl(fd, SIOCSIFNETMASK, &ifr) == 0 || (step = "SIOCSIFNETMASK", 0);
  if (ok) ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 || (step = "SIOCGIFFLAGS", 0);
  ifr.ifr_flags |= IFF_UP;
  if (ok) ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0 || (step = "SIOCSIFFLAGS", 0);
  char d[128];
  snprintf(d, sizeof d, "%s %s: %s", ifname, step, strerror(errno));
  if (ok) say("vif up: %s %s/%d", ifname, addr, bits);
  else check(0, "vif up", d);
  if (fd >= 0) close(fd);
  return ok;
}

/* A child echoing every UDP datagram on port 7 to its sender, counting them in *count (shared memory). */
static pid_t echo_server(volatile unsigned long *count) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return check(0, "udp echo", strerror(errno)), -1;
  pid_t pid = fork();
  if (pid == 0) {
    static unsigned char buf[65536];
    for (;;) {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      long n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      if (n >= 0 && sendto(fd, buf, n, 0, (struct sockaddr *)&from, fl) == n) __atomic_add_fetch(count, 1, __ATOMIC_SEQ_CST);
    }
  }
  close(fd);
  if (pid < 0) return check(0, "udp echo", strerror(errno)), -1;
  say("udp echo server: port 7, pid %d", (int)pid);
  return pid;
}

/* Until the backend devices, once there, are gone; then the echo child stops and loop0 is detached. */
static void serve(pid_t echo, volatile unsigned long *count, int waited_s) {
  int had = 0, n;
  while ((n = served()) > 0 || !had) {
    had |= n > 0;
    if (!tick()) break;
  }
  char d[640];
  snprintf(d, sizeof d, "%s after %d s (seen: %s)", had ? "still there" : "none came", waited_s, seen[0] ? seen : "none");
  if (had && n == 0) say("backend devices gone: %s", seen);
  else check(0, "backend devices gone", d);
  if (echo > 0) {
    kill(echo, SIGKILL);
    waitpid(echo, NULL, 0);
    say("udp echo stopped: %lu datagrams echoed", *count);
  }
  int loop = open(LOOP_DEV, O_RDWR | O_CLOEXEC);
  int ok = loop >= 0 && ioctl(loop, LOOP_CLR_FD, 0) == 0;
  check(ok, "loop detach", ok ? LOOP_DEV : strerror(errno));
  if (loop >= 0) close(loop);
}

void backends(void) {
  if (xen_role() != 1) return check(0, "backends", "not dom0: xen-blkback and xen-netback serve other domains from dom0");
  check(mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0, "mount /dev", "devtmpfs");
  if (!load_modules(after_module)) return;
  /* Each registered its xenbus driver, named after the device type it serves. */
  struct stat st;
  if (stat("/sys/bus/xen-backend/drivers/vbd", &st) != 0 || stat("/sys/bus/xen-backend/drivers/vif", &st) != 0)
    return check(0, "backends ready", "no vbd and vif drivers in /sys/bus/xen-backend/drivers");
  say("backends ready: xen-blkback xen-netback");

  char cidr[32] = "10.0.0.1/24", wait[16] = "300", vif[IFNAMSIZ];
  cmdline_value("xenrr.dom0ip=", cidr, sizeof cidr);
  cmdline_value("xenrr.wait=", wait, sizeof wait);
  int waited_s = atoi(wait) > 0 ? atoi(wait) : 300;
  deadline_ms = now_ms() + waited_s * 1000LL;
  while (entries("/sys/class/net", "vif", vif, sizeof vif) == 0)
    if (!tick()) {
      char d[640];
      snprintf(d, sizeof d, "no vif* in /sys/class/net after %d s: netback probed no domU vif (backend devices seen: %s)", waited_s, seen[0] ? seen : "none");
      return check(0, "vif", d);
    }
  if (!vif_up(vif, cidr)) return;
  volatile unsigned long *count = mmap(NULL, sizeof *count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (count == MAP_FAILED) return check(0, "udp echo", strerror(errno));
  serve(echo_server(count), count, waited_s);
}
