"""The reference API's seed plan: believable tenants, people, projects, tasks and comments.

``opsctl seed`` loads it (``service.seed: reference_api.seed:plan`` in ``opsctl.yaml``); the
engine orders the tables by their foreign keys and loads them with binary COPY. The shape:

* documented personas (:data:`PERSONAS`) with every role in three workspaces; every seeded
  user, persona or not, has the one password from ``SEED_PASSWORD`` (default
  :data:`DEFAULT_PASSWORD`), hashed once per run with the API's argon2id parameters;
* workspace sizes follow a Zipf law (a few large, many small); the persona workspaces are
  the largest; projects follow members, tasks follow members per project;
* every task status and priority, due dates around the anchor date (the day of the run unless
  pinned), comments on some tasks, unicode names.

Rows are laid out contiguously by parent (memberships by workspace, projects by workspace,
tasks by project), so a row's parent is a binary search in a small table of offsets that is
computed once per run from the seed and the row counts.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from opsctl.seed.plan import Chunk, PlanError, Rows, SeedPlan, Table
from opsctl.seed.streams import stream_key, values_for_rows
from opsctl.seed.values import (
    MICROSECONDS_PER_DAY,
    Choice,
    Computed,
    Dates,
    Nullable,
    Ref,
    Timestamps,
    Uuid,
    Words,
    anchor_microseconds,
)

# The name of the variable that holds the password, not a password (bandit matches the name).
PASSWORD_VARIABLE = "SEED_PASSWORD"  # noqa: S105  # nosec B105
# Documented in docs/seed.md and the README so a developer can log in at once on a local
# database; any shared environment sets SEED_PASSWORD. Seeded test users only, never a real one.
DEFAULT_PASSWORD = "opsctl-local-password"  # noqa: S105  # nosec B105


@dataclass(frozen=True)
class Persona:
    """A documented user: log in with ``email`` and the seed password."""

    email: str
    name: str
    roles: tuple[str, str, str]  # role in each of PERSONA_WORKSPACES, in order


PERSONA_WORKSPACES = ("Acme Robotics", "Globex Ünited", "Initech Kōgyō")  # rows 0, 1, 2
PERSONAS = (
    Persona("owner@example.test", "Olivia Owner", ("OWNER", "ADMIN", "MEMBER")),
    Persona("admin@example.test", "Ádám Admin", ("ADMIN", "MEMBER", "VIEWER")),
    Persona("member@example.test", "Mei Member 梅", ("MEMBER", "VIEWER", "OWNER")),
    Persona("viewer@example.test", "Viktor Viewer", ("VIEWER", "OWNER", "ADMIN")),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"Zoë:zoe Ana:ana"`` as ((display, ascii for the e-mail), ...)."""
    return tuple((name, slug) for name, _, slug in (item.partition(":") for item in text.split()))


# Display name and its ASCII form for e-mail addresses (emails are stored lower-cased ASCII).
FIRST_NAMES = _pairs(
    "Amélie:amelie Björn:bjorn Chloé:chloe Dmitri:dmitri Eitan:eitan Fatima:fatima "
    "Giulia:giulia Hiroshi:hiroshi Ingrid:ingrid José:jose Kwame:kwame Łucja:lucja Mateo:mateo "
    "Nguyễn:nguyen Oğuz:oguz Priya:priya Qiu:qiu Rafał:rafal Søren:soren Tomás:tomas Uma:uma "
    "Vera:vera Wei:wei Ximena:ximena Yusuf:yusuf Zoë:zoe Ana:ana Ben:ben"
)
LAST_NAMES = _pairs(
    "Müller:muller García:garcia O'Brien:obrien Kowalski:kowalski Nakamura:nakamura "
    "Svensson:svensson Dubois:dubois Rossi:rossi Öztürk:ozturk Papadopoulos:papadopoulos "
    "Ivanova:ivanova Smith:smith Nowak:nowak Silva:silva Kim:kim Haddad:haddad Mensah:mensah "
    "Jensen:jensen Novák:novak Ferreira:ferreira Tanaka:tanaka Weiß:weiss Åberg:aberg Çelik:celik"
)
WORKSPACE_WORDS = _words(
    "Nordic Blue Quantum Café Agile Żółw Sunrise Iron Lotus Delta Örnek Polar Crimson Atlas "
    "Maple Kōhī Vector Harbor Summit Echo"
)
WORKSPACE_KINDS = _words("Labs Studio GmbH Collective Team Works Coöp 株式会社")
PROJECT_WORDS = (
    "Website", "Mobile app", "Billing", "Onboarding", "Search", "Data pipeline", "Q3 launch",
    "Refactor", "Infra", "Design system", "Support", "Analytics", "Migration", "API v2",
    "Café menu", "Résumé parser",
)  # fmt: skip
TASK_WORDS = _words(
    "fix crash login page add tests for the update copy on checkout review naïve cache "
    "invalidation déjà vu bug in export CSV emoji 🚀 support über slow query dashboard translate "
    "日本語 strings rate limit retry flaky build dark mode icons Ñandú spec draft sync offline "
    "push notifications memory leak résumé onboarding flow audit logs permissions pagination "
    "timeout upload avatar settings webhook billing"
)
COMMENT_WORDS = (
    *TASK_WORDS,
    *_words(
        "I think we should looks good to me can you check this again 👍 merci danke 谢谢 done "
        "blocked by waiting"
    ),
)

