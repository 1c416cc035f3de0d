"""The coverage gate: the service's tests under coverage.py, held to the Definition of Done."""
