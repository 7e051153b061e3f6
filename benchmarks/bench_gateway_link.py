"""Gateway link across restarts (issue 10 item 6): measured, not a timed test.

Two measurements with the real add-on and a real mosquitto:

* ``birth``: a Home Assistant that received a full window but stored none of it stops and
  comes back after ``--outage`` s; seconds from its birth message until the backlog is acked.
  ``--addon`` runs another add-on package folder (an older release: ``git archive <rev>
  addon/heatbalance_gateway``).
* ``restart``: one valve command sent as the gateway goes away for ``--gap`` s (stopped or
  killed); answered or lost, through HA's MQTT client and the integration's gateway source.
  It runs pytest on ``benchmarks/gateway_restart_commands.py`` in HA's test harness.

    PYTHONPATH=. nice .venv/ha2026/bin/python benchmarks/bench_gateway_link.py birth --outage 80
    PYTHONPATH=. nice .venv/ha2026/bin/python benchmarks/bench_gateway_link.py restart --gap 40
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def birth(addon: Path, outage: float) -> None:
    """Seconds from HA's birth message until the backlog it missed is acked."""
    import paho.mqtt.client as mqtt

    from devtools.broker import Mosquitto
    from devtools.gateway_proc import GatewayProcess, plain_broker, simulated_buses
    from devtools.mqtt_consumer import MqttConsumer
    from devtools.waiting import wait_for

    folder = Path(tempfile.mkdtemp(prefix="bench-gateway-link-"))
    broker = Mosquitto(folder / "broker")
    broker.start()
    config = {
        "gateway_id": "gw1",
        "data_dir": str(folder / "gw" / "data"),
        "mqtt": {"main": plain_broker(broker.port)},
        "outbox": {"window": 100, "batch": 20},  # ack_timeout: the default 10 s
        "buses": simulated_buses(5, interval=0.2),
    }
    gateway = GatewayProcess(folder / "gw", config, addon=addon)
    old = MqttConsumer("gw1", [broker.port])
    old.ack_upto = 0  # receives the window, stores nothing for good
    try:
        gateway.start()
        wait_for(lambda: old.received >= 100, "a full window sent")
        old.close()
        time.sleep(outage)
        new = MqttConsumer("gw1", [broker.port])
        wait_for(lambda: new.subscribed > 0, "the new run subscribed")
        ha = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-birth")
        ha.connect("127.0.0.1", broker.port)
        ha.loop_start()
        start = time.monotonic()
        ha.publish("homeassistant/status", "online", qos=1).wait_for_publish(10)
        wait_for(lambda: new.contiguous >= 100, "the backlog acked", guard_s=200)
        print(f"{addon}: HA away {outage:.0f} s, backlog acked {time.monotonic() - start:.1f} s")
        print("after its birth message")
        new.close()
        ha.loop_stop()
    finally:
        gateway.kill()
        broker.stop()


def main() -> None:
    """Run one measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("birth")
    one.add_argument("--outage", type=float, default=80.0)
    one.add_argument("--addon", type=Path, default=ROOT / "addon")
    two = sub.add_parser("restart")
    two.add_argument("--gap", type=float, default=40.0)
    args = parser.parse_args()
    if args.what == "birth":
        birth(args.addon, args.outage)
        return
    env = {**os.environ, "BENCH_GAP": str(args.gap)}
    test = ROOT / "benchmarks" / "gateway_restart_commands.py"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", str(test)]
    sys.exit(subprocess.run(command, cwd=ROOT, env=env, check=False).returncode)


if __name__ == "__main__":
    main()
