"""Load forecasting (§3.0.7-2) against the real simulated plant, and the ASHRAE G14 metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.forecast import (
    HOURS,
    N_FEATURES,
    ForecastBank,
    LoadForecaster,
    metrics,
)
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.networks import builtin_path
from custom_components.heatbalance.engine.simulator import Simulator, outdoor_profile

DAYS = 24


@pytest.fixture(scope="module")
def season() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Hourly outdoor temperatures, network load and per-inlet loads (kW) of estate12."""
    path = builtin_path("estate12")
    assert path is not None
    outdoor = outdoor_profile(days=DAYS, seed=3)
    sim = Simulator(load_network(path), outdoor=outdoor)
    total: list[float] = []
    per_inlet: dict[str, list[float]] = {iid: [] for iid in sim.ids}
    for _ in range(DAYS * HOURS):
        state = sim.state()
        total.append(state.heat_w / 1000.0)
        for iid, inlet in state.inlets.items():
            per_inlet[iid].append(inlet.heat_w / 1000.0)
        sim.advance(3600.0)
    return outdoor, np.array(total), {k: np.array(v) for k, v in per_inlet.items()}


def _train(model: LoadForecaster, outdoor: np.ndarray, load: np.ndarray, hours: int) -> None:
    for h in range(hours):
        assert model.observe(h * 3600.0, float(outdoor[h]), float(load[h]))


def test_held_out_day_is_predicted_within_ashrae_hourly_band(season) -> None:
    """Trained on 3 simulated weeks, the next day is forecast with CV(RMSE) well under 30 %.

    Guideline 14 accepts 30 % hourly CV(RMSE) for calibrated models; the project's goal is
    10 % (issue 3), which a forecast from the true outdoor temperature must reach here.
    """
    outdoor, load, _ = season
    model = LoadForecaster()
    train = (DAYS - 1) * HOURS
    _train(model, outdoor, load, train)
    predicted = model.forecast(train * 3600.0, outdoor[train:])
    assert predicted is not None
    assert predicted.shape == (HOURS,)
    cv, nmbe = metrics(load[train:], predicted)
    assert cv < 0.10
    assert abs(nmbe) < 0.05
    # it is a model of the weather, not a copy of yesterday: a colder day forecasts more load
    colder = model.forecast(train * 3600.0, outdoor[train:] - 5.0)
    assert colder is not None
    assert colder.sum() > predicted.sum() * 1.05


def test_per_inlet_bank_and_restore(season) -> None:
    """Every inlet gets its own model (§3.0.7-2); the JSON state restores the same forecast."""
    outdoor, load, per_inlet = season
    bank = ForecastBank(min_hours=48)
    train = (DAYS - 1) * HOURS
    for h in range(train):
        loads = {k: float(v[h]) for k, v in per_inlet.items()} | {"network": float(load[h])}
        bank.observe(h * 3600.0, float(outdoor[h]), loads)
    out = bank.forecast(train * 3600.0, outdoor[train:])
    assert set(out) == set(per_inlet) | {"network"}
    for key, series in per_inlet.items():
        pred = out[key]
        assert pred is not None
        assert metrics(series[train:], pred)[0] < 0.15, key
    again = ForecastBank.from_dict(json.loads(json.dumps(bank.as_dict())))
    restored = again.forecast(train * 3600.0, outdoor[train:])
    for key, pred in out.items():
        assert np.allclose(restored[key], pred)  # type: ignore[arg-type]


def test_not_enough_data_gives_none_not_a_number() -> None:
    model = LoadForecaster(min_hours=24)
    temps = [0.0] * HOURS
    assert model.forecast(0.0, temps) is None
    for h in range(20):
        model.observe(h * 3600.0, -2.0, 500.0)
    assert not model.ready
    assert model.coefficients() is None
    assert model.forecast(30 * 3600.0, temps) is None


def test_bad_input_is_flagged_and_ignored() -> None:
    model = LoadForecaster(min_hours=12)
    assert not model.observe(0.0, math.nan, 100.0)
    assert not model.observe(0.0, 1.0, math.inf)
    assert not model.observe(0.0, 1.0, "x")  # type: ignore[arg-type]
    assert model.rejected == 3
    for h in range(30):
        # several samples per hour are averaged into one row; a late sample is refused
        model.observe(h * 3600.0, 5.0 - h % 7, 100.0 + 10 * (h % 7))
        model.observe(h * 3600.0 + 1800.0, 5.0 - h % 7, 100.0 + 10 * (h % 7))
    assert not model.observe(3600.0, 0.0, 1.0)
    assert model.hours_seen == 29  # hour 29 is still being collected
    fc = model.forecast(30 * 3600.0, [5.0] * HOURS)
    assert fc is not None
    assert np.all(fc >= 0.0)
    assert model.forecast(29 * 3600.0, [5.0] * HOURS) is None  # cannot start in the past
    assert model.forecast(40 * 3600.0, [5.0] * 23) is None
    assert model.forecast(40 * 3600.0, [math.nan] * HOURS) is None
    assert model.forecast(math.inf, [5.0] * HOURS) is None


