"""Runbooks: YAML procedures that on-call staff run step by step against an environment.

Layout: :mod:`.model` (the file format), :mod:`.load` (parse + validate with file/line errors),
:mod:`.templating` (the sandboxed expression language), :mod:`.steps` (one module per step
type), :mod:`.executor` (runs steps with timeouts, retries, dry run, resume) and
:mod:`.postconditions` (``outputs``, ``assert``), :mod:`.session` (a run from start to end)
with :mod:`.preparation` (checks before the locks), :mod:`.records` (append-only JSON-lines
run records), :mod:`.lock` (the lock file of a checkout) and :mod:`.db_lock` (the advisory
lock in the environment's database, seen from every machine), both taken by :mod:`.run_locks`.
"""