ROLES_AFTER_OWNER = ("ADMIN", "MEMBER", "VIEWER")
ROLE_WEIGHTS = (1, 6, 3)
_TWO_TO_64 = float(2**64)


def seed_password() -> str:
    """The password of every seeded user (the variable, or the documented local default)."""
    return os.environ.get(PASSWORD_VARIABLE) or DEFAULT_PASSWORD


def password_hash(seed: int, password: str) -> str:
    """One argon2id hash per run, with the API's parameters and a salt derived from the seed
    (so the same seed and password give the same bytes, and the fingerprint stays stable)."""
    from argon2 import PasswordHasher, Type

    from reference_api.config import Settings

    def setting(field: str, variable: str) -> int:
        default = Settings.model_fields[field].default
        return int(os.environ.get(variable) or default)

    hasher = PasswordHasher(
        time_cost=setting("argon2_time_cost", "ARGON2_TIME_COST"),
        memory_cost=setting("argon2_memory_cost_kib", "ARGON2_MEMORY_COST_KIB"),
        parallelism=setting("argon2_parallelism", "ARGON2_PARALLELISM"),
        type=Type.ID,
    )
    salt = hashlib.blake2b(f"{seed}".encode(), digest_size=16, person=b"seed-pw-salt").digest()
    return hasher.hash(password, salt=salt)


