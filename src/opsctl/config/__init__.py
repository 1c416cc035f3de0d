"""Configuration: ``opsctl.yaml``, the Definition of Done and the YAML loader they share."""
