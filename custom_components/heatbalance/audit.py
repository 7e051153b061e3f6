"""Graded permissions (§5.1.3, §5.3.2) and the audit log of user actions (§5.3.6-7).

Three grades map onto Home Assistant's groups: administrators change control parameters
(algorithm, target, thresholds, weights, offsets, imports); users operate (mode, auto
switches, valve moves, balance now, acknowledge); read-only users watch (HA itself refuses
them any entity control). Every action is fired as a ``heatbalance_audit`` event in the
caller's context, so the recorder keeps it with the user id and the logbook lists it
(``logbook.py``) — queryable by time, entity and user.
"""

from __future__ import annotations

from typing import Any

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized

from .const import DOMAIN, EVENT_AUDIT


async def async_require_admin(
    hass: HomeAssistant,
    context: Context | None,
    *,
    entry_id: str | None = None,
    action: str | None = None,
) -> None:
    """Refuse a parameter change by a logged-in non-admin (automations pass: no user).

    With ``entry_id`` and ``action`` the refusal is audited too (actions audit their own).
    """
    if context is None or context.user_id is None:
        return
    user = await hass.auth.async_get_user(context.user_id)
    if user is None or not user.is_admin:
        if entry_id is not None and action is not None:
            async_audit_refused(hass, entry_id, action, context)
        raise Unauthorized(context=context, permission=POLICY_CONTROL)


async def async_require_operator(hass: HomeAssistant, context: Context | None) -> None:
    """Refuse an operator action by a read-only user (no control permission)."""
    if context is None or context.user_id is None:
        return
    user = await hass.auth.async_get_user(context.user_id)
    if user is None or not (user.is_admin or user.permissions.access_all_entities(POLICY_CONTROL)):
        raise Unauthorized(context=context, permission=POLICY_CONTROL)


def async_audit(
    hass: HomeAssistant,
    entry_id: str,
    action: str,
    context: Context | None,
    *,
    entity_id: str | None = None,
    **details: Any,
) -> None:
    """Record one user action (who: the context's user id; what: action and details)."""
    hass.bus.async_fire(
        EVENT_AUDIT,
        {
            "config_entry_id": entry_id,
            "action": action,
            "entity_id": entity_id,
            "details": {k: v for k, v in details.items() if v is not None},
        },
        context=context,
    )


def async_audit_refused(
    hass: HomeAssistant, entry_id: str, action: str, context: Context | None, **details: Any
) -> None:
    """Record a refused attempt (§5.3.6-7): who tried what without the right to."""
    async_audit(hass, entry_id, "refused", context, attempted=action, **details)


def describe(event_data: dict[str, Any], network: str) -> str:
    """Logbook text of an audit event (English: the logbook has no translation hook)."""
    details = ", ".join(f"{k}={v}" for k, v in event_data.get("details", {}).items())
    text = f"{network}: {event_data.get('action', '?')}"
    return f"{text} ({details})" if details else text


__all__ = [
    "DOMAIN",
    "async_audit",
    "async_audit_refused",
    "async_require_admin",
    "async_require_operator",
    "describe",
]
