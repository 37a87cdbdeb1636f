/* ALU suite: every RV32I register-register and register-immediate operation at its edges —
 * carries and overflow wrap, shift amounts that use only their low five bits, signed against
 * unsigned comparison, sign-extended 12-bit immediates — plus lui, auipc and writes to x0. */
#include "suite.h"

SUITE_BEGIN
  TEST_RR(1, add, 0x00000000, 0, 0)
  TEST_RR(2, add, 0x80000000, 0x7fffffff, 1)
  TEST_RR(3, add, 0x00000000, 0xffffffff, 1)
  TEST_RR(4, add, 0x00000000, 0x80000000, 0x80000000)
  TEST_RR(5, add, 0x22222221, 0x12345678, 0x0fedcba9)
  TEST_RR(6, sub, 0x80000000, 0x7fffffff, 0xffffffff)
  TEST_RR(7, sub, 0xffffffff, 0, 1)
  TEST_RR(8, sub, 0x7fffffff, 0x80000000, 1)
  TEST_RR(9, sub, 0x00000000, 0x12345678, 0x12345678)
  TEST_RR(10, and, 0x0f000f00, 0xff00ff00, 0x0ff00ff0)
  TEST_RR(11, or, 0xfff0fff0, 0xff00ff00, 0x0ff00ff0)
  TEST_RR(12, xor, 0xf0f0f0f0, 0xff00ff00, 0x0ff00ff0)
  TEST_RR(13, xor, 0xffffffff, 0xaaaaaaaa, 0x55555555)
  TEST_RR(14, sll, 0x80000000, 1, 31)
  TEST_RR(15, sll, 0x00000001, 1, 32)
  TEST_RR(16, sll, 0x48484000, 0x21212121, 14)
  TEST_RR(17, sll, 0xfffffffe, 0xffffffff, 0xffffffe1)
  TEST_RR(18, srl, 0x00000001, 0x80000000, 31)
  TEST_RR(19, srl, 0x40000000, 0x80000000, 33)
  TEST_RR(20, srl, 0x00008484, 0x21212121, 14)
  TEST_RR(21, srl, 0xffffffff, 0xffffffff, 0xffffffe0)
  TEST_RR(22, sra, 0xffffffff, 0x80000000, 31)
  TEST_RR(23, sra, 0xc0000000, 0x80000000, 1)
  TEST_RR(24, sra, 0x00000001, 0x7fffffff, 30)
  TEST_RR(25, sra, 0xff030303, 0x81818181, 0xffffffe7)
  TEST_RR(26, slt, 0x00000001, 0xffffffff, 1)
  TEST_RR(27, slt, 0x00000000, 1, 0xffffffff)
  TEST_RR(28, slt, 0x00000001, 0x80000000, 0x7fffffff)
  TEST_RR(29, slt, 0x00000000, 0x7fffffff, 0x7fffffff)
  TEST_RR(30, sltu, 0x00000000, 0xffffffff, 1)
  TEST_RR(31, sltu, 0x00000001, 0, 0xffffffff)
  TEST_RR(32, sltu, 0x00000001, 0x7fffffff, 0x80000000)
  TEST_RI(33, addi, 0x80000000, 0x7fffffff, 1)
  TEST_RI(34, addi, 0xfffff800, 0, -2048)
  TEST_RI(35, addi, 0x000007ff, 0, 2047)
  TEST_RI(36, addi, 0x00000000, 0xffffffff, 1)
  TEST_RI(37, andi, 0xff00ff00, 0xff00ff00, -1)
  TEST_RI(38, andi, 0x0000070f, 0xff00ff0f, 0x70f)
  TEST_RI(39, ori, 0xfffff800, 0, -2048)
  TEST_RI(40, ori, 0x123405a5, 0x12340000, 0x5a5)
  TEST_RI(41, xori, 0xff00ff00, 0x00ff00ff, -1)
  TEST_RI(42, xori, 0xff00fff0, 0xff00ff00, 0x0f0)
  TEST_RI(43, slti, 0x00000001, 0x80000000, 0)
  TEST_RI(44, slti, 0x00000000, 0, -2048)
  TEST_RI(45, slti, 0x00000001, 0xfffff800, -2047)
  TEST_RI(46, sltiu, 0x00000001, 0, 1)
  TEST_RI(47, sltiu, 0x00000000, 1, 1)
  TEST_RI(48, sltiu, 0x00000001, 0, -1)
  TEST_RI(49, sltiu, 0x00000001, 0xfffffffe, -1)
  TEST_RI(50, slli, 0x80000000, 1, 31)
  TEST_RI(51, slli, 0x23456780, 0x12345678, 4)
  TEST_RI(52, srli, 0x7fffffff, 0xffffffff, 1)
  TEST_RI(53, srli, 0x00000001, 0x80000000, 31)
  TEST_RI(54, srai, 0xc0000000, 0x80000000, 1)
  TEST_RI(55, srai, 0x80000000, 0x80000000, 0)
  TEST_RI(56, srai, 0x00000000, 0x7fffffff, 31)
  lui a2, 0xfffff
  CHECK(57, a2, 0xfffff000)
  lui a2, 0x80000
  CHECK(58, a2, 0x80000000)
  /* auipc adds to its own address: compare against the label's address to stay position-free. */
here:
  auipc a2, 0x1
  la a3, here
  sub a2, a2, a3
  CHECK(59, a2, 0x00001000)
  /* x0 ignores writes. */
  addi x0, x0, 5
  mv a2, x0
  CHECK(60, a2, 0x00000000)
  /* An instruction may read and write the same register. */
  li a2, 0x01010101
  add a2, a2, a2
  CHECK(61, a2, 0x02020202)
SUITE_END(61)
