"""Day-ahead hourly heat-load forecasting (§3.0.7-2), fitted online in numpy.

The model is an energy signature extended by ridge regression: the hourly load is linear in

* the outdoor temperature now and its square (a heating curve is not a straight line),
* two exponentially smoothed outdoor temperatures (12 h and 48 h time constants) — the
  thermal inertia of buildings and of the water in the network,
* the time of day (two Fourier harmonics) and a weekend flag (occupancy, §3.0.7-2 asks
  for load forecasting; operators schedule by time of day and week).

Online fitting keeps only ``XᵀX`` and ``Xᵀy`` with exponential forgetting (one factor per
hour), so the state is small, serialisable and restorable by Home Assistant, and the model
follows the season. The ridge solution ``(XᵀX + λI)⁻¹Xᵀy`` is closed-form; λ is small and
does not penalise the intercept. Until ``min_hours`` complete hours have been seen the
forecaster answers ``None``: it never makes a number up.

Accuracy is judged with ASHRAE Guideline 14 (:func:`metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .diagnosis import STORED_MAX, stored_count, stored_number

HOURS = 24
_SHORT_TAU_H = 12.0
_LONG_TAU_H = 48.0
N_FEATURES = 10
_WEEK_S = 7 * 86400.0
_EPOCH_WEEKDAY = 3  # time 0 is the Unix epoch, 1970-01-01, a Thursday
_VERSION = 1


def _features(hour_s: float, outdoor: float, short: float, long: float) -> np.ndarray:
    """Regression row for the hour starting at ``hour_s`` (scaled to order one)."""
    day_phase = 2.0 * math.pi * ((hour_s % 86400.0) / 86400.0)
    weekday = int(((hour_s + _EPOCH_WEEKDAY * 86400.0) % _WEEK_S) // 86400.0)  # 0 = Monday
    return np.array(
        [
            1.0,
            outdoor / 10.0,
            (outdoor / 10.0) ** 2,
            short / 10.0,
            long / 10.0,
            math.sin(day_phase),
            math.cos(day_phase),
            math.sin(2.0 * day_phase),
            math.cos(2.0 * day_phase),
            1.0 if weekday >= 5 else 0.0,
        ]
    )


def _smooth(previous: float, value: float, tau_h: float) -> float:
    """One hourly step of an exponential smoother with time constant ``tau_h``."""
    keep = math.exp(-1.0 / tau_h)
    return previous * keep + value * (1.0 - keep)


class LoadForecaster:
    """Online ridge-regression load model of one network or one inlet (§3.0.7-2).

    Times are seconds since the Unix epoch (UTC); ``utc_offset_s`` places the day and the
    weekend in local time (China: 8 h).

    ``observe`` takes samples at any rate; they are averaged into clock hours, and each
    completed hour becomes one training row. ``forecast`` gives the next 24 hourly loads
    (kW) for a 24-hour outdoor-temperature forecast.
    """

    def __init__(
        self,
        *,
        forgetting: float = 0.998,
        ridge: float = 1e-3,
        min_hours: int = 72,
        utc_offset_s: float = 0.0,
    ) -> None:
        if not 0.9 <= forgetting <= 1.0:
            raise ValueError(f"forgetting factor must be within 0.9…1, not {forgetting:g}")
        if not ridge >= 0.0:
            raise ValueError(f"ridge λ must be ≥ 0, not {ridge:g}")
        if min_hours < N_FEATURES:
            raise ValueError(f"min_hours must be at least {N_FEATURES} (one per parameter)")
        self.forgetting = float(forgetting)
        self.ridge = float(ridge)
        self.min_hours = int(min_hours)
        if not math.isfinite(utc_offset_s) or abs(utc_offset_s) > 14 * 3600:
            raise ValueError(f"UTC offset must be within ±14 h, not {utc_offset_s!r} s")
        self.utc_offset_s = float(utc_offset_s)
        self.xtx = np.zeros((N_FEATURES, N_FEATURES))
        self.xty = np.zeros(N_FEATURES)
        self.hours_seen = 0
        self.rejected = 0  # samples dropped as non-finite (flagged, never used)
        self.short_c: float | None = None
        self.long_c: float | None = None
        self.last_hour: int | None = None  # index of the last completed hour
        self._bin_hour: int | None = None
        self._bin = [0.0, 0.0, 0]  # sum outdoor, sum load, count

    # --- learning -----------------------------------------------------------------------
    def observe(self, time_s: float, outdoor_c: float, load_kw: float) -> bool:
        """Take one measurement; False (and counted in ``rejected``) if it is unusable.

        Non-finite values and samples older than the hour being collected are dropped,
        never interpolated: a made-up hour would teach the model a made-up load.
        """
        values = (time_s, outdoor_c, load_kw)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            self.rejected += 1
            return False
        hour = int(time_s // 3600.0)
        if self._bin_hour is not None and hour < self._bin_hour:
            self.rejected += 1
            return False
        if self._bin_hour is not None and hour > self._bin_hour:
            self._close_hour()
        if self._bin_hour is None or hour != self._bin_hour:
            self._bin_hour = hour
            self._bin = [0.0, 0.0, 0]
        self._bin[0] += float(outdoor_c)
        self._bin[1] += float(load_kw)
        self._bin[2] += 1
        return True

    def _close_hour(self) -> None:
        """Turn the collected hour into a training row and update the smoothers."""
        assert self._bin_hour is not None
        count = int(self._bin[2])
        outdoor, load = self._bin[0] / count, self._bin[1] / count
        if self.last_hour is not None and self._bin_hour - self.last_hour > 1:
            self._bridge(self._bin_hour - self.last_hour - 1, outdoor)
        self._advance_smoothers(outdoor)
        local_s = self._bin_hour * 3600.0 + self.utc_offset_s
        row = _features(local_s, outdoor, *self._smoothed())
        self.xtx = self.forgetting * self.xtx + np.outer(row, row)
        self.xty = self.forgetting * self.xty + row * load
        self.hours_seen += 1
        self.last_hour = self._bin_hour

    def _bridge(self, missing: int, outdoor: float) -> None:
        """Carry the smoothers over missing hours with the next known temperature."""
        for _ in range(min(missing, int(4 * _LONG_TAU_H))):
            self._advance_smoothers(outdoor)

    def _advance_smoothers(self, outdoor: float) -> None:
        """One hour of both exponential smoothers (started at the first value)."""
        if self.short_c is None or self.long_c is None:
            self.short_c = self.long_c = outdoor
        else:
            self.short_c = _smooth(self.short_c, outdoor, _SHORT_TAU_H)
            self.long_c = _smooth(self.long_c, outdoor, _LONG_TAU_H)

    def _smoothed(self) -> tuple[float, float]:
        assert self.short_c is not None
        assert self.long_c is not None
        return self.short_c, self.long_c

    # --- predicting ---------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Enough complete hours to fit every parameter with some to spare."""
        return self.hours_seen >= self.min_hours

    def coefficients(self) -> np.ndarray | None:
        """Ridge solution (intercept not penalised), or None before ``ready``."""
        if not self.ready:
            return None
        penalty = np.full(N_FEATURES, self.ridge * max(float(np.trace(self.xtx)), 1.0) / N_FEATURES)
        penalty[0] = 0.0
        try:
            return np.linalg.solve(self.xtx + np.diag(penalty), self.xty)
        except np.linalg.LinAlgError:
            return None

    def forecast(
        self, start_s: float, outdoor_forecast_c: Sequence[float] | np.ndarray
    ) -> np.ndarray | None:
        """The 24 hourly loads (kW) from ``start_s`` for a 24-hour outdoor forecast.

        None when the model is not ready, or the forecast is not 24 finite values, or
        ``start_s`` lies before the last learned hour (the smoothers cannot run back).
        Loads are clipped at zero: a heating network does not give heat back.
        """
        coef = self.coefficients()
        temps = np.asarray(outdoor_forecast_c, dtype=float)
        if coef is None or temps.shape != (HOURS,) or not np.all(np.isfinite(temps)):
            return None
        if not math.isfinite(start_s) or self.last_hour is None:
            return None
        first = int(start_s // 3600.0)
        if first <= self.last_hour or (self._bin_hour is not None and first <= self._bin_hour):
            return None
        short, long = self._smoothed()
        last = self.last_hour
        keep_s, keep_l = math.exp(-1.0 / _SHORT_TAU_H), math.exp(-1.0 / _LONG_TAU_H)
        if self._bin_hour is not None and self._bin_hour > last and self._bin[2]:
            # the hour being collected is known, if not yet learned: it leads the forecast
            seen = self._bin[0] / int(self._bin[2])
            short = short * keep_s + seen * (1 - keep_s)
            long = long * keep_l + seen * (1 - keep_l)
            last = self._bin_hour
        for _ in range(min(first - last - 1, int(4 * _LONG_TAU_H))):
            short = short * keep_s + temps[0] * (1 - keep_s)
            long = long * keep_l + temps[0] * (1 - keep_l)
        out = np.empty(HOURS)
        for k, t in enumerate(temps.tolist()):
            short = short * keep_s + t * (1 - keep_s)
            long = long * keep_l + t * (1 - keep_l)
            local_s = (first + k) * 3600.0 + self.utc_offset_s
            out[k] = float(_features(local_s, t, short, long) @ coef)
        return np.maximum(out, 0.0)

    # --- persistence --------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state (Home Assistant stores it and restores the model on restart)."""
        return {
            "version": _VERSION,
            "forgetting": self.forgetting,
            "ridge": self.ridge,
            "min_hours": self.min_hours,
            "utc_offset_s": self.utc_offset_s,
            "xtx": self.xtx.tolist(),
            "xty": self.xty.tolist(),
            "hours_seen": self.hours_seen,
            "rejected": self.rejected,
            "short_c": self.short_c,
            "long_c": self.long_c,
            "last_hour": self.last_hour,
            "bin_hour": self._bin_hour,
            "bin": list(self._bin),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadForecaster:
        """Restore :meth:`as_dict`; a ValueError names what is wrong with a bad state.

        Every number is checked by the loop's one rule (:func:`.diagnosis.stored_number`,
        ``stored_count``): before, ``float``/``int`` took NaN (in the sums: every forecast
        NaN), −1 counts, 2.5 and True, and an int beyond a float's range escaped as
        OverflowError."""
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise ValueError("not a load-forecaster state of a known version")
        try:
            model = cls(
                forgetting=stored_number(data["forgetting"]),
                ridge=stored_number(data["ridge"]),
                min_hours=stored_count(data["min_hours"]),
                utc_offset_s=stored_number(data.get("utc_offset_s", 0.0)),
            )
            xtx = np.asarray(data["xtx"], dtype=float)
            xty = np.asarray(data["xty"], dtype=float)
            if xtx.shape != (N_FEATURES, N_FEATURES) or xty.shape != (N_FEATURES,):
                raise ValueError("matrix shapes do not match the model")
            if not (np.abs(xtx).max() <= STORED_MAX and np.abs(xty).max() <= STORED_MAX):
                raise ValueError("the model's sums are not finite numbers")  # NaN fails too
            model.xtx, model.xty = xtx, xty
            model.hours_seen = stored_count(data["hours_seen"])
            model.rejected = stored_count(data["rejected"])
            model.short_c = _opt_float(data["short_c"])
            model.long_c = _opt_float(data["long_c"])
            model.last_hour = _opt_int(data["last_hour"])
            model._bin_hour = _opt_int(data["bin_hour"])
            b = data["bin"]
            model._bin = [stored_number(b[0]), stored_number(b[1]), stored_count(b[2])]
        except (KeyError, TypeError, IndexError, OverflowError) as err:
            raise ValueError(f"load-forecaster state is incomplete: {err}") from None
        return model


def _opt_float(value: Any) -> float | None:
    return None if value is None else stored_number(value)


def _opt_int(value: Any) -> int | None:
    """A stored hour index (whole, maybe before 1970) or None."""
    if value is None:
        return None
    if not (type(value) is int and abs(value) <= STORED_MAX):
        raise ValueError(f"not a stored hour: {value!r}")
    return value


def metrics(
    actual: Sequence[float] | np.ndarray,
    predicted: Sequence[float] | np.ndarray,
    n_params: int = 1,
) -> tuple[float, float]:
    """CV(RMSE) and NMBE (both as fractions) per ASHRAE Guideline 14-2014.

    With measured ``y``, model ``ŷ``, ``n`` points, ``p`` parameters and mean ``ȳ``::

        CV(RMSE) = sqrt( Σ (yᵢ − ŷᵢ)² / (n − p) ) / ȳ
        NMBE     = Σ (yᵢ − ŷᵢ) / ((n − p) · ȳ)

    NMBE is positive when the model under-predicts. ``p`` defaults to 1, as the guideline
    uses it for calibrated simulations; pass the model's parameter count for a regression
    judged on its training data. Pairs with a non-finite value are left out. A ValueError
    says why the metrics do not exist (length mismatch, n ≤ p, mean load not above zero).
    """
    y = np.asarray(actual, dtype=float).ravel()
    f = np.asarray(predicted, dtype=float).ravel()
    if y.shape != f.shape:
        raise ValueError(f"{y.size} measured values but {f.size} predicted")
    keep = np.isfinite(y) & np.isfinite(f)
    y, f = y[keep], f[keep]
    n, p = y.size, int(n_params)
    if n <= p:
        raise ValueError(f"need more points than parameters (n={n}, p={p})")
    mean = float(y.mean())
    if not mean > 0.0:
        raise ValueError("the mean measured load must be above zero")
    resid = y - f
    cv = math.sqrt(float(resid @ resid) / (n - p)) / mean
    nmbe = float(resid.sum()) / ((n - p) * mean)
    return cv, nmbe


class ForecastBank:
    """One :class:`LoadForecaster` per key (the network and each inlet, §3.0.7-2)."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.models: dict[str, LoadForecaster] = {}

    def observe(self, time_s: float, outdoor_c: float, loads_kw: dict[str, float]) -> None:
        """Feed every key's load for one instant (new keys get a fresh model)."""
        for key, load in loads_kw.items():
            if key not in self.models:
                self.models[key] = LoadForecaster(**self.options)
            self.models[key].observe(time_s, outdoor_c, load)

    def forecast(
        self, start_s: float, outdoor_forecast_c: Sequence[float] | np.ndarray
    ) -> dict[str, np.ndarray | None]:
        """Day-ahead forecast of every key (None where that model is not ready)."""
        return {k: m.forecast(start_s, outdoor_forecast_c) for k, m in self.models.items()}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state of all models."""
        return {
            "options": dict(self.options),
            "models": {k: m.as_dict() for k, m in self.models.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecastBank:
        """Restore :meth:`as_dict`."""
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            raise ValueError("not a forecast-bank state")
        options = dict(data.get("options") or {})
        try:
            LoadForecaster(**options)  # the options must make a model
        except TypeError as err:
            raise ValueError(f"forecast-bank options are not valid: {err}") from None
        bank = cls(**options)
        bank.models = {str(k): LoadForecaster.from_dict(v) for k, v in data["models"].items()}
        return bank