def test_gap_in_data_is_bridged() -> None:
    model = LoadForecaster(min_hours=12)
    for h in list(range(20)) + list(range(30, 50)):
        model.observe(h * 3600.0, -h % 5, 200.0 + 20.0 * (h % 5))
    assert model.hours_seen == 39
    assert model.forecast(60 * 3600.0, [0.0] * HOURS) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"forgetting": 0.5},
        {"ridge": -1.0},
        {"min_hours": 3},
        {"ridge": math.nan},
        {"utc_offset_s": 20 * 3600},
    ],
)
def test_bad_options_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        LoadForecaster(**kwargs)


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"version": 99},
        {"version": 1, "forgetting": 0.99},
        {**LoadForecaster().as_dict(), "xtx": [[1.0]]},
        {**LoadForecaster().as_dict(), "bin": []},
        # numbers taken unchecked before 17i (NaN made every forecast NaN)
        {**LoadForecaster().as_dict(), "xtx": [[math.nan] * N_FEATURES] * N_FEATURES},
        {**LoadForecaster().as_dict(), "xty": [math.inf] * N_FEATURES},
        {**LoadForecaster().as_dict(), "short_c": math.nan},
        {**LoadForecaster().as_dict(), "hours_seen": -1},
        {**LoadForecaster().as_dict(), "hours_seen": 10**400},
        {**LoadForecaster().as_dict(), "rejected": True},
        {**LoadForecaster().as_dict(), "min_hours": 72.5},
        {**LoadForecaster().as_dict(), "last_hour": 2.5},
        {**LoadForecaster().as_dict(), "bin": [math.nan, 0.0, 1]},
        {**LoadForecaster().as_dict(), "bin": [0.0, 0.0, -1]},
    ],
)
def test_bad_state_is_refused(state) -> None:
    with pytest.raises(ValueError):
        LoadForecaster.from_dict(state)
    with pytest.raises(ValueError):
        ForecastBank.from_dict({"models": {"a": state}})


def test_bank_refuses_bad_state() -> None:
    with pytest.raises(ValueError):
        ForecastBank.from_dict({"models": []})


def test_metrics_match_hand_computation() -> None:
    """ASHRAE Guideline 14: CV(RMSE)=√(Σe²/(n−p))/ȳ, NMBE=Σe/((n−p)ȳ), e = y − ŷ."""
    y = [10.0, 12.0, 8.0, 10.0]  # mean 10
    f = [9.0, 13.0, 8.0, 8.0]  # e = 1, −1, 0, 2: Σe = 2, Σe² = 6
    cv, nmbe = metrics(y, f)  # p = 1: n − p = 3
    assert cv == pytest.approx(math.sqrt(6.0 / 3.0) / 10.0)
    assert nmbe == pytest.approx(2.0 / (3.0 * 10.0))
    cv2, nmbe2 = metrics(y, f, n_params=2)
    assert cv2 == pytest.approx(math.sqrt(3.0) / 10.0)
    assert nmbe2 == pytest.approx(0.1)
    # a NaN pair is left out, not counted as zero error
    cv3, _ = metrics([*y, math.nan], [*f, 1.0])
    assert cv3 == pytest.approx(cv)


@pytest.mark.parametrize(
    ("y", "f"), [([1.0, 2.0], [1.0]), ([1.0], [1.0]), ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])]
)
def test_metrics_refuse_what_they_cannot_measure(y, f) -> None:
    with pytest.raises(ValueError):
        metrics(y, f)


def test_bank_refuses_unknown_options() -> None:
    with pytest.raises(ValueError):
        ForecastBank.from_dict({"options": {"colour": 1}, "models": {}})


def test_weekend_in_local_time_is_learned() -> None:
    """Unix time, China local time (UTC+8): weekend load differs and is forecast so."""
    from datetime import UTC, datetime, timedelta

    tz = timedelta(hours=8)
    start = datetime(2026, 11, 2, tzinfo=UTC) - tz  # Monday 00:00 local
    model = LoadForecaster(utc_offset_s=8 * 3600)
    rng = np.random.default_rng(0)
    for h in range(21 * HOURS):
        local = start + tz + timedelta(hours=h)
        outdoor = -3.0 + 4.0 * math.sin(h / 9.0) + rng.normal(0, 0.5)
        load = 500.0 - 20.0 * outdoor + (80.0 if local.weekday() >= 5 else 0.0)
        model.observe((start + timedelta(hours=h)).timestamp(), outdoor, load)
    saturday = (start + timedelta(days=26)).timestamp()  # Saturday 00:00 local
    monday = (start + timedelta(days=28)).timestamp()
    sat = model.forecast(saturday, [0.0] * HOURS)
    mon = model.forecast(monday, [0.0] * HOURS)
    assert sat is not None
    assert mon is not None
    assert float(np.mean(sat - mon)) == pytest.approx(80.0, abs=8.0)
