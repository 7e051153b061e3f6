"""The CLI reads an archive file: history as CSV/JSON/chart, reports (§5.2.4-5, §5.3.9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.heatbalance.engine.archive import Archive, EventRecord
from custom_components.heatbalance.engine.cli import main

from .test_archive import T0, cycle


@pytest.fixture
def archive_file(tmp_path: Path) -> Path:
    path = tmp_path / "heatbalance_archive.db"
    archive = Archive(f"sqlite:///{path}", "Asia/Shanghai")
    archive.write([cycle(k) for k in range(12)])
    archive.write([EventRecord("net", T0 + 60, "alarm", "raised", "B1",
                               details={"alarm_type": "deviation"})])  # fmt: skip
    archive.close()
    return path


def test_history_csv_json_and_plot(
    archive_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = "2025-12-01T08:00"  # T0 in Shanghai
    assert main(["history", str(archive_file), "--inlet", "B1", "--start", start,
                 "--end", "2025-12-01T08:30", "--signals", "flow_m3h,in_band"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "time,flow_m3h,in_band,flagged,estimated"
    assert len(lines) == 1 + 3  # 08:00, 08:10, 08:20
    assert lines[1] == "2025-12-01T08:00:00+08:00,1.235,False,flow_m3h,"
    plot = tmp_path / "b1.png"
    assert main(["history", str(archive_file), "--inlet", "B1", "--start", start, "--json",
                 "--plot", str(plot)]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == 12
    assert plot.stat().st_size > 1000


def test_report_and_errors(
    archive_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    assert main(["report", str(archive_file), "--period", "day", "--date", "2025-12-01",
                 "--formats", "csv,xlsx", "--out", str(out)]) == 0  # fmt: skip
    files = json.loads(capsys.readouterr().out)
    text = Path(files["csv"]).read_text(encoding="utf-8")
    assert "alarms,1" in text
    assert Path(files["xlsx"]).stat().st_size > 0
    assert main(["history", str(tmp_path / "none.db"), "--inlet", "B1", "--start", "2025"]) == 1
    assert main(["history", str(archive_file), "--inlet", "B1", "--start", "soon"]) == 1
    assert main(["history", str(archive_file), "--inlet", "B9", "--start", "2025-01-01"]) == 1
    assert "no records" in capsys.readouterr().err
