/*
 * Tiny runtime shared by the xenrr compute guests.
 *
 * Built three ways from the same sources:
 *   -DXENRR_FLAT  freestanding guest for the flat harness; every output byte
 *                 goes to I/O port 0xE9, and mem and string helpers come from rt.c.
 *   -DXENRR_PV    linked into a Xen PV kernel (corpus/pv/compute-main.c and
 *                 the PV runtime): output goes to the PV console a line at a
 *                 time; mem and string helpers are the flat build's, under
 *                 other symbol names (see below).
 *   (default)     normal hosted executable; output is buffered and written
 *                 to stdout by native-main.c when guest_main returns.
 *
 * Each guest defines `int guest_main(void)`; its return value is the exit code
 * (0 means every built-in self-check passed).
 */
#ifndef XENRR_RT_H
#define XENRR_RT_H

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

/*
 * Floating-point values by their encodings (the runtime uses no SSE), in
 * exact decimal, correctly rounded (ties to even) to 17 significant digits
 * for binary64 and 9 for binary32, which is enough to tell any two values
 * apart: the text of printf("%.16e") / printf("%.8e"), "inf", "nan", signs
 * included (rt-float.c; the native build checks each against glibc).
 */
void print_f64(u64 bits);
void print_f32(u32 bits);
void print_label_f64(const char *label, u64 bits); /* "label=1.2345678901234567e+00 0x3ff3c0ca428c59fb\n" */
void print_label_f32(const char *label, u32 bits); /* "label=1.23456788e+00 0x3f9e0652\n" */

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

/*
 * libc-compatible helpers, from rt.c in the flat and PV builds (the PV build
 * links the same code as the flat one, so a guest does the same work on
 * both) and from libc natively. gcc may also call memcpy, memset, memmove and
 * memcmp itself.
 *
 * In the PV build the PV runtime (corpus/pv/lib.c) already defines these
 * names, so ours are renamed at the assembler level to compute_<name>: every
 * call written in a guest goes to ours. Calls gcc generates on its own (block
 * copies) still use the plain names and reach the PV runtime's versions, which
 * behave the same but count differently.
 */
#ifdef XENRR_PV
#define COMPUTE_RT_NAME(name) __asm__("compute_" #name)
#else
#define COMPUTE_RT_NAME(name)
#endif
void *memcpy(void *dst, const void *src, size_t n) COMPUTE_RT_NAME(memcpy);
void *memset(void *dst, int c, size_t n) COMPUTE_RT_NAME(memset);
void *memmove(void *dst, const void *src, size_t n) COMPUTE_RT_NAME(memmove);
int memcmp(const void *a, const void *b, size_t n) COMPUTE_RT_NAME(memcmp);
size_t strlen(const char *s) COMPUTE_RT_NAME(strlen);
int strcmp(const char *a, const char *b) COMPUTE_RT_NAME(strcmp);

#endif
