"""The one-pass YAML reader gives the same data as yaml.safe_load, with the line of every key and
item, and refuses within bounds what safe_load would follow for ever (aliases, recursion)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bringup.yamlfile import MAX_ALIAS_EXPANSION, ConfigError, parse_located

ROOT = Path(__file__).parents[2]
SHIPPED = sorted(ROOT.glob("runbooks/**/*.yaml"))
SAMPLES = [
    "a: 1\nb: [1, 2.5, -3, 0x10, 0o17, 1_000, .inf, -.inf, true, no, ~, null, '', 'x: y']\n",
    "when: 2026-01-01\nat: 2026-01-01 10:00:00\nblob: !!binary aGVsbG8=\nstr: !!str 12\nfl: !!float 1\n",
    "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nboth:\n  <<: [*b, {z: 9}]\nlist: [*b, *b]\n",
    "text: |\n  two\n  lines\nfolded: >\n  one\n  line\n? plain\n: value\n1: int key\n",
    "", "just text", "- [a, b]\n- {c: d}\n",
]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_the_shipped_files_read_as_safe_load_reads_them(path: Path) -> None:
    text = path.read_text()
    assert parse_located(text, path).data == yaml.safe_load(text)


@pytest.mark.parametrize("text", SAMPLES)
def test_yaml_features_read_as_safe_load_reads_them(text: str) -> None:
    assert parse_located(text, "sample.yaml").data == yaml.safe_load(text)


def test_lines_of_keys_and_items() -> None:
    source = parse_located("name: x\nsteps:\n  - step: a\n\n  - step: b\n    n: 2\n", "r.yaml")
    assert source.line_of(("steps", 1, "n")) == 6
    assert source.line_of(("steps", 1)) == 5
    assert source.line_of(("steps", 0, "missing")) == 3


def test_aliases_within_the_budget_are_followed() -> None:
    items = ", ".join(["*s"] * (MAX_ALIAS_EXPANSION // 4))
    data = parse_located(f"s: &s [1, 2, 3]\nall: [{items}]\n", "ok.yaml").data
    assert len(data["all"]) == MAX_ALIAS_EXPANSION // 4


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n", 4, "billion laughs"),
    ("a: &a [1, *a]\n", 1, "has no anchor"),
    ("a: !!python/name:os.system x\n", 1, "not allowed"),
    ("a: 1\nb: \"\\0\"\n", 2, "control character U+0000"),
    ("a: 1\n---\nb: 2\n", 2, "second YAML document"),
])
def test_what_safe_load_would_follow_or_run_is_refused_with_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_located(text, "hostile.yaml")
    assert str(refused.value).startswith(f"hostile.yaml:{line}: ") and words in str(refused.value)
