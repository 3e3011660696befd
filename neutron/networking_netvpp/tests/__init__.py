# The driver runs inside neutron-server, which monkey-patches with eventlet
# (green threads and sockets); the tests run the same way. Importing some
# Neutron modules patches part of the standard library anyway, and a
# half-patched process can hang.
import eventlet

eventlet.monkey_patch()

import logging  # noqa: E402

# The driver logs its decisions; the tests assert on behaviour (and on logs
# with assertLogs), so keep the output of passing runs quiet.
logging.getLogger().addHandler(logging.NullHandler())
