"""The load engine: an open-model scheduler on Locust, measured with HDR histograms.

Locust (and so gevent's monkey-patching) only ever runs in the master and worker processes
(:mod:`opsctl.load.master`, stock ``locust --worker``); the modules the opsctl process uses
are gevent-free and merge the workers' serialized histograms exactly
(:mod:`opsctl.load.launcher`).

Inside a Locust process, importing this package (``import opsctl.load`` in a scenario file)
registers what a stock worker needs to take part in an opsctl run
(:mod:`opsctl.load.worker_hooks`). Outside one it imports nothing of Locust.
"""

import sys

if "locust" in sys.modules:  # a Locust process (its CLI imports locust before any locustfile)
    from opsctl.load import worker_hooks as _worker_hooks

    _worker_hooks.register()
