"""Home Assistant Supervisor integration: MQTT credentials from the services API.

When the add-on runs under the Supervisor and the options leave ``mqtt.main.host`` empty, the
broker offered by the ``mqtt`` service (usually the Mosquitto add-on) is used with the
credentials the Supervisor generated for this add-on (issue 5). That broker is reached over the
Supervisor's internal network; if it offers no TLS the connection is allowed without it, since
it never leaves the host — a remote main or backup broker still requires TLS (§8.2.7).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

_LOGGER = logging.getLogger(__name__)
DEFAULT_URL = "http://supervisor"


class SupervisorError(RuntimeError):
    """The services API did not provide an MQTT broker."""


def fetch_mqtt_service(token: str, base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """GET /services/mqtt with the add-on's token."""
    request = urllib.request.Request(  # noqa: S310 - fixed internal http URL
        f"{base_url}/services/mqtt", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = json.loads(response.read())
    except (OSError, ValueError) as err:
        raise SupervisorError(f"services API unreachable: {err}") from err
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not data.get("host"):
        raise SupervisorError("no MQTT service offered (install the Mosquitto broker add-on)")
    return data


def fill_main_broker(
    options: dict[str, Any], environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return options with ``mqtt.main`` filled from the Supervisor when its host is empty."""
    env = os.environ if environ is None else environ
    mqtt = options.setdefault("mqtt", {})
    main = mqtt.get("main") or {}
    if main.get("host") or not env.get("SUPERVISOR_TOKEN"):
        return options
    service = fetch_mqtt_service(env["SUPERVISOR_TOKEN"], env.get("SUPERVISOR_URL", DEFAULT_URL))
    filled = {
        **{k: v for k, v in main.items() if v not in ("", None)},
        "host": service["host"],
        "port": int(service.get("port", 1883)),
        "username": service.get("username", ""),
        "password": service.get("password", ""),
    }
    if not service.get("ssl"):
        _LOGGER.warning(
            "Supervisor MQTT broker %s offers no TLS; allowed on the internal network only",
            service["host"],
        )
        filled.pop("tls", None)
        filled["insecure_plaintext"] = True
    filled["supervisor"] = True  # its own user name and ACL (the Mosquitto add-on's)
    mqtt["main"] = filled
    return options
