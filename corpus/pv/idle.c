/*
 * idle: a kernel that does nothing until the toolstack tells it what to do,
 * as a Linux guest's xenbus "control" driver (drivers/xen/manage.c) does:
 * it watches control/shutdown and control/sysrq and otherwise sleeps, with
 * no timer armed, so without a toolstack action it would sleep forever.
 *
 *   control/shutdown = "poweroff" | "halt" | "reboot": acknowledged by
 *     writing "" back (what `xl shutdown` waits for), then obeyed with
 *     SCHEDOP_shutdown (poweroff or reboot). Anything else is reported and
 *     acknowledged, and ignored.
 *   control/sysrq = "<key>": acknowledged by writing "" back and reported.
 *
 * Command line: "ack=0" leaves shutdown requests unacknowledged and
 * unobeyed (a guest that ignores the toolstack, for xl's timeout).
 *
 * Console lines to check: "idle: waiting for the toolstack", "idle: sysrq
 * 'k'", "idle: shutdown request \"poweroff\"".
 */
#include "rt.h"
#include "hypercall.h"

/* Ends with `suffix`. */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void watch(const char *path)
{
    int rc = xs_watch(path, "ctl");
    if (rc < 0)
        panic("idle: watch %s: %d", path, rc);
}

static void on_sysrq(void)
{
    char key[8];
    if (xs_read("control/sysrq", key, sizeof(key)) <= 0 || key[0] == '\0')
        return;
    xs_write("control/sysrq", "");
    printk("idle: sysrq '%c'\n", key[0]);
}

/* A shutdown request: its reason, or -1 when there is none (or it is ignored). */
static int on_shutdown(int ack)
{
    char req[32];
    if (xs_read("control/shutdown", req, sizeof(req)) <= 0 || req[0] == '\0')
        return -1;
    printk("idle: shutdown request \"%s\"\n", req);
    if (!ack)
        return -1;
    xs_write("control/shutdown", "");
    if (strcmp(req, "poweroff") == 0 || strcmp(req, "halt") == 0)
        return SHUTDOWN_poweroff;
    if (strcmp(req, "reboot") == 0)
        return SHUTDOWN_reboot;
    printk("idle: unknown shutdown request ignored\n");
    return -1;
}

void kmain(start_info_t *si)
{
    char fired[96];
    int ack = (int)cmdline_uint("ack", 1);

    (void)si;
    rt_init();
    watch("control/shutdown");
    watch("control/sysrq");
    printk("idle: waiting for the toolstack (control/shutdown, control/sysrq)\n");
    for (;;) {
        xs_wait_watch("ctl", fired, sizeof(fired));
        if (ends_with(fired, "/sysrq")) {
            on_sysrq();
            continue;
        }
        int reason = on_shutdown(ack);
        if (reason >= 0) {
            printk("idle: %s\n", reason == SHUTDOWN_reboot ? "rebooting" : "powering off");
            xen_shutdown((unsigned int)reason);
        }
    }
}
