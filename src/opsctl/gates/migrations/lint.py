"""Safety lint of a revision's ``upgrade()`` and ``downgrade()``, read from the file itself.

The revision is parsed with :mod:`ast`; the ``op.*`` calls (and ``batch_op.*`` inside
``op.batch_alter_table``) and the SQL given to ``op.execute`` are checked against the rules in
:data:`RULES`. Tables and columns created by the same revision are new: locking them or
dropping them again is harmless. A rule is silenced for one revision only by a comment that
names it and gives a reason: ``# opsctl: allow MIG003 -- the column was unused since v2``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.gates.interface import Finding, Severity
from opsctl.gates.migrations.sql import Action, actions_of, split_statements


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    hint: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "MIG001",
            "index created without CONCURRENTLY on an existing table",
            "blocks writes while it builds: use op.create_index(..., "
            "postgresql_concurrently=True) inside op.get_context().autocommit_block()",
        ),
        Rule(
            "MIG002",
            "NOT NULL added to an existing table without a safe path",
            "add the column nullable (or with a server_default), backfill, add a CHECK "
            "(col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL in a later revision",
        ),
        Rule(
            "MIG003",
            "column or table dropped",
            "the running app version still reads it and the data is gone: stop using it in one "
            "release, drop it in a later one",
        ),
        Rule(
            "MIG004",
            "column or table renamed",
            "the running app version uses the old name: add the new column/view, copy, switch "
            "readers, drop the old one later",
        ),
        Rule(
            "MIG005",
            "column type changed",
            "most type changes rewrite the table under an exclusive lock: add a new column, "
            "backfill, switch, drop the old one",
        ),
        Rule(
            "MIG006",
            "foreign key or check constraint added without NOT VALID",
            "validating scans the table under lock: add it with postgresql_not_valid=True (or "
            "NOT VALID), then VALIDATE CONSTRAINT in a separate revision",
        ),
        Rule(
            "MIG007",
            "CONCURRENTLY inside a transaction",
            "PostgreSQL refuses it in a transaction: wrap the call in "
            "`with op.get_context().autocommit_block():`",
        ),
        Rule(
            "MIG008",
            "enum value added",
            "ALTER TYPE ... ADD VALUE cannot be undone by a downgrade and the value is unusable "
            "in the same transaction: consider a lookup table or a CHECK constraint",
        ),
    )
}
SUPPRESSION_RULE = "MIG000"
_SUPPRESSION = re.compile(r"#\s*opsctl:\s*allow\s+((?:MIG\d{3}[\s,]*)+)(?:--\s*(.*))?", re.I)


@dataclass
class _Revision:
    """What the walk of one revision collects."""

    new_tables: set[str] = field(default_factory=set)
    new_columns: set[tuple[str, str]] = field(default_factory=set)
    hits: list[tuple[str, int, str, str]] = field(default_factory=list)  # rule, line, fn, text


def _const(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _sql_text(node: ast.AST | None, constants: dict[str, str]) -> str:
    """The SQL of ``op.execute(...)``: a string, a module-level string constant,
    ``sa.text("...")``, or an f-string's literal parts."""
    if isinstance(node, ast.Call) and node.args:
        return _sql_text(node.args[0], constants)
    if isinstance(node, ast.Name):
        return constants.get(node.id, "")
    if isinstance(node, ast.JoinedStr):
        return "".join(_const(part) or "x" for part in node.values)
    return _const(node) or ""


def _module_constants(tree: ast.Module) -> dict[str, str]:
    constants: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and (value := _const(node.value)) is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = value
    return constants


_KEYWORD_ONLY = 99  # position of arguments that Alembic only takes by keyword


def _arg(call: ast.Call, position: int, keyword: str) -> ast.AST | None:
    """The argument passed as ``keyword=``, or at ``position``."""
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _column_call(node: ast.AST | None) -> tuple[str | None, bool, bool]:
    """``sa.Column("name", ..., nullable=False, server_default=...)`` -> name, NOT NULL, default."""
    if not isinstance(node, ast.Call):
        return None, False, False
    keywords = {kw.arg: kw.value for kw in node.keywords}
    nullable = keywords.get("nullable")
    not_null = (isinstance(nullable, ast.Constant) and nullable.value is False) or _true(
        keywords.get("primary_key")
    )
    default = "server_default" in keywords or "server_onupdate" in keywords
    return _const(node.args[0] if node.args else None), not_null, default


