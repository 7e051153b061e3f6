"""``balance`` and ``commission`` on the command line (docs/cli.md), run in-process."""

from __future__ import annotations

import json

import pytest

from custom_components.heatbalance.engine.cli import main
from custom_components.heatbalance.engine.cli_balance import (
    Decision,
    Disturbances,
    _print_balance,
    _print_record,
    run_balance,
    steps_to_band,
)
from custom_components.heatbalance.engine.commissioning import commission
from custom_components.heatbalance.engine.model import Device
from devtools.network_shapes import design_off

from .nets import chain
from .test_control_closed_loop import all_open

STEP_KEYS = {"step", "in_band_share", "spread_k", "worst_flow_deviation", "pump_power_w"}


def _json(capsys, argv: list[str]) -> dict:
    """Run the CLI, expect success and one JSON object on one line."""
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def _error(capsys, argv: list[str]) -> str:
    """Run the CLI, expect exit 1 and a one-line error without traceback."""
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("heatbalance: ")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    return captured.err


def test_balance_json_fields_and_convergence(capsys) -> None:
    """The documented fields; from the unbalanced start the model controller reaches band."""
    report = _json(capsys, ["balance", "estate12", "--level", "intermediate", "--json"])
    for key in ("network", "level", "target", "steps", "steps_to_band", "oracle"):
        assert key in report
    assert report["network"] == "estate12"
    assert report["level"] == "intermediate"
    assert report["target"] == "flow"
    assert set(report["oracle"]) == {"pump_power_w", "spread_k"}
    rows = report["steps"]
    assert [r["step"] for r in rows] == list(range(13))  # the start, then 12 steps
    for row in rows:
        assert set(row) >= STEP_KEYS
    assert not rows[0]["in_band"]  # the built-in starts unbalanced
    assert rows[0]["worst_flow_deviation"] > 0.5
    reached = report["steps_to_band"]
    assert reached is not None
    assert reached <= 3
    assert all(r["in_band"] for r in rows[reached:])
    assert not rows[reached - 1]["in_band"]
    assert rows[-1]["pump_power_w"] < rows[0]["pump_power_w"]


def test_steps_to_band_is_the_start_of_the_final_run() -> None:
    """In band, out again, then in to the end: counted from the last entry."""
    rows = [{"step": k, "in_band": v} for k, v in enumerate([0, 1, 1, 0, 1, 1])]
    assert steps_to_band(rows) == 4
    assert steps_to_band([{"step": 0, "in_band": True}]) == 0
    assert steps_to_band([*rows, {"step": 6, "in_band": False}]) is None


