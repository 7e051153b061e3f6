"""Operating reports from the archive (§5.3.9-3/-5): day, week, month, season, year.

Per network and per inlet: balance effect (share in band, spread, worst deviation, time to
balance after each disturbance), heat delivered in total and per m², flows and temperatures,
pump electricity, over- and underheating degree-hours, alarms with their durations, device
availability and first-try transmission rate (§6.0.6), forecast against actual.
Written as CSV and XLSX for analysis (openpyxl: the maintained XLSX writer, pure Python) and
as a printable A4 PDF with trend charts and tables in English or Chinese (matplotlib: charts
and multi-page PDF in one library, already a test dependency, wheels for musllinux). No Home
Assistant here: the integration calls it in the executor.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from .archive import ROLLUP_SUMS, Archive, period

KINDS = ("day", "week", "month", "season", "year")
FORMATS = ("pdf", "xlsx", "csv")
PDF_INLET_ROWS = 40  # the PDF lists the worst inlets; the XLSX and CSV list them all
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
# every printed text: key → (English, Chinese)
LABELS: dict[str, tuple[str, str]] = {
    "title": ("Operating report", "运行报表"),
    "period": ("Period", "报表周期"),
    "day": ("day", "日报"),
    "week": ("week", "周报"),
    "month": ("month", "月报"),
    "season": ("heating season", "采暖季报"),
    "year": ("year", "年报"),
    "share_in_band": ("Share of inlets in band %", "达标热力入口比例 %"),
    "spread": ("Spread of deviations", "偏差离散度"),
    "worst_deviation": ("Worst deviation", "最大偏差"),
    "balance_episodes": ("Disturbances regulated", "扰动调节次数"),
    "time_to_balance_h": ("Mean time to balance h", "平均达到平衡时间 h"),
    "max_time_to_balance_h": ("Longest time to balance h", "最长达到平衡时间 h"),
    "heat_kwh": ("Heat delivered kWh", "供热量 kWh"),
    "heat_kwh_measured": ("… of it measured kWh", "其中实测 kWh"),
    "heat_kwh_estimated": ("… of it estimated kWh", "其中估算 kWh"),
    "estimated_cycles": ("Cycles with estimated heat", "热量为估算的周期数"),
    "heat_kwh_m2": ("Heat per m² kWh", "单位面积供热量 kWh/m²"),
    "pump_kwh": ("Pump electricity kWh", "水泵耗电量 kWh"),
    "over_dh": ("Overheating degree-hours Kh", "过热度时 Kh"),
    "under_dh": ("Underheating degree-hours Kh", "欠热度时 Kh"),
    "alarms": ("Alarms", "报警次数"),
    "alarm_hours": ("Alarm duration h", "报警持续时间 h"),
    "availability": ("Device availability %", "设备在线率 %"),
    "first_try": ("First-try transmission %", "一次传输成功率 %"),
    "forecast_error": ("Forecast error (MAPE) %", "负荷预测误差 %"),
    "outdoor_c": ("Mean outdoor °C", "平均室外温度 °C"),
    "cycles": ("Control cycles", "调控周期数"),
    "inlet": ("Inlet", "热力入口"),
    "flow": ("Mean flow m³/h", "平均流量 m³/h"),
    "supply": ("Supply °C", "供水温度 °C"),
    "return": ("Return °C", "回水温度 °C"),
    "trend_balance": ("Balance effect per day", "每日平衡效果"),
    "trend_heat": ("Heat per day: actual and forecast", "每日供热量：实际与预测"),
    "forecast": ("forecast", "预测"),
    "actual": ("actual", "实际"),
    "estimated": ("≈ estimated", "≈ 估算"),
    "worst_inlets": ("Inlets, worst first", "热力入口（按达标率升序）"),
    "all_inlets_in_xlsx": ("all {n} inlets are in the XLSX", "全部 {n} 个入口见 XLSX 文件"),
    "alarm_list": ("Alarms and durations", "报警及持续时间"),
    "type": ("Type", "类型"),
    "location": ("Location", "位置"),
    "raised": ("Raised", "发生时间"),
    "duration_h": ("Duration h", "持续 h"),
    "acknowledged_by": ("Acknowledged by", "确认人"),
    "page": ("page", "页"),
    "no_data": ("no records in this period", "本周期无记录"),
}


@dataclass
class Report:
    """A report's figures, ready for any format."""

    network: str
    kind: str
    first: date
    end: date  # the day after the last
    summary: dict[str, float | int | None] = field(default_factory=dict)
    days: list[dict[str, Any]] = field(default_factory=list)
    inlets: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """File stem: kind and first day."""
        return f"{self.kind}-{self.first.isoformat()}"


