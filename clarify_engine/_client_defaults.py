"""How hard the model client pushes a remote model by default: written once, read by
:class:`clarify_engine.predict.ClientOptions`, the :class:`~clarify_engine.predict.Batcher`
and the command line's flags.

A module of constants with no imports, so that ``clarify-engine --help`` shows the defaults
without loading the model client (numpy, pandas, numba: seconds).
"""

#: Requests in flight at once, at most (``--concurrency``).
CONCURRENCY = 4

#: Largest request body in bytes: just under InvokeEndpoint's 6 MB (``--max-payload-mb``).
MAX_PAYLOAD_BYTES = 5_800_000

#: Most records per request (``--max-records``).
MAX_RECORDS = 1000

#: Seconds to wait for a connection, and between two reads of a reply (``--timeout``).
TIMEOUT = 60.0

#: Longest reply read, in bytes (``--max-reply-mb``). Decoding a reply takes about 25 times its
#: size in memory, and every request in flight holds one.
MAX_REPLY_BYTES = 8_000_000

#: Attempts per request in all, the first included (``--max-attempts``).
MAX_ATTEMPTS = 5

#: Attempts in all for a request the endpoint keeps refusing as too busy (``--throttle-attempts``).
THROTTLE_ATTEMPTS = 10

#: Seconds between two progress lines of a long prediction.
PROGRESS_INTERVAL = 5.0

#: Rows encoded at a time while earlier requests are in flight.
CHUNK_ROWS = 1024
