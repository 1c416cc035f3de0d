"""Names shared by the engine (inside generator processes) and the gevent-free parent."""

from __future__ import annotations

UNFINISHED = "(unfinished)"  # the operation name of requests that never completed

#: A response with this status or above is a failed request (``load.error_status``).
DEFAULT_ERROR_STATUS = 400


def operation_name(request_type: str, name: str) -> str:
    """The operation a request counts under: ``METHOD /path`` for a raw path, else ``name``.

    Locust names a request sent without ``name=`` by its path (``/items/123?x=1``); such a
    name becomes ``GET /items/123`` (method in capitals, query string and fragment dropped),
    so that REST operations read as endpoints in every report. Explicit names (GraphQL
    operation names, ``name="GET /items/{id}"``) do not start with ``/`` and are kept as they
    are; an explicit ``name="/items/{id}"`` gets its method the same way.
    """
    if not name.startswith("/") or not request_type:
        return name
    path = name.split("?", 1)[0].split("#", 1)[0]
    return f"{request_type.upper()} {path}"
