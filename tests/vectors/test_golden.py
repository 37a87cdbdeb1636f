from dataclasses import replace
from pathlib import Path

import pytest

from bringup.emulator import asm
from bringup.vectors import (
    RAM_BASE,
    DirectoryCache,
    GoldenError,
    Vector,
    compute_golden,
    default_cache_dir,
    generate_program,
)
from bringup.vectors import golden as golden_module

TOHOST = RAM_BASE + 0x100
SIGNATURE = RAM_BASE + 0x110


def program(words: list[int], name: str = "hand") -> Vector:
    """`words` at RAM_BASE, then a tohost word and a 4-word signature at fixed places."""
    image = asm.program(words).ljust(0x120, b"\0")
    return Vector(name=name, image=image, load_address=RAM_BASE, entry=RAM_BASE,
                  signature_start=SIGNATURE, signature_end=SIGNATURE + 16, tohost=TOHOST, max_steps=200)


def exit_with(code: int) -> list[int]:
    return [*asm.li(5, TOHOST), asm.addi(6, 0, (code << 1) | 1), asm.sw(6, 5, 0), asm.jal(0, 0)]


def test_a_miss_computes_and_stores_then_a_hit_skips_the_reference(
    cache: DirectoryCache, monkeypatch: pytest.MonkeyPatch,
) -> None:
    vector = generate_program(1, 20).vector
    (first,) = compute_golden([vector], cache)
    assert not first.from_cache
    assert cache.get(vector.content_hash) == first.signature

    def must_not_run(vector: Vector) -> bytes:
        raise AssertionError("the reference core ran although the golden was cached")

    monkeypatch.setattr(golden_module, "reference_signature", must_not_run)
    renamed = replace(vector, name="same content, other name")
    (second,) = compute_golden([renamed], cache)
    assert second.from_cache and second.signature == first.signature


def test_the_cache_survives_a_new_cache_object(tmp_path: Path) -> None:
    DirectoryCache(tmp_path).put("ab" * 32, b"\x01\x02\x03\x04")
    assert DirectoryCache(tmp_path).get("ab" * 32) == b"\x01\x02\x03\x04"
    assert DirectoryCache(tmp_path).get("cd" * 32) is None
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["ab" * 32 + ".sig"]


def test_the_cache_refuses_a_key_that_is_not_a_content_hash(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a vector content hash"):
        DirectoryCache(tmp_path).get("../../etc/passwd")


def test_default_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRINGUP_GOLDEN_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path == DirectoryCache().root
    monkeypatch.delenv("BRINGUP_GOLDEN_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "bringup" / "golden"


def test_the_golden_is_what_the_program_wrote(cache: DirectoryCache) -> None:
    words = [*asm.li(7, SIGNATURE), *asm.li(8, 0xCAFEF00D), asm.sw(8, 7, 4), *exit_with(0)]
    (golden,) = compute_golden([program(words)], cache)
    assert golden.signature == bytes(4) + (0xCAFEF00D).to_bytes(4, "little") + bytes(8)


@pytest.mark.parametrize(("words", "says"), [
    (exit_with(3), "fails its own check 3 on the reference core — the vector's expected values are wrong"),
    ([asm.jal(0, 0)], "did not reach tohost on the reference core (budget after 200 steps"),
    # Reads a word beyond the image and stores it: its result depends on what RAM held.
    ([*asm.li(7, RAM_BASE + 0x400), asm.lw(8, 7, 0), *asm.li(7, SIGNATURE), asm.sw(8, 7, 0), *exit_with(0)],
     "reads memory it never wrote"),
])
def test_a_vector_the_reference_cannot_vouch_for_is_refused(
    cache: DirectoryCache, words: list[int], says: str,
) -> None:
    with pytest.raises(GoldenError) as raised:
        compute_golden([program(words)], cache)
    assert says in str(raised.value)
    assert "vector 'hand'" in str(raised.value)
