"""Webhook POSTs that cannot be steered at internal addresses (SSRF-safe), over plain asyncio and h11."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000
MAX_RESPONSE_BODY = 64 * 1024
USER_AGENT = "Switchboard-Webhooks/1"
_READ_CHUNK = 16 * 1024
_DEFAULT_PORTS = {"https": 443, "http": 80}

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# Framing and hop-by-hop headers are ours to set: a caller's Host would pick another virtual host on the
# vetted address, and Content-Length / Transfer-Encoding / Expect would desynchronise the exchange.
_RESERVED_HEADERS = frozenset(
    "host content-length transfer-encoding connection keep-alive te trailer upgrade expect".split()
)


def _v4(rules: Sequence[tuple[str, str]]) -> tuple[tuple[ipaddress.IPv4Network, str], ...]:
    return tuple((ipaddress.IPv4Network(network), reason) for network, reason in rules)


def _v6(rules: Sequence[tuple[str, str]]) -> tuple[tuple[ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.IPv6Network(network), reason) for network, reason in rules)


# Explicit tables rather than only ipaddress' is_private/is_global, whose lists differ between Python
# releases; the is_reserved/is_global checks after them are a catch-all, never the only line of defence.
# The first match names the reason, so the narrower entries come first.
_V4_RULES = _v4(
    [
        ("0.0.0.0/8", "unspecified address"),  # 0.0.0.0 reaches the local host on Linux
        ("10.0.0.0/8", "private address"),
        ("100.64.0.0/10", "carrier-grade NAT address"),
        ("127.0.0.0/8", "loopback address"),
        ("169.254.169.254/32", "cloud metadata address"),
        ("169.254.0.0/16", "link-local address"),
        ("172.16.0.0/12", "private address"),
        ("192.0.0.0/24", "reserved address"),
        ("192.0.2.0/24", "documentation address"),
        ("192.88.99.0/24", "reserved address"),
        ("192.168.0.0/16", "private address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("224.0.0.0/4", "multicast address"),
        ("255.255.255.255/32", "broadcast address"),
        ("240.0.0.0/4", "reserved address"),
    ]
)
_V6_RULES = _v6(
    [
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("64:ff9b:1::/48", "private address"),  # local-use NAT64 (RFC 8215): translates to internal hosts
        ("100::/64", "reserved address"),
        ("2001::/23", "reserved address"),
        ("2001:db8::/32", "documentation address"),
        ("3fff::/20", "documentation address"),
        ("fc00::/7", "private address"),
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "reserved address"),  # deprecated site-local, still routed inside some networks
        ("ff00::/8", "multicast address"),
    ]
)
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class TargetRefused(Exception):
    """The URL or the address it resolves to may not be called; str(exc) says why (safe to show a client)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # HTTP status received, None if no response
    latency_ms: float
    error: str | None  # short reason when no 2xx; never contains secrets or the request body


class _NoResponse(ConnectionError):
    """The server closed the connection before sending a response."""


@dataclass(frozen=True, slots=True)
class _Target:
    url: str  # normalised
    scheme: str
    host: str  # lower-case, IPv6 literals without brackets
    port: int
    authority: str  # host[:port] as written (lower-cased), the Host header
    request_target: str  # path?query


def check_url(url: str, *, allow_http: bool) -> str:
    """Syntax checks at subscription time; returns the URL normalised (scheme/host lower-cased).

    Raises TargetRefused: scheme must be https (http only if allow_http), host required, no userinfo
    (user:pass@), no fragment, no whitespace/control characters anywhere (CR/LF header injection),
    length <= 2000, port 1..65535. Literal IP hosts pass this syntax check; `vet` adds the address rules.
    Non-ASCII characters and backslashes are refused too: parsers disagree about them.
    """
    return _parse(url, allow_http=allow_http).url


async def vet(url: str, *, allow_http: bool, allowed_networks: Sequence[IPNetwork], timeout: float) -> str:  # noqa: ASYNC109 (the lookup's own budget)
    """At subscription time: the URL normalised, once its host resolves and every address it resolves to
    may be called. The same parse and address check (`_resolve`) as every send, which looks the name up
    again (a name may point elsewhere by then). Raises TargetRefused naming the reason."""
    target = _parse(url, allow_http=allow_http)
    try:
        async with asyncio.timeout(timeout):
            await _resolve(asyncio.get_running_loop(), target, allowed_networks)
    except TimeoutError:
        raise TargetRefused(f"looking up {target.host} took longer than {timeout:g} s") from None
    except OSError:  # socket.gaierror: no such name (or no resolver)
        raise TargetRefused(f"{target.host} does not resolve to an address") from None
    return target.url


def _parse(url: str, *, allow_http: bool) -> _Target:
    # Messages never quote the URL: its query string may hold a secret.
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"URL is longer than {MAX_URL_LENGTH} characters")
    if "\r" in url or "\n" in url:
        raise TargetRefused("URL contains a line break")
    if any(not char.isascii() for char in url):
        raise TargetRefused("URL must be ASCII (percent-encode the path, use punycode for the host)")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise TargetRefused("URL contains whitespace or control characters")
    if "\\" in url:
        raise TargetRefused("URL contains a backslash")
    if "#" in url:
        raise TargetRefused("URL must not have a fragment")
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced or invalid [IPv6] brackets
        raise TargetRefused("URL host is malformed") from None
    allowed_schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed_schemes:
        raise TargetRefused("URL scheme must be " + " or ".join(allowed_schemes))
    if "@" in parts.netloc:
        raise TargetRefused("URL must not contain user info (user:password@)")
    if not parts.netloc:
        raise TargetRefused("URL has no host")
    host, bracketed, port_text = _split_authority(parts.netloc.lower())
    port = _DEFAULT_PORTS[parts.scheme]
    authority = f"[{host}]" if bracketed else host
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise TargetRefused("URL port must be a number from 1 to 65535")
        port = int(port_text)
        authority += f":{port}"
    request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    normalised = f"{parts.scheme}://{authority}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    return _Target(normalised, parts.scheme, host, port, authority, request_target)


def _split_authority(netloc: str) -> tuple[str, bool, str | None]:
    """(host, was it a bracketed IPv6 literal, port text or None), the host validated."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise TargetRefused("URL host is malformed")
        host, rest = netloc[1:end], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise TargetRefused("URL host is malformed")
        # A zone (%eth0) only names link-local addresses, which are never called anyway.
        if "%" in host:
            raise TargetRefused("URL host must not carry an IPv6 zone")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise TargetRefused("URL host is not a valid IPv6 address") from None
        return host, True, rest[1:] if rest else None
    host, colon, port_text = netloc.partition(":")
    _check_host_name(host)
    return host, False, port_text if colon else None


def _check_host_name(host: str) -> None:
    if not host:
        raise TargetRefused("URL has no host")
    name = host.removesuffix(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise TargetRefused("URL host is not a valid host name")
    # Resolvers read 127.1, 2130706433 and 0x7f.0.0.1 as IPv4 addresses; only the dotted-quad form is
    # accepted, so what a client sees in the URL is what gets checked.
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise TargetRefused("URL host is a numeric name but not a dotted-quad IPv4 address") from None


def address_refused(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """None if the address may be connected to, else the reason.

    Refused unless inside an allowed network: loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
    link-local (169.254/16 incl. 169.254.169.254 the cloud metadata address, fe80::/10), CGNAT 100.64/10,
    unspecified, multicast, reserved, broadcast, documentation/benchmarking ranges, anything Python does
    not consider global, and IPv6 forms embedding a refused IPv4 address (IPv4-mapped, IPv4-translated,
    IPv4-compatible, 6to4 2002::/16, Teredo, NAT64 64:ff9b::/96), judging the embedded IPv4 by the same
    rules. An allowed network containing the address (or, for embedded forms, the embedded IPv4) permits it.
    """
    if any(address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            form, inner = embedded
            for ipv4 in inner:
                reason = address_refused(ipv4, allowed)
                if reason is not None:
                    return f"{reason} ({form})"
            return None
        reason = next((reason for network, reason in _V6_RULES if address in network), None)
    else:
        reason = next((reason for network, reason in _V4_RULES if address in network), None)
    if reason is not None:
        return reason
    if address.is_reserved:
        return "reserved address"
    if not address.is_global:
        return "address that is not globally routable"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """(form, the IPv4 addresses it carries) for IPv6 forms that reach an IPv4 host, else None."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", [address.ipv4_mapped]
    if address in _IPV4_TRANSLATED:
        return "IPv4-translated", [low32]
    if address in _NAT64:
        return "NAT64", [low32]
    if address.sixtofour is not None:
        return "6to4", [address.sixtofour]
    if address.teredo is not None:
        server, client = address.teredo
        return "Teredo", [client, server]
    # :: and ::1 are the IPv6 unspecified and loopback addresses, judged as such.
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return "IPv4-compatible", [low32]
    return None


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allowed_networks: Sequence[IPNetwork],
    allow_http: bool,
    timeout: float,  # noqa: ASYNC109 (one budget for lookup, connect, TLS and exchange; the interface's)
    ca_file: str | None = None,
) -> Outcome:
    """POST body to url; the outcome, never an exception for anything the target or network does.

    Resolves the host itself and refuses the whole request if ANY resolved address is refused (error
    "refused: ..."), then connects to a vetted address itself, so DNS rebinding between check and connect
    is impossible. Host is the URL's host[:port]; for https, SNI and certificate verification use the URL's
    host name (system trust store, plus ca_file if given). Redirects are not followed (a 3xx is returned with
    error "redirect not followed"). Header names must be tokens and values printable ASCII (no CR/LF/NUL);
    Host and the framing headers may not be given. At most 64 KiB of the response body is read, and
    discarded. The whole exchange is bounded by `timeout` seconds. Content-Type: application/json and
    User-Agent: Switchboard-Webhooks/1 are sent unless headers give them.
    """
    started = time.perf_counter()

    def outcome(status: int | None, error: str | None) -> Outcome:
        return Outcome(status, round((time.perf_counter() - started) * 1000, 3), error)

    try:
        target = _parse(url, allow_http=allow_http)
        connection, request = _request(target, body, headers)
    except TargetRefused as exc:
        return outcome(None, f"refused: {exc}")
    # Built outside the try below: a missing ca_file is a configuration error, not a delivery failure.
    context = _tls_context(ca_file) if target.scheme == "https" else None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    writer: asyncio.StreamWriter | None = None
    try:
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await _resolve(loop, target, allowed_networks)
                reader, writer = await _connect(addresses, target, context)
                status = await _send(reader, writer, connection, request)
        except TargetRefused as exc:
            return outcome(None, f"refused: {exc}")
        except TimeoutError:
            return outcome(None, f"timed out after {timeout:g} s")
        except (OSError, h11.ProtocolError) as exc:
            return outcome(None, _describe(exc))
        # The status is the answer; a body that stalls or breaks off does not undo it.
        with contextlib.suppress(TimeoutError, OSError, h11.ProtocolError):
            async with asyncio.timeout_at(deadline):
                await _discard_body(reader, connection)
        return outcome(status, _status_error(status))
    finally:
        if writer is not None:
            await _close(writer)


