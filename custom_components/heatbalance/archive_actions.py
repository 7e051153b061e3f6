"""Actions on the archive: history of any signal (§5.2.4-5), reports (§5.3.9-3/-5), and a
signed, expiring download link for them (§5.3.9-4).

Reading the archive changes nothing, so every logged-in user may — read-only users too; all
of it needs authentication (service calls do; the download view checks the request's user or
the link's signature). Reports go to HA's local media folder, which the media browser shows.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict
from datetime import date, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from homeassistant.components.http import HomeAssistantView
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError, TemplateError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.template import Template
from homeassistant.util import dt as dt_util

from .compat import flow_vol as vol
from .const import ATTR_CONFIG_ENTRY_ID, ATTR_INLET, DOMAIN
from .engine.archive import CYCLE_SIGNALS, INLET_SIGNALS, SEASON_END, ArchiveError
from .engine.reports import FORMATS, KINDS, Report, build_report, write_report
from .records import Records, media_folder, records_of

if TYPE_CHECKING:
    from .coordinator import HeatbalanceCoordinator

_LOGGER = logging.getLogger(__name__)
MAX_ROWS = 50_000  # one inlet, a season at 10 min is 26k
EVENT_REPORT = f"{DOMAIN}_report"
FILE_URL = "/api/heatbalance/files/{entry_id}/{name}"
SAFE_NAME = re.compile(r"^[\w.-]+$")
ENTRY = {vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string}
SCHEMAS: dict[str, Any] = {
    "history": vol.Schema(
        ENTRY
        | {
            vol.Required(ATTR_INLET): cv.string,
            vol.Optional("signals"): vol.All(cv.ensure_list, [cv.string]),
            vol.Required("start"): cv.datetime,
            vol.Optional("end"): cv.datetime,
        }
    ),
    "report": vol.Schema(
        ENTRY
        | {
            vol.Optional("period", default="day"): vol.In(KINDS),
            vol.Optional("date"): cv.date,
            vol.Optional("formats", default=list(FORMATS)): vol.All(
                cv.ensure_list, [vol.In(FORMATS)]
            ),
            vol.Optional("language"): vol.In(("en", "zh-Hans")),
            vol.Optional("template"): cv.string,  # administrators only (it reads anything)
            vol.Optional("link_hours", default=24): vol.All(
                vol.Coerce(float), vol.Range(min=0.1, max=24 * 30)
            ),
        }
    ),
}


def _records(hass: HomeAssistant, coordinator: HeatbalanceCoordinator) -> Records:
    records = records_of(hass, coordinator.config_entry.entry_id)
    if records is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"network": coordinator.config_entry.title},
        )
    return records


async def async_history(
    hass: HomeAssistant, coordinator: HeatbalanceCoordinator, inlet: str | None, call: ServiceCall
) -> ServiceResponse:
    """Rows of one inlet's (or the network's) signals over a time range."""
    records = _records(hass, coordinator)
    start = dt_util.as_utc(call.data["start"]).timestamp()
    end = dt_util.as_utc(call.data.get("end") or dt_util.utcnow()).timestamp()
    await hass.async_add_executor_job(records.writer.flush, 30.0)  # what is queued counts too
    if inlet is None:
        signals = call.data.get("signals") or list(CYCLE_SIGNALS)
        _check(signals, CYCLE_SIGNALS)
        series = await hass.async_add_executor_job(
            records.archive.network_series, records.network, start, end
        )
        rows = [
            {"ts": r["ts"]} | {s: r[s] for s in signals} | _heat_flags(r, signals) for r in series
        ]
    else:
        signals = call.data.get("signals") or list(INLET_SIGNALS)
        _check(signals, INLET_SIGNALS)
        rows = await hass.async_add_executor_job(
            records.archive.history, records.network, inlet, signals, start, end
        )
    truncated = len(rows) > MAX_ROWS
    for row in rows[:MAX_ROWS]:
        row["time"] = dt_util.utc_from_timestamp(row.pop("ts")).isoformat()
    return {
        "inlet": inlet or "network",
        "signals": signals,
        "rows": rows[:MAX_ROWS],  # type: ignore[dict-item]
        "truncated": truncated,
    }


def _heat_flags(row: dict[str, Any], signals: list[str]) -> dict[str, Any]:
    """A network row's heat, flagged as the sensor flags it: ``estimated`` names it where
    the inlets' heat was partly the engine's, ``heat_inlets_left_out`` the inlets it still
    leaves out (None: a cycle archived before schema 3)."""
    if "heat_kw" not in signals:
        return {}
    return {
        "estimated": ["heat_kw"] if row.get("heat_estimated") else [],
        "heat_inlets_left_out": row.get("heat_left_out"),
    }


def _check(signals: list[str], known: tuple[str, ...]) -> None:
    unknown = [s for s in signals if s not in known]
    if unknown:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_signal",
            translation_placeholders={"signals": ", ".join(unknown), "known": ", ".join(known)},
        )


async def async_report(
    hass: HomeAssistant, coordinator: HeatbalanceCoordinator, call: ServiceCall
) -> ServiceResponse:
    """Generate a report now; return its files with signed download links."""
    data = call.data
    day = data.get("date") or (dt_util.now().date() - timedelta(days=1))
    return await async_generate(
        hass,
        coordinator,
        data["period"],
        day,
        tuple(data["formats"]),
        data.get("language") or _language(hass),
        timedelta(hours=data["link_hours"]),
        template=data.get("template"),
    )


def _language(hass: HomeAssistant) -> str:
    return "zh-Hans" if hass.config.language.startswith("zh") else "en"


async def async_generate(
    hass: HomeAssistant,
    coordinator: HeatbalanceCoordinator,
    kind: str,
    day: date,
    formats: tuple[str, ...],
    language: str,
    link: timedelta,
    content_user: bool = False,
    template: str | None = None,
) -> dict[str, Any]:
    """Build and write a report in the executor; fire ``heatbalance_report`` with its links."""
    records = _records(hass, coordinator)
    entry = coordinator.config_entry
    folder = media_folder(hass, entry.entry_id)
    fonts = (Path(hass.config.path("heatbalance", "fonts")),)

    def job() -> tuple[Report, dict[str, Path]]:
        records.writer.flush(30.0)
        report = build_report(records.archive, records.network, entry.title, kind, day)
        return report, write_report(report, folder, formats, language, fonts)

    try:
        report, files = await hass.async_add_executor_job(job)
        if template:
            files["template"] = await _async_render(hass, template, report, folder)
    except (ArchiveError, OSError, TemplateError) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="report_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    links = {
        fmt: sign(hass, entry.entry_id, path.name, link, content_user)
        for fmt, path in files.items()
    }
    response = {
        "period": kind,
        "date": day.isoformat(),
        "files": {fmt: str(path) for fmt, path in files.items()},
        "links": links,
        "media": {
            fmt: f"media-source://media_source/local/heatbalance/{entry.entry_id}/{p.name}"
            for fmt, p in files.items()
        },
    }
    hass.bus.async_fire(
        EVENT_REPORT, {"config_entry_id": entry.entry_id, "network": entry.title} | response
    )
    return response


async def _async_render(hass: HomeAssistant, source: str, report: Report, folder: Path) -> Path:
    """An operator's own report: an HA Jinja template over the report's figures
    (``summary``, ``days``, ``inlets``, ``alarms``, ``audit``, ``network``, ``kind``,
    ``first``, ``end``), written beside the other formats."""
    text = Template(source, hass).async_render(asdict(report), parse_result=False)
    path = folder / f"{report.name}-template.txt"
    await hass.async_add_executor_job(path.write_text, str(text), "utf-8")
    return path


def sign(
    hass: HomeAssistant, entry_id: str, name: str, expiry: timedelta, content_user: bool
) -> str:
    """A signed, expiring path to a report file (HA's own signed-path scheme).

    The link acts as the user who asked (their refresh token); scheduled reports are signed
    for HA's read-only content user.
    """
    from homeassistant.components.http.auth import async_sign_path

    path = FILE_URL.format(entry_id=entry_id, name=name)
    return async_sign_path(hass, path, expiry, use_content_user=content_user)


class ReportFileView(HomeAssistantView):
    """Serves report files to authenticated users and to valid signed links only."""

    url = FILE_URL
    name = "api:heatbalance:files"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, name: str) -> web.StreamResponse:
        """The file, or 404 for anything not a report of an entry."""
        hass: HomeAssistant = request.app["hass"]
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or not SAFE_NAME.match(name):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        path = media_folder(hass, entry_id) / name
        if not await hass.async_add_executor_job(path.is_file):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(
            path, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )


def schedule_reports(now: datetime) -> list[str]:
    """The reports due at this early-morning run: yesterday's day; the week on Mondays; the
    month on the 1st; the year on 1 January."""
    today = dt_util.as_local(now).date()
    due = ["day"]
    if today.weekday() == 0:
        due.append("week")
    if today.day == 1:
        due.append("month")
    if today.month == 1 and today.day == 1:
        due.append("year")
    if (today.month, today.day) == SEASON_END:
        due.append("season")  # the season that has just ended
    return due


def async_track_reports(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Early each morning, the reports that are due (until the entry unloads)."""

    async def run(now: datetime) -> None:
        await async_scheduled_reports(hass, entry.runtime_data.coordinator, now)

    entry.async_on_unload(async_track_time_change(hass, run, hour=4, minute=7, second=0))


async def async_scheduled_reports(
    hass: HomeAssistant, coordinator: HeatbalanceCoordinator, now: datetime
) -> None:
    """Write the reports due now (PDF in HA's language, XLSX, CSV); each fires its event."""
    yesterday = dt_util.as_local(now).date() - timedelta(days=1)
    for kind in schedule_reports(now):
        try:
            await async_generate(
                hass,
                coordinator,
                kind,
                yesterday,
                FORMATS,
                _language(hass),
                timedelta(days=7),
                True,
            )
        except ServiceValidationError as err:
            _LOGGER.warning("heatbalance %s report failed: %s", kind, err)
