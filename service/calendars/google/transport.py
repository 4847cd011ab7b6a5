"""An httplib2-shaped transport for google-api-python-client over the bounded session.

httplib2 reads every answer whole, with a per-read timeout only: a 1 GB answer or a
dripping endpoint holds a worker for as long as it lasts. The API client and google-auth
only call ``request(uri, method, body, headers, ...)`` and read ``(response, content)``,
so this small adapter lets Google's traffic go through :class:`bounded.BoundedSession`
(size cap and total deadline) like CalDAV's and the feeds'.
"""

from __future__ import annotations

from typing import Any

import httplib2

from service.calendars import bounded, netguard

_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class BoundedHttp:
    """What ``googleapiclient`` and ``google_auth_httplib2`` need of ``httplib2.Http``."""

    redirect_codes = frozenset({300, 301, 302, 303, 307, 308})

    def __init__(self, timeout: float, subject: str = "Google Calendar"):
        # The endpoints are the installation's settings, not typed by a lawyer: no SSRF guard.
        self.session: bounded.BoundedSession = netguard.session(allow_private=True, subject=subject)
        self.timeout = timeout
        self.follow_redirects = True

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
        **_: Any,
    ) -> tuple[httplib2.Response, bytes]:
        answer = self.session.request(
            method, uri, data=body, headers=headers, timeout=self.timeout,
            allow_redirects=self.follow_redirects,
        )
        info = {k.lower(): v for k, v in answer.headers.items() if k.lower() not in _DROPPED}
        content = answer.content or b""
        info["status"] = str(answer.status_code)
        info["content-length"] = str(len(content))  # the body as decoded here
        response = httplib2.Response(info)
        response.reason = answer.reason or ""
        return response, content

    def close(self) -> None:
        self.session.close()
