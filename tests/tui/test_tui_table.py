"""The step table shows whole cells even when a frame was drawn before Textual measured its columns."""

from __future__ import annotations

from textual.app import App, ComposeResult
from tui_bench import pilot_test, wait_for

from bringup.tui.live_state import StepRow
from bringup.tui.widgets.steps import StepTable


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield StepTable(id="steps")


def first_row(table: StepTable) -> str:
    return "".join(segment.text for segment in table.render_line(1))


@pilot_test
async def test_a_frame_drawn_before_the_columns_are_measured_does_not_stay_cut_to_the_header_widths():
    app = OneTable()
    async with app.run_test(size=(160, 12)) as pilot:
        table = app.query_one(StepTable)
        await wait_for(pilot, lambda: table.columns, "the table's columns")
        table.show((StepRow(index=0, name="forcer to 25 °C", status="passed", message="25.0 °C after 30 s soak"),
                    StepRow(index=1, name="power_on", status="passed", message="3 rails up")))
        app.export_screenshot()  # a frame painted now, before the table is idle: cells at header widths
        await wait_for(pilot, lambda: table.virtual_size.height == 3, "the table to measure its rows")
        await pilot.pause()
        assert "forcer to 25 °C" in first_row(table) and "25.0 °C after 30 s soak" in first_row(table), \
            first_row(table)
