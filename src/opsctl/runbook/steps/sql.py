"""``sql``: one statement in its own transaction: read-only unless the step is mutating.

The statement always goes through the extended query protocol (prepared), even without bind
parameters: PostgreSQL then refuses more than one statement, so ``SELECT 1; COMMIT; ...``
cannot end the read-only transaction and write after it (the simple protocol would run all
three). Values are bind parameters only (``%(name)s``). The step's timeout becomes the transaction's
``statement_timeout``, so PostgreSQL itself cancels a slow query. ``expect_rows_affected``
guards a write: on a mismatch the transaction is rolled back and the step fails.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import psycopg

from opsctl.runbook.model import SqlSpec
from opsctl.runbook.steps.interface import (
    StepContext,
    StepError,
    StepResult,
    StepTimeoutError,
    StepType,
)

# PostgreSQL's message when a prepared (extended protocol) query holds several statements
_MANY_STATEMENTS = "cannot insert multiple commands into a prepared statement"


class _GuardError(Exception):
    pass


def _first_line(error: Exception, context: StepContext) -> str:
    text = str(error).strip()
    return context.masker.text(text.splitlines()[0] if text else "")


def json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


class SqlStep(StepType):
    kind = "sql"

    def __init__(self, *, mutating: bool) -> None:
        self.mutating = mutating

    def describe(self, spec: SqlSpec) -> str:
        query = " ".join(spec.query.split())
        mode = "read-write" if self.mutating else "read-only"
        guard = (
            f" expect_rows_affected={spec.expect_rows_affected}"
            if spec.expect_rows_affected is not None
            else ""
        )
        binds = f" binds={spec.params!r}" if spec.params else ""
        return f"SQL ({mode}) {query}{binds}{guard}"

    def run(self, spec: SqlSpec, context: StepContext) -> StepResult:
        timeout = context.timeout if context.timeout is not None else 30.0
        expected = _expected_rows(spec)
        try:
            with psycopg.connect(
                context.database_url(), autocommit=True, connect_timeout=max(2, int(timeout))
            ) as conn:
                return self._execute(conn, spec, timeout, expected)
        except _GuardError as guard:
            raise StepError(str(guard)) from None
        except psycopg.errors.SyntaxError as error:
            if _MANY_STATEMENTS in str(error):
                raise StepError(
                    "a sql step runs exactly one SQL statement; split the others into their"
                    " own steps (nothing was run)"
                ) from None
            raise StepError(f"SyntaxError: {_first_line(error, context)}") from None
        except psycopg.errors.QueryCanceled:
            raise StepTimeoutError(
                f"query cancelled by PostgreSQL after {timeout:g}s (statement_timeout)"
            ) from None
        except psycopg.Error as error:
            raise StepError(f"{type(error).__name__}: {_first_line(error, context)}") from None

    def _execute(
        self,
        conn: psycopg.Connection[Any],
        spec: SqlSpec,
        timeout: float,
        expected: int | None,
    ) -> StepResult:
        with conn.transaction(), conn.cursor() as cursor:
            if not self.mutating:
                cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout * 1000)}ms",)
            )
            # prepare=True: the extended protocol, one statement only (see the module doc)
            cursor.execute(spec.query.encode(), spec.params or None, prepare=True)
            columns = [c.name for c in cursor.description] if cursor.description else []
            rows: list[dict[str, Any]] = []
            truncated = False
            if columns:
                fetched = cursor.fetchmany(spec.row_limit + 1)
                truncated = len(fetched) > spec.row_limit
                rows = [
                    {c: json_safe(v) for c, v in zip(columns, row, strict=True)}
                    for row in fetched[: spec.row_limit]
                ]
            affected = cursor.rowcount
            if expected is not None and affected != expected:
                # leaving the transaction block with an exception rolls it back
                raise _GuardError(f"expected {expected} rows affected, got {affected}: rolled back")
        value = {
            "rows": rows,
            "columns": columns,
            "rowcount": affected,
            "truncated": truncated,
        }
        summary = f"{len(rows)} row(s)" if columns else f"{affected} row(s) affected"
        if truncated:
            summary += f" (first {spec.row_limit})"
        return StepResult(value=value, summary=summary)


def _expected_rows(spec: SqlSpec) -> int | None:
    if spec.expect_rows_affected is None:
        return None
    try:
        return int(spec.expect_rows_affected)
    except ValueError:
        raise StepError(
            f"expect_rows_affected is not a number: {spec.expect_rows_affected!r}"
        ) from None