class _Walker:
    def __init__(self, revision: _Revision, function: str, constants: dict[str, str]) -> None:
        self.constants = constants
        self.revision = revision
        self.function = function

    def hit(self, rule: str, line: int, text: str) -> None:
        self.revision.hits.append((rule, line, self.function, text))

    def existing(self, table: str | None) -> bool:
        return table is None or table not in self.revision.new_tables

    def walk(self, body: list[ast.stmt], autocommit: bool, batch: dict[str, str | None]) -> None:
        for statement in body:
            if isinstance(statement, ast.With | ast.AsyncWith):
                inner_auto, inner_batch = autocommit, dict(batch)
                for item in statement.items:
                    call = item.context_expr
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                        if call.func.attr == "autocommit_block":
                            inner_auto = True
                        if call.func.attr == "batch_alter_table" and isinstance(
                            item.optional_vars, ast.Name
                        ):
                            inner_batch[item.optional_vars.id] = _const(_arg(call, 0, "table_name"))
                self.walk(statement.body, inner_auto, inner_batch)
                continue
            for node in ast.walk(statement):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    owner = node.func.value
                    if isinstance(owner, ast.Name) and owner.id == "op":
                        self.op_call(node, node.func.attr, None, autocommit)
                    elif isinstance(owner, ast.Name) and owner.id in batch:
                        self.op_call(node, node.func.attr, batch[owner.id], autocommit, True)

    def op_call(
        self, call: ast.Call, name: str, table: str | None, autocommit: bool, batch: bool = False
    ) -> None:
        shift = 0 if batch else 1  # batch_op calls have no table argument
        line = call.lineno
        if not batch:
            table = _const(_arg(call, 0, "table_name"))
        if name == "create_table":
            self.revision.new_tables.add(_const(_arg(call, 0, "table_name")) or "")
        elif name == "create_index":
            table = _const(_arg(call, 1, "table_name")) if not batch else table
            concurrent = _true(_arg(call, _KEYWORD_ONLY, "postgresql_concurrently"))
            if concurrent and not autocommit:
                self.hit("MIG007", line, "index created CONCURRENTLY inside the transaction")
            if not concurrent and self.existing(table):
                self.hit("MIG001", line, f"index on existing table {table} without CONCURRENTLY")
        elif name == "drop_index" and _true(_arg(call, _KEYWORD_ONLY, "postgresql_concurrently")):
            if not autocommit:
                self.hit("MIG007", line, "index dropped CONCURRENTLY inside the transaction")
        elif name == "add_column":
            column, not_null, default = _column_call(_arg(call, shift, "column"))
            self.revision.new_columns.add((table or "", column or ""))
            if not_null and not default and self.existing(table):
                self.hit("MIG002", line, f"NOT NULL column {column} added to {table}")
        elif name == "alter_column":
            column = _const(_arg(call, shift, "column_name"))
            nullable = _arg(call, _KEYWORD_ONLY, "nullable")
            sets_not_null = isinstance(nullable, ast.Constant) and nullable.value is False
            is_new = (table, column) in self.revision.new_columns
            if sets_not_null and self.existing(table) and not is_new:
                self.hit("MIG002", line, f"{table}.{column} set NOT NULL")
            if _arg(call, _KEYWORD_ONLY, "new_column_name") is not None and self.existing(table):
                self.hit("MIG004", line, f"column {table}.{column} renamed")
            if _arg(call, _KEYWORD_ONLY, "type_") is not None and self.existing(table):
                self.hit("MIG005", line, f"type of {table}.{column} changed")
        elif name == "drop_column":
            column = _const(_arg(call, shift, "column_name"))
            if self.existing(table) and (table, column) not in self.revision.new_columns:
                self.hit("MIG003", line, f"column {table}.{column} dropped")
        elif name == "drop_table":
            if self.existing(table):
                self.hit("MIG003", line, f"table {table} dropped")
        elif name == "rename_table":
            self.hit("MIG004", line, f"table {table} renamed")
        elif name in ("create_foreign_key", "create_check_constraint"):
            table = (
                table
                if batch
                else _const(_arg(call, 1, "table_name" if "check" in name else "source_table"))
            )
            if not _true(_arg(call, _KEYWORD_ONLY, "postgresql_not_valid")) and self.existing(
                table
            ):
                kind = "foreign key" if "foreign" in name else "check constraint"
                self.hit("MIG006", line, f"{kind} on {table} validated at once")
        elif name == "execute":
            for statement in split_statements(_sql_text(_arg(call, 0, "sqltext"), self.constants)):
                for action in actions_of(statement):
                    self.sql_action(action, line, autocommit)

    def sql_action(self, action: Action, line: int, autocommit: bool) -> None:
        table = action.table
        if action.kind == "create_table" and table:
            self.revision.new_tables.add(table)
        elif action.kind in ("create_index", "drop_index"):
            if action.concurrently and not autocommit:
                self.hit("MIG007", line, "CONCURRENTLY in SQL run inside the transaction")
            if action.kind == "create_index" and not action.concurrently and self.existing(table):
                self.hit("MIG001", line, f"index on existing table {table} without CONCURRENTLY")
        elif action.kind == "add_column":
            self.revision.new_columns.add((table or "", action.detail))
            if action.not_null and not action.has_default and self.existing(table):
                self.hit("MIG002", line, f"NOT NULL column {action.detail} added to {table}")
        elif action.kind == "set_not_null" and self.existing(table):
            if (table, action.detail) not in self.revision.new_columns:
                self.hit("MIG002", line, f"{table}.{action.detail} set NOT NULL")
        elif action.kind == "alter_type" and self.existing(table):
            self.hit("MIG005", line, f"column type changed on {table}")
        elif action.kind == "drop_column" and self.existing(table):
            if (table, action.detail) not in self.revision.new_columns:
                self.hit("MIG003", line, f"column {table}.{action.detail} dropped")
        elif action.kind == "drop_table" and self.existing(table):
            self.hit("MIG003", line, f"table {table} dropped")
        elif action.kind == "rename" and self.existing(table):
            self.hit("MIG004", line, f"rename on {table}: {action.detail}")
        elif action.kind == "add_constraint" and not action.not_valid and self.existing(table):
            self.hit("MIG006", line, f"constraint on {table} validated at once")
        elif action.kind == "add_enum_value":
            self.hit("MIG008", line, f"value added to enum type {action.detail}")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in ("upgrade", "downgrade")
    }


