"""Business logic: plain async functions over a ``Caller`` (``services.caller``), free of
GraphQL and HTTP.

Resolvers call these and nothing else; tests call them directly as unit tests.
"""
