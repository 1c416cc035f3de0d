"""A database's session count tells whether anything but opsctl connected to it."""

from __future__ import annotations

import psycopg

from opsctl.database.usage import database_activity


def test_an_outside_session_is_counted(database_url: str) -> None:
    before = database_activity(database_url)
    untouched = database_activity(database_url)
    assert untouched - before == 1  # only the call's own session
    with psycopg.connect(database_url) as connection:
        connection.execute("SELECT 1")
    assert database_activity(database_url) - untouched == 2