def _does_nothing(function: ast.FunctionDef | None) -> bool:
    """True when ``function`` is missing or only ``pass``, ``...`` or a docstring."""
    if function is None:
        return True
    return all(
        isinstance(node, ast.Pass)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in function.body
    )


def downgrade_is_empty(source: str) -> bool:
    """True when ``downgrade()`` does nothing although ``upgrade()`` does something.

    (A merge revision does nothing both ways, which is right.)
    """
    functions = _functions(ast.parse(source))
    return _does_nothing(functions.get("downgrade")) and not _does_nothing(functions.get("upgrade"))


def _suppressions(source: str) -> dict[str, tuple[int, str]]:
    """Rule id -> (line, reason) for every ``# opsctl: allow MIGnnn -- reason`` comment."""
    found: dict[str, tuple[int, str]] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and (match := _SUPPRESSION.search(token.string)):
            for rule in re.findall(r"MIG\d{3}", match.group(1), re.I):
                found[rule.upper()] = (token.start[0], (match.group(2) or "").strip())
    return found


def lint_revision(
    source: str, revision: str, shown: str, ignore: set[str], warn: set[str]
) -> list[Finding]:
    """Findings of one revision file (``shown``: its repository-relative path)."""
    tree = ast.parse(source)
    functions, constants = _functions(tree), _module_constants(tree)
    # In order: what upgrade() creates is new for the rest of it and for downgrade(), which
    # may drop it again; what downgrade() re-creates is not new for upgrade().
    collected = _Revision()
    for name in ("upgrade", "downgrade"):
        if name in functions:
            _Walker(collected, name, constants).walk(functions[name].body, False, {})
    suppressions = _suppressions(source)
    findings: list[Finding] = []
    for rule_id, (line, reason) in sorted(suppressions.items()):
        if not reason:
            findings.append(
                Finding(
                    f"migrations/{SUPPRESSION_RULE}",
                    f"revision {revision}: `opsctl: allow {rule_id}` needs a reason",
                    file=shown,
                    line=line,
                    help=f"write `# opsctl: allow {rule_id} -- why this is safe here`",
                )
            )
    for rule_id, line, function, text in collected.hits:
        if rule_id in ignore:
            continue
        rule = RULES[rule_id]
        message = f"revision {revision} {function}(): {rule.title}: {text}"
        reason = suppressions.get(rule_id, (0, ""))[1]
        if reason:
            findings.append(
                Finding(
                    f"migrations/{rule_id}",
                    f"{message} (allowed: {reason})",
                    severity=Severity.NOTE,
                    file=shown,
                    line=line,
                    accepted=True,
                    help=rule.hint,
                )
            )
            continue
        severity = Severity.WARNING if rule_id in warn else Severity.ERROR
        findings.append(
            Finding(
                f"migrations/{rule_id}",
                message,
                severity=severity,
                file=shown,
                line=line,
                help=f"{rule.hint}; or, if it is safe here, add "
                f"`# opsctl: allow {rule_id} -- <reason>` to the revision",
            )
        )
    return findings


def lint_file(
    path: Path, revision: str, shown: str, ignore: set[str], warn: set[str]
) -> list[Finding]:
    return lint_revision(path.read_text(encoding="utf-8"), revision, shown, ignore, warn)
