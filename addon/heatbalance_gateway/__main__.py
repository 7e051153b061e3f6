"""``python -m heatbalance_gateway --config FILE`` — run the gateway standalone or in the add-on."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .config import ConfigError, parse_config, read_file
from .gateway import Gateway
from .supervisor import SupervisorError, fill_main_broker


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, validate the configuration, run until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="heatbalance_gateway", description=__doc__)
    parser.add_argument("--config", required=True, help="YAML or JSON configuration file")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    parser.add_argument(
        "--supervisor-mqtt",
        action="store_true",
        help="fill an empty mqtt.main from the Supervisor services API (inside the add-on)",
    )
    args = parser.parse_args(argv)
    # Until the event loop installs its handler, SIGTERM (s6 stopping the add-on) exits cleanly:
    # nothing has been read or written yet.
    signal.signal(signal.SIGTERM, _exit_now)
    try:
        data = read_file(args.config)
        if args.supervisor_mqtt:
            data = fill_main_broker(data)
        config = parse_config(data)
    except (ConfigError, SupervisorError) as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.raw["log_level"].upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # per-timeout noise; we count them
    if args.check:
        print(f"configuration OK: gateway {config.gateway_id}")
        return 0
    asyncio.run(_run(config))
    return 0


def _exit_now(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


async def _run(config: object) -> None:
    gateway = Gateway(config)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, gateway.stop)
    await gateway.run()


if __name__ == "__main__":
    sys.exit(main())
