"""Build-time constants.  build-repo.sh rewrites SERVER_VERSION per package series."""

# The MongoDB version the stand-in reports (buildInfo, hello's maxWireVersion, the
# option set it accepts).  MONGOD_STANDIN_VERSION overrides it for tests.
SERVER_VERSION = "8.0.0"
# The stand-in's own release (the Debian revision suffix is "~standin<N>").
STANDIN_RELEASE = "standin1"
