"""Where match documents live: the embedded index (files in the data directory, the default)
and Milvus. Both implement :class:`.base.IndexBackend` and register in :mod:`.base`."""

from shelfbridge.matching.index import embedded as _embedded  # noqa: E402,F401 - registers "embedded"
