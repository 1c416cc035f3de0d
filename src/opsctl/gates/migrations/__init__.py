"""The migrations gate: reversible, safe and in step with the models."""
