from dataclasses import replace

import pytest

from bringup.vectors import RAM_BASE, Vector, VectorError


def tiny(**changes: object) -> Vector:
    fields = dict(
        name="tiny", image=bytes(range(32)), load_address=RAM_BASE, entry=RAM_BASE,
        signature_start=RAM_BASE + 16, signature_end=RAM_BASE + 24, tohost=RAM_BASE + 24,
        max_steps=100,
    )
    fields.update(changes)
    return Vector(**fields)  # type: ignore[arg-type]


def test_content_hash_is_pinned() -> None:
    # The hash keys golden signatures on disk and in the database: changing its encoding
    # orphans every cached golden, so it must only ever change on purpose.
    assert tiny().content_hash == "2c900b4ef4df43c1ac34d4147b56f9916d3fe69f1a61904a2f9aaddb823738b8"


def test_name_and_source_do_not_change_the_hash() -> None:
    assert tiny(name="other", source="x.hex").content_hash == tiny().content_hash


@pytest.mark.parametrize("change", [
    {"image": bytes(range(1, 33))},
    {"entry": RAM_BASE + 4},
    {"signature_start": RAM_BASE + 12},
    {"signature_end": RAM_BASE + 20},
    {"tohost": RAM_BASE + 28},
    {"max_steps": 101},
])
def test_every_field_that_affects_a_run_changes_the_hash(change: dict) -> None:
    assert tiny(**change).content_hash != tiny().content_hash


def test_words_are_little_endian() -> None:
    assert tiny().words[:2] == [0x03020100, 0x07060504]
    vector = Vector.from_words("w", [0x03020100, 0x07060504, 0, 0], RAM_BASE, entry=RAM_BASE,
                               signature_start=RAM_BASE + 8, signature_end=RAM_BASE + 12,
                               tohost=RAM_BASE + 12, max_steps=10)
    assert vector.image[:8] == bytes(range(8))


@pytest.mark.parametrize(("change", "says"), [
    ({"signature_end": RAM_BASE + 40}, "the signature at 0x80000010 lies outside the image"),
    ({"signature_start": RAM_BASE + 18}, "word-aligned"),
    ({"signature_end": RAM_BASE + 16}, "non-empty"),
    ({"tohost": RAM_BASE + 64}, "tohost at 0x80000040 lies outside the image"),
    ({"load_address": 0x1000, "entry": 0x1000}, "does not fit the 64 KiB RAM at 0x80000000"),
    ({"max_steps": 0}, "max_steps must be positive"),
])
def test_an_unrunnable_vector_is_refused_with_the_fix(change: dict, says: str) -> None:
    with pytest.raises(VectorError, match="vector 'tiny'") as raised:
        replace(tiny(), **change)
    assert says in str(raised.value)
    assert " — " in str(raised.value)
