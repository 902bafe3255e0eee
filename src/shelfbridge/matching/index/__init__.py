"""Where match documents live: the embedded index (files in the data directory, the default)
and Milvus. Both implement :class:`.base.IndexBackend` and register in :mod:`.base`."""
