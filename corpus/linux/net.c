/*
 * xenrr.test=drivers, its network half: Linux's own xen-netfront on dom0's
 * netback, whose switch has the built-in peer 10.0.0.1/24 (ARP, ICMP echo,
 * UDP echo on port 7).
 *
 * With xen-netfront loaded (load_modules), waits for eth0, gives it
 * 10.0.0.2/24 and brings it up with the ioctls ifconfig uses, pings the
 * peer through a raw ICMP socket (PID 1 is root), checking each reply's id,
 * sequence and payload, and sends datagrams to its UDP echo port, checking
 * they come back unchanged: one at a time, then in bursts that wrap the
 * rings. Each step prints one "xenrr-init: net ... ok"
 * line (or FAIL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

#define IFNAME "eth0"
#define ADDR "10.0.0.2"
#define MASK "255.255.255.0"
#define PEER "10.0.0.1"
#define ECHO_ID 0x7872 /* "xr" */

/* Byte i of a probe's payload (seq-dependent, so a reply to another probe differs). */
static unsigned char pattern(int seq, int i) { return (unsigned char)(i * 7 + seq * 13 + (i >> 8)); }

/* The ones' complement sum of RFC 1071 over len bytes. */
static unsigned short inet_csum(const void *data, int len) {
  const unsigned char *p = data;
  unsigned long sum = 0;
  for (int i = 0; i + 1 < len; i += 2) sum += (unsigned)p[i] << 8 | p[i + 1];
  if (len & 1) sum += (unsigned)p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((unsigned short)~sum);
}

static void timeout(int fd, int seconds) {
  struct timeval tv = {seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* eth0 once netfront has connected (its net_device is registered then). */
static int wait_eth0(void) {
  struct stat st;
  int ms = 0;
  for (; stat("/sys/class/net/" IFNAME, &st) != 0 && ms < 30000; ms += 10) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  char mac[32], mtu[16], d[128];
  read_line("/sys/class/net/" IFNAME "/address", mac, sizeof mac);
  read_line("/sys/class/net/" IFNAME "/mtu", mtu, sizeof mtu);
  if (!mac[0]) return check(0, "net " IFNAME, "no /sys/class/net/" IFNAME " after 30 s"), 0;
  snprintf(d, sizeof d, "mac %s, mtu %s", mac, mtu);
  check(1, "net " IFNAME, d);
  return 1;
}

static int set_addr(int fd, unsigned long req, const char *addr) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, IFNAME);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, addr, &sin->sin_addr);
  return ioctl(fd, req, &ifr);
}

/* SIOCSIFADDR, SIOCSIFNETMASK, then IFF_UP (SIOCGIFFLAGS/SIOCSIFFLAGS). */
static int configure(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, IFNAME);
  const char *step = "socket";
  int ok = fd >= 0;
  if (ok) ok = set_addr(fd, SIOCSIFADDR, ADDR) == 0 || (step = "SIOCSIFADDR", 0);
  if (ok) ok = set_addr(fd, SIOCSIFNETMASK, MASK) == 0 || (step = "SIOCSIFNETMASK", 0);
  if (ok) ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 || (step = "SIOCGIFFLAGS", 0);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ok) ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0 || (step = "SIOCSIFFLAGS", 0);
  char d[160];
  snprintf(d, sizeof d, ok ? IFNAME " " ADDR "/24 up" : "%s: %s", step, strerror(errno));
  check(ok, "net ifup", d);
  if (fd >= 0) close(fd);
  return ok;
}

