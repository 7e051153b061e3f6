"""Config flow: one entry per secondary network (a built-in demo or a network file)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import flow_vol as vol
from .const import CONF_NETWORK, CONF_PATH, DOMAIN
from .engine.loader import NetworkError, load_network
from .engine.networks import builtin_names

DEFAULT_DEMO = "estate12"


class HeatbalanceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a network: pick a built-in demo (simulated plant) or give a network file path."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The single step: a network name, or a file path that overrides it."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"error": ""}
        if user_input is not None:
            path = (user_input.get(CONF_PATH) or "").strip()
            source = path or user_input[CONF_NETWORK]
            try:
                network = await self.hass.async_add_executor_job(load_network, source)
            except FileNotFoundError:
                errors[CONF_PATH] = "file_not_found"
            except (NetworkError, OSError) as err:
                errors["base"] = "network_invalid"
                placeholders["error"] = str(err)
            else:
                unique = f"file:{path}" if path else f"builtin:{source}"
                await self.async_set_unique_id(unique)
                self._abort_if_unique_id_configured()
                data = {CONF_PATH: path} if path else {CONF_NETWORK: source}
                return self.async_create_entry(title=network.name, data=data)
        names = await self.hass.async_add_executor_job(builtin_names)
        schema = vol.Schema(
            {
                vol.Required(CONF_NETWORK, default=DEFAULT_DEMO): SelectSelector(
                    SelectSelectorConfig(
                        options=names,
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_NETWORK,
                    )
                ),
                vol.Optional(CONF_PATH, default=""): TextSelector(),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )
