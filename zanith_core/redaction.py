"""Passwords out of every message: the one redaction that anything echoing a URL goes through.

A URL is masked *before* anything tries to parse it, because the URLs that fail to parse are the ones
that end up in error messages: a typo'd or upper-case scheme (``postgresql:/``, ``POSTGRESQL://``) is not
a URI to libpq at all, a bad ``%``-escape or an unquoted space makes it quote the offending piece back.
So :func:`mask_url` reads the text leniently, by the shapes a password takes in any of them:

- URI userinfo: ``scheme:[//]user:PASSWORD@host`` for any scheme spelling (or none: ``postgresql//``),
  in a message up to the last ``@`` of the word, in a text that is a URL up to its last ``@`` (an
  unencoded ``@`` or space in the password does not end it);
- a host's "port" that is not a number (``postgresql://user:PASSWORD/db``, the ``@`` forgotten);
- query parameters ``password=`` and ``sslpassword=``, up to the next ``&``;
- ``key=value`` conninfo: ``password=PASSWORD`` quoted (an unterminated quote runs to the end) or not
  (then up to the next ``key=``, so ``password=two words`` is masked whole);
- in a text that is itself a URL or a conninfo, everything after the scheme's colon up to the last
  ``@``, and every value but those of libpq's harmless keys (:data:`SHOWN_KEYS`): a misspelt
  ``passwrod=`` or ``?pasword=``, or a password that lost its ``=``, is masked too.

Masks next to each other (only spaces between them) become one ``***``.

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
_USERINFO = re.compile(_START + r"[^\s:@'\"]*:(?P<secret>\S*)@")
_HOSTS = re.compile(r"(?:(?<![\w+.-])[A-Za-z][\w+.-]*:/+|\S*?//)(?P<hosts>[^/?#\s@]*)(?=[/?#\s]|$)")
_QUERY_PASSWORD = re.compile(r"(?i)[?&](?:ssl)?password=(?P<secret>[^&#]*)")
_VALUE = r"(?P<secret>'(?:[^'\\]|\\.)*(?:'|$)|.*?(?=\s+[A-Za-z_]\w*\s*=|$))"
"""A conninfo value: quoted (an unterminated quote runs to the end), or up to the next ``key=``."""
_KEY_PASSWORD = re.compile(r"(?i)(?<![?&])(?:ssl)?password\s*=\s*" + _VALUE, re.DOTALL)
_CONNINFO = re.compile(r"\s*[^\s=:/]+\s*=")
_CONNINFO_TOKEN = re.compile(
    r"\s+|(?P<key>[A-Za-z_]\w*)\s*=\s*(?P<secret>'(?:[^'\\]|\\.)*(?:'|$)|[^\s']*)|(?P<other>\S+)", re.DOTALL
)
_URL = re.compile(r"\s*(?:[A-Za-z][\w+.-]*:/+|\S*?//|[A-Za-z][\w+.-]*:(?=\S*@\S*$))")
"""A text that is a URL: a scheme (any spelling) and a slash, or one word holding an ``@`` (``file.sql:12:``
at the start of a message is not one)."""
_PARAM = re.compile(r"[?&](?P<key>[^=&#]*)(?:=(?P<secret>[^&#]*))?")
SHOWN_KEYS = frozenset(
    """host hostaddr port dbname user passfile options service application_name fallback_application_name
    client_encoding connect_timeout replication target_session_attrs load_balance_hosts keepalives
    keepalives_idle keepalives_interval keepalives_count tcp_user_timeout sslmode sslnegotiation requiressl
    sslcompression sslcert sslkey sslcertmode sslrootcert sslcrl sslcrldir sslsni ssl_min_protocol_version
    ssl_max_protocol_version gssencmode krbsrvname gsslib gssdelegation requirepeer require_auth
    channel_binding""".split()  # noqa: SIM905 (a list of words reads best as words)
)
"""libpq's connection keys whose values are no secret. A text that *is* a conninfo or URL shows only
these: any other key's value, and anything that is not ``key=value`` at all, is masked — so a misspelt
``passwrod=``, ``?pasword=`` or a password that lost its ``=`` is masked too."""
_QUOTED = re.compile(r'"([^"]+)"')
"""A quoted piece of a driver's message (``missing "=" after "PIECE"``): masked if a password holds it."""
_MIN_PIECE = 3
"""Shorter passwords or pieces are not scrubbed from a message's free text (they would mangle ordinary
words), only where the message quotes them."""


