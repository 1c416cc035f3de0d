"""Who people are and how they stay signed in: ``users`` and ``refresh_tokens``."""

from __future__ import annotations

import sqlalchemy as sa

from reference_api.models.base import created_at_column, id_column, metadata

EMAIL_MAX_LENGTH = 320
NAME_MAX_LENGTH = 200

users = sa.Table(
    "users",
    metadata,
    id_column(),
    sa.Column("email", sa.String(EMAIL_MAX_LENGTH), nullable=False, unique=True),
    sa.Column("name", sa.String(NAME_MAX_LENGTH), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    created_at_column(),
    # Emails are stored lower-cased by the service; the constraint keeps it that way.
    sa.CheckConstraint("email = lower(email) AND char_length(email) >= 3", name="email_valid"),
    sa.CheckConstraint("char_length(btrim(name)) >= 1", name="name_not_blank"),
    comment="People who can sign in. Emails are unique and stored lower-cased.",
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    id_column(),
    sa.Column(
        "user_id",
        sa.Uuid(),
        sa.ForeignKey(users.c.id, ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Every token issued by rotation from one log-in shares the family id: reusing a rotated
    # token revokes the whole family (the stolen copy and the legitimate one).
    sa.Column("family_id", sa.Uuid(), nullable=False, index=True),
    # SHA-256 hex of the opaque token: the token itself is never stored.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    created_at_column(),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("char_length(token_hash) = 64", name="token_hash_length"),
    sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    comment="Refresh tokens, stored as SHA-256 hashes, rotated on use, revoked by family.",
)
