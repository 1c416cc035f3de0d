"""The GraphQL endpoint: schema, limits, context and error format, on Ariadne."""
