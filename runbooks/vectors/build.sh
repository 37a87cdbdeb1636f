#!/bin/sh
# Rebuild the directed suites' ELFs from src/ into OUT_DIR (default: this directory).
#
# The ELFs are committed so that running vectors never needs a cross toolchain; this script is
# for changing a suite. The build is reproducible: no debug info, no build id, no timestamp, and
# each object is assembled under a fixed relative name in a scratch directory, because the
# object's name is what ends up in the ELF's symbol table (gcc's default is a random temporary).
# toolchain.txt records which toolchain made the committed ELFs: another version of binutils may
# lay the same sources out differently.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cc=${RISCV_CC:-riscv64-unknown-elf-gcc}
arch="-march=rv32im_zicsr_zifencei -mabi=ilp32"
link="-nostdlib -nostartfiles -T $here/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
for suite in alu muldiv branch march; do
    # shellcheck disable=SC2086  # arch and link are word lists on purpose
    $cc $arch -pipe -c -o "$suite.o" "$here/src/$suite.S"
    # shellcheck disable=SC2086
    $cc $arch $link -o "$out/$suite.elf" "$suite.o"
done
{
    $cc --version | head -n 1
    "$($cc -print-prog-name=ld)" --version | head -n 1
} > "$out/toolchain.txt"