def mask_url(text: str, url: str | None = None) -> str:
    """``text`` with every password in it replaced by ``***``; works on text no parser accepts.

    ``text`` is a URL or conninfo, or a message quoting one. With ``url`` (what the message was made
    from), every password of ``url``, and each piece of one, is also removed wherever it appears.
    """
    masked = _mask_spans(text, _password_spans(text))
    if url is not None:
        secrets = _secrets(url)
        for secret in sorted((s for s in secrets if len(s) >= _MIN_PIECE), key=len, reverse=True):
            masked = masked.replace(secret, MASK)
        masked = _QUOTED.sub(lambda m: MASK if any(m.group(1) in s for s in secrets) else m.group(), masked)
    return masked


def _password_spans(text: str) -> list[tuple[int, int]]:
    """Where passwords sit in ``text``, as (start, end) offsets, by every shape :func:`mask_url` knows."""
    spans = [m.span("secret") for m in _USERINFO.finditer(text)]
    spans += [m.span("secret") for m in _QUERY_PASSWORD.finditer(text)]
    spans += [m.span("secret") for m in _KEY_PASSWORD.finditer(text)]
    if _CONNINFO.match(text):
        spans += _conninfo_spans(text)
    elif url := _URL.match(text):
        spans += _url_spans(text, url.end())
    for match in _HOSTS.finditer(text):
        offset = match.start("hosts")
        for host in match.group("hosts").split(","):  # host:port,... — a "port" that is not a number
            colon = host.find(":")
            if colon >= 0 and not host.startswith("[") and not host[colon + 1 :].isdigit():
                spans.append((offset + colon + 1, offset + len(host)))
            offset += len(host) + 1
    return [(start, end) for start, end in spans if end > start]


def _conninfo_spans(text: str) -> list[tuple[int, int]]:
    """A whole ``key=value`` conninfo: all but the values of :data:`SHOWN_KEYS`."""
    spans = []
    for token in _CONNINFO_TOKEN.finditer(text):
        if token.group("other"):
            spans.append(token.span("other"))
        elif token.group("key") and token.group("key") not in SHOWN_KEYS:
            spans.append(token.span("secret"))
    return spans


def _url_spans(text: str, start: int) -> list[tuple[int, int]]:
    """A whole URL whose scheme (any spelling) ends at ``start``: its userinfo's password, up to the last
    ``@``, every query parameter but those of :data:`SHOWN_KEYS`, and a ``#`` fragment."""
    spans = []
    at = text.rfind("@")
    colon = text.find(":", start, at) if at > start else -1
    if colon >= 0:
        spans.append((colon + 1, at))
    for query in (i for i, char in enumerate(text) if char == "?" and i >= start):  # a "?" may be in a password
        for m in _PARAM.finditer(text, query):
            if m.group("key") not in SHOWN_KEYS:  # a parameter without "=" may be a pasted password: all of it
                spans.append(m.span("secret") if m.group("secret") is not None else m.span("key"))
    fragment = text.find("#", start)
    if fragment >= 0:  # meaningless in a database URL: what follows a "#" is a mistake, maybe a password
        spans.append((fragment + 1, len(text)))
    return spans


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text


def _secrets(url: str) -> set[str]:
    """Every password in ``url``, as written, percent-decoded and unquoted, and its space-separated pieces."""
    found: set[str] = set()
    for start, end in _password_spans(url):
        secret = url[start:end]
        for form in (secret, unquote(secret), secret.strip("'")):
            found.add(form)
            found.update(form.split())
    return {s for s in found if s and s != MASK}
