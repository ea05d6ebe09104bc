"""Object storage for the archive: the `ObjectStore` port, its backends, and streaming fixity.

A leaf package: it stores and verifies bytes under keys and knows nothing about packages,
the catalog or the application (`archive_service` depends on it, never the reverse).
"""
