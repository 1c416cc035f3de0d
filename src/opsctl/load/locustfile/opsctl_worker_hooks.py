"""A locustfile without users: ``locust -f scenario.py,<this file> --worker`` gets opsctl's hooks.

For a scenario that does not import ``opsctl.load`` itself; the workers opsctl starts get it
this way. Alone in its directory because Locust puts a locustfile's directory on ``sys.path``.
"""

from opsctl.load import worker_hooks

worker_hooks.register()
