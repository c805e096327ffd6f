/*
 * Byte order, the Internet checksum (RFC 1071) and address formatting for
 * netfront's test program.
 */
#include "netfront.h"

uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* The complement of the one's-complement sum of p[0..len) added to `sum`. */
uint16_t inet_csum(const uint8_t *p, unsigned int len, uint32_t sum)
{
    unsigned int i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (i < len)
        sum += (uint32_t)p[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

int parse_ip(const char *s, uint32_t *out)
{
    uint32_t ip = 0;
    for (int part = 0; part < 4; part++) {
        unsigned int v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3) {
            v = v * 10 + (unsigned int)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || v > 255 || (part < 3 && *s++ != '.'))
            return -1;
        ip = ip << 8 | v;
    }
    if (*s != '\0')
        return -1;
    *out = ip;
    return 0;
}

void fmt_ip(char *buf, size_t len, uint32_t ip)
{
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

void fmt_mac(char *buf, size_t len, const uint8_t *m)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}
