"""Step types, one module each, behind :mod:`.interface`."""

from __future__ import annotations

from opsctl.runbook.steps.interface import StepType


def type_for_kind(kind: str, *, mutating: bool) -> StepType:
    """The implementation of step type ``kind`` (imported lazily: psycopg, httpx)."""
    if kind == "http":
        from opsctl.runbook.steps.http import HttpStep

        return HttpStep()
    if kind == "graphql":
        from opsctl.runbook.steps.graphql import GraphqlStep

        return GraphqlStep()
    if kind == "sql":
        from opsctl.runbook.steps.sql import SqlStep

        return SqlStep(mutating=mutating)
    if kind == "shell":
        from opsctl.runbook.steps.shell import ShellStep

        return ShellStep()
    if kind == "wait":
        from opsctl.runbook.steps.wait import WaitStep

        return WaitStep()
    if kind == "confirm":
        from opsctl.runbook.steps.confirm import ConfirmStep

        return ConfirmStep()
    if kind == "manual":
        from opsctl.runbook.steps.manual import ManualStep

        return ManualStep()
    if kind == "sleep":
        from opsctl.runbook.steps.sleep import SleepStep

        return SleepStep()
    raise ValueError(f"unknown step type {kind!r}")
