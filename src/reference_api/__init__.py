"""The reference API: a schema-first GraphQL task tracker that opsctl gates run against."""
