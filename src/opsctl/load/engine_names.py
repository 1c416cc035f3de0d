"""Names shared by the engine (inside generator processes) and the gevent-free parent."""

UNFINISHED = "(unfinished)"  # the operation name of requests that never completed
