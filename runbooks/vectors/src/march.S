/* Memory suite: March C- over a 1 KiB word buffer with two data backgrounds, an address-in-data
 * pass for decoder aliasing, and byte/halfword lanes. For each march element the signature holds
 * the number of mismatching reads and the OR of their flipped bits, so a stuck-at or coupling
 * fault shows up as a pattern, not only as a failure.
 *
 * March C-: ⇕(w0); ⇑(r0,w1); ⇑(r1,w0); ⇓(r0,w1); ⇓(r1,w0); ⇕(r0)
 */
#include "suite.h"

#define BUFFER_WORDS 256

/* Walk the buffer up (s0 -> s1), reading `expect` (if checking) then writing `write`. */
#define MARCH_UP(n, expect, write)                    \
  li a0, expect;                                      \
  li a1, write;                                       \
  li a3, 0;                                           \
  li a4, 0;                                           \
  mv t0, s0;                                          \
1:                                                    \
  lw t1, 0(t0);                                       \
  xor t2, t1, a0;                                     \
  beqz t2, 2f;                                        \
  addi a3, a3, 1;                                     \
  or a4, a4, t2;                                      \
2:                                                    \
  sw a1, 0(t0);                                       \
  addi t0, t0, 4;                                     \
  bltu t0, s1, 1b;                                    \
  CHECK(n, a3, 0)                                     \
  CHECK(n + 1, a4, 0)

/* Walk the buffer down (s1 - 4 -> s0). */
#define MARCH_DOWN(n, expect, write)                  \
  li a0, expect;                                      \
  li a1, write;                                       \
  li a3, 0;                                           \
  li a4, 0;                                           \
  mv t0, s1;                                          \
1:                                                    \
  addi t0, t0, -4;                                    \
  lw t1, 0(t0);                                       \
  xor t2, t1, a0;                                     \
  beqz t2, 2f;                                        \
  addi a3, a3, 1;                                     \
  or a4, a4, t2;                                      \
2:                                                    \
  sw a1, 0(t0);                                       \
  bltu s0, t0, 1b;                                    \
  CHECK(n, a3, 0)                                     \
  CHECK(n + 1, a4, 0)

#define FILL(value)                                   \
  li a1, value;                                       \
  mv t0, s0;                                          \
1:                                                    \
  sw a1, 0(t0);                                       \
  addi t0, t0, 4;                                     \
  bltu t0, s1, 1b;

/* The final ⇕(r0) element: MARCH_UP writing back what it read. */
#define MARCH_C_MINUS(n, zero, one)                   \
  FILL(zero)                                          \
  MARCH_UP(n, zero, one)                              \
  MARCH_UP(n + 2, one, zero)                          \
  MARCH_DOWN(n + 4, zero, one)                        \
  MARCH_DOWN(n + 6, one, zero)                        \
  MARCH_UP(n + 8, zero, zero)

SUITE_BEGIN
  la s0, buffer
  la s1, buffer_end
  MARCH_C_MINUS(1, 0x00000000, 0xffffffff)
  MARCH_C_MINUS(11, 0x55555555, 0xaaaaaaaa)

  /* Address in data: every word holds its own address, so two words that alias differ. */
  mv t0, s0
3:
  sw t0, 0(t0)
  addi t0, t0, 4
  bltu t0, s1, 3b
  li a3, 0
  li a4, 0
  mv t0, s0
4:
  lw t1, 0(t0)
  xor t2, t1, t0
  beqz t2, 5f
  addi a3, a3, 1
  or a4, a4, t2
5:
  addi t0, t0, 4
  bltu t0, s1, 4b
  CHECK(21, a3, 0)
  CHECK(22, a4, 0)

  /* Byte and halfword lanes: sub-word stores land in the right lane (little-endian) and leave
   * their neighbours alone; loads sign- or zero-extend. */
  li t1, 0x11223344
  sw t1, 0(s0)
  li t1, 0xa5
  sb t1, 1(s0)
  lw a2, 0(s0)
  CHECK(23, a2, 0x1122a544)
  li t1, 0xbeef
  sh t1, 2(s0)
  lw a2, 0(s0)
  CHECK(24, a2, 0xbeefa544)
  lb a2, 1(s0)
  CHECK(25, a2, 0xffffffa5)
  lbu a2, 1(s0)
  CHECK(26, a2, 0x000000a5)
  lh a2, 2(s0)
  CHECK(27, a2, 0xffffbeef)
  lhu a2, 2(s0)
  CHECK(28, a2, 0x0000beef)
  lb a2, 0(s0)
  CHECK(29, a2, 0x00000044)
  lh a2, 0(s0)
  CHECK(30, a2, 0xffffa544)
SUITE_END(30)

  .section .bss
  .balign 16
buffer:
  .skip BUFFER_WORDS * 4
buffer_end:
