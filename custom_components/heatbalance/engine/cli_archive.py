"""``history`` and ``report`` on an archive file (§5.2.4-5, §5.3.9-3): the operator's records
read from a shell, e.g. from a copy taken out of an HA backup.

The archive and its reports are engine modules (``archive``, ``reports``; the integration's
``records.py`` feeds the same archive inside HA): imported when the command runs, so the
engine's other commands never need SQLAlchemy.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .cli import CliError, print_json

SIGNAL_HELP = "comma-separated (default: flow_m3h,supply_c,return_c,opening,command,in_band)"


def _archive(target: str, tz: str) -> Any:
    from .archive import Archive, ArchiveError, sqlite_url

    url = target if "://" in target else sqlite_url(target)
    if "://" not in target and not Path(target).is_file():
        raise CliError(f"{target}: no such archive file")
    try:
        return Archive(url, tz)
    except ArchiveError as err:
        raise CliError(str(err)) from err


def _network(archive: Any, name: str | None) -> str:
    networks = archive.networks()
    if name:
        if name not in networks:
            raise CliError(f"network {name!r} not in the archive ({', '.join(networks) or 'none'})")
        return name
    if len(networks) != 1:
        raise CliError(f"--network needed: the archive holds {', '.join(networks) or 'none'}")
    return str(networks[0])


def _when(text: str, archive: Any) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise CliError(f"not a date or time: {text!r}") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=archive.tz)
    return moment.timestamp()


def cmd_history(args: Any) -> int:
    """Print (or write) one inlet's signals over a range."""
    from .archive import ArchiveError

    archive = _archive(args.archive, args.tz)
    try:
        network = _network(archive, args.network)
        signals = args.signals.split(",")
        start = _when(args.start, archive)
        end = _when(args.end, archive) if args.end else datetime.now().timestamp()
        try:
            rows = archive.history(network, args.inlet, signals, start, end)
        except ArchiveError as err:
            raise CliError(str(err)) from err
    finally:
        archive.close()
    if not rows:
        raise CliError(f"no records of inlet {args.inlet!r} in that range")
    for row in rows:
        row["time"] = datetime.fromtimestamp(row.pop("ts"), archive.tz).isoformat()
    if args.plot:
        _plot(rows, signals, args.inlet, args.plot)
    if args.json:
        print_json({"inlet": args.inlet, "rows": rows})
        return 0
    if args.csv:
        with Path(args.csv).open("w", newline="", encoding="utf-8") as out:
            _write_csv(out, rows, signals)
    else:
        _write_csv(sys.stdout, rows, signals)
    return 0


def _write_csv(out: Any, rows: list[dict[str, Any]], signals: list[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["time", *signals, "flagged", "estimated"])
    for row in rows:
        flags = [" ".join(row["flagged"]), " ".join(row["estimated"])]
        writer.writerow([row["time"], *(row[s] for s in signals), *flags])


def _plot(rows: list[dict[str, Any]], signals: list[str], inlet: str, path: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    times: Any = [datetime.fromisoformat(r["time"]) for r in rows]
    for name in signals:
        if name != "in_band":
            ax.plot(times, [r[name] for r in rows], label=name)
    ax.set_title(f"{inlet}")
    ax.legend(loc="best", fontsize="small")
    fig.autofmt_xdate()
    try:
        fig.savefig(path, dpi=100)
    except OSError as err:
        raise CliError(f"--plot: cannot write {path}: {err}") from err


def cmd_report(args: Any) -> int:
    """Write a report of the archive file into a folder."""
    from .archive import ArchiveError
    from .reports import build_report, write_report

    archive = _archive(args.archive, args.tz)
    try:
        network = _network(archive, args.network)
        try:
            day = date.fromisoformat(args.date)
        except ValueError as err:
            raise CliError(f"--date: not a date: {args.date!r}") from err
        try:
            report = build_report(archive, network, args.title or network, args.period, day)
        except ArchiveError as err:
            raise CliError(str(err)) from err
        files = write_report(report, Path(args.out), tuple(args.formats.split(",")), args.language)
    finally:
        archive.close()
    print_json({k: str(v) for k, v in files.items()})
    return 0


def register(sub: Any) -> None:
    """``history`` and ``report`` (called by cli.build_parser)."""
    p = sub.add_parser("history", help="an inlet's signals from an archive file")
    p.add_argument("archive", help="heatbalance_archive.db, or a database URL")
    p.add_argument("--inlet", required=True)
    p.add_argument("--network", help="entry id (needed when the archive holds several)")
    p.add_argument("--signals", default="flow_m3h,supply_c,return_c,opening,command,in_band",
                   help=SIGNAL_HELP)  # fmt: skip
    p.add_argument("--start", required=True, help="ISO date or time (archive's zone)")
    p.add_argument("--end", help="ISO date or time (default: now)")
    p.add_argument("--tz", default="Asia/Shanghai", help="time zone of dates and output")
    p.add_argument("--csv", metavar="FILE", help="write CSV there instead of stdout")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--plot", metavar="FILE.png", help="a chart of the signals")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("report", help="a day/week/month/season/year report of an archive file")
    p.add_argument("archive", help="heatbalance_archive.db, or a database URL")
    p.add_argument("--period", default="month", choices=("day", "week", "month", "season", "year"))
    p.add_argument("--date", required=True, help="a day inside the period (ISO)")
    p.add_argument("--network", help="entry id (needed when the archive holds several)")
    p.add_argument("--title", help="the network's name on the report")
    p.add_argument("--formats", default="pdf,xlsx,csv")
    p.add_argument("--language", default="en", choices=("en", "zh-Hans"))
    p.add_argument("--tz", default="Asia/Shanghai")
    p.add_argument("--out", default=".", help="folder for the files")
    p.set_defaults(func=cmd_report)
