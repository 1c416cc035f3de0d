"""``python -m reference_api``: serve on ``HOST``:``PORT`` with uvicorn (uvloop, httptools)."""

from __future__ import annotations

import sys

import uvicorn

from reference_api.app import create_app
from reference_api.config import Settings, SettingsError


def main() -> int:
    try:
        settings = Settings.from_environ()
    except SettingsError as error:
        sys.stderr.write(f"reference-api: {error}\n")
        return 2
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,  # our own JSON line per request replaces it
        server_header=False,
        # The app derives the client address from TRUSTED_PROXIES (middleware.client_address);
        # uvicorn's own rewrite would believe X-Forwarded-For from 127.0.0.1 by default.
        proxy_headers=False,
        forwarded_allow_ips=[],
        log_level=settings.log_level.lower(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
