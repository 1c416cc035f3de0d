"""The probe families, each a module with a ``PROBES`` list, imported when it runs."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from opsctl.gates.api.probe import ProbeFinding, ProbeTarget
from opsctl.gates.api.settings import ApiSettings, Family

Probe = Callable[[ProbeTarget], list[ProbeFinding]]

MODULES: dict[Family, tuple[str, ...]] = {
    "denial_of_service": ("opsctl.gates.api.denial_of_service",),
    "cost": ("opsctl.gates.api.cost",),
    "authentication": ("opsctl.gates.api.authentication",),
    "authorization": ("opsctl.gates.api.authorization",),
    "exposure": ("opsctl.gates.api.exposure", "opsctl.gates.api.http_exposure"),
    "fuzzing": ("opsctl.gates.api.fuzzing",),
}
#: Families that act as users: without a log-in flow they cannot judge anything.
NEEDS_LOGIN: frozenset[Family] = frozenset({"cost", "authentication", "authorization"})
#: Families that speak GraphQL only (REST tenancy and log-in flows are not modelled yet).
GRAPHQL_ONLY: frozenset[Family] = frozenset({"cost", "authentication", "authorization"})


def family_probes(family: Family) -> list[Probe]:
    probes: list[Probe] = []
    for module in MODULES[family]:
        probes += importlib.import_module(module).PROBES
    return probes


def missing_configuration(family: Family, settings: ApiSettings) -> str | None:
    """Why a family the Definition of Done asks for cannot run (None: it can)."""
    if family in GRAPHQL_ONLY and settings.kind != "graphql":
        return (
            f"the {family} probes speak GraphQL only: remove '{family}' from api.families "
            "for a REST service"
        )
    if family in NEEDS_LOGIN and settings.login is None:
        return f"needs api.login (the log-in flow): give it, or remove '{family}' from api.families"
    if (
        family == "authorization"
        and len(settings.personas) < 2
        and not (settings.login and settings.login.sign_up and settings.personas)
    ):
        return (
            "needs two personas in different tenants, or one persona and login.sign_up "
            "(a fresh account as the other tenant)"
        )
    return None