def _ts(archive: Archive, day: date) -> float:
    return datetime.combine(day, time(), archive.tz).timestamp()


def _ratio(num: float | None, den: float | None, scale: float = 1.0) -> float | None:
    return None if not den or num is None else num / den * scale


def _mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values there are (None: none)."""
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def build_report(archive: Archive, network: str, title: str, kind: str, day: date) -> Report:
    """The report of the ``kind`` period containing ``day``."""
    first, end = period(kind, day)
    report = Report(title, kind, first, end)
    start_ts, end_ts = _ts(archive, first), _ts(archive, end)
    series = archive.network_series(network, start_ts, end_ts)
    report.days = _days(series)
    report.inlets = _inlets(archive, network, first, end)
    report.alarms = _alarms(archive.events_between(network, start_ts, end_ts, ["alarm"]), end_ts)
    report.audit = archive.events_between(network, start_ts, end_ts, ["audit"])
    report.summary = _summary(series, report)
    return report


def _days(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-day network figures from the cycles."""
    by_day: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in series:
        by_day[row["day"]].append(row)
    out = []
    for day, rows in sorted(by_day.items()):
        paired = [r for r in rows if r["forecast_kw"] is not None and r["heat_kw"] is not None]
        estimated = [r for r in rows if r.get("heat_estimated")]
        out.append(
            {
                "day": date.fromordinal(day),
                "cycles": len(rows),
                "share_in_band": _mean(r["share_in_band"] for r in rows),
                "heat_kwh": _kwh(rows),
                "heat_kwh_measured": _kwh(r for r in rows if not r.get("heat_estimated")),
                "heat_kwh_estimated": _kwh(estimated),
                "estimated_cycles": len(estimated),
                "forecast_kwh": sum(r["forecast_kw"] * r["dt_s"] for r in paired) / 3600
                if paired
                else None,
                "actual_kwh_forecast": sum(r["heat_kw"] * r["dt_s"] for r in paired) / 3600,
                "pump_kwh": sum((r["pump_power_w"] or 0.0) * r["dt_s"] for r in rows) / 3.6e6,
                "outdoor_c": _mean(r["outdoor_c"] for r in rows),
            }
        )
    return out


def _kwh(rows: Iterable[dict[str, Any]]) -> float:
    """The network heat of these cycles (kWh). A cycle whose heat was the engine's estimate
    (``heat_estimated``: a meter lost or rejected, issue 10 item 3) counts whole on the
    estimated side — the line the heat power sensor and the energy sensor draw; cycles
    archived before schema 3 carry no flag and count as measured, as they were shown."""
    return float(sum((r["heat_kw"] or 0.0) * r["dt_s"] for r in rows)) / 3600


def _inlets(archive: Archive, network: str, first: date, end: date) -> list[dict[str, Any]]:
    """Per-inlet figures from the daily roll-ups, worst share in band first."""
    names = {
        v["id"]: (iid, v["name"], v["area_m2"]) for iid, v in archive.inlet_table(network).items()
    }
    totals = archive.inlet_totals(network, first.toordinal(), end.toordinal() - 1)
    acc = {row["inlet"]: {k: row[k] or 0.0 for k in ROLLUP_SUMS} for row in totals}
    worst = {row["inlet"]: row["max_abs_dev"] for row in totals}
    out = []
    for ref, a in acc.items():
        iid, name, area = names.get(ref, (str(ref), None, None))
        out.append(
            {
                "inlet": iid,
                "name": name or iid,
                "share_in_band": _ratio(a["in_band"], a["judged"], 100),
                "mean_abs_deviation": _ratio(a["abs_dev_sum"], a["judged"]),
                "worst_deviation": worst.get(ref),
                "heat_kwh": a["heat_kwh"],
                "heat_kwh_m2": _ratio(a["heat_kwh"], area),
                "flow": _ratio(a["flow_sum"], a["measured"]),
                "supply": _ratio(a["supply_sum"], a["measured"]),
                "return": _ratio(a["return_sum"], a["measured"]),
                "over_dh": a["over_dh"],
                "under_dh": a["under_dh"],
                "availability": _ratio(a["measured"], a["cycles"], 100),
                "first_try": _ratio(a["received"], a["attempted"], 100),
                "area_m2": area,
            }
        )
    out.sort(key=lambda r: (r["share_in_band"] is None, r["share_in_band"] or 0.0))
    return out


