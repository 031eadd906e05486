"""Passwords out of every message: the one redaction that anything echoing a URL goes through.

A URL is masked *before* anything tries to parse it, because the URLs that fail to parse are the ones
that end up in error messages: a typo'd or upper-case scheme (``postgresql:/``, ``POSTGRESQL://``) is not
a URI to libpq at all, a bad ``%``-escape or an unquoted space makes it quote the offending piece back.
So :func:`mask_url` reads the text leniently, by the shapes a password takes in any of them:

- URI userinfo: ``scheme:[//]user:PASSWORD@host`` for any scheme spelling (or none: ``postgresql//``),
  the password running to the line's *last* ``@`` (an unencoded ``@`` or space in it does not end it);
- a host's "port" that is not a number (``postgresql://user:PASSWORD/db``, the ``@`` forgotten);
- query parameters ``password=`` and ``sslpassword=``, up to the next ``&``;
- ``key=value`` conninfo: ``password=PASSWORD`` quoted (an unterminated quote runs to the end) or not
  (then up to the next ``key=``, so ``password=two words`` is masked whole).

Given the ``url`` a message was made from, :func:`mask_url` also removes from the message every password
it finds there (as written and percent-decoded), each whitespace-separated piece of one of three
characters or more, and any double-quoted text that is part of one: a driver's error may quote a
fragment of the conninfo out of its context (``missing "=" after "words"``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

_START = r"(?:(?<![\w+.-])[A-Za-z][\w+.-]*:/*|\S*?//)"
"""Where a URL starts: a scheme of any spelling and slashes, or anything up to ``//`` (``postgresql//``)."""
_USERINFO = re.compile(_START + r"[^\s:/@'\"]*:(?P<secret>.*)@")
_HOSTS = re.compile(r"(?:(?<![\w+.-])[A-Za-z][\w+.-]*:/+|\S*?//)(?P<hosts>[^/?#\s@]*)(?=[/?#\s]|$)")
_QUERY_PASSWORD = re.compile(r"(?i)[?&](?:ssl)?password=(?P<secret>[^&#]*)")
_KEY_PASSWORD = re.compile(
    r"(?i)(?<![\w.?&])(?:ssl)?password\s*=\s*"
    r"(?P<secret>'(?:[^'\\]|\\.)*(?:'|$)|.*?(?=\s+[A-Za-z_]\w*\s*=|$))",
    re.DOTALL,
)
_QUOTED = re.compile(r'"([^"]+)"')
"""A quoted piece of a driver's message (``missing "=" after "PIECE"``): masked if a password holds it."""
_MIN_PIECE = 3
"""Shorter pieces of a password are not scrubbed from messages: they would mangle ordinary words."""


def mask_url(text: str, url: str | None = None) -> str:
    """``text`` with every password in it replaced by ``***``; works on text no parser accepts.

    ``text`` is a URL or conninfo, or a message quoting one. With ``url`` (what the message was made
    from), every password of ``url``, and each piece of one, is also removed wherever it appears.
    """
    masked = _mask_spans(text, _password_spans(text))
    if url is not None:
        secrets = _secrets(url)
        for secret in sorted(secrets, key=len, reverse=True):
            masked = masked.replace(secret, MASK)
        masked = _QUOTED.sub(lambda m: MASK if any(m.group(1) in s for s in secrets) else m.group(), masked)
    return masked


def _password_spans(text: str) -> list[tuple[int, int]]:
    """Where passwords sit in ``text``, as (start, end) offsets, by every shape :func:`mask_url` knows."""
    spans = [m.span("secret") for m in _USERINFO.finditer(text)]
    spans += [m.span("secret") for m in _QUERY_PASSWORD.finditer(text)]
    spans += [m.span("secret") for m in _KEY_PASSWORD.finditer(text)]
    for match in _HOSTS.finditer(text):
        offset = match.start("hosts")
        for host in match.group("hosts").split(","):  # host:port,... — a "port" that is not a number
            colon = host.rfind(":")
            if colon >= 0 and not host.startswith("[") and not host[colon + 1 :].isdigit():
                spans.append((offset + colon + 1, offset + len(host)))
            offset += len(host) + 1
    return [(start, end) for start, end in spans if end > start]


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text


def _secrets(url: str) -> set[str]:
    """Every password in ``url``, as written, percent-decoded and unquoted, and its longer pieces."""
    found: set[str] = set()
    for start, end in _password_spans(url):
        secret = url[start:end]
        for form in (secret, unquote(secret), secret.strip("'")):
            found.add(form)
            found.update(piece for piece in form.split() if len(piece) >= _MIN_PIECE)
    return {s for s in found if s and s != MASK}
