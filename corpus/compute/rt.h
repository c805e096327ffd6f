/*
 * Tiny runtime shared by the xenrr compute guests.
 *
 * Built three ways from the same sources:
 *   -DXENRR_FLAT  freestanding guest for the flat harness; every output byte
 *                 goes to I/O port 0xE9, and mem and string helpers come from rt.c.
 *   -DXENRR_PV    linked into a Xen PV kernel (corpus/pv/compute-main.c and
 *                 the PV runtime): output is buffered and written to the PV
 *                 console by rt_flush (also whenever the buffer fills); mem
 *                 and string helpers come from the PV runtime (corpus/pv/lib.c).
 *   (default)     normal hosted executable; output is buffered and written
 *                 to stdout by native-main.c when guest_main returns.
 *
 * Each guest defines `int guest_main(void)`; its return value is the exit code
 * (0 means every built-in self-check passed).
 */
#ifndef XENRR_COMPUTE_RT_H
#define XENRR_COMPUTE_RT_H

#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;

int guest_main(void);

/* Output. */
void putch(char c);
void puts_(const char *s);          /* no trailing newline added */
void putsn(const char *s, size_t n);
void print_nl(void);
void print_u64(u64 v);
void print_i64(i64 v);
void print_hex64(u64 v);            /* always 16 digits, no prefix */
void print_hex32(u32 v);            /* always 8 digits, no prefix */
void print_hex8(u8 v);              /* always 2 digits, no prefix */
void print_label_u64(const char *label, u64 v);  /* "label=123\n" */
void print_label_hex64(const char *label, u64 v); /* "label=0x...\n" */

/* Deterministic pseudo-random numbers (xorshift64*). */
typedef struct rng {
    u64 s;
} rng_t;
void rng_seed(rng_t *r, u64 seed);
u64 rng_next(rng_t *r);
u32 rng_below(rng_t *r, u32 bound);

/* Self-check helper: prints "FAIL what" and returns 1 when ok is false. */
int check(int ok, const char *what);

/* Flush buffered output (native and PV; no-op in the flat build). */
void rt_flush(void);

/* libc-compatible helpers; in the flat build rt.c provides them, in the PV
 * build the PV runtime does, and gcc may also call memcpy, memset, memmove
 * and memcmp itself. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif
