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
from bringup.vectors.golden import golden_key

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
    assert cache.get(golden_key(vector)) == first.signature

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
    with pytest.raises(ValueError, match="is not a golden key"):
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


def test_a_golden_from_another_version_of_the_reference_core_is_not_used(
    cache: DirectoryCache, monkeypatch: pytest.MonkeyPatch,
) -> None:
    vector = generate_program(2, 20).vector
    true_signature = golden_module.reference_signature(vector)
    stale = bytes(len(true_signature))  # what an older core (say, with a bug) left there
    from bringup.emulator import version

    monkeypatch.setattr(version, "fingerprint", lambda: "0-olderreferencecore")
    cache.put(golden_key(vector), stale)
    cache.put(vector.content_hash, stale)  # and the pre-version layout, keyed by content alone
    monkeypatch.undo()

    (golden,) = compute_golden([vector], cache)
    assert not golden.from_cache and golden.signature == true_signature
    (again,) = compute_golden([vector], cache)
    assert again.from_cache and again.signature == true_signature


def test_the_key_follows_the_core_version_and_the_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from bringup.emulator import SEMANTICS_VERSION, emulator_fingerprint, version

    assert emulator_fingerprint().startswith(f"{SEMANTICS_VERSION}-")
    vector = generate_program(3, 20).vector
    key = golden_key(vector)
    assert key != vector.content_hash
    assert golden_key(replace(vector, name="renamed")) == key
    assert golden_key(replace(vector, max_steps=vector.max_steps + 1)) != key
    monkeypatch.setattr(version, "SEMANTICS_VERSION", SEMANTICS_VERSION + 1)
    version.fingerprint.cache_clear()
    try:
        assert golden_key(vector) != key
    finally:
        monkeypatch.undo()
        version.fingerprint.cache_clear()
    assert golden_key(vector) == key


def test_a_golden_recorded_in_the_database_by_content_alone_is_not_trusted(tmp_path: Path) -> None:
    """The results database stores goldens by vector content hash, without the core version:
    wrapped around the directory cache, it must not hand such a golden back."""
    from bringup.db.engine import make_engine
    from bringup.db.golden_cache import DatabaseGoldenCache
    from bringup.db.recorder import Recorder
    from bringup.events import VectorResult

    vector = generate_program(4, 20).vector
    true_signature = golden_module.reference_signature(vector)
    words = len(true_signature) // 4
    engine = make_engine(f"sqlite:///{tmp_path / 'lab.db'}")
    try:
        with Recorder(engine, stale_after_s=None) as recorder:
            run_id = recorder.start_run("GOLD-STALE")
            recorder.handle(VectorResult(run_id=run_id, step_index=0, vector_name=vector.name,
                                         content_hash=vector.content_hash, passed=True,
                                         expected=(0,) * words, actual=(0,) * words))
        cache = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "golden"))
        (golden,) = compute_golden([vector], cache)
    finally:
        engine.dispose()
    assert not golden.from_cache and golden.signature == true_signature
