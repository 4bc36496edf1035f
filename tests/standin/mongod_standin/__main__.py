"""python -m mongod_standin --config /etc/mongod.conf"""

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
