"""Config flow: one entry per secondary network, one inlet subentry per thermal inlet.

The user step is a single form — a built-in demo network (simulated plant), an uploaded file,
or a path on the HA host — so ``scripts/develop`` can create the demo entry with one REST call
(``{"network": "estate12"}``). Files are YAML/JSON network files or CSV/XLSX building lists
(the network is then estimated, engine/building_list.py). Every problem of a file is listed
in the form's error, in HA's language, with sheet, row and column.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    FileSelector,
    FileSelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import flow_vol as vol
from .const import (
    CONF_FILE,
    CONF_INLET_ID,
    CONF_LINK,
    CONF_NETWORK,
    CONF_PATH,
    CONF_SOURCE,
    DEFAULT_DEMO,
    DOMAIN,
    LINK_WIRED,
    SOURCE_SIMULATOR,
    SUBENTRY_COMMISSIONING,
    SUBENTRY_INLET,
)
from .engine.building_list import BuildingListError
from .engine.loader import NetworkError
from .engine.networks import builtin_names
from .network_setup import (
    build_network,
    building_inlets,
    hand_over,
    network_source,
    resolve_path,
    unique_id_for,
)
from .onboarding_files import TEMPLATE_URL, register_template_view, store_uploaded_file

ACCEPTED_FILES = ".yaml,.yml,.json,.csv,.xlsx"

if TYPE_CHECKING:
    from .engine.model import Network


async def validate_source(
    flow: ConfigFlow, user_input: dict[str, Any]
) -> tuple[dict[str, Any], Network | None, dict[str, str], dict[str, str]]:
    """Load the network the form names: (entry data, network, errors, placeholders).

    An upload wins over a path, a path over the built-in choice.
    """
    hass = flow.hass
    errors: dict[str, str] = {}
    placeholders = _placeholders()
    data: dict[str, Any] = {CONF_NETWORK: user_input.get(CONF_NETWORK, DEFAULT_DEMO)}
    field = CONF_FILE if user_input.get(CONF_FILE) else CONF_PATH
    try:
        if user_input.get(CONF_FILE):
            path = await hass.async_add_executor_job(
                store_uploaded_file, hass, user_input[CONF_FILE]
            )
            data = {CONF_PATH: str(path)}
        elif (user_input.get(CONF_PATH) or "").strip():
            path = await hass.async_add_executor_job(
                resolve_path, hass.config.config_dir, user_input[CONF_PATH]
            )
            data = {CONF_PATH: str(path)}
        network = await hass.async_add_executor_job(build_network, network_source(data))
    except FileNotFoundError as err:
        errors[field] = "file_not_found"
        placeholders["error"] = str(err)
    except BuildingListError as err:
        errors |= {"base": "list_invalid", field: "file_problems"}
        placeholders["error"] = err.text(hass.config.language)
    except NetworkError as err:
        errors |= {"base": "network_invalid", field: "file_problems"}
        placeholders["error"] = "\n".join(err.problems)
    except ValueError as err:  # file_upload: the upload is gone (expired, used twice)
        errors[CONF_FILE] = "upload_lost"
        placeholders["error"] = str(err)
    except OSError as err:  # no permission, a full disk, …
        errors[field] = "file_unreadable"
        placeholders["error"] = str(err)
    else:
        return data, network, errors, placeholders
    return data, None, errors, placeholders


def _placeholders() -> dict[str, str]:
    """The form's placeholders: the error text and the template links."""
    links = {
        f"template_{lang.replace('-', '_').lower()}_{ext}": TEMPLATE_URL.format(
            filename=f"buildings-{lang}.{ext}"
        )
        for lang in ("en", "zh-Hans")
        for ext in ("csv", "xlsx")
    }
    return {"error": "", **links}


def inlet_subentries(network: Network) -> list[ConfigSubentryData]:
    """A subentry per building/unit inlet, read from the simulated plant until remapped."""
    return [
        ConfigSubentryData(
            data={CONF_INLET_ID: iid, CONF_SOURCE: SOURCE_SIMULATOR, CONF_LINK: LINK_WIRED},
            subentry_type=SUBENTRY_INLET,
            title=network.inlets[iid].name or iid,
            unique_id=iid,
        )
        for iid in building_inlets(network)
    ]