def spread(
    total: int, weights: Sequence[float], minimums: Sequence[int], caps: Sequence[int]
) -> list[int]:
    """Split ``total`` in proportion to ``weights``, each part within [minimum, cap]."""
    if sum(minimums) > total or sum(caps) < total:
        raise PlanError(f"cannot split {total} rows over {len(weights)} parents")
    rest = total - sum(minimums)
    weight_sum = sum(weights) or 1.0
    parts = [
        min(cap, low + math.floor(rest * weight / weight_sum))
        for weight, low, cap in zip(weights, minimums, caps, strict=True)
    ]
    left = total - sum(parts)
    for index in itertools.cycle(range(len(parts))):
        if left == 0:
            break
        add = min(caps[index] - parts[index], left, max(1, left // len(parts)))
        parts[index] += add
        left -= add
    return parts


def offsets(sizes: Sequence[int]) -> list[int]:
    return [0, *itertools.accumulate(sizes)]


def expand(sizes: Sequence[int]) -> list[int]:
    """``[0]*sizes[0] + [1]*sizes[1] + ...``: the parent index of every child row."""
    parents: list[int] = []
    for parent, size in enumerate(sizes):
        parents.extend([parent] * size)
    return parents


@dataclass(frozen=True)
class Layout:
    """Who belongs where, computed once per run from the seed and the row counts.

    Children are contiguous by parent, so each "parent of row" table is built in C-speed
    runs (``[parent] * size``) and every per-row lookup is one list index.
    """

    users: int
    member_offsets: list[int]
    sizes: list[int]
    starts: list[int]
    step: int
    membership_workspace: list[int]
    project_workspace: list[int]
    task_project: list[int]
    task_workspace: list[int]

    @property
    def pool(self) -> int:
        """Users that are not personas: the ones workspaces draw their other members from."""
        return self.users - len(PERSONAS)

    def member_users(self, workspaces: Sequence[int], slots: Sequence[int]) -> list[int]:
        """The user row of the ``slot``-th member of each ``workspace``.

        In a persona workspace the first slots are the personas; other slots walk the
        non-persona users from a per-workspace start with a step coprime to their count, so
        a workspace never lists one user twice.
        """
        personas, persona_spaces = len(PERSONAS), len(PERSONA_WORKSPACES)
        starts, step, pool = self.starts, self.step, self.pool
        return [
            slot
            if workspace < persona_spaces and slot < personas
            else personas
            + (starts[workspace] + (slot - (personas if workspace < persona_spaces else 0)) * step)
            % pool
            for workspace, slot in zip(workspaces, slots, strict=True)
        ]


def build_layout(seed: int, counts: dict[str, int]) -> Layout:
    users, workspaces = counts["users"], counts["workspaces"]
    members, projects, tasks = counts["memberships"], counts["projects"], counts["tasks"]
    personas, persona_spaces = len(PERSONAS), len(PERSONA_WORKSPACES)
    if users <= personas or workspaces < persona_spaces or members < personas * persona_spaces:
        raise PlanError(
            f"scale too small for the personas: need more than {personas} users, at least "
            f"{persona_spaces} workspaces and {personas * persona_spaces} memberships "
            "(use --scale small or a larger row count)"
        )
    pool = users - personas
    zipf = [1.0 / (rank + 1) ** 1.1 for rank in range(workspaces)]
    minimums = [personas if w < persona_spaces else 1 for w in range(workspaces)]
    caps = [pool + (personas if w < persona_spaces else 0) for w in range(workspaces)]
    sizes = spread(members, zipf, minimums, caps)
    layout_key = stream_key(seed, "memberships", "\x00layout")
    starts = [value % pool for value in values_for_rows(layout_key, range(workspaces))]
    step = max(1, int(pool * 0.618)) if pool > 1 else 1
    while math.gcd(step, pool) != 1:
        step += 1
    project_minimum = 1 if projects >= workspaces else 0
    per_workspace = spread(projects, sizes, [project_minimum] * workspaces, [projects] * workspaces)
    project_workspace = expand(per_workspace)
    per_project_weight = [sizes[w] / per_workspace[w] for w in project_workspace]
    task_project = expand(spread(tasks, per_project_weight, [0] * projects, [tasks] * projects))
    return Layout(
        users=users,
        member_offsets=offsets(sizes),
        sizes=sizes,
        starts=starts,
        step=step,
        membership_workspace=expand(sizes),
        project_workspace=project_workspace,
        task_project=task_project,
        task_workspace=[project_workspace[p] for p in task_project],
    )


def layout(chunk: Chunk) -> Layout:
    return chunk.remember(
        "reference-api-layout", lambda: build_layout(chunk.seed, dict(chunk.counts))
    )


def _pick(options: Sequence[str], value: int) -> str:
    return options[value % len(options)]


# users ---------------------------------------------------------------------------------------


def _is_persona(chunk: Chunk, row: int) -> bool:
    # append adds people next to existing ones: the personas exist already (or not at all)
    return row < len(PERSONAS) and not chunk.append


def user_emails(chunk: Chunk) -> list[object]:
    firsts, lasts = chunk.random("first"), chunk.random("last")
    # seed 1 gives first.last.N@; other seeds add .sK so that append with another seed
    # never collides with the addresses already there
    tag = "" if chunk.seed == 1 else f".s{chunk.seed}"
    out: list[object] = []
    for row, first, last in zip(chunk.rows, firsts, lasts, strict=True):
        if _is_persona(chunk, row):
            out.append(PERSONAS[row].email)
        else:
            out.append(
                f"{FIRST_NAMES[first % len(FIRST_NAMES)][1]}."
                f"{LAST_NAMES[last % len(LAST_NAMES)][1]}.{row}{tag}@example.test"
            )
    return out


def user_names(chunk: Chunk) -> list[object]:
    # The same streams as the e-mail, so a user's name and address agree.
    firsts, lasts = chunk.random_of("email", "first"), chunk.random_of("email", "last")
    return [
        PERSONAS[row].name
        if _is_persona(chunk, row)
        else f"{FIRST_NAMES[first % len(FIRST_NAMES)][0]} {LAST_NAMES[last % len(LAST_NAMES)][0]}"
        for row, first, last in zip(chunk.rows, firsts, lasts, strict=True)
    ]


def user_password_hashes(chunk: Chunk) -> list[object]:
    hashed = chunk.remember("password-hash", lambda: password_hash(chunk.seed, seed_password()))
    return [hashed] * len(chunk.rows)


# workspaces ----------------------------------------------------------------------------------


def workspace_names(chunk: Chunk) -> list[object]:
    firsts, seconds, kinds = chunk.random("a"), chunk.random("b"), chunk.random("kind")
    return [
        PERSONA_WORKSPACES[row]
        if row < len(PERSONA_WORKSPACES) and not chunk.append
        else f"{_pick(WORKSPACE_WORDS, a)} {_pick(WORKSPACE_WORDS, b)} {_pick(WORKSPACE_KINDS, k)}"
        for row, a, b, k in zip(chunk.rows, firsts, seconds, kinds, strict=True)
    ]


# memberships ---------------------------------------------------------------------------------


def _membership_places(chunk: Chunk) -> tuple[list[int], list[int]]:
    """(workspace, slot) of each membership row of the chunk."""
    shape = layout(chunk)
    workspaces = shape.membership_workspace[chunk.rows.start : chunk.rows.stop]
    member_offsets = shape.member_offsets
    slots = [row - member_offsets[w] for row, w in zip(chunk.rows, workspaces, strict=True)]
    return workspaces, slots


def membership_workspaces(chunk: Chunk) -> list[object]:
    return chunk.ids("workspaces", _membership_places(chunk)[0])


def membership_users(chunk: Chunk) -> list[object]:
    return chunk.ids("users", layout(chunk).member_users(*_membership_places(chunk)))


def membership_roles(chunk: Chunk) -> list[object]:
    thresholds = list(itertools.accumulate(ROLE_WEIGHTS))
    roles: list[object] = []
    workspaces, slots = _membership_places(chunk)
    for workspace, slot, value in zip(workspaces, slots, chunk.random(), strict=True):
        if workspace < len(PERSONA_WORKSPACES) and slot < len(PERSONAS):
            roles.append(PERSONAS[slot].roles[workspace])  # every role, also in append
        elif slot == 0 and workspace >= len(PERSONA_WORKSPACES):
            roles.append("OWNER")
        else:
            pick = bisect.bisect_right(thresholds, value % thresholds[-1])
            roles.append(ROLES_AFTER_OWNER[pick])
    return roles


# projects ------------------------------------------------------------------------------------


def project_workspaces(chunk: Chunk) -> list[object]:
    return chunk.ids(
        "workspaces", layout(chunk).project_workspace[chunk.rows.start : chunk.rows.stop]
    )


def project_names(chunk: Chunk) -> list[object]:
    return [f"{_pick(PROJECT_WORDS, value)} {1 + (value >> 20) % 9}" for value in chunk.random()]


# tasks ---------------------------------------------------------------------------------------


def task_projects(chunk: Chunk) -> list[object]:
    return chunk.ids("projects", layout(chunk).task_project[chunk.rows.start : chunk.rows.stop])


def _members_of(shape: Layout, workspaces: Sequence[int], picks: Sequence[int]) -> list[int]:
    """A member (user row) of each workspace, chosen by ``picks``."""
    sizes = shape.sizes
    slots = [pick % sizes[w] for w, pick in zip(workspaces, picks, strict=True)]
    return shape.member_users(workspaces, slots)


def task_assignees(chunk: Chunk) -> list[object]:
    shape = layout(chunk)
    workspaces = shape.task_workspace[chunk.rows.start : chunk.rows.stop]
    users = chunk.ids("users", _members_of(shape, workspaces, chunk.random()))
    threshold = _TWO_TO_64 * 0.2
    return [
        None if gate < threshold else user
        for user, gate in zip(users, chunk.random("null"), strict=True)
    ]


DESCRIPTIONS = Words(TASK_WORDS, 8, 40)


def task_descriptions(chunk: Chunk) -> list[object]:
    words = DESCRIPTIONS.generate(chunk)
    return [
        "" if gate < _TWO_TO_64 * 0.4 else text
        for text, gate in zip(words, chunk.random("empty"), strict=True)
    ]


TASK_CREATED_DAYS = 180


def task_updated_at(chunk: Chunk) -> list[object]:
    # created_at is Timestamps(TASK_CREATED_DAYS) on its own stream; re-derive it here.
    end = anchor_microseconds(chunk)
    start = end - TASK_CREATED_DAYS * MICROSECONDS_PER_DAY
    span = TASK_CREATED_DAYS * MICROSECONDS_PER_DAY + 1
    created = [start + value % span for value in chunk.random_of("created_at")]
    return [c + value % (end - c + 1) for c, value in zip(created, chunk.random(), strict=True)]


# comments ------------------------------------------------------------------------------------


def _comment_tasks(chunk: Chunk) -> list[int]:
    tasks = chunk.counts["tasks"]
    return [value % tasks for value in chunk.random_of("task_id")]


def comment_tasks(chunk: Chunk) -> list[object]:
    return chunk.ids("tasks", _comment_tasks(chunk))


def comment_authors(chunk: Chunk) -> list[object]:
    shape = layout(chunk)
    task_workspace = shape.task_workspace
    workspaces = [task_workspace[task] for task in _comment_tasks(chunk)]
    return chunk.ids("users", _members_of(shape, workspaces, chunk.random()))


# refresh tokens ------------------------------------------------------------------------------


def token_hashes(chunk: Chunk) -> list[object]:
    # Hashes of tokens nobody holds: volume and shape only, they authenticate no one.
    parts = [chunk.random(str(index)) for index in range(4)]
    return [f"{a:016x}{b:016x}{c:016x}{d:016x}" for a, b, c, d in zip(*parts, strict=True)]


def token_expiry(chunk: Chunk) -> list[object]:
    created = Timestamps(10).generate(_sibling(chunk, "created_at"))
    return [int(c) + 30 * MICROSECONDS_PER_DAY for c in created]  # type: ignore[call-overload]


def _sibling(chunk: Chunk, column: str) -> Chunk:
    return Chunk(
        chunk.seed,
        chunk.table,
        column,
        chunk.rows,
        chunk.counts,
        chunk.anchor,
        chunk.id_offsets,
        chunk.plan,
        chunk.memo,
    )


STATUSES = ("TODO", "IN_PROGRESS", "DONE")
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")

plan = SeedPlan(
    description="reference API: personas, skewed workspaces, projects, tasks, comments",
    tables=[
        Table(
            "users",
            rows=Rows(small=60, medium=5_000, large=60_000),
            columns={
                "id": Uuid(),
                "email": Computed(user_emails),
                "name": Computed(user_names),
                "password_hash": Computed(user_password_hashes),
                "created_at": Timestamps(730, -1),
            },
        ),
        Table(
            "workspaces",
            rows=Rows(small=12, medium=400, large=6_000),
            columns={
                "id": Uuid(),
                "name": Computed(workspace_names),
                "created_at": Timestamps(720, -360),
            },
        ),
        Table(
            "memberships",
            rows=Rows(small=90, medium=12_000, large=150_000),
            columns={
                "id": Uuid(),
                "workspace_id": Computed(membership_workspaces),
                "user_id": Computed(membership_users),
                "role": Computed(membership_roles),
                "created_at": Timestamps(360, -181),
            },
        ),
        Table(
            "projects",
            rows=Rows(small=30, medium=1_500, large=24_000),
            columns={
                "id": Uuid(),
                "workspace_id": Computed(project_workspaces),
                "name": Computed(project_names),
                "created_at": Timestamps(360, -181),
            },
        ),
        Table(
            "tasks",
            rows=Rows(small=180, medium=30_000, large=600_000),
            columns={
                "id": Uuid(),
                "project_id": Computed(task_projects),
                "title": Words(TASK_WORDS, 2, 7),
                "description": Computed(task_descriptions),
                "status": Choice(STATUSES, (45, 25, 30)),
                "priority": Choice(PRIORITIES, (30, 40, 20, 10)),
                "assignee_id": Computed(task_assignees),
                "due_date": Nullable(Dates(30, 60), 0.15),
                "created_at": Timestamps(TASK_CREATED_DAYS),
                "updated_at": Computed(task_updated_at),
            },
        ),
        Table(
            "comments",
            rows=Rows(small=120, medium=15_000, large=300_000),
            columns={
                "id": Uuid(),
                "task_id": Computed(comment_tasks),
                "author_id": Computed(comment_authors),
                "body": Words(COMMENT_WORDS, 3, 25),
                "created_at": Timestamps(90),
            },
        ),
        Table(
            "refresh_tokens",
            rows=Rows(small=20, medium=1_000, large=20_000),
            columns={
                "id": Uuid(),
                "user_id": Ref("users", skew=1.0),
                "family_id": Uuid(stream="family"),
                "token_hash": Computed(token_hashes),
                "created_at": Timestamps(10),
                "expires_at": Computed(token_expiry),
                "revoked_at": Nullable(Timestamps(1), 0.8),
            },
        ),
    ],
)
