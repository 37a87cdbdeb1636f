"""An error a person sees is one non-empty line, whatever the exception carried."""

from bringup.messages import described, first_line


def test_the_first_line_of_a_multi_line_message() -> None:
    assert first_line(ValueError("the rail collapsed\n  detail for a log")) == "the rail collapsed"


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    assert first_line(TimeoutError()) == "TimeoutError"
    assert described(OSError("  ")) == "OSError: OSError"


def test_described_names_the_type() -> None:
    assert described(KeyError("VDD_PLL")) == "KeyError: 'VDD_PLL'"
