/* Shared by the directed suites: start-up, signature records, self-checks, exit through tohost.
 *
 * Every check stores its value in the signature (so a chip's result can be compared word by word
 * against the reference core) and then compares it with the value the ISA manual prescribes, so
 * a suite also fails on its own, with the failing check's number as its exit code:
 * tohost = (check << 1) | 1, and tohost = 1 when everything passed (the HTIF convention).
 */
#define SIG s11      /* next free signature word */
#define CHECKNUM gp  /* number of the check in progress: the exit code on failure */

#define SUITE_BEGIN                                   \
  .section .text.init, "ax", @progbits;               \
  .globl _start;                                      \
_start:                                               \
  la SIG, begin_signature;                            \
  li CHECKNUM, 0;

/* Record `reg` in the signature; fail as check `n` unless it holds `expected`. */
#define CHECK(n, reg, expected)                       \
  sw reg, 0(SIG);                                     \
  addi SIG, SIG, 4;                                   \
  li CHECKNUM, n;                                     \
  li t6, expected;                                    \
  bne reg, t6, fail;

/* End of the checks: the signature must be exactly full (a miscounted suite fails as check 999),
 * then exit through tohost; `words` sizes the signature, prefilled with a canary so a word that
 * was never written shows up in a comparison. */
#define SUITE_END(words)                              \
  li CHECKNUM, 999;                                   \
  la t0, end_signature;                               \
  bne SIG, t0, fail;                                  \
  li a0, 1;                                           \
  j exit;                                             \
fail:                                                 \
  slli a0, CHECKNUM, 1;                               \
  ori a0, a0, 1;                                      \
exit:                                                 \
  la t0, tohost;                                      \
  sw a0, 0(t0);                                       \
  sw zero, 4(t0);                                     \
hang:                                                 \
  j hang;                                             \
  .section .tohost, "aw", @progbits;                  \
  .balign 64;                                         \
  .globl tohost;                                      \
tohost: .word 0, 0;                                   \
  .globl fromhost;                                    \
fromhost: .word 0, 0;                                 \
  .section .signature, "aw", @progbits;               \
  .fill words, 4, 0xdeadbeef;

/* rd = op(a, b) for a register-register instruction. */
#define TEST_RR(n, op, expected, a, b)                \
  li a0, a;                                           \
  li a1, b;                                           \
  op a2, a0, a1;                                      \
  CHECK(n, a2, expected)

/* rd = op(a, imm) for a register-immediate instruction. */
#define TEST_RI(n, op, expected, a, imm)              \
  li a0, a;                                           \
  op a2, a0, imm;                                     \
  CHECK(n, a2, expected)
