"""Just enough SQL reading for the safety lint: statements, and what each one does.

Not a parser: statements are split outside quotes, dollar quotes and comments, then matched
against the handful of PostgreSQL DDL shapes the lint rules care about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")


def split_statements(text: str) -> list[str]:
    """Statements of ``text`` without comments, whitespace collapsed."""
    statements: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end == -1 else end + 2
            current.append(" ")
            continue
        if char in ("'", '"'):
            end = i + 1
            while end < len(text):
                if text[end] == char and not text.startswith(char * 2, end):
                    break
                end += 2 if text.startswith(char * 2, end) else 1
            current.append(text[i : end + 1])
            i = end + 1
            continue
        tag = _DOLLAR_TAG.match(text, i) if char == "$" else None
        if tag is not None:
            end = text.find(tag.group(), tag.end())
            end = len(text) if end == -1 else end + len(tag.group())
            current.append(text[i:end])
            i = end
            continue
        if char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    statements.append("".join(current))
    return [" ".join(s.split()) for s in statements if s.strip()]


_NAME = r'(?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?'


def name_of(identifier: str) -> str:
    """``public."Tasks"`` -> ``Tasks``: the unqualified, unquoted name (lower-cased if bare)."""
    last = identifier.rsplit(".", 1)[-1]
    return last[1:-1] if last.startswith('"') else last.lower()


@dataclass(frozen=True)
class Action:
    """One thing a statement does that a lint rule may care about."""

    kind: str  # create_table, create_index, drop_index, add_column, set_not_null, alter_type,
    # drop_column, drop_table, rename, add_constraint, add_enum_value
    table: str | None = None
    concurrently: bool = False
    not_null: bool = False
    has_default: bool = False
    not_valid: bool = False
    detail: str = ""


_CREATE_TABLE = re.compile(
    rf"^CREATE (?:UNLOGGED |TEMP(?:ORARY)? )?TABLE (?:IF NOT EXISTS )?({_NAME})", re.I
)
_CREATE_INDEX = re.compile(
    rf"^CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?({_NAME} )?"
    rf"ON (?:ONLY )?({_NAME})",
    re.I,
)
_DROP_INDEX = re.compile(r"^DROP INDEX (CONCURRENTLY )?", re.I)
_REINDEX = re.compile(r"^REINDEX .*CONCURRENTLY", re.I)
_DROP_TABLE = re.compile(rf"^DROP TABLE (?:IF EXISTS )?({_NAME}(?:\s*,\s*{_NAME})*)", re.I)
_ALTER_TABLE = re.compile(rf"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?({_NAME}) (.*)$", re.I)
_ALTER_TYPE_ADD = re.compile(rf"^ALTER TYPE ({_NAME}) ADD VALUE", re.I)


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _alter_table_actions(table: str, rest: str) -> list[Action]:
    actions: list[Action] = []
    for clause in _split_top_level(rest):
        upper = clause.upper()
        if re.match(r"^RENAME (?:COLUMN )?(?!CONSTRAINT)", upper):
            actions.append(Action("rename", table, detail=clause))
        elif re.match(r"^ADD (?:CONSTRAINT \S+ )?(?:FOREIGN KEY|CHECK)\b", upper):
            actions.append(Action("add_constraint", table, not_valid="NOT VALID" in upper))
        elif re.match(r"^ADD (?!CONSTRAINT|PRIMARY|UNIQUE|EXCLUDE)", upper):
            column = re.sub(r"^ADD (?:COLUMN )?(?:IF NOT EXISTS )?", "", clause, flags=re.I)
            actions.append(
                Action(
                    "add_column",
                    table,
                    not_null="NOT NULL" in upper or "PRIMARY KEY" in upper,
                    has_default=" DEFAULT " in f" {upper} ",
                    detail=name_of(column.split(" ", 1)[0]),
                )
            )
        elif re.match(r"^ALTER (?:COLUMN )?\S+ SET NOT NULL", upper):
            actions.append(Action("set_not_null", table, detail=clause.split()[-4]))
        elif re.match(r"^ALTER (?:COLUMN )?\S+ (?:SET DATA )?TYPE ", upper):
            actions.append(Action("alter_type", table, detail=clause))
        elif re.match(r"^DROP (?:COLUMN )?(?!CONSTRAINT|DEFAULT|NOT NULL)", upper):
            column = re.sub(r"^DROP (?:COLUMN )?(?:IF EXISTS )?", "", clause, flags=re.I)
            actions.append(Action("drop_column", table, detail=name_of(column.split(" ")[0])))
    return actions


def actions_of(statement: str) -> list[Action]:
    """What ``statement`` does, as far as the lint rules are concerned."""
    if match := _CREATE_TABLE.match(statement):
        return [Action("create_table", name_of(match.group(1)))]
    if match := _CREATE_INDEX.match(statement):
        return [Action("create_index", name_of(match.group(3)), concurrently=bool(match.group(1)))]
    if match := _DROP_INDEX.match(statement):
        return [Action("drop_index", concurrently=bool(match.group(1)))]
    if _REINDEX.match(statement):
        return [Action("drop_index", concurrently=True)]
    if match := _DROP_TABLE.match(statement):
        return [Action("drop_table", name_of(name.strip())) for name in match.group(1).split(",")]
    if match := _ALTER_TYPE_ADD.match(statement):
        return [Action("add_enum_value", detail=name_of(match.group(1)))]
    if match := _ALTER_TABLE.match(statement):
        table, rest = name_of(match.group(1)), match.group(2)
        if re.match(r"^RENAME TO ", rest, re.I):
            return [Action("rename", table, detail=rest)]
        return _alter_table_actions(table, rest)
    return []
