"""The worker's consumer (settings.CELERY_WORKER_CONSUMER): a lost broker connection never ends the worker.

Celery 5.7 with kombu's Redis transport stops the whole worker ("Unrecoverable error:
AttributeError: 'NoneType' object has no attribute 'hostname'") when the connection to
Redis is lost while the worker holds an unacknowledged message: a task running with
acks_late, or a countdown task waiting for its time (the debounced outflow recompute,
sent a minute ahead after every accepted transfer register). That is every Redis restart
or network cut under a working portal. Celery first "collects" the broken connection: the
channel's close fails on its pending BRPOP read (Redis is gone), so the channel stays open,
and the transport is detached from the connection all the same. Then Celery closes the
connection: the channel's second close restores the unacknowledged messages, asks the
detached transport where Redis is, and raises AttributeError, which is not a connection
error, so nothing catches it.

Here the channel is closed first, while its transport is still attached: its restore either
puts the messages back on the queue (Redis reachable) or fails with a connection error,
which is ignored (Redis down: the messages stay in Redis's unacked set, and Redis hands
them out again after the visibility timeout). Then Celery's own handling runs as before:
the worker reconnects, with retries, and consumes again.
"""

from celery.utils.threads import bound_open_broker_sockets
from celery.worker.consumer.consumer import COLLECT_SOCKET_TIMEOUT
from celery.worker.consumer.consumer import Consumer as CeleryConsumer
from kombu.common import ignore_errors

# The first close may only end the channel's pending read (it fails: Redis is gone); the second closes it.
_CLOSE_ATTEMPTS = 2


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        channel = getattr(connection, "_default_channel", None)  # never open a channel here
        if channel is not None:
            # A silent peer must not hang the reads the close makes (as Celery bounds them).
            bound_open_broker_sockets(connection, COLLECT_SOCKET_TIMEOUT)
            for _ in range(_CLOSE_ATTEMPTS):
                if getattr(channel, "closed", True):
                    break
                ignore_errors(connection, channel.close)
        super().on_connection_error_after_connected(exc)
