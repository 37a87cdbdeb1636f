import pytest

from bringup.vectors import compare_signatures

START = 0x8000_0100


def words(*values: int) -> bytes:
    return b"".join(value.to_bytes(4, "little") for value in values)


def test_equal_signatures_pass() -> None:
    result = compare_signatures(START, words(1, 2, 3), words(1, 2, 3))
    assert result.passed
    assert result.first_mismatch_address is None
    assert result.flipped_bits == 0
    assert result.summary() == "3 words match"


def test_corrupted_words_give_first_address_and_flipped_bit_pattern() -> None:
    expected = words(0x0000_0000, 0x1234_5678, 0xFFFF_FFFF, 0x0000_0010)
    # A stuck-at-1 bit 4 shows in word 0 but not in word 3 (which already has it); word 2 has
    # a marginal bit 31 that reads as 0.
    actual = words(0x0000_0010, 0x1234_5678, 0x7FFF_FFFF, 0x0000_0010)
    result = compare_signatures(START, expected, actual)
    assert not result.passed
    assert result.first_mismatch_address == START
    assert result.flipped_bits == 0x8000_0010
    assert [(m.address, m.expected, m.actual, m.flipped_bits) for m in result.mismatches] == [
        (START, 0x0000_0000, 0x0000_0010, 0x0000_0010),
        (START + 8, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000),
    ]
    assert result.expected[1] == result.actual[1] == 0x1234_5678
    assert "2 of 4 words differ, first at 0x80000100, flipped bits 80000010" in result.summary()


def test_a_truncated_dump_is_an_error_not_a_result() -> None:
    with pytest.raises(ValueError, match="truncated memory dump"):
        compare_signatures(START, words(1, 2), words(1))
