"""Constants of the heatbalance integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "heatbalance"

CONF_NETWORK: Final = "network"  # a built-in network name
CONF_PATH: Final = "path"  # or a network file on the HA host

CONF_SIM_MINUTES: Final = "simulated_minutes_per_update"
DEFAULT_SIM_MINUTES: Final = 30  # one §4.3.4 acquisition period of plant time per update
DEFAULT_UPDATE_INTERVAL: Final = timedelta(seconds=10)  # the demo plant runs accelerated
