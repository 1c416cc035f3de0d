"""The security gate: bandit over the code, pip-audit over the pinned dependencies."""
