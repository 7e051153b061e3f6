"""Built-in example networks, stored as files an operator can read and copy.

They are deliberately unbalanced the way real estates are: every valve fully open and a pump
sized for the total design flow, so buildings near the substation overflow and far ones
starve — yet every inlet can reach its design flow once the network is balanced.
``generator.py`` made estate12, district120 and households1200 (``build_builtins.BUILTINS``
holds the seeds) and makes larger ones for benchmarks; loop8 is written by hand as the
annotated example of docs/network-format.md.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def builtin_names() -> list[str]:
    """Names of the built-in networks."""
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def builtin_path(name: str) -> Path | None:
    """The file of built-in network ``name``, or None if there is no such built-in."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = HERE / f"{name}.yaml"
    return path if path.is_file() else None
