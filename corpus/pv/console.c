/*
 * PV console output and printk.
 *
 * The console page (start_info.console.domU.mfn, found through the M2P) holds
 * a 2 KiB output ring. We produce into out[] and advance out_prod; the
 * backend consumes and advances out_cons. After publishing we kick the
 * console event channel; while the ring is full we yield so the backend can
 * run. Lines end in a plain "\n".
 *
 * printk formats with a small printf of our own: %d %i %u %x %X %p %s %c %%,
 * optional '-', '0', width, and the l / ll / z length modifiers.
 */
#include "rt.h"
#include "hypercall.h"

static struct xencons_interface *cons_intf;
static evtchn_port_t cons_port;

void console_init(void)
{
    cons_intf = mfn_to_virt(xen_start_info->console.domU.mfn);
    cons_port = xen_start_info->console.domU.evtchn;
}

void console_write(const char *s, size_t len)
{
    struct xencons_interface *intf = cons_intf;

    if (!intf)
        return;
    while (len) {
        uint32_t cons = READ_ONCE(intf->out_cons);
        uint32_t prod = intf->out_prod;   /* only we write out_prod */
        /* Read out_cons before overwriting the slots it frees (load->store,
         * kept in order by x86; the barrier stops the compiler). */
        barrier();
        uint32_t space = XENCONS_OUT_SIZE - (prod - cons);
        if (space == 0) {
            evtchn_send(cons_port);
            sched_yield();
            continue;
        }
        while (space && len) {
            intf->out[MASK_XENCONS_IDX(prod, XENCONS_OUT_SIZE)] = *s++;
            prod++, space--, len--;
        }
        /* The bytes must be visible before the index that publishes them. */
        wmb();
        WRITE_ONCE(intf->out_prod, prod);
        evtchn_send(cons_port);
    }
}

void console_flush(void)
{
    struct xencons_interface *intf = cons_intf;

    /* Bounded: a dead backend must not keep a crashing guest alive forever. */
    for (int i = 0; intf && i < 1000; i++) {
        if (READ_ONCE(intf->out_cons) == READ_ONCE(intf->out_prod))
            return;
        evtchn_send(cons_port);
        sched_yield();
    }
}

/* ---- formatting ----------------------------------------------------------------- */

struct sink {
    char *buf;      /* NULL: console */
    size_t size;
    size_t len;     /* bytes produced (may exceed size) */
    char chunk[128];
    size_t fill;
};

static void sink_flush(struct sink *k)
{
    if (!k->buf && k->fill)
        console_write(k->chunk, k->fill);
    k->fill = 0;
}

static void put(struct sink *k, char c)
{
    if (k->buf) {
        if (k->len + 1 < k->size)
            k->buf[k->len] = c;
    } else {
        if (k->fill == sizeof(k->chunk))
            sink_flush(k);
        k->chunk[k->fill++] = c;
    }
    k->len++;
}

static void put_padded(struct sink *k, const char *s, size_t n, int width, int left, char pad)
{
    int gap = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (gap-- > 0)
            put(k, pad);
    while (n--)
        put(k, *s++);
    if (left)
        while (gap-- > 0)
            put(k, ' ');
}

static void put_number(struct sink *k, uint64_t v, int neg, unsigned int base, int upper,
                       int width, int left, char pad)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int i = sizeof(tmp);

    do {
        tmp[--i] = digits[v % base];
        v /= base;
    } while (v);
    if (neg) {
        if (pad == '0') {   /* sign before the zero padding */
            put(k, '-');
            width = width > 0 ? width - 1 : 0;
        } else {
            tmp[--i] = '-';
        }
    }
    put_padded(k, &tmp[i], sizeof(tmp) - i, width, left, pad);
}

static void format(struct sink *k, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(k, *fmt);
            continue;
        }
        int left = 0, width = 0, lng = 0;
        char pad = ' ';
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z')
            lng++, fmt++;
        if (left)
            pad = ' ';

        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
            put_number(k, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, 0, width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            put_number(k, v, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, left, pad);
            break;
        }
        case 'p':
            put(k, '0');
            put(k, 'x');
            put_number(k, (uintptr_t)va_arg(ap, void *), 0, 16, 0, width, left, pad);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(k, s, strlen(s), width, left, ' ');
            break;
        }
        case 'c':
            put(k, (char)va_arg(ap, int));
            break;
        case '%':
            put(k, '%');
            break;
        case '\0':
            return;
        default:    /* unknown: print it verbatim */
            put(k, '%');
            put(k, *fmt);
            break;
        }
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink k = { .buf = buf, .size = size };
    format(&k, fmt, ap);
    if (size)
        buf[k.len < size ? k.len : size - 1] = '\0';
    return (int)k.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void printk(const char *fmt, ...)
{
    struct sink k = { 0 };
    va_list ap;
    va_start(ap, fmt);
    format(&k, fmt, ap);
    va_end(ap);
    sink_flush(&k);
}
