"""``opsctl seed``: deterministic test data from a service's plan, loaded with binary COPY.

Entry points: :func:`seed_environment` (what ``opsctl seed`` and ``opsctl up`` call) and
:func:`seed_database` (a database URL and a plan, for benchmarks and tests). Plans are written
with :mod:`opsctl.seed.plan` and :mod:`opsctl.seed.values`. Importing this package does not
import psycopg; the functions do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsctl.seed.engine import AlreadySeeded, DryRun, SeedResult


def seed_environment(*args: Any, **kwargs: Any) -> SeedResult | DryRun | AlreadySeeded:
    """See :func:`opsctl.seed.runner.seed_environment`."""
    from opsctl.seed.runner import seed_environment as run

    return run(*args, **kwargs)


def seed_database(*args: Any, **kwargs: Any) -> SeedResult | DryRun | AlreadySeeded:
    """See :func:`opsctl.seed.runner.seed_database`."""
    from opsctl.seed.runner import seed_database as run

    return run(*args, **kwargs)


__all__ = ["seed_database", "seed_environment"]
