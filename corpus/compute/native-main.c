/* Host entry point for the native (reference) build of a compute guest:
 * runs guest_main, writes the buffered output to stdout, and exits with
 * guest_main's return value. */
#include "rt.h"

int main(void)
{
    int rc = guest_main();
    rt_flush();
    return rc;
}