def _commissioning_records(source: str) -> list[ConfigSubentryData]:
    """The records an exported network file carries (import executor: the export module
    pulls in the archive and report modules, an import too slow for the event loop)."""
    from .export import commissioning_subentries

    return commissioning_subentries(source)


class HeatbalanceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a network: a built-in demo (simulated plant) or a network file."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Level, target, algorithm, cycle and thresholds."""
        from .options_flow import HeatbalanceOptionsFlow

        return HeatbalanceOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Inlets are subentries: add, reconfigure, remove them in the UI."""
        from .commissioning_flow import CommissioningSubentryFlow
        from .subentry_flow import InletSubentryFlow

        return {
            SUBENTRY_INLET: InletSubentryFlow,
            SUBENTRY_COMMISSIONING: CommissioningSubentryFlow,
        }

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The single step: a built-in network, or a file path that overrides it."""
        errors: dict[str, str] = {}
        placeholders = _placeholders()
        register_template_view(self.hass)
        if user_input is not None:
            data, network, errors, placeholders = await validate_source(self, user_input)
            if network is not None:
                await self.async_set_unique_id(unique_id_for(data))
                self._abort_if_unique_id_configured()
                records = await self.hass.async_add_import_executor_job(
                    _commissioning_records, network_source(data)
                )  # an exported network brings its commissioning records back
                hand_over(self.hass.data, unique_id_for(data), network)
                return self.async_create_entry(
                    title=network.name, data=data, subentries=inlet_subentries(network) + records
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                await self._schema(), _without_file(user_input or {})
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Point the entry at another file (moved, edited copy) or built-in network.

        Inlets new in that network get a subentry; subentries whose inlet is gone are
        reported as a repair issue on the next setup.
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders = _placeholders()
        register_template_view(self.hass)
        if user_input is not None:
            data, network, errors, placeholders = await validate_source(self, user_input)
            if network is not None:
                unique = unique_id_for(data)
                for other in self._async_current_entries(include_ignore=False):
                    if other.entry_id != entry.entry_id and other.unique_id == unique:
                        return self.async_abort(reason="already_configured")
                self._add_missing_subentries(entry, network)
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique, title=network.name, data=data
                )
        current = {CONF_NETWORK: entry.data.get(CONF_NETWORK, DEFAULT_DEMO)}
        current[CONF_PATH] = entry.data.get(CONF_PATH, "")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                await self._schema(), _without_file(user_input or current)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _add_missing_subentries(self, entry: ConfigEntry, network: Network) -> None:
        """Subentries for building inlets the entry does not have yet."""
        from homeassistant.config_entries import ConfigSubentry

        have = {s.unique_id for s in entry.subentries.values() if s.subentry_type == SUBENTRY_INLET}
        for sub in inlet_subentries(network):
            if sub["unique_id"] not in have:
                self.hass.config_entries.async_add_subentry(
                    entry,
                    ConfigSubentry(
                        data=MappingProxyType(dict(sub["data"])),
                        subentry_type=sub["subentry_type"],
                        title=sub["title"],
                        unique_id=sub["unique_id"],
                    ),
                )

    async def _schema(self) -> vol.Schema:
        """Built-in names to choose from, and the optional file path."""
        names = await self.hass.async_add_executor_job(builtin_names)
        return vol.Schema(
            {
                vol.Required(CONF_NETWORK, default=DEFAULT_DEMO): SelectSelector(
                    SelectSelectorConfig(
                        options=names,
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_NETWORK,
                    )
                ),
                vol.Optional(CONF_FILE): FileSelector(FileSelectorConfig(accept=ACCEPTED_FILES)),
                vol.Optional(CONF_PATH): TextSelector(),
            }
        )


def _without_file(values: dict[str, Any]) -> dict[str, Any]:
    """Form values to show again: an upload is used up once read, so it is not suggested."""
    return {k: v for k, v in values.items() if k != CONF_FILE}
