"""The instruments' noise draws (moved into the engine: the integration's simulated plant
draws them too, :mod:`custom_components.heatbalance.engine.instruments`)."""

from custom_components.heatbalance.engine.instruments import (
    INLET_SIGNALS,
    NETWORK_SIGNALS,
    Drawn,
    Value,
    draw,
)

__all__ = ["INLET_SIGNALS", "NETWORK_SIGNALS", "Drawn", "Value", "draw"]