def _alarms(events: list[dict[str, Any]], end_ts: float) -> list[dict[str, Any]]:
    """Alarm episodes: raised → cleared (or still active at the period's end)."""
    open_: dict[tuple[str, str], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for ev in events:
        key = (str(ev["details"].get("alarm_type")), str(ev["location"]))
        if ev["action"] == "raised":
            episode = {
                "type": key[0],
                "location": ev["details"].get("location_name") or key[1],
                "grade": ev["details"].get("grade"),
                "raised": datetime.fromtimestamp(ev["ts"]).isoformat(timespec="minutes"),
                "raised_ts": ev["ts"],
                "duration_h": None,
                "acknowledged_by": None,
            }
            open_[key] = episode
            out.append(episode)
        elif (active := open_.get(key)) is not None:
            if ev["action"] == "acknowledged":
                active["acknowledged_by"] = ev["user_name"] or ev["user_id"] or "automation"
            elif ev["action"] == "cleared":
                active["duration_h"] = (ev["ts"] - active["raised_ts"]) / 3600
                del open_[key]
    for episode in open_.values():  # still active: counted to the period's end
        episode["duration_h"] = (end_ts - episode["raised_ts"]) / 3600
    return out


def _balance_episodes(series: list[dict[str, Any]]) -> list[float]:
    """Hours from each loss of balance (or the start) until balance was reached again."""
    durations, since = [], None
    for row in series:
        if not row["balanced"] and since is None:
            since = row["ts"]
        elif row["balanced"] and since is not None:
            durations.append((row["ts"] - since) / 3600)
            since = None
    return durations


def _summary(series: list[dict[str, Any]], report: Report) -> dict[str, float | int | None]:
    """The network's figures of the period."""
    episodes = _balance_episodes(series)
    inlets = report.inlets
    area = sum(r["area_m2"] or 0.0 for r in inlets)
    heat = sum(d["heat_kwh"] for d in report.days)
    paired = [r for r in series if r["forecast_kw"] is not None and r["heat_kw"]]
    mape = (
        sum(abs(r["forecast_kw"] - r["heat_kw"]) / abs(r["heat_kw"]) for r in paired)
        / len(paired)
        * 100
        if paired
        else None
    )
    deviations = [r["worst_deviation"] for r in inlets if r["worst_deviation"] is not None]
    sums = {k: sum(r[k] or 0.0 for r in inlets) for k in ("over_dh", "under_dh")}
    return {
        "cycles": len(series),
        "share_in_band": _mean(r["share_in_band"] for r in series),
        "spread": _mean(r["spread"] for r in series),
        "worst_deviation": max(deviations) if deviations else None,
        "balance_episodes": len(episodes),
        "time_to_balance_h": sum(episodes) / len(episodes) if episodes else None,
        "max_time_to_balance_h": max(episodes) if episodes else None,
        "heat_kwh": heat,
        "heat_kwh_measured": sum(d["heat_kwh_measured"] for d in report.days),
        "heat_kwh_estimated": sum(d["heat_kwh_estimated"] for d in report.days),
        "estimated_cycles": sum(d["estimated_cycles"] for d in report.days),
        "heat_kwh_m2": heat / area if area else None,
        "pump_kwh": sum(d["pump_kwh"] for d in report.days),
        "over_dh": sums["over_dh"],
        "under_dh": sums["under_dh"],
        "alarms": len(report.alarms),
        "alarm_hours": sum(a["duration_h"] or 0.0 for a in report.alarms),
        "availability": _mean(r["availability"] for r in inlets),
        "first_try": _mean(r["first_try"] for r in inlets),
        "forecast_error": mape,
        "outdoor_c": _mean(r["outdoor_c"] for r in series),
    }


# --- writers --------------------------------------------------------------------------------
INLET_COLUMNS = (
    "inlet", "name", "share_in_band", "mean_abs_deviation", "worst_deviation", "heat_kwh",
    "heat_kwh_m2", "flow", "supply", "return", "over_dh", "under_dh", "availability",
    "first_try", "area_m2",
)  # fmt: skip


def write_csv(report: Report, path: Path) -> Path:
    """The per-inlet table (the network's summary as its first rows, key and value)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["network", report.network, "period", report.kind, report.first, report.end]
        )
        for key, value in report.summary.items():
            writer.writerow([key, _round(value)])
        writer.writerow([])
        writer.writerow(INLET_COLUMNS)
        for row in report.inlets:
            writer.writerow([_round(row[c]) for c in INLET_COLUMNS])
    return path


def write_xlsx(report: Report, path: Path) -> Path:
    """Sheets: summary, days, inlets, alarms, audit."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "summary"
    sheet.append(["network", report.network])
    sheet.append(["period", report.kind, report.first.isoformat(), report.end.isoformat()])
    for key, value in report.summary.items():
        sheet.append([key, _round(value)])
    days = book.create_sheet("days")
    columns = list(report.days[0]) if report.days else ["day"]
    days.append(columns)
    for row in report.days:
        days.append([_round(row[c]) for c in columns])
    inlets = book.create_sheet("inlets")
    inlets.append(list(INLET_COLUMNS))
    for row in report.inlets:
        inlets.append([_round(row[c]) for c in INLET_COLUMNS])
    alarms = book.create_sheet("alarms")
    alarms.append(["type", "grade", "location", "raised", "duration_h", "acknowledged_by"])
    for a in report.alarms:
        alarms.append([a["type"], a["grade"], a["location"], a["raised"],
                       _round(a["duration_h"]), a["acknowledged_by"]])  # fmt: skip
    audit = book.create_sheet("audit")
    audit.append(["time", "user", "action", "location", "details"])
    for e in report.audit:
        when = datetime.fromtimestamp(e["ts"]).isoformat(timespec="seconds")
        audit.append([when, e["user_name"] or e["user_id"], e["action"], e["location"],
                      str(e["details"])])  # fmt: skip
    book.save(path)
    return path


def _round(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def cjk_font(extra_dirs: tuple[Path, ...] = ()) -> str | None:
    """A font family that renders Chinese, or None (the PDF then falls back to English)."""
    from matplotlib import font_manager

    for folder in extra_dirs:
        if folder.is_dir():
            for file in sorted(folder.iterdir()):
                if file.suffix.lower() in (".ttf", ".otf", ".ttc"):
                    font_manager.fontManager.addfont(str(file))
    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in available), None)


