"""Runbooks: YAML procedures that on-call staff run step by step against an environment.

Layout: :mod:`.model` (the file format), :mod:`.load` (parse + validate with file/line errors),
:mod:`.templating` (the sandboxed expression language), :mod:`.steps` (one module per step
type), :mod:`.executor` (runs steps with timeouts, retries, dry run, resume), :mod:`.records`
(append-only JSON-lines run records), :mod:`.lock` (one run per runbook and environment).
"""
