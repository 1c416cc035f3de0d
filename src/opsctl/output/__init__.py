"""Output helpers shared by every command: secret masking."""
