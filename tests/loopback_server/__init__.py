# Copyright: Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The lifecycle the provider fakes share: a threaded HTTP server on 127.0.0.1 (port chosen by the
kernel) whose handler class reaches the fake through its ``fake`` attribute."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    """Mixin: a subclass sets ``handler_class`` (a BaseHTTPRequestHandler subclass), ``thread_name``
    and ``url_path`` (appended to the base address) and sets ``self.server = None`` in ``__init__``."""

    handler_class = None
    thread_name = "loopback-fake"
    url_path = ""

    def start(self):
        handler = type(self.handler_class.__name__, (self.handler_class,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         name=self.thread_name, daemon=True).start()
        self.base_url = "http://127.0.0.1:%d%s" % (self.server.server_address[1], self.url_path)
        return self.base_url

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
