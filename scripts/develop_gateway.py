"""Wire the development Home Assistant to the virtual plant's gateway, through HA's own API.

Used by ``develop_onboard.py --virtual-plant`` after onboarding: sets up HA's MQTT integration
(config flow over REST) on the develop broker's loopback listener, switches every inlet
subentry of the heatbalance entry to source ``gateway`` (subentry reconfigure flow; device
names are the defaults ``<inlet>-meter`` / ``<inlet>-valve`` the virtual plant serves) and sets
the acquisition period to one minute (options flow), the shortest the options allow (§4.3.4
asks for at most 30): with gateway inlets the cycle runs in real time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import develop_onboard
from develop_onboard import request

FOLDER = "virtual-plant"
CYCLE_MINUTES = 1


def mqtt_settings(config: Path) -> dict[str, Any]:
    """Broker, port and HA's login, from the layout ``develop_plant.py`` wrote."""
    layout = json.loads((config / FOLDER / "layout.json").read_text(encoding="utf-8"))
    return {
        "broker": "127.0.0.1",
        "port": layout["plain_port"],
        "username": "homeassistant",
        "password": layout["ha_password"],
    }


def mqtt_answer(step: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Answer MQTT's broker form; plain TCP on loopback, no certificates.

    HA 2026 puts TLS and transport in a collapsed ``other_settings`` section; HA 2025.4 has
    them only behind advanced mode. Required fields without a value take their defaults.
    """
    answer = dict(settings)
    for field in step.get("data_schema", []):
        if field.get("type") == "expandable":
            inner = {f["name"]: f.get("default") for f in field.get("schema", [])}
            inner = {k: v for k, v in inner.items() if v is not None}
            inner.setdefault("set_client_cert", False)
            inner.setdefault("set_ca_cert", "off")
            inner.setdefault("transport", "tcp")
            answer[field["name"]] = inner
        elif field["name"] not in answer and "default" in field:
            answer[field["name"]] = field["default"]
    return answer


def setup_mqtt(config: Path, token: str, attempts: int = 10, retry_s: float = 3.0) -> str:
    """Create HA's MQTT entry unless one exists; its title (the broker)."""
    entries = request("GET", "/api/config/config_entries/entry?domain=mqtt", token=token)
    if entries:
        return str(entries[0]["title"])
    step: dict[str, Any] = {}
    for _ in range(attempts):  # the broker starts beside HA; wait for it to answer
        step = request(
            "POST", "/api/config/config_entries/flow", {"handler": "mqtt"}, token, timeout_s=120
        )
        if step.get("type") == "form":
            step = request(
                "POST",
                f"/api/config/config_entries/flow/{step['flow_id']}",
                mqtt_answer(step, mqtt_settings(config)),
                token,
                timeout_s=60,
            )
        if step.get("type") != "form":
            break
        time.sleep(retry_s)
    if step.get("type") != "create_entry":
        raise SystemExit(f"develop: the MQTT config flow did not create an entry: {step}")
    return str(step["title"])


def subentries(token: str, entry_id: str) -> list[dict[str, Any]]:
    """The entry's subentries (only the websocket API lists them)."""
    answer = develop_onboard.websocket(
        token, {"type": "config_entries/subentries/list", "entry_id": entry_id}
    )[0]
    if not answer.get("success"):
        raise SystemExit(f"develop: cannot list the inlets: {answer}")
    return list(answer["result"])


def inlet_answer(step: dict[str, Any]) -> dict[str, Any]:
    """Answer an inlet reconfigure form: source ``gateway``, then the suggested device names
    (the defaults ``<inlet>-meter`` / ``<inlet>-valve``, as the virtual plant names them)."""
    if step.get("step_id") == "gateway":
        # fields without a suggestion (the real-time question) keep the form's default
        return {
            f["name"]: f["description"]["suggested_value"]
            for f in step.get("data_schema", [])
            if "suggested_value" in (f.get("description") or {})
        }
    return {"source": "gateway", "link": "wired"}


def to_gateway(token: str, entry_id: str, subentry: dict[str, Any]) -> bool:
    """Reconfigure one inlet subentry to source ``gateway`` with the default device names."""
    step = request(
        "POST",
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, subentry["subentry_type"]], "subentry_id": subentry["subentry_id"]},
        token,
    )
    for _ in range(2):  # the source form, then the gateway devices form
        if step.get("type") != "form":
            break
        step = request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{step['flow_id']}",
            inlet_answer(step),
            token,
        )
    return bool(step.get("type") == "abort" and step.get("reason") == "reconfigure_successful")


def options_answer(
    step: dict[str, Any], minutes: int, algorithm: str | None = None
) -> dict[str, Any]:
    """The options form's answer: every section as it is, the timing with the new period and,
    when given, the control algorithm ("traditional" = PI, "ai" = model-based, §5.3.6-1)."""
    answer: dict[str, Any] = {f["name"]: {} for f in step.get("data_schema", [])}
    answer["timing"] = {"cycle_minutes": minutes}
    if algorithm:
        answer["control"] = {"algorithm": algorithm}
    return answer


def set_cycle(
    token: str, entry_id: str, minutes: int = CYCLE_MINUTES, algorithm: str | None = None
) -> None:
    """Set the acquisition period (options flow; other options keep their values)."""
    step = request("POST", "/api/config/config_entries/options/flow", {"handler": entry_id}, token)
    step = request(
        "POST",
        f"/api/config/config_entries/options/flow/{step['flow_id']}",
        options_answer(step, minutes, algorithm),
        token,
    )
    if step.get("type") != "create_entry":
        raise SystemExit(f"develop: the options flow did not take the cycle: {step}")


def wire_gateway(config: Path, token: str, algorithm: str | None = None) -> tuple[str, int]:
    """MQTT entry, gateway inlets, one-minute cycle: (broker title, inlets on the gateway)."""
    broker = setup_mqtt(config, token)
    (entry,) = request("GET", "/api/config/config_entries/entry?domain=heatbalance", token=token)
    moved = sum(
        to_gateway(token, entry["entry_id"], sub)
        for sub in subentries(token, entry["entry_id"])
        if sub["subentry_type"] == "inlet"
    )
    set_cycle(token, entry["entry_id"], algorithm=algorithm)
    return broker, moved
