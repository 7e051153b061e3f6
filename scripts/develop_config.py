"""Write the development Home Assistant configuration used by ``scripts/develop``.

Idempotent: an existing configuration is kept (so the onboarding user and the demo network
survive restarts); only the link to this checkout's integration is refreshed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A curated set instead of `default_config:` — the same user-facing pieces (dashboards, history,
# logbook, energy, automations, blueprints) without radios, voice and cloud services this
# machine has no use for, so the first start is quick and clean.
CONFIGURATION = """\
homeassistant:
  name: heatbalance demo
  unit_system: metric
  time_zone: Asia/Shanghai
  country: CN
  currency: CNY
frontend:
config:
api:
history:
logbook:
energy:
recorder:
  purge_keep_days: 30
automation: !include automations.yaml
script:
blueprint:
person:
system_health:
logger:
  default: warning
  logs:
    custom_components.heatbalance: info
lovelace:
"""


def main(config_dir: Path, port: int | None = None) -> None:
    """Create ``config_dir`` with a configuration, link the integration, copy the blueprints.

    ``port`` puts HA's web server on that loopback port (the browser tests run beside a
    developer's HA on 8123); without it HA listens on its default 8123.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    conf = config_dir / "configuration.yaml"
    if not conf.exists():
        http = f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n" if port else ""
        conf.write_text(CONFIGURATION + http, encoding="utf-8")
    automations = config_dir / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n", encoding="utf-8")
    _link(
        config_dir / "custom_components" / "heatbalance", ROOT / "custom_components" / "heatbalance"
    )
    _copy_blueprints(
        ROOT / "blueprints" / "automation" / "heatbalance",
        config_dir / "blueprints" / "automation" / "heatbalance",
    )


def _copy_blueprints(source: Path, target: Path) -> None:
    """Copy the blueprints in (refreshed on every start).

    HA 2026.10 does not list blueprints from a symlinked folder, so a link would hide them.
    A copy left by an older run that was a link is replaced.
    """
    if target.is_symlink():
        target.unlink()
    target.mkdir(parents=True, exist_ok=True)
    for blueprint in source.glob("*.yaml"):
        shutil.copyfile(blueprint, target / blueprint.name)


def _link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target``, replacing a stale link."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return
        link.unlink()
    link.symlink_to(target, target_is_directory=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
