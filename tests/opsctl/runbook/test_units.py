"""Small pure parts: durations, the P95 estimate, masking, the sandbox."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from opsctl.config.durations import parse_duration
from opsctl.errors import RefusedError
from opsctl.runbook.lock import RunLock
from opsctl.runbook.prometheus import histogram_quantile
from opsctl.runbook.secrets import Masker
from opsctl.runbook.templating import ExpressionError, evaluate, render

METRICS = """# HELP graphql_request_duration_seconds Time to answer.
graphql_request_duration_seconds_bucket{le="0.1",operation="Me"} 90.0
graphql_request_duration_seconds_bucket{le="0.5",operation="Me"} 100.0
graphql_request_duration_seconds_bucket{le="+Inf",operation="Me"} 100.0
graphql_request_duration_seconds_count{operation="Me"} 100.0
graphql_request_duration_seconds_bucket{le="0.1",operation="Slow"} 0.0
graphql_request_duration_seconds_bucket{le="0.5",operation="Slow"} 1.0
graphql_request_duration_seconds_bucket{le="+Inf",operation="Slow"} 4.0
graphql_request_duration_seconds_bucket{le="+Inf",operation="Idle"} 0.0
"""


def test_durations() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("250ms") == 0.25
    assert parse_duration(7) == 7.0
    for bad in ("soon", "5 parsecs", -1, True, ""):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_histogram_quantile_interpolates_like_promql() -> None:
    p95 = histogram_quantile(METRICS, "graphql_request_duration_seconds", 0.95, "operation")
    # Me: rank 95 lies in (0.1, 0.5] holding 10 of 100 -> 0.1 + 0.4 * 5/10
    # Slow: rank 3.8 is in +Inf -> the highest finite bound; Idle has no samples
    assert p95 == {"Me": 0.3, "Slow": 0.5}


def test_masker_hides_values_and_url_passwords() -> None:
    masker = Masker(["s3cr3t-token"])
    masker.add_url("postgresql://app:pa%24%24word@db.internal:5432/app")
    text = masker.text(
        "Bearer s3cr3t-token to postgresql://app:pa%24%24word@db.internal:5432/app (pa$$word)"
    )
    assert text == "Bearer *** to postgresql://app:***@db.internal:5432/app (***)"
    assert masker.data({"k": ["s3cr3t-token", 3]}) == {"k": ["***", 3]}


def test_templates_keep_types_and_the_sandbox_holds() -> None:
    context = {"params": {"n": 3, "name": "ada"}}
    assert render("{{ params.n }}", context) == 3
    assert render("user {{ params.name }}", context) == "user ada"
    assert evaluate("params.n > 2", context) is True
    for attack in ("params.__class__.__mro__", "().__class__.__bases__[0].__subclasses__()"):
        with pytest.raises(ExpressionError):
            evaluate(attack, context)
    with pytest.raises(ExpressionError, match="undefined"):
        render("{{ params.missing }}", context)


def test_two_runs_taking_over_one_stale_lock_do_not_both_win(tmp_path: Path) -> None:
    dead = {"user": "bob", "host": socket.gethostname(), "pid": 2**22 + 4242, "run_id": "old"}
    first, second = RunLock(tmp_path, "rb", "local"), RunLock(tmp_path, "rb", "local")
    first.path.parent.mkdir(parents=True)
    first.path.write_text(json.dumps(dead))
    seen_by_second = second.holder()  # the second run reads the stale lock ...
    me = {"user": "ada", "host": socket.gethostname(), "pid": os.getpid()}
    first.acquire("run-1", me)  # ... the first takes it over meanwhile
    assert first.took_over == dead
    assert seen_by_second is not None
    # the second run now acts on what it read: it must restore the live lock, not delete it
    assert second._remove_stale(seen_by_second) is False
    assert (first.holder() or {}).get("run_id") == "run-1"
    with pytest.raises(RefusedError, match="run-1"):
        second.acquire("run-2", me)
    first.release()
    assert not first.path.exists()
