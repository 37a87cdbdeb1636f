/* Branch suite: every conditional branch taken and not taken around its signed/unsigned
 * boundaries, backward loops, far targets that use the high immediate bits, and jal/jalr
 * link values (including jalr clearing bit 0 and reading rs1 before writing rd). */
#include "suite.h"

/* a2 = 1 when `op a, b` is taken, else 0. */
#define TEST_BR(n, op, a, b, taken)                   \
  li a0, a;                                           \
  li a1, b;                                           \
  li a2, 0;                                           \
  op a0, a1, 1f;                                      \
  j 2f;                                               \
1:                                                    \
  li a2, 1;                                           \
2:                                                    \
  CHECK(n, a2, taken)

SUITE_BEGIN
  TEST_BR(1, beq, 0, 0, 1)
  TEST_BR(2, beq, 0, 1, 0)
  TEST_BR(3, beq, 0xffffffff, 0xffffffff, 1)
  TEST_BR(4, bne, 0, 1, 1)
  TEST_BR(5, bne, 0x80000000, 0x80000000, 0)
  TEST_BR(6, blt, 0xffffffff, 0, 1)
  TEST_BR(7, blt, 0, 0xffffffff, 0)
  TEST_BR(8, blt, 0x80000000, 0x7fffffff, 1)
  TEST_BR(9, blt, 5, 5, 0)
  TEST_BR(10, bge, 5, 5, 1)
  TEST_BR(11, bge, 0x7fffffff, 0x80000000, 1)
  TEST_BR(12, bge, 0xffffffff, 0, 0)
  TEST_BR(13, bltu, 0, 0xffffffff, 1)
  TEST_BR(14, bltu, 0xffffffff, 0, 0)
  TEST_BR(15, bltu, 0x7fffffff, 0x80000000, 1)
  TEST_BR(16, bltu, 7, 7, 0)
  TEST_BR(17, bgeu, 7, 7, 1)
  TEST_BR(18, bgeu, 0x80000000, 0x7fffffff, 1)
  TEST_BR(19, bgeu, 0, 0xffffffff, 0)

  /* Backward branches: count a loop down from 10, and up with blt. */
  li a0, 10
  li a2, 0
3:
  addi a2, a2, 1
  addi a0, a0, -1
  bnez a0, 3b
  CHECK(20, a2, 10)
  li a2, 0
  li a1, 7
4:
  addi a2, a2, 1
  blt a2, a1, 4b
  CHECK(21, a2, 7)

  /* jal links the address of the next instruction. */
jal_site:
  jal ra, 5f
  li a2, 0xbad
5:
  la a3, jal_site
  sub a2, ra, a3
  CHECK(22, a2, 4)

  /* jalr clears bit 0 of the target and links the next instruction. */
  la t0, jalr_target
  addi t0, t0, 1
jalr_site:
  jalr ra, 0(t0)
  li a2, 0xbad
  j 6f
jalr_target:
  la a3, jalr_site
  sub a2, ra, a3
6:
  CHECK(23, a2, 4)

  /* jalr with a negative offset, and with rd == rs1: the target uses the old value. */
  la ra, jalr_back + 8
  jalr ra, -8(ra)
  li a2, 0xbad
  j 7f
jalr_back:
  li a2, 1
7:
  CHECK(24, a2, 1)

  /* Far targets exercise the high immediate bits: a beq near its +4 KiB reach, a jal beyond it. */
  li a2, 0
  beq zero, zero, far_branch
  .fill 1000, 4, 0x00100073   /* ebreak: never reached */
far_branch:
  addi a2, a2, 1
  jal zero, far_jump
  .fill 1100, 4, 0x00100073
far_jump:
  addi a2, a2, 1
  CHECK(25, a2, 2)
  /* ... and backwards again across the same distance. */
  li a2, 0
  j far_back_start
far_back_target:
  addi a2, a2, 1
  j far_back_done
  .fill 1000, 4, 0x00100073
far_back_start:
  beq zero, zero, far_back_target
far_back_done:
  CHECK(26, a2, 1)
SUITE_END(26)
