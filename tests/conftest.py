"""Root test configuration.

The HA test harness looks integrations up through the ``custom_components`` package; it must
be imported here, at module level, or the ``hass`` fixture finds the harness's own testing
config first ("Integration not found"). Engine and add-on tests need nothing else.
"""

import custom_components.heatbalance  # noqa: F401
