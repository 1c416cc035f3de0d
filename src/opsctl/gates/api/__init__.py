"""The api gate (work in progress, not registered yet): probes that attack a running service.

Each probe family module holds plain probe functions ``(ProbeTarget) -> list[ProbeFinding]``.
"""
