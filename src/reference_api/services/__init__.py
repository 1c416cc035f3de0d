"""Business logic: plain async functions over a ``RequestContext``, free of GraphQL and HTTP.

Resolvers call these and nothing else; tests call them directly as unit tests.
"""