def test_balance_table_with_noise_and_fault(capsys) -> None:
    """Human output: a row per step and the oracle line; a stuck valve is accepted."""
    argv = ["balance", "loop8", "--steps", "3", "--noise", "0.01", "--fault", "stuck:B3:0.3"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("network loop8")
    assert "oracle: pump" in lines[2 + 4]
    # the loop's own verdicts, on its estimates and on the readings (issue 9 item 1)
    assert lines[2 + 4 + 1].startswith("shown in band from step")
    assert lines[2 + 4 + 2].startswith("learned: pipe resistances")  # §3.0.7-3, then residuals
    assert all(line.startswith("learned: ") for line in lines[2 + 4 + 2 :])


def test_balance_errors_are_one_line(capsys) -> None:
    """Unknown network, bad level or target, bad fault, bad numbers: exit 1, one line."""
    assert "no-such-net" in _error(capsys, ["balance", "no-such-net", "--level", "advanced"])
    assert "--alarm-cycles" in _error(capsys, ["balance", "loop8", "--alarm-cycles", "0"])
    assert "unknown level" in _error(capsys, ["balance", "loop8", "--level", "expert"])
    assert "unknown target" in _error(capsys, ["balance", "loop8", "--target", "colour"])
    assert "§4.1.1" in _error(
        capsys, ["balance", "loop8", "--level", "primary", "--target", "room"]
    )
    assert "stuck:INLET" in _error(capsys, ["balance", "loop8", "--fault", "melted:B1"])
    assert "not a number" in _error(capsys, ["balance", "loop8", "--fault", "stuck:B1:x"])
    assert "finite" in _error(capsys, ["balance", "loop8", "--fault", "stuck:B1:nan"])
    assert "B99" in _error(capsys, ["balance", "loop8", "--fault", "stuck:B99"])
    assert "within 0…1" in _error(capsys, ["balance", "loop8", "--fault", "stuck:B1:2"])
    assert "--noise" in _error(capsys, ["balance", "loop8", "--noise", "-0.1"])
    assert "--steps" in _error(capsys, ["balance", "loop8", "--steps", "0"])
    assert "algorithm" in _error(capsys, ["balance", "loop8", "--algorithm", "magic"])


def test_dropouts_hold_positions_and_do_not_crash(builtin) -> None:
    """Lost readings: the controller holds those inlets; the run still completes."""
    report = run_balance(
        builtin("loop8"),
        level="intermediate",
        target="flow",
        steps=4,
        disturbances=Disturbances(dropout=0.5, noise=0.02),
        seed=3,
    )
    assert len(report["steps"]) == 5
    assert report["noise"] == 0.02
    openings = report["final"]["openings"]
    assert set(openings) == {f"B{k}" for k in range(1, 9)}
    assert all(0.0 <= h <= 1.0 for h in openings.values())  # lost readings never give NaN


def test_further_bands_are_judged_every_step(builtin) -> None:
    """``also``: the benchmark's intermediate and advanced verdicts in the same run."""
    report = run_balance(
        builtin("estate12"),
        level="advanced",
        target="flow",
        steps=3,
        also=(("intermediate", "flow"), ("advanced", "return")),
    )
    rows = report["steps"]
    assert set(rows[0]["also"]) == {"intermediate:flow", "advanced:return"}
    assert rows[0]["also"]["intermediate:flow"] is False
    assert rows[-1]["also"]["intermediate:flow"] is True
    # The advanced flow band is narrower than the intermediate one (§8.2.3, §8.2.4).
    assert all(r["also"]["intermediate:flow"] for r in rows if r["in_band"])


def test_outdoor_step_and_custom_controller(builtin) -> None:
    """A controller that does nothing leaves the plant as it was; the outdoor step lands."""
    calls = []

    def idle(state, rng) -> Decision:
        calls.append(state.outdoor_c)
        return Decision()

    report = run_balance(
        builtin("loop8"),
        level="primary",
        target="flow",
        steps=3,
        disturbances=Disturbances(outdoor_step=(1, -10.0)),
        controller=idle,
    )
    assert calls == [-9.0, -19.0, -19.0]
    assert report["steps_to_band"] is None
    flows = {r["worst_flow_deviation"] for r in report["steps"]}
    assert len(flows) == 1  # nothing moved


def test_commission_json_and_table(capsys) -> None:
    """``commission --json`` is the §7.2.6 record; the table names every inlet."""
    record = _json(capsys, ["commission", "estate12", "--json"])
    assert record["format"] == "heatbalance.commissioning/1"
    assert record["network"] == "estate12"
    assert len(record["inlets"]) == 12
    assert all(abs(r["flow_deviation"]) < 1e-3 for r in record["inlets"])
    assert main(["commission", "loop8", "--basis", "area"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("commissioning record loop8")
    assert sum(line.startswith("B") for line in out) == 8
    assert any(line.startswith("pump: speed") for line in out)


def test_commission_errors_are_one_line(capsys, tmp_path) -> None:
    """Unknown network and a network that cannot be commissioned."""
    assert "nope" in _error(capsys, ["commission", "nope"])
    assert main(["commission", "loop8", "--basis", "volume"]) == 2  # argparse choices
    capsys.readouterr()


@pytest.mark.parametrize("kind", ["blockage:B2:0.3", "blockage:B2"])
def test_blockage_fault_runs(capsys, kind: str) -> None:
    """A blocked valve (Kv × 0.3) is injected before the first step and reported."""
    report = _json(capsys, ["balance", "loop8", "--steps", "2", "--fault", kind, "--json"])
    assert len(report["steps"]) == 3
    assert report["faults"] == [kind]
    assert report["dropout"] == 0.0


def test_traditional_pi_runs_and_moves_toward_band(capsys) -> None:
    """``--algorithm traditional``: the engine's PI controller closes the gap step by step."""
    report = _json(
        capsys, ["balance", "estate12", "--algorithm", "traditional", "--steps", "4", "--json"]
    )
    assert report["algorithm"] == "traditional"
    worst = [abs(r["worst_flow_deviation"]) for r in report["steps"]]
    assert worst[-1] < worst[0]
    reached = report["steps_to_band"]
    if reached is not None:
        assert all(r["in_band"] for r in report["steps"][reached:])


def test_commission_table_names_every_kind_of_setting(capsys) -> None:
    """Valve turns, ejector mixing ratio, flow and ΔP setpoints, pump frequency, no device."""
    net = chain(6, diameter_mm=150.0)
    net.substation.pump.design_head_m, net.substation.pump.shutoff_head_m = 24.0, 30.0
    net.inlets["B1"].device = Device(type="static_valve", kvs=40.0)
    net.inlets["B2"].device = Device(type="flow_valve", kvs=40.0, setpoint=1.0)
    net.inlets["B3"].device = Device(type="dp_valve", kvs=40.0, setpoint=5.0)
    net.inlets["B4"].device = Device(type="manual_ejector", kvs=40.0)
    net.inlets["B5"].device = Device(type="distributed_pump", pump_head_m=8.0, pump_flow_m3h=25.0)
    net.inlets["B6"].device = Device(type="none")
    _print_record(commission(net))
    out = capsys.readouterr().out
    assert "turns" in out
    assert "mixing ratio" in out
    assert "m3/h" in out
    assert "kPa" in out
    assert "Hz (speed" in out
    assert "flow not adjustable" in out


def _alarm_lines(capsys, argv: list[str]) -> list[str]:
    assert main(argv) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("alarm")]


def test_a_supply_too_cold_for_the_load_is_reported_with_its_figures(capsys) -> None:
    """§4.1.1, §5.3.8-3: estate12's simulated supply stays at the design 60 °C; at −19 °C
    outdoors the rooms need ≈62 °C, so the loop's ``supply_too_cold`` network alarm (graded
    as in HA: after ``--alarm-cycles``) is in the table's report and in the JSON, with its
    grade and figures; on the design day neither has one."""
    argv = ["balance", "estate12", "--steps", "4", "--outdoor", "-19", "--alarm-cycles", "2"]
    (line,) = _alarm_lines(capsys, argv)
    assert line.startswith("alarm (warning, deviation): supply_too_cold on the network, steps 1–3")
    assert "value 60.0, needed 62.1, outdoor -19.0, count 12" in line
    report = _json(capsys, [*argv, "--json"])
    (alarm,) = report["alarms"]
    assert (alarm["reason"], alarm["grade"], alarm["first_step"]) == (
        "supply_too_cold",
        "warning",
        1,
    )
    assert 61.0 < float(alarm["values"]["needed"]) < 64.0
    assert [r.get("alarms") for r in report["steps"]] == [[], *[["supply_too_cold"]] * 3, None]
    assert (
        _alarm_lines(capsys, ["balance", "estate12", "--steps", "4", "--alarm-cycles", "2"]) == []
    )
    assert _json(capsys, ["balance", "estate12", "--steps", "2", "--json"])["alarms"] == []


def test_a_pump_short_of_water_is_reported(capsys) -> None:
    """§5.3.6-5: design loads ×1.3 beyond what the pump carries (devtools' gen20 shape):
    the loop's ``pump_capacity`` alarm and the share it carries are in the report."""
    short = all_open(design_off(buildings=12, seed=91, factor=1.3))
    report = run_balance(short, level="advanced", target="flow", steps=4, alarm_cycles=2)
    alarm = next(a for a in report["alarms"] if a["reason"] == "pump_capacity")
    assert alarm["grade"] == "warning"
    assert 50.0 < float(alarm["values"]["value"]) < 100.0
    _print_balance(report)
    out = capsys.readouterr().out
    assert f"pump_capacity on the network, steps {alarm['first_step']}–" in out
    assert f"value {alarm['values']['value']}" in out


def test_a_supply_low_for_the_flow_band_is_reported_with_its_figures(capsys) -> None:
    """§4.1.1, §5.3.8-3 (22g): at −12 °C, 3 K below design, estate12's fixed 60 °C supply
    heats the rooms only with ≈1.7× the set flow: the loop's ``supply_low_for_flow`` network
    alarm (judged over its window, then graded after ``--alarm-cycles``) is in the report
    with the supply the set flow needs and the flow the return setpoint needs; not
    ``supply_too_cold``, and nothing on the design day over as many steps."""
    argv = ["balance", "estate12", "--steps", "11", "--outdoor", "-12", "--alarm-cycles", "2"]
    (line,) = _alarm_lines(capsys, argv)
    assert line.startswith("alarm (warning, deviation): supply_low_for_flow on the network")
    assert "value 60.0, needed 63." in line
    assert "outdoor -12.0, count 12" in line
    report = _json(capsys, [*argv, "--json"])
    (alarm,) = report["alarms"]
    assert (alarm["reason"], alarm["grade"]) == ("supply_low_for_flow", "warning")
    assert 150 <= int(alarm["values"]["flow"]) <= 190
    design = ["balance", "estate12", "--steps", "11", "--alarm-cycles", "2"]
    assert _alarm_lines(capsys, design) == []
