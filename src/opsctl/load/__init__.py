"""The load engine: an open-model scheduler on Locust, measured with HDR histograms.

Locust (and so gevent's monkey-patching) only ever runs in generator subprocesses
(:mod:`opsctl.load.worker`); this package's other modules are gevent-free and merge the
generators' serialized histograms exactly in the parent (:mod:`opsctl.load.launcher`).
"""