def write_pdf(
    report: Report, path: Path, language: str = "en", font_dirs: tuple[Path, ...] = ()
) -> str:
    """A4 pages: summary and trend charts, the worst inlets, alarms. Returns the language
    written: Chinese needs a CJK font; without one the report is written in English."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    font = cjk_font(font_dirs)  # Chinese names show in an English report too
    lang = 1 if font and language.startswith("zh") else 0
    fonts = ["DejaVu Sans", font] if font else ["DejaVu Sans"]
    if lang:
        fonts.reverse()

    def t(key: str, **kw: Any) -> str:
        return LABELS[key][lang].format(**kw)

    a4 = (8.27, 11.69)
    with PdfPages(path) as pdf:
        fig = Figure(figsize=a4)
        fig.text(0.08, 0.95, f"{report.network} — {t('title')} ({t(report.kind)})",
                 fontsize=15, family=fonts, weight="bold")  # fmt: skip
        fig.text(0.08, 0.925, f"{t('period')}: {report.first} … {report.end - timedelta(days=1)}",
                 fontsize=10, family=fonts)  # fmt: skip
        rows = [[t(k), _fmt(v)] for k, v in report.summary.items()]
        ax = fig.add_axes((0.08, 0.55, 0.84, 0.36))
        ax.axis("off")
        table = ax.table(cellText=rows, colWidths=[0.7, 0.3], loc="upper center")
        _style(table, fonts, 8)
        _trends(fig, report, t, fonts)
        pdf.savefig(fig)
        fig = Figure(figsize=a4)
        fig.text(0.08, 0.95, t("worst_inlets"), fontsize=13, family=fonts, weight="bold")
        fig.text(0.08, 0.93, t("all_inlets_in_xlsx", n=len(report.inlets)), fontsize=8,
                 family=fonts)  # fmt: skip
        keys = ("share_in_band", "worst_deviation", "heat_kwh_m2", "flow", "supply", "return",
                "under_dh", "availability")  # fmt: skip
        header = [t("inlet"), "%", t("worst_deviation"), "kWh/m²", "m³/h", t("supply"),
                  t("return"), "Kh−", "%on"]  # fmt: skip
        body = [[r["name"], *(_fmt(r[k]) for k in keys)] for r in report.inlets[:PDF_INLET_ROWS]]
        _table_page(fig, header, body or [[t("no_data")] + [""] * 8], fonts)
        pdf.savefig(fig)
        fig = Figure(figsize=a4)
        fig.text(0.08, 0.95, t("alarm_list"), fontsize=13, family=fonts, weight="bold")
        header = [t("type"), t("location"), t("raised"), t("duration_h"), t("acknowledged_by")]
        body = [
            [
                a["type"],
                a["location"],
                a["raised"],
                _fmt(a["duration_h"]),
                a["acknowledged_by"] or "",
            ]
            for a in report.alarms[:PDF_INLET_ROWS]
        ]
        _table_page(fig, header, body or [[t("no_data"), "", "", "", ""]], fonts)
        pdf.savefig(fig)
        info = pdf.infodict()
        info["Title"] = f"{report.network} {report.name}"
    return "zh-Hans" if lang else "en"


def _trends(fig: Any, report: Report, t: Any, fonts: list[str]) -> None:
    """Two trend charts: share in band per day; heat per day with its forecast."""
    days = [d["day"] for d in report.days]
    top = fig.add_axes((0.1, 0.3, 0.82, 0.2))
    top.plot(days, [d["share_in_band"] for d in report.days], marker=".", color="tab:green")
    top.set_title(t("trend_balance"), family=fonts, fontsize=10)
    top.set_ylim(0, 105)
    top.set_ylabel("%")
    bottom = fig.add_axes((0.1, 0.05, 0.82, 0.2))
    measured = [d["heat_kwh_measured"] for d in report.days]
    bottom.bar(days, measured, color="tab:red", label=t("actual"))
    if any(d["estimated_cycles"] for d in report.days):  # on top, hatched: no measurement
        estimated = [d["heat_kwh_estimated"] for d in report.days]
        bottom.bar(days, estimated, bottom=measured, color="none", edgecolor="tab:red",
                   hatch="///", label=t("estimated"))  # fmt: skip
    bottom.plot(days, [d["forecast_kwh"] for d in report.days], color="k", marker=".",
                label=t("forecast"))  # fmt: skip
    bottom.set_title(t("trend_heat"), family=fonts, fontsize=10)
    bottom.set_ylabel("kWh")
    bottom.legend(prop={"family": fonts, "size": 8})
    from matplotlib.dates import DateFormatter, DayLocator

    bottom.ticklabel_format(axis="y", style="plain", useOffset=False)
    for ax in (top, bottom):
        step = max(1, len(days) // 10)
        ax.xaxis.set_major_locator(DayLocator(interval=step))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))  # type: ignore[no-untyped-call]
        ax.tick_params(labelsize=7)
        for label in ax.get_xticklabels():
            label.set_rotation(30)


def _table_page(fig: Any, header: list[str], body: list[list[Any]], fonts: list[str]) -> None:
    ax = fig.add_axes((0.04, 0.04, 0.92, 0.87))
    ax.axis("off")
    table = ax.table(cellText=body, colLabels=header, loc="upper center")
    _style(table, fonts, 6.5)


def _style(table: Any, fonts: list[str], size: float) -> None:
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    cells = table.get_celld()
    rows = 1 + max(r for r, _ in cells)
    for cell in cells.values():
        cell.get_text().set_fontfamily(fonts)
        cell.set_height(min(0.06, 1.0 / rows))


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def write_report(
    report: Report,
    folder: Path,
    formats: tuple[str, ...],
    language: str,
    font_dirs: tuple[Path, ...] = (),
) -> dict[str, Path]:
    """Write the report in each format into ``folder``; returns format → file."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    stem = folder / report.name
    if "csv" in formats:
        out["csv"] = write_csv(report, stem.with_suffix(".csv"))
    if "xlsx" in formats:
        out["xlsx"] = write_xlsx(report, stem.with_suffix(".xlsx"))
    if "pdf" in formats:
        suffix = "zh" if language.startswith("zh") else "en"
        pdf = stem.with_name(f"{report.name}-{suffix}.pdf")
        write_pdf(report, pdf, language, font_dirs)
        out["pdf"] = pdf
    return out
