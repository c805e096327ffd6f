/*
 * crash: an exception nobody handles. Clears the whole trap table
 * (set_trap_table(NULL)), then executes ud2. With no handler for #UD, Xen
 * cannot bounce the exception and crashes the domain: the run must end with
 * this domain in shutdown reason "crash" while other domains carry on.
 *
 * Like Linux before it dies, it also says so on Xen's console (console_io),
 * in two writes that Xen joins into one line: "(d<id>) crash: last words
 * before ud2".
 *
 * Console lines to check: "crash: trap table cleared, executing ud2";
 * "crash: still alive after ud2" must NOT appear.
 */
#include "rt.h"
#include "hypercall.h"

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();

    long rc = HYPERVISOR_set_trap_table(NULL);
    if (rc)
        panic("set_trap_table(NULL) failed: %ld", rc);
    printk("crash: trap table cleared, executing ud2\n");
    console_flush();
    static const char last[] = "crash: last words", before[] = " before ud2\n";
    HYPERVISOR_console_io(CONSOLEIO_write, sizeof(last) - 1, last);
    HYPERVISOR_console_io(CONSOLEIO_write, sizeof(before) - 1, before);

    __asm__ volatile("ud2");

    printk("crash: still alive after ud2\n");
    xen_shutdown(SHUTDOWN_poweroff);
}
