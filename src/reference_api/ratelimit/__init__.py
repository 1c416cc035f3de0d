"""Rate limiting (fixed windows): in Redis when configured, in-process otherwise."""
