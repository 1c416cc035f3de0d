"""The load gate: P95 per GraphQL operation under an open-model load (``opsctl verify load``)."""
