"""opsctl: the operations and quality CLI for backend services."""

__version__ = "0.1.0"
