"""Environments of a service: listing them and checking their health (``opsctl env``)."""
