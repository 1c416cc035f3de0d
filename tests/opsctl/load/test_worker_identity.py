"""What the master refuses in a worker's answer to ``opsctl_hello`` (no process needed).

A second opsctl or Locust release cannot be installed beside this one, so the identities are
written here; the end-to-end refusal of another scenario file is in test_distributed_runs.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from opsctl.load.master import Coordinator, RunRefusedError
from opsctl.load.spec import MasterSpec, WorkerIdentity

MINE = WorkerIdentity(
    opsctl="0.1.0", locust="2.47.0", scenario_sha256="a" * 64, scenario_files=("cycle.py",)
)


class _Runner:
    """Only what the coordinator calls while checking identities."""

    def register_message(self, *_: Any, **__: Any) -> None:
        pass


def coordinator() -> Coordinator:
    spec = MasterSpec(
        scenario="cycle.py", host="http://127.0.0.1:9", rate=1, warmup_s=0, duration_s=1,
        max_users=1, drain_timeout_s=1, expect_workers=1,
    )  # fmt: skip
    return Coordinator(_Runner(), spec, MINE)


def test_the_same_identity_and_a_patch_release_of_locust_are_accepted() -> None:
    coordinator()._check("w1", MINE)
    coordinator()._check("w1", replace(MINE, locust="2.47.3"))


@pytest.mark.parametrize(
    ("theirs", "message"),
    [
        (replace(MINE, opsctl="0.2.0"), "worker w1 runs opsctl 0.2.0, the master 0.1.0"),
        (replace(MINE, locust="2.48.0"), "worker w1 runs Locust 2.48.0, the master 2.47.0"),
        (replace(MINE, scenario_sha256="b" * 64), "worker w1 runs another scenario"),
    ],
)
def test_another_version_or_scenario_refuses_the_run(theirs: WorkerIdentity, message: str) -> None:
    with pytest.raises(RunRefusedError, match=message):
        coordinator()._check("w1", theirs)


def test_an_identity_survives_the_message_round_trip() -> None:
    assert WorkerIdentity.from_message(MINE.to_message()) == MINE


BOTH = replace(MINE, user_classes=("ApiUser", "MobileUser"))


@pytest.mark.parametrize(
    ("theirs", "message"),
    [
        (replace(BOTH, tags=("simple",)), r"started with --tags/--exclude-tags \(simple\)"),
        (replace(BOTH, user_classes=("ApiUser",)), "runs the user classes ApiUser, the master"),
    ],
)
def test_a_worker_running_another_mix_refuses_the_run(theirs: WorkerIdentity, message: str) -> None:
    master = Coordinator(_Runner(), coordinator().spec, BOTH)
    with pytest.raises(RunRefusedError, match=message):
        master._check("w1", theirs)
