"""Shared fixtures of the engine tests.

Small networks are built in code (``tests/engine/nets.py``) so a test shows the whole plant
it runs on; built-in networks are parsed once per session and handed out as deep copies, so
a test may change valves or pumps without touching its neighbours. Add fixtures freely.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache

import pytest

from custom_components.heatbalance.engine.model import Network

from .nets import chain


@cache
def _builtin(name: str) -> Network:
    """One parse of a built-in network per session (households1200 takes ~0.3 s)."""
    from custom_components.heatbalance.engine.loader import load_network

    return load_network(name)


@pytest.fixture
def builtin() -> Callable[[str], Network]:
    """``builtin("district120")`` → a private copy of a built-in network."""
    return lambda name: copy.deepcopy(_builtin(name))


@pytest.fixture
def chain3() -> Network:
    """Substation and three buildings along one main, B1 nearest (see ``nets.chain``)."""
    return chain(3)
