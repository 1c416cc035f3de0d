"""The service started by opsctl for one run: shared by the load gate, the api gate and ``up``.

:func:`started_service` yields the base URL of the service (throwaway database, migrations,
optional seed, ``service.app`` or ``service.start``, environment from
:func:`opsctl.config.service_wiring.service_environment`) and tears everything down after.
"""

from opsctl.serving.apps import AppKind, probe_app
from opsctl.serving.service import ServeOptions, started_service

__all__ = ["AppKind", "ServeOptions", "probe_app", "started_service"]
