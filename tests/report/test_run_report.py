"""`bringup report`: one self-contained HTML file, checked as a browser would read it."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from bringup.cli import main

RUN_SECTIONS = ["summary", "chip", "station", "steps", "measurements", "failing-vectors", "rails", "temperature",
                "shmoo"]


class Page(HTMLParser):
    """What a report holds: section ids, image sources, any reference that would need a network."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values["id"] or "")
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag in ("script", "link", "iframe") or (
                tag != "img" and any(k in ("src", "href") for k in values)):
            self.external.append(f"{tag} {values}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def png_size(source: str) -> tuple[int, int]:
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix), source[:40]
    data = base64.b64decode(source.removeprefix(prefix), validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_report_of_a_real_run_has_every_section_and_inline_pngs(recorded_run, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    result = CliRunner().invoke(main, ["report", recorded_run.run_id[:8], "--out", str(out),
                                       "--db", recorded_run.db_url])

    assert result.exit_code == 0, result.output
    page = read(out)
    assert page.sections == RUN_SECTIONS
    assert page.external == []  # no script, stylesheet or link: it opens offline
    assert len(page.images) == 3  # rails, temperature, shmoo
    for source in page.images:
        width, height = png_size(source)
        assert 400 <= width <= 2000 and 200 <= height <= 1200
    text = " ".join(page.text)
    assert "SIM-0001" in text and "LOT-7" in text and "(12, -4)" in text
    assert "Keysight" in text or "Rigol" in text  # *IDN? of the simulated instruments
    assert "0x8000" in text  # a failing vector's address
    # the forcer as recorded while set_temperature brought it there, not only the set points
    series = re.search(r'alt="temperature over time: ([^"]*)"', out.read_text(encoding="utf-8")).group(1)
    assert {"forcer set point", "forcer air"} <= set(series.split(", "))


def test_report_shows_every_recorded_instrument_idn_and_failure(recorded_run, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    CliRunner().invoke(main, ["report", recorded_run.run_id, "--out", str(out), "--db", recorded_run.db_url])
    html = out.read_text(encoding="utf-8")
    engine = create_engine(recorded_run.db_url)
    with engine.connect() as conn:
        idns = conn.execute(text("SELECT idn FROM instrument")).scalars().all()
        failing = conn.execute(text("SELECT first_mismatch_addr, flipped_bits FROM vector_result "
                                    "WHERE passed = 0")).all()
    engine.dispose()

    assert idns and failing
    for idn in idns:
        assert escape(idn) in html
    for address, bits in failing:
        assert f"0x{address:08x}" in html and f"0x{bits:08x}" in html


def test_lot_report_has_vmin_and_yield_per_corner(recorded_run, tmp_path: Path) -> None:
    out = tmp_path / "lot.html"
    result = CliRunner().invoke(main, ["report", "--lot", "LOT-7", "--out", str(out), "--db", recorded_run.db_url])

    assert result.exit_code == 0, result.output
    page = read(out)
    assert page.sections == ["summary", "vmin", "yield"]
    text = " ".join(page.text)
    assert "SIM-0001" in text and "0.8" in text  # Vmin at 500 MHz: nothing failed at 0.8 V
    assert "0.0 %" in text and "100.0 %" in text  # 0.66 V at 800 MHz failed, 0.8 V at 500 MHz passed
    for source in page.images:
        png_size(source)


def test_report_refuses_an_unknown_run_with_exit_2(recorded_run, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "zzzz", "--out", str(tmp_path / "x.html"),
                                       "--db", recorded_run.db_url])

    assert result.exit_code == 2
    assert "no run id starts with 'zzzz'" in result.stderr
    assert not (tmp_path / "x.html").exists()


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(recorded_run, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    CliRunner().invoke(main, ["report", recorded_run.run_id, "--out", str(out), "--db", recorded_run.db_url])
    shot = tmp_path / "shot.png"

    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,4000", out.as_uri()], check=True, timeout=120, capture_output=True)

    from matplotlib.image import imread

    pixels = (imread(shot)[:, :, :3] * 255).round()
    assert pixels.shape[:2] == (4000, 1200)
    for shmoo_colour in ((0xD9, 0x53, 0x4F), (0x5C, 0xB8, 0x5C)):  # the inline PNGs were decoded and drawn
        assert (pixels == shmoo_colour).all(axis=-1).any()


def test_a_run_without_sweeps_has_no_sweeps_section(recorded_run, tmp_path: Path) -> None:
    # (a run with a shmoo: tests/sweeps/test_shmoo_on_simlab.py)
    out = tmp_path / "run.html"
    assert CliRunner().invoke(main, ["report", recorded_run.run_id, "--out", str(out),
                                     "--db", recorded_run.db_url]).exit_code == 0
    assert "sweeps" not in read(out).sections


def read_images(recorded_run, tmp_path: Path) -> list[str]:
    out = tmp_path / "images.html"
    CliRunner().invoke(main, ["report", recorded_run.run_id, "--out", str(out), "--db", recorded_run.db_url])
    return read(out).images
