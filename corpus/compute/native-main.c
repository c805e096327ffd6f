/* Host entry point for the native (reference) build of a compute guest:
 * runs guest_main, writes the buffered output to stdout, and exits with
 * guest_main's return value. With XENRR_TIME set in the environment it also
 * prints guest_main's own run time in nanoseconds to stderr (for the bench:
 * process start-up is not part of the comparison). */
#include <stdlib.h>
#include <stdio.h>
#include <time.h>
#include "rt.h"

int main(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = guest_main();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rt_flush();
    if (getenv("XENRR_TIME"))
        fprintf(stderr, "%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    return rc;
}
