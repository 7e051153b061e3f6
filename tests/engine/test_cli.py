"""The engine CLI (docs/cli.md): list, validate, solve, simulate."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from custom_components.heatbalance.engine.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_list(capsys) -> None:
    assert main(["list"]) == 0
    assert capsys.readouterr().out.split() == ["district120", "estate12", "households1200", "loop8"]


def test_validate_ok_and_bad(capsys, tmp_path) -> None:
    assert main(["validate", "households1200"]) == 0
    assert "1200 household" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsubstation: {}\nnodes: []\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("heatbalance: bad.yaml: ")
    assert "Traceback" not in err
    assert main(["validate", "no-such-network"]) == 1
    assert "no such built-in network or file" in capsys.readouterr().err


def test_solve_json_has_the_documented_fields(capsys) -> None:
    assert main(["solve", "estate12", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["network"] == "estate12"
    assert len(report["inlets"]) == 12
    row = report["inlets"][0]
    for key in (
        "id",
        "type",
        "flow_m3h",
        "design_flow_m3h",
        "flow_ratio",
        "supply_c",
        "return_c",
        "dp_available_kpa",
        "valve_dp_kpa",
    ):
        assert key in row
    assert row["flow_ratio"] == pytest.approx(row["flow_m3h"] / row["design_flow_m3h"], abs=1e-3)
    assert set(report["pump"]) >= {"head_m", "flow_m3h", "power_w"}
    assert report["pump"]["flow_m3h"] == pytest.approx(
        sum(r["flow_m3h"] for r in report["inlets"]), rel=1e-3
    )


def test_solve_table_and_pump_speed(capsys) -> None:
    assert main(["solve", "loop8", "--pump-speed", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "network loop8" in out
    assert "speed 0.60" in out
    assert len(out.splitlines()) == 8 + 3


def test_simulate_json_and_plot(capsys, tmp_path) -> None:
    png = tmp_path / "run.png"
    assert (
        main(
            [
                "simulate",
                "estate12",
                "--hours",
                "6",
                "--outdoor",
                "season",
                "--json",
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    run = json.loads(capsys.readouterr().out)
    assert len(run["steps"]) == 6
    assert run["steps"][-1]["hour"] == 6.0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["simulate", "estate12", "--hours", "1", "--step-min", "30"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2 + 2
    assert main(["simulate", "estate12", "--hours", "1", "--outdoor", "cold"]) == 1
    assert "neither a number nor 'season'" in capsys.readouterr().err


def test_scripts_heatbalance_runs_the_cli() -> None:
    out = subprocess.run(
        [str(ROOT / "scripts" / "heatbalance"), "list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "estate12" in out.stdout
