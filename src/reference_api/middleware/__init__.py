"""HTTP middleware (pure ASGI): request ids and logs, security headers, request limits,
authentication and rate limits. ``reference_api.app`` stacks them in order."""