def _request(target: _Target, body: bytes, headers: Mapping[str, str]) -> tuple[h11.Connection, bytes]:
    """The h11 connection and the whole request's bytes, built before any connection is made."""
    given: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise TargetRefused("a header name is not a valid HTTP token")
        if name.lower() in _RESERVED_HEADERS:
            raise TargetRefused(f"header {name} is set by Switchboard and may not be given")
        if not _FIELD_VALUE.fullmatch(value):
            raise TargetRefused(f"header {name} has a forbidden character (CR, LF, control or non-ASCII)")
        given.append((name, value))
    names = {name.lower() for name, _ in given}
    defaults = [("Content-Type", "application/json"), ("User-Agent", USER_AGENT)]
    fields = [
        ("Host", target.authority),
        *((name, value) for name, value in defaults if name.lower() not in names),
        *given,
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    connection = h11.Connection(our_role=h11.CLIENT)
    try:
        request = b"".join(
            connection.send(event) or b""
            for event in (
                h11.Request(method="POST", target=target.request_target, headers=fields),
                h11.Data(data=body),
                h11.EndOfMessage(),
            )
        )
    except h11.LocalProtocolError:
        raise TargetRefused("the request headers are not valid HTTP") from None
    return connection, request


async def _resolve(
    loop: asyncio.AbstractEventLoop, target: _Target, allowed: Sequence[IPNetwork]
) -> list[tuple[socket.AddressFamily, str]]:
    """Every address the host resolves to, each vetted; one refused address refuses them all."""
    infos = await loop.getaddrinfo(
        target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses: list[tuple[socket.AddressFamily, str]] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        text = str(sockaddr[0])
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise TargetRefused(f"{target.host} resolves to an unusable address") from None
        reason = address_refused(address, allowed)
        if reason is not None:
            where = "address" if text == target.host else f"{target.host} resolves to an address"
            raise TargetRefused(f"{where} that may not be called ({reason})")
        if (family, text) not in addresses:
            addresses.append((family, text))
    if not addresses:
        raise TargetRefused(f"{target.host} has no IPv4 or IPv6 address")
    return addresses


async def _connect(
    addresses: Sequence[tuple[socket.AddressFamily, str]], target: _Target, context: ssl.SSLContext | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the first vetted address that accepts; TLS names the URL's host, not the address."""
    errors: list[OSError] = []
    for family, address in addresses:
        try:
            # AI_NUMERICHOST: the vetted literal is connected to as is, with no second lookup.
            return await asyncio.open_connection(
                address,
                target.port,
                family=family,
                flags=socket.AI_NUMERICHOST,
                ssl=context,
                server_hostname=target.host if context is not None else None,
            )
        except OSError as exc:
            errors.append(exc)
    raise errors[0]  # addresses is never empty


async def _send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: h11.Connection, request: bytes
) -> int:
    """Send the request; the final response's status."""
    writer.write(request)
    await writer.drain()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(_READ_CHUNK))
        elif isinstance(event, h11.Response):
            return event.status_code
        elif not isinstance(event, h11.InformationalResponse):
            raise _NoResponse


async def _discard_body(reader: asyncio.StreamReader, connection: h11.Connection) -> None:
    received = 0
    while received < MAX_RESPONSE_BODY:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(_READ_CHUNK))
        elif isinstance(event, h11.Data):
            received += len(event.data)
        else:
            return


async def _close(writer: asyncio.StreamWriter) -> None:
    # Abort, not close: a graceful TLS close waits (up to 30 s) for the peer's close_notify, and nothing
    # more is wanted from this connection.
    writer.transport.abort()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _describe(exc: OSError | h11.ProtocolError) -> str:
    """A short reason for a failed exchange, from the exception's kind (never the request's content)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({exc.verify_message or 'unknown reason'})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason})" if exc.reason else "TLS error"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name lookup failed"
    if isinstance(exc, h11.ProtocolError):
        return "invalid HTTP response"
    if isinstance(exc, _NoResponse):
        return "connection closed without a response"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return f"connection failed ({exc.strerror})" if exc.strerror else "connection failed"


def _status_error(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return "redirect not followed"
    return f"HTTP {status}"


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is None:
        return _system_tls_context()
    context = _new_tls_context()
    context.load_verify_locations(ca_file)
    return context


@functools.cache
def _system_tls_context() -> ssl.SSLContext:
    # Loading the system trust store costs milliseconds; one shared context serves every delivery.
    return _new_tls_context()


def _new_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
