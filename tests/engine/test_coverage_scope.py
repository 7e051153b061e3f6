"""Coverage in tests' subprocesses measures this checkout only, whatever their directory.

pytest-cov 6 (HA 2025's pin) starts coverage in every subprocess a test runs, but coverage looks
for its settings in the working directory: the gateway started in addon/ (tests/addon) found
none and measured site-packages, so a targeted run reported 38,924 statements instead of 18,498.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SHOW_SOURCES = "import coverage; print(*coverage.Coverage().config.source, sep='\\n')"


def test_a_subprocess_elsewhere_reads_our_coverage_sources(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW_SOURCES],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    sources = {Path(line).resolve() for line in shown.stdout.split()}
    assert sources == {
        ROOT / "custom_components" / "heatbalance",
        ROOT / "addon" / "heatbalance_gateway",
    }
