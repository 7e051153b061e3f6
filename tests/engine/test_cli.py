"""The engine CLI (docs/cli.md): list, validate, solve, simulate, the subcommand hook."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from custom_components.heatbalance.engine import cli
from custom_components.heatbalance.engine.cli import CliError, main
from custom_components.heatbalance.engine.networks import HERE, builtin_names

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "heatbalance"
INLET_KEYS = {
    "id",
    "type",
    "flow_m3h",
    "design_flow_m3h",
    "flow_ratio",
    "supply_c",
    "return_c",
    "dp_available_kpa",
    "valve_dp_kpa",
}


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one object on one line
    return json.loads(out)


# --- list and validate ----------------------------------------------------------------------
def test_list_prints_the_builtin_names(capsys) -> None:
    assert main(["list"]) == 0
    names = capsys.readouterr().out.split()
    assert names == builtin_names()
    assert {"estate12", "district120", "households1200"} <= set(names)


def test_validate_counts_what_a_network_holds(capsys) -> None:
    assert main(["validate", "households1200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK households1200: ")
    assert "1200 household" in out
    assert "40 building" in out


def test_validate_reports_the_loaders_error_without_traceback(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsubstation: {}\nnodes: []\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("heatbalance: bad.yaml: ")
    assert "Traceback" not in err
    assert main(["validate", "no-such-network"]) == 1
    assert "no-such-network: no such built-in network or file" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 1  # a directory is no network file
    assert "no such built-in network or file" in capsys.readouterr().err
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["validate", str(binary)]) == 1
    assert capsys.readouterr().err.startswith("heatbalance: ")


# --- solve ----------------------------------------------------------------------------------
def test_solve_json_has_the_documented_fields(capsys) -> None:
    report = _json(capsys, ["solve", "estate12", "--json"])
    assert report["format"] == cli.SOLVE_FORMAT
    assert report["network"] == "estate12"
    assert len(report["inlets"]) == 12
    for row in report["inlets"]:
        assert set(row) >= INLET_KEYS
        assert row["flow_ratio"] == pytest.approx(row["flow_m3h"] / row["design_flow_m3h"], 1e-3)
        assert row["return_c"] < row["supply_c"] <= report["supply_c"]
    assert set(report["pump"]) >= {"head_m", "flow_m3h", "power_w", "speed"}
    assert report["pump"]["flow_m3h"] == pytest.approx(
        sum(r["flow_m3h"] for r in report["inlets"]), rel=1e-4
    )
    assert report["heat_kw"] == pytest.approx(sum(r["heat_kw"] for r in report["inlets"]), 1e-4)
    assert report["converged"] is True


def test_solve_json_of_households_counts_buildings_once(capsys) -> None:
    report = _json(capsys, ["solve", "households1200", "--json"])
    rows = report["inlets"]
    top = [r for r in rows if r["parent"] is None]
    assert len(top) == 40
    assert len(rows) == 1240
    assert report["pump"]["flow_m3h"] == pytest.approx(sum(r["flow_m3h"] for r in top), 1e-4)
    first = top[0]["id"]
    kids = [r for r in rows if r["parent"] == first]
    assert top[0]["flow_m3h"] == pytest.approx(sum(r["flow_m3h"] for r in kids), abs=1e-3)


def test_solve_table_is_aligned(capsys) -> None:
    assert main(["solve", "loop8", "--pump-speed", "0.6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("network loop8")
    header, rows, pump = lines[1], lines[2:-1], lines[-1]
    assert len(rows) == 8
    assert all(len(r) == len(header) for r in rows)
    for col in ("flow", "ratio", "valve ΔP"):  # numbers end where their heading ends
        end = header.index(col) + len(col)
        assert all(r[end - 1].isdigit() and r[end : end + 1] in ("", " ") for r in rows)
    assert "speed 0.60" in pump


def test_solve_options_outdoor_supply_and_bad_values(capsys) -> None:
    mild = _json(capsys, ["solve", "loop8", "--json", "--outdoor", "10"])
    assert mild["supply_c"] == pytest.approx(40.0)  # loop8's heating curve at +10 °C
    fixed = _json(capsys, ["solve", "loop8", "--json", "--supply", "55"])
    assert fixed["supply_c"] == 55.0
    assert main(["solve", "loop8", "--pump-speed", "0.1"]) == 1
    assert "outside the pump's VFD range" in capsys.readouterr().err
    assert main(["solve", "loop8", "--pump-speed", "fast"]) == 2
    assert "'fast' is not a number" in capsys.readouterr().err
    assert main(["solve", "loop8", "--outdoor", "nan"]) == 2
    assert "must be a finite number" in capsys.readouterr().err


def test_usage_errors_exit_2_and_help_exits_0(capsys) -> None:
    assert main([]) == 2
    assert "usage: heatbalance" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out


# --- simulate -------------------------------------------------------------------------------
def test_simulate_json_rows_and_totals(capsys) -> None:
    run = _json(capsys, ["simulate", "estate12", "--hours", "6", "--outdoor", "-8", "--json"])
    assert run["format"] == cli.SIMULATE_FORMAT
    assert [r["hour"] for r in run["rows"]] == [0, 1, 2, 3, 4, 5, 6]
    assert all(r["outdoor_c"] == -8.0 for r in run["rows"])
    assert run["rows"][0]["energy_kwh"] == 0
    energy = sum(r["energy_kwh"] for r in run["rows"])
    assert run["totals"]["heat_mwh"] == pytest.approx(energy / 1000, abs=1e-3)
    assert energy == pytest.approx(6 * run["rows"][0]["heat_kw"], rel=0.05)
    row = run["rows"][-1]
    assert row["room_min_c"] <= row["room_mean_c"] <= row["room_max_c"]
    assert row["flow_ratio_min"] < 1 < row["flow_ratio_max"]  # the built-ins start unbalanced


def test_simulate_every_and_step(capsys) -> None:
    run = _json(
        capsys,
        ["simulate", "loop8", "--hours", "2", "--step-min", "15", "--every", "30", "--json"],
    )
    assert [r["hour"] for r in run["rows"]] == [0, 0.5, 1.0, 1.5, 2.0]
    assert run["every_min"] == 30
    assert main(["simulate", "loop8", "--hours", "1", "--step-min", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("network loop8: 1 h in steps of 30 min")
    assert len(lines) == 2 + 2 + 1  # title, header, hour 0 and 1, totals


def test_simulate_season_follows_the_synthetic_profile(capsys) -> None:
    from custom_components.heatbalance.engine.simulator import outdoor_profile

    run = _json(
        capsys,
        ["simulate", "estate12", "--hours", "3", "--outdoor", "season", "--start-day", "70",
         "--seed", "4", "--json"],
    )  # fmt: skip
    expected = outdoor_profile(seed=4)[70 * 24 : 70 * 24 + 4]
    assert [r["outdoor_c"] for r in run["rows"]] == pytest.approx(expected.tolist(), abs=0.01)
    assert main(["simulate", "estate12", "--hours", "48", "--outdoor", "season",
                 "--start-day", "149"]) == 1  # fmt: skip
    assert "leaves the 150-day heating season" in capsys.readouterr().err


def test_simulate_reads_a_profile_file(capsys, tmp_path) -> None:
    profile = tmp_path / "winter.csv"
    profile.write_text("hour;temperature\n# a comment\n0;-3\n1;-4.5\n\n2;-6  # cold\n")
    run = _json(capsys, ["simulate", "loop8", "--hours", "2", "--outdoor", str(profile), "--json"])
    assert [r["outdoor_c"] for r in run["rows"]] == [-3.0, -4.5, -6.0]
    assert main(["simulate", "loop8", "--hours", "5", "--outdoor", str(profile)]) == 1
    assert "winter.csv holds 3 hourly values; 5 h need 6" in capsys.readouterr().err
    profile.write_text("-3\n-4\nwarm\n")
    assert main(["simulate", "loop8", "--hours", "1", "--outdoor", str(profile)]) == 1
    assert "winter.csv: line 3: 'warm' is not a temperature" in capsys.readouterr().err
    profile.write_text("-3\n99\n")
    assert main(["simulate", "loop8", "--hours", "1", "--outdoor", str(profile)]) == 1
    assert "line 2: 99 °C is not an outdoor temperature" in capsys.readouterr().err
    profile.write_text("# nothing\n")
    assert main(["simulate", "loop8", "--hours", "1", "--outdoor", str(profile)]) == 1
    assert "no temperatures in the file" in capsys.readouterr().err
    profile.write_bytes(b"\xff\xfe-3\n")
    assert main(["simulate", "loop8", "--hours", "1", "--outdoor", str(profile)]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_simulate_bad_options(capsys) -> None:
    assert main(["simulate", "loop8", "--hours", "1", "--outdoor", "cold"]) == 1
    assert "'cold' is not a number, 'season', or a profile file" in capsys.readouterr().err
    assert main(["simulate", "loop8", "--hours", "0"]) == 2
    assert "must be a number above zero" in capsys.readouterr().err
    assert main(["simulate", "loop8"]) == 2  # --hours is required
    assert main(["simulate", "loop8", "--hours", "1", "--step-min", "-5"]) == 2


def test_simulate_plot_writes_a_png(capsys, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "run.png"
    assert main(["simulate", "estate12", "--hours", "4", "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    missing = tmp_path / "no" / "such" / "dir.png"
    assert main(["simulate", "estate12", "--hours", "1", "--plot", str(missing)]) == 1
    assert "--plot: cannot write" in capsys.readouterr().err


def test_plot_without_matplotlib_says_how_to_get_it(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    assert main(["simulate", "loop8", "--hours", "1", "--plot", str(tmp_path / "x.png")]) == 1
    assert "--plot needs matplotlib" in capsys.readouterr().err


# --- the subcommand hook --------------------------------------------------------------------
def _fake_module(monkeypatch, name: str, module: types.ModuleType) -> None:
    monkeypatch.setitem(sys.modules, f"{cli.__package__}.{name}", module)
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", (*cli.SUBCOMMAND_MODULES, name))


def test_modules_in_the_list_add_subcommands(capsys, monkeypatch) -> None:
    def hello(args) -> int:
        if args.network == "fail":
            raise CliError("no greeting for fail")
        net = cli.load(args.network)
        cli.print_json({"hello": net.name})
        return 0

    def register(sub) -> None:
        p = sub.add_parser("hello")
        cli.add_network_argument(p)
        p.set_defaults(func=hello)

    module = types.ModuleType("cli_hello")
    module.register = register  # type: ignore[attr-defined]
    _fake_module(monkeypatch, "cli_hello", module)
    assert main(["hello", "loop8"]) == 0
    assert json.loads(capsys.readouterr().out) == {"hello": "loop8"}
    assert main(["hello", "fail"]) == 1
    assert capsys.readouterr().err == "heatbalance: no greeting for fail\n"


def test_missing_subcommand_modules_are_skipped_broken_ones_are_not(monkeypatch) -> None:
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("cli_not_written_yet",))
    assert cli.registrars() == [cli.register]
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("cli",))  # cli has no dependency problem
    assert len(cli.registrars()) == 2
    real_import = cli.importlib.import_module

    def broken(name: str):  # the module exists but imports something that does not
        if name.endswith(".cli_broken"):
            raise ModuleNotFoundError("No module named 'xyz'", name="xyz")
        return real_import(name)

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("cli_broken",))
    with pytest.raises(ModuleNotFoundError, match="xyz"):
        cli.registrars()


# --- the script -----------------------------------------------------------------------------
def test_scripts_heatbalance_runs_the_cli_from_any_directory(tmp_path) -> None:
    copy = tmp_path / "mine.yaml"
    shutil.copy(HERE / "loop8.yaml", copy)
    out = subprocess.run(
        [str(SCRIPT), "validate", "mine.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert out.stdout.startswith("OK loop8: 13 nodes")
    bad = subprocess.run(
        [str(SCRIPT), "solve", "nowhere"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("heatbalance: nowhere: no such built-in network or file")


def test_scripts_heatbalance_fills_one_venv_and_says_so_before_it_runs(tmp_path) -> None:
    """A checkout without .venv: the script says which venv it fills and runs
    `scripts/setup --cli <that venv>` (here a stand-in that only says how it was called): the
    engine's packages in one venv, not the two Home Assistant venvs of a full setup (which
    took about 15 minutes for a CLI that needs neither Home Assistant nor apt packages)."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("heatbalance", "lib.sh"):
        shutil.copy2(SCRIPT.parent / name, scripts / name)
    setup = scripts / "setup"
    setup.write_text('#!/usr/bin/env bash\necho "setup: stand-in ran with $*" >&2\nexit 1\n')
    setup.chmod(0o755)
    out = subprocess.run(
        [str(scripts / "heatbalance"), "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    notice, ran, args = out.stderr.partition("setup: stand-in ran with ")
    assert ran, out.stderr
    venv = re.search(rf"{re.escape(str(tmp_path))}/\.venv/(ha20\d\d) ", notice)
    assert venv, notice
    assert args.split() == ["--cli", venv.group(1)]
    assert f"scripts/setup --cli {venv.group(1)}" in notice


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen(
        [str(SCRIPT), "solve", "households1200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline().startswith("network households1200")
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 0
    assert "Traceback" not in err


def test_python_dash_m_engine_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "custom_components.heatbalance.engine", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert out.stdout.split() == builtin_names()


# --- errors from deeper down ----------------------------------------------------------------
def test_errors_of_the_models_become_one_line(capsys, monkeypatch, builtin) -> None:
    from custom_components.heatbalance.engine import loader
    from custom_components.heatbalance.engine.hydraulics import HydraulicError
    from custom_components.heatbalance.engine.model import Device

    net = builtin("households1200")
    first = next(i for i in net.inlets.values() if i.parent is None)
    first.device = Device("manual_ejector", kvs=40.0, mixing_ratio=1.0)
    monkeypatch.setattr(cli, "load", lambda source: net)
    for argv in (["solve", "x"], ["simulate", "x", "--hours", "1"]):
        assert main(argv) == 1
        assert "an ejector at a building that feeds households" in capsys.readouterr().err
    monkeypatch.undo()

    def no_solution(*args, **kwargs):
        raise HydraulicError("loop8: no hydraulic solution after 100 iterations")

    monkeypatch.setattr(cli, "solve_hydraulics", no_solution)
    assert main(["solve", "loop8"]) == 1
    assert (
        capsys.readouterr().err
        == "heatbalance: loop8: no hydraulic solution after 100 iterations\n"
    )
    monkeypatch.undo()

    def unreadable(source):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader, "load_network", unreadable)
    assert main(["validate", "secret.yaml"]) == 1
    assert "secret.yaml: cannot read: [Errno 13] Permission denied" in capsys.readouterr().err


def test_interrupt_exits_130(capsys, monkeypatch) -> None:
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_list", interrupted)
    assert main(["list"]) == 130
    assert capsys.readouterr().err == "heatbalance: interrupted\n"
