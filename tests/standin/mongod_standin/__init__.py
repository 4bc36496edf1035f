"""MongoDB stand-in: a test double of mongod that speaks the wire protocol.

For offline tests only.  Query, update and aggregation semantics come from
mongomock; this package adds the server: wire protocol, authentication,
authorization, durable storage, configuration and logging like mongod.
"""

from . import indexes, mm_ext, storage  # noqa: F401  (install the mongomock patches)
