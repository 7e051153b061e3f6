"""One benchmark case run as its own pytest process, whose failure is reported whole.

The product benchmarks (``benchmarks/bench_product*.py``) run each case under pytest in a
child process (fresh memory, Home Assistant's harness). A failed case used to be shown by the
last 3,000 characters of its output, often only pytest's summary, so its reason was lost; a
case stopped from outside left its mosquitto, virtual plant and gateway processes running.
Here the child's whole output goes to a log file that is kept (its path printed with the
failure), the child runs in a session of its own, and whatever of that session is still
running when the case ends — passed, failed or timed out — is terminated (then killed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

GRACE_S = 5.0  # a process still running this long after SIGTERM gets SIGKILL


@dataclass(frozen=True)
class CaseRun:
    """How a case's process ended: exit code (None: timed out), its log, what was left."""

    returncode: int | None
    log: Path
    leftovers: list[str]

    def reason(self, lines: int = 40) -> str:
        """The failure's own lines: pytest's ``E`` lines and the last traceback's tail, else
        the log's last lines."""
        text = self.log.read_text("utf-8", "replace").splitlines()
        errors = [line for line in text if line.startswith("E ")]
        tail = text[-lines:]
        shown = errors[-lines:] if errors else tail
        head = "timed out" if self.returncode is None else f"pytest exit {self.returncode}"
        left = f"; stopped leftovers: {', '.join(self.leftovers)}" if self.leftovers else ""
        return f"{head}{left}; whole log: {self.log}\n" + "\n".join(shown)


def run_case(
    cmd: list[str], env: dict[str, str], cwd: Path, log: Path, timeout_s: float
) -> CaseRun:
    """Run ``cmd`` in a session of its own, output to ``log``; stop what it leaves behind."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        leftovers = stop_session(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)
    return CaseRun(code, log, leftovers)


def _session_members(sid: int) -> dict[int, str]:
    """The processes of session ``sid`` (Linux /proc): pid → command line."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) == sid:  # state, ppid, pgrp, session
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
                members[int(entry.name)] = cmdline.decode("utf-8", "replace")[:120]
    return members


def stop_session(sid: int) -> list[str]:
    """SIGTERM every process of session ``sid``, SIGKILL what is left after the grace; the
    command lines of what was running."""
    members = _session_members(sid)
    if not members:
        return []
    for pid in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and _alive(members):
        time.sleep(0.1)
    for pid in _alive(members):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return list(members.values())


def _alive(members: dict[int, str]) -> list[int]:
    """The members still running (not zombies)."""
    alive = []
    for pid in members:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rindex(")") + 2] != "Z":
                alive.append(pid)
    return alive