/* One ICMP echo of `len` data bytes to the peer; its reply's id, sequence and data checked. */
static void ping(int fd, int seq, int len) {
  unsigned char out[sizeof(struct icmphdr) + 1500], in[2048];
  struct icmphdr *h = (struct icmphdr *)out;
  memset(h, 0, sizeof *h);
  h->type = ICMP_ECHO;
  h->un.echo.id = htons(ECHO_ID);
  h->un.echo.sequence = htons(seq);
  for (int i = 0; i < len; i++) out[sizeof *h + i] = pattern(seq, i);
  h->checksum = inet_csum(out, sizeof *h + len);
  struct sockaddr_in to = {.sin_family = AF_INET};
  inet_pton(AF_INET, PEER, &to.sin_addr);
  char d[160];
  const char *why = NULL;
  if (sendto(fd, out, sizeof *h + len, 0, (struct sockaddr *)&to, sizeof to) != (long)(sizeof *h + len)) why = strerror(errno);
  /* A raw socket sees every ICMP message: skip what is not this probe's reply. */
  for (int tries = 0; !why; tries++) {
    long n = recv(fd, in, sizeof in, 0);
    if (n < 0) {
      why = errno == EAGAIN ? "no reply in 5 s" : strerror(errno);
      break;
    }
    const struct iphdr *ip = (const struct iphdr *)in;
    int hl = ip->ihl * 4;
    const struct icmphdr *r = (const struct icmphdr *)(in + hl);
    if (n < hl + (long)sizeof *r || r->type != ICMP_ECHOREPLY || ntohs(r->un.echo.id) != ECHO_ID || ntohs(r->un.echo.sequence) != seq) {
      if (tries > 16) why = "no matching reply";
      continue;
    }
    if (n - hl - (long)sizeof *r != len) why = "reply length differs";
    else if (inet_csum(in + hl, n - hl) != 0) why = "reply checksum bad";
    else
      for (int i = 0; i < len && !why; i++)
        if (in[hl + sizeof *r + i] != pattern(seq, i)) why = "reply data differs";
    break;
  }
  snprintf(d, sizeof d, PEER " icmp_seq=%d, %d data bytes%s%s", seq, len, why ? ": " : "", why ? why : "");
  check(!why, "net ping", d);
}

/* A datagram of `len` bytes to the peer's UDP echo port (7), back unchanged. */
static void udp_echo(int fd, int seq, int len) {
  unsigned char out[1472], in[2048];
  for (int i = 0; i < len; i++) out[i] = pattern(seq + 100, i);
  const char *why = NULL;
  long n = -1;
  if (send(fd, out, len, 0) != len) why = strerror(errno);
  else if ((n = recv(fd, in, sizeof in, 0)) < 0) why = errno == EAGAIN ? "no reply in 5 s" : strerror(errno);
  else if (n != len || memcmp(in, out, len) != 0) why = "echo differs";
  char d[128];
  snprintf(d, sizeof d, PEER ":7, %d bytes%s%s", len, why ? ": " : "", why ? why : "");
  check(!why, "net udp echo", d);
}

/*
 * BURST_ROUNDS rounds of BURST datagrams sent back to back, then their echoes
 * read: both rings wrap (256 slots each) with many packets queued. The
 * switch keeps order, so the k-th echo must be the k-th datagram.
 */
#define BURST 32
#define BURST_ROUNDS 10
#define BURST_LEN 1000
static void udp_burst(int fd) {
  unsigned char out[BURST_LEN], in[2048];
  const char *why = NULL;
  int n = 0;
  for (int r = 0; r < BURST_ROUNDS && !why; r++) {
    for (int k = 0; k < BURST && !why; k++) {
      for (int i = 0; i < BURST_LEN; i++) out[i] = pattern(r * BURST + k, i);
      if (send(fd, out, BURST_LEN, 0) != BURST_LEN) why = strerror(errno);
    }
    for (int k = 0; k < BURST && !why; k++, n++) {
      for (int i = 0; i < BURST_LEN; i++) out[i] = pattern(r * BURST + k, i);
      long got = recv(fd, in, sizeof in, 0);
      if (got < 0) why = errno == EAGAIN ? "no reply in 5 s" : strerror(errno);
      else if (got != BURST_LEN || memcmp(in, out, BURST_LEN) != 0) why = "echo differs";
    }
  }
  char d[160];
  snprintf(d, sizeof d, PEER ":7, %d of %d datagrams of %d bytes back, sent %d at a time%s%s", n, BURST * BURST_ROUNDS, BURST_LEN, BURST, why ? ": " : "", why ? why : "");
  check(!why, "net udp burst", d);
}

void net_checks(void) {
  if (!wait_eth0() || !configure()) return;
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (fd < 0) return check(0, "net icmp socket", strerror(errno));
  timeout(fd, 5);
  static const int sizes[] = {56, 512, 1400};
  for (int i = 0; i < 3; i++) ping(fd, i + 1, sizes[i]);
  close(fd);
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(7)};
  inet_pton(AF_INET, PEER, &to.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) return check(0, "net udp socket", strerror(errno));
  timeout(fd, 5);
  udp_echo(fd, 1, 64);
  udp_echo(fd, 2, 1472);
  udp_burst(fd);
  close(fd);
}
