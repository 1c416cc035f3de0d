"""Table definitions (SQLAlchemy Core) of the reference API, all on one ``metadata``.

``metadata`` is the source of truth the migrations must reproduce exactly; opsctl's
migrations gate compares ``metadata.create_all()`` with ``alembic upgrade head``.
"""

from reference_api.models.base import NAMING_CONVENTION, metadata
from reference_api.models.enums import Role, TaskPriority, TaskStatus
from reference_api.models.identity import refresh_tokens, users
from reference_api.models.tracker import comments, projects, tasks
from reference_api.models.workspaces import memberships, workspaces

__all__ = [
    "NAMING_CONVENTION",
    "Role",
    "TaskPriority",
    "TaskStatus",
    "comments",
    "memberships",
    "metadata",
    "projects",
    "refresh_tokens",
    "tasks",
    "users",
    "workspaces",
]
