"""Gate name -> the class that implements it, imported only when the gate runs.

Lazy on purpose: ``opsctl verify security`` must not import SQLAlchemy/Alembic (migrations) or
Locust (load). Add a gate by adding one line here.
"""

from __future__ import annotations

import importlib

from opsctl.errors import UsageError
from opsctl.gates.interface import Gate

GATES: dict[str, str] = {
    "coverage": "opsctl.gates.coverage.gate:CoverageGate",
    "security": "opsctl.gates.security.gate:SecurityGate",
    "load": "opsctl.gates.load.gate:LoadGate",
    "migrations": "opsctl.gates.migrations.gate:MigrationsGate",
    "api": "opsctl.gates.api.gate:ApiGate",
}


def known_gates() -> list[str]:
    return list(GATES)


def load_gate(name: str) -> Gate:
    """An instance of the gate called ``name``; :class:`UsageError` listing the known ones."""
    try:
        target = GATES[name]
    except KeyError:
        raise UsageError(
            f"unknown gate '{name}' (known gates: {', '.join(known_gates())})"
        ) from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    gate = cls()
    if not isinstance(gate, Gate):
        raise TypeError(f"{target} is not a Gate")
    return gate
