/*
 * fp-oracle: runs SSE/SSE2 floating-point instructions on the host CPU, one
 * case at a time, so sim/cpu/sse can be checked bit for bit against real
 * hardware.  Driven by oracle.ts (which builds it into build/oracle/).
 *
 * `fp-oracle --list` prints the op names, one a line, in op-number order.
 * Otherwise stdin is a stream of binary cases, 12 little-endian uint32 each:
 *   op, mxcsr, rflags, 0, a[4], b[4]
 * and stdout gets one binary result of 12 uint32 per case, same order:
 *   x0[4], mxcsr, trap, rax_lo, rax_hi, rflags, 0, 0, 0
 *
 * Each op runs as `insn %xmm1, %xmm0` (or its GPR form) with xmm0 = a,
 * xmm1 = b, rax = a[0..1] except for cvtsi2s* where rax = b[0..1] is the
 * integer source; MXCSR = mxcsr and the status flags (rflags & 0x8d5) are
 * loaded first.  After it: xmm0, MXCSR, rax and the flags.  trap is 0 when
 * the instruction completed; otherwise the CPU vector of the fault (19 for
 * #XM) and x0/mxcsr/rax are the state the signal frame holds at the fault.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

/* What each stub reads and writes (offsets are used by the assembly). */
typedef struct {
  uint32_t x0[4];  /* +0  */
  uint32_t x1[4];  /* +16 */
  uint64_t rax;    /* +32 */
  uint64_t rflags; /* +40 */
  uint32_t mxcsr;  /* +48 */
} fp_state;

uint32_t g_default_mxcsr = 0x1f80;

#define STUB(id, insn)                                                         \
  void s_##id(fp_state *);                                                     \
  __asm__(".text\n.globl s_" #id "\ns_" #id ":\n"                              \
          "ldmxcsr 48(%rdi)\nmovdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\n"     \
          "mov 32(%rdi),%rax\npushq 40(%rdi)\npopfq\n" insn "\n"               \
          "pushfq\npopq 40(%rdi)\nstmxcsr 48(%rdi)\nmovdqu %xmm0,(%rdi)\n"     \
          "mov %rax,32(%rdi)\nldmxcsr g_default_mxcsr(%rip)\nret\n");

#define ARITH(op) \
  X(op##ps, #op "ps %xmm1,%xmm0") X(op##pd, #op "pd %xmm1,%xmm0") \
  X(op##ss, #op "ss %xmm1,%xmm0") X(op##sd, #op "sd %xmm1,%xmm0")
#define CMP(t) \
  X(t##_0, #t " $0,%xmm1,%xmm0") X(t##_1, #t " $1,%xmm1,%xmm0") \
  X(t##_2, #t " $2,%xmm1,%xmm0") X(t##_3, #t " $3,%xmm1,%xmm0") \
  X(t##_4, #t " $4,%xmm1,%xmm0") X(t##_5, #t " $5,%xmm1,%xmm0") \
  X(t##_6, #t " $6,%xmm1,%xmm0") X(t##_7, #t " $7,%xmm1,%xmm0")
#define TOINT(op) X(op##_l, #op " %xmm1,%eax") X(op##_q, #op " %xmm1,%rax")

/* The op table: order = op number, kept in step with oracle.ts by name. */
#define OPS \
  ARITH(add) ARITH(sub) ARITH(mul) ARITH(div) ARITH(min) ARITH(max) ARITH(sqrt) \
  CMP(cmpps) CMP(cmppd) CMP(cmpss) CMP(cmpsd) \
  X(comiss, "comiss %xmm1,%xmm0") X(comisd, "comisd %xmm1,%xmm0") \
  X(ucomiss, "ucomiss %xmm1,%xmm0") X(ucomisd, "ucomisd %xmm1,%xmm0") \
  X(cvtsi2ss_l, "cvtsi2ssl %eax,%xmm0") X(cvtsi2ss_q, "cvtsi2ssq %rax,%xmm0") \
  X(cvtsi2sd_l, "cvtsi2sdl %eax,%xmm0") X(cvtsi2sd_q, "cvtsi2sdq %rax,%xmm0") \
  TOINT(cvtss2si) TOINT(cvtsd2si) TOINT(cvttss2si) TOINT(cvttsd2si) \
  X(cvtss2sd, "cvtss2sd %xmm1,%xmm0") X(cvtsd2ss, "cvtsd2ss %xmm1,%xmm0") \
  X(cvtps2pd, "cvtps2pd %xmm1,%xmm0") X(cvtpd2ps, "cvtpd2ps %xmm1,%xmm0") \
  X(cvtdq2ps, "cvtdq2ps %xmm1,%xmm0") X(cvtps2dq, "cvtps2dq %xmm1,%xmm0") \
  X(cvttps2dq, "cvttps2dq %xmm1,%xmm0") X(cvtdq2pd, "cvtdq2pd %xmm1,%xmm0") \
  X(cvtpd2dq, "cvtpd2dq %xmm1,%xmm0") X(cvttpd2dq, "cvttpd2dq %xmm1,%xmm0")

#define X(id, insn) STUB(id, insn)
OPS
#undef X

static const struct { const char *name; void (*fn)(fp_state *); } ops[] = {
#define X(id, insn) {#id, s_##id},
    OPS
#undef X
};
#define NOPS (sizeof ops / sizeof ops[0])

static sigjmp_buf g_jb;
static fp_state g_fault;
static uint32_t g_trap;

static void on_fpe(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  g_trap = (uint32_t)uc->uc_mcontext.gregs[REG_TRAPNO];
  g_fault.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  memcpy(g_fault.x0, &uc->uc_mcontext.fpregs->_xmm[0], 16);
  g_fault.rax = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
  g_fault.rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
  siglongjmp(g_jb, 1);
}

#define BATCH 4096

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < NOPS; i++) printf("%s\n", ops[i].name);
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGFPE, &sa, NULL);

  static uint32_t in[BATCH][12], out[BATCH][12];
  size_t n;
  while ((n = fread(in, 48, BATCH, stdin)) > 0) {
    for (size_t i = 0; i < n; i++) {
      const uint32_t *c = in[i];
      uint32_t *o = out[i];
      if (c[0] >= NOPS) {
        fprintf(stderr, "fp-oracle: op %u out of range (have %zu)\n", c[0], NOPS);
        return 2;
      }
      static fp_state s;
      const char *name = ops[c[0]].name;
      memcpy(s.x0, c + 4, 16);
      memcpy(s.x1, c + 8, 16);
      s.rax = strncmp(name, "cvtsi2s", 7) == 0 ? (c[8] | (uint64_t)c[9] << 32) : (c[4] | (uint64_t)c[5] << 32);
      s.rflags = (c[2] & 0x8d5) | 2;
      s.mxcsr = c[1];
      g_trap = 0;
      if (sigsetjmp(g_jb, 0) == 0) {
        ops[c[0]].fn(&s);
      } else {
        s = g_fault;
      }
      memcpy(o, s.x0, 16);
      o[4] = s.mxcsr;
      o[5] = g_trap;
      o[6] = (uint32_t)s.rax;
      o[7] = (uint32_t)(s.rax >> 32);
      o[8] = (uint32_t)s.rflags;
      o[9] = o[10] = o[11] = 0;
    }
    if (fwrite(out, 48, n, stdout) != n) return 3;
  }
  return 0;
}
