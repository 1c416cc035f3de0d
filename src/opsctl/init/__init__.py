"""``opsctl init``: read a service's repository and write opsctl's files for it.

``inspect_repository`` reads the repository (``project_files``: locks, tests, Alembic;
``service_code``: the app, settings and models, parsed, not imported) into an ``Inspection``;
``drafting`` turns it into files (``rendering``), measuring what ``--measure`` asks for, with the
routes read by ``openapi_document`` and the starting scenario by ``openapi_scenario``;
``files`` validates them with opsctl's own models and writes them, all or nothing.
"""
