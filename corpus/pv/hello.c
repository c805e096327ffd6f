/*
 * hello: the smallest complete PV guest. Prints what the domain builder told
 * us (start_info), the Xen version, our xenstore name and home directory,
 * then powers off.
 *
 * Given a ramdisk (module 0), it prints where the builder put it and its
 * first bytes, read through that address.
 *
 * Console lines to check: "Hello from xenrr PV guest", "hello: nr_pages 4096
 * (16 MiB)" for 16 MiB, "hello: xenstore name \"<name>\", domid <id>",
 * "hello: module at 0x<va>, <n> bytes: \"<first 16 bytes>\"", "hello: done".
 */
#include "rt.h"
#include "hypercall.h"

void kmain(start_info_t *si)
{
    char name[64];
    char extra[16] = { 0 };

    rt_init();

    printk("Hello from xenrr PV guest\n");
    printk("hello: magic \"%s\"\n", si->magic);
    printk("hello: nr_pages %lu (%lu MiB)\n", si->nr_pages, si->nr_pages >> 8);
    printk("hello: console evtchn %u mfn 0x%lx\n", si->console.domU.evtchn, si->console.domU.mfn);
    printk("hello: store evtchn %u mfn 0x%lx\n", si->store_evtchn, si->store_mfn);
    printk("hello: cmdline \"%s\"\n", si->cmd_line);
    printk("hello: shared_info maddr 0x%lx, pt_base 0x%lx (%lu frames), mfn_list 0x%lx\n",
           si->shared_info, si->pt_base, si->nr_pt_frames, si->mfn_list);

    if (si->mod_len) {
        char head[17] = { 0 };
        memcpy(head, (const void *)si->mod_start, si->mod_len < 16 ? si->mod_len : 16);
        printk("hello: module at 0x%lx, %lu bytes: \"%s\"\n", si->mod_start, si->mod_len, head);
    }

    long ver = HYPERVISOR_xen_version(XENVER_version, NULL);
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    extra[sizeof(extra) - 1] = '\0';
    printk("hello: Xen %lu.%lu%s\n", (unsigned long)ver >> 16, (unsigned long)ver & 0xffff, extra);

    int domid = xs_self_domid();
    int n = xs_read("name", name, sizeof(name));
    if (n >= 0)
        printk("hello: xenstore name \"%s\", domid %d\n", name, domid);
    else
        printk("hello: xenstore read of \"name\" failed: %d\n", n);

    /* Our home directory's children, NUL-separated, printed space-separated. */
    char home[32], list[512];
    snprintf(home, sizeof(home), "/local/domain/%d", domid);
    n = xs_directory(home, list, sizeof(list));
    printk("hello: %s has %d entries:", home, n);
    for (int i = 0, at = 0; i < n && at < (int)sizeof(list); i++) {
        printk(" %s", &list[at]);
        at += (int)strnlen(&list[at], sizeof(list) - at) + 1;
    }
    printk("\n");

    printk("hello: done\n");
    xen_shutdown(SHUTDOWN_poweroff);
}
