"""Webhook POSTs against real local receivers: URL checks, address rules, DNS pinning, TLS, redirects."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from switchboard.events.outbound import (
    IPNetwork,
    Outcome,
    TargetRefused,
    address_refused,
    check_url,
    post,
)
from tests.support.resolver import FakeResolver, fake_resolver

HOOKS_HOST = "hooks.example.test"
LOOPBACK: list[IPNetwork] = [ipaddress.ip_network("127.0.0.0/8")]
BODY = b'{"event":"call.answered","call":"1795341160.42"}'


# --- a real HTTP(S) receiver ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class Receiver:
    """ThreadingHTTPServer on 127.0.0.1 recording every POST and every accepted connection."""

    def __init__(self, tls: ssl.SSLContext | None = None, probe_tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Seen] = []
        self.connections = 0
        self.probes = 0
        self.server_names: list[str | None] = []
        self.status = 200
        self.response_headers: list[tuple[str, str]] = []
        self.response_body = b'{"ok":true}'
        self.probe_tls = probe_tls
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(Seen(self.path, list(self.headers.items()), body))
                self.send_response(receiver.status)
                for name, value in receiver.response_headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.response_body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(receiver.response_body)

            def do_GET(self) -> None:  # the settle() probe
                self.send_response(204)
                self.send_header("Connection", "close")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def verify_request(self, request: Any, client_address: Any) -> bool:
                receiver.connections += 1
                return True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hangs up after 64 KiB of a large body, by design

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02})
        self.thread.start()

    def settle(self) -> int:
        """Connections made before this call, once all are accepted (the listen queue is FIFO)."""
        self.probes += 1
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            if self.probe_tls is None:
                _probe(raw)
            else:
                with self.probe_tls.wrap_socket(raw, server_hostname=HOOKS_HOST) as tls:
                    _probe(tls)
        return self.connections - self.probes

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _probe(sock: socket.socket) -> None:
    sock.sendall(b"GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        assert chunk, "the receiver closed the probe without answering"
        received += chunk


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(tls: ssl.SSLContext | None = None, probe_tls: ssl.SSLContext | None = None) -> Receiver:
        made.append(Receiver(tls, probe_tls))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(make_receiver: Callable[..., Receiver]) -> Receiver:
    return make_receiver()


# --- a private CA and a certificate for hooks.example.test -----------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: str
    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchboard test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOOKS_HOST)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOOKS_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: directory / f"{name}.pem" for name in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Pki(str(paths["ca"]), str(paths["cert"]), str(paths["key"]))


@pytest.fixture
def https_receiver(make_receiver: Callable[..., Receiver], pki: Pki) -> Receiver:
    return make_receiver(pki.server_context(), pki.client_context())


# --- a resolver under the test's control -----------------------------------------------------------


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    return fake_resolver(monkeypatch)


def deliver(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    allowed: Sequence[IPNetwork] = (),
    allow_http: bool = True,
    timeout: float = 5.0,
    ca_file: str | None = None,
    body: bytes = BODY,
) -> Outcome:
    return asyncio.run(
        post(
            url,
            body,
            headers if headers is not None else {"X-Switchboard-Signature": "sha256=secret-signature"},
            allowed_networks=allowed,
            allow_http=allow_http,
            timeout=timeout,
            ca_file=ca_file,
        )
    )


# --- check_url -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        (
            "HTTPS://Hooks.Example.COM:8443/Path/X?Token=AbC",
            "https://hooks.example.com:8443/Path/X?Token=AbC",
        ),
        ("https://hooks.example.com", "https://hooks.example.com"),
        ("https://[2606:4700::1111]/in", "https://[2606:4700::1111]/in"),
        (
            "https://127.0.0.1:9/literal-ip-checked-at-send-time",
            "https://127.0.0.1:9/literal-ip-checked-at-send-time",
        ),
        ("https://hooks.example.com:0443/x", "https://hooks.example.com:443/x"),
    ],
)
def test_check_url_accepts_https_and_lowercases_scheme_and_host(url: str, normalised: str) -> None:
    assert check_url(url, allow_http=False) == normalised


def test_check_url_accepts_http_only_when_allowed() -> None:
    with pytest.raises(TargetRefused, match=r"scheme must be https$"):
        check_url("http://hooks.example.com/in", allow_http=False)
    assert check_url("HTTP://hooks.example.com/in", allow_http=True) == "http://hooks.example.com/in"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:s3cret@hooks.example.com/", "user info"),
        ("https://hooks.example.com@evil.example/", "user info"),
        ("https://hooks.example.com/\r\nX-Injected: s3cret", "line break"),
        ("https://hooks.example.com/a\nb", "line break"),
        ("https://hooks.example.com/a b", "whitespace or control"),
        ("https://hooks.example.com/\tx", "whitespace or control"),
        ("https://hooks.example.com/\x00", "whitespace or control"),
        ("https://hooks.example.com/\x7f", "whitespace or control"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com/#", "fragment"),
        ("https:///path", "no host"),
        ("https://:443/", "no host"),
        ("https:hooks.example.com", "no host"),
        ("ftp://hooks.example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("//hooks.example.com/", "scheme"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:65536/", "port"),
        ("https://hooks.example.com:/", "port"),
        ("https://hooks.example.com:+443/", "port"),
        ("https://hooks.example.com\\@evil.example/", "backslash"),
        ("https://hooks.exämple.com/", "ASCII"),
        ("https://hooks%2eexample.com/", "not a valid host name"),
        ("https://127.1/", "dotted-quad"),
        ("https://2130706433/", "dotted-quad"),
        ("https://0x7f.0.0.1/", "dotted-quad"),
        ("https://[::1/", "malformed"),
        ("https://[::1]x/", "malformed"),
        ("https://[fe80::1%25eth0]/", "zone"),
        ("https://[not-ipv6]/", "malformed|not a valid IPv6"),
        ("https://hooks.example.com/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason) as refused:
        check_url(url, allow_http=True)
    assert "s3cret" not in str(refused.value)


# --- address_refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.255.0.9", "loopback address"),
        ("::1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("172.31.255.254", "private address"),
        ("192.168.1.1", "private address"),
        ("169.254.169.254", "cloud metadata address"),
        ("169.254.1.1", "link-local address"),
        ("fe80::1", "link-local address"),
        ("fc00::1", "private address"),
        ("fd00:ec2::254", "private address"),
        ("100.64.0.1", "carrier-grade NAT address"),
        ("0.0.0.0", "unspecified address"),
        ("::", "unspecified address"),
        ("224.0.0.1", "multicast address"),
        ("ff02::1", "multicast address"),
        ("255.255.255.255", "broadcast address"),
        ("240.0.0.1", "reserved address"),
        ("192.0.2.1", "documentation address"),
        ("2001:db8::1", "documentation address"),
        ("::ffff:127.0.0.1", "loopback address (IPv4-mapped)"),
        ("::ffff:169.254.169.254", "cloud metadata address (IPv4-mapped)"),
        ("::ffff:0:a00:1", "private address (IPv4-translated)"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata address (NAT64)"),
        ("2002:7f00:1::", "loopback address (6to4)"),
        ("2002:a9fe:a9fe::1", "cloud metadata address (6to4)"),
        ("::7f00:1", "loopback address (IPv4-compatible)"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback address (Teredo)"),  # client 127.0.0.1
        ("64:ff9b:1::a00:1", "private address"),
    ],
)
def test_address_refused_names_the_reason(address: str, reason: str) -> None:
    assert address_refused(ipaddress.ip_address(address), []) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:93.184.215.14",
        "64:ff9b::5db8:d70e",  # what a DNS64 resolver answers for 93.184.215.14
        "2002:5db8:d70e::1",
    ],
)
def test_address_refused_allows_public_addresses(address: str) -> None:
    assert address_refused(ipaddress.ip_address(address), []) is None


def test_an_allowed_network_permits_its_addresses_and_nothing_else() -> None:
    for address in ("127.0.0.1", "127.5.5.5", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"):
        assert address_refused(ipaddress.ip_address(address), LOOPBACK) is None, address
    for address, reason in (("10.1.2.3", "private address"), ("::1", "loopback address")):
        assert address_refused(ipaddress.ip_address(address), LOOPBACK) == reason
    unique_local = [ipaddress.ip_network("fd00::/8")]
    assert address_refused(ipaddress.ip_address("fd12::1"), unique_local) is None
    assert address_refused(ipaddress.ip_address("fc12::1"), unique_local) == "private address"


# --- post ------------------------------------------------------------------------------------------


def test_post_refuses_a_loopback_receiver_unless_allowed(receiver: Receiver) -> None:
    outcome = deliver(f"http://127.0.0.1:{receiver.port}/hook")
    assert outcome.status is None
    assert outcome.error == "refused: address that may not be called (loopback address)"
    assert receiver.settle() == 0
    assert receiver.requests == []


def test_post_delivers_the_exact_body_and_headers(receiver: Receiver) -> None:
    receiver.status = 202
    headers = {"X-Switchboard-Signature": "sha256=abc", "X-Switchboard-Event": "call.answered"}
    outcome = deliver(f"http://127.0.0.1:{receiver.port}/hook?tenant=7", headers, allowed=LOOPBACK)
    assert outcome.status == 202
    assert outcome.error is None
    assert outcome.latency_ms > 0
    assert len(receiver.requests) == 1
    seen = receiver.requests[0]
    assert seen.path == "/hook?tenant=7"
    assert seen.body == BODY
    assert seen.header("Host") == [f"127.0.0.1:{receiver.port}"]
    assert seen.header("Content-Type") == ["application/json"]
    assert seen.header("User-Agent") == ["Switchboard-Webhooks/1"]
    assert seen.header("Content-Length") == [str(len(BODY))]
    assert seen.header("X-Switchboard-Signature") == ["sha256=abc"]
    assert seen.header("X-Switchboard-Event") == ["call.answered"]
    assert receiver.settle() == 1


def test_post_lets_headers_replace_content_type_and_user_agent(receiver: Receiver) -> None:
    headers = {"content-type": "application/cloudevents+json", "User-Agent": "Tenant/2"}
    outcome = deliver(f"http://127.0.0.1:{receiver.port}/", headers, allowed=LOOPBACK)
    assert outcome.status == 200
    (seen,) = receiver.requests
    assert seen.header("Content-Type") == ["application/cloudevents+json"]
    assert seen.header("User-Agent") == ["Tenant/2"]


def test_post_refuses_localhost(receiver: Receiver) -> None:
    outcome = deliver(f"http://localhost:{receiver.port}/hook")
    assert outcome.status is None
    assert outcome.error is not None
    assert outcome.error.startswith("refused: localhost resolves to an address that may not be called")
    assert receiver.settle() == 0


@pytest.mark.parametrize(
    ("answer", "allowed", "reason"),
    [
        (["93.184.215.14", "127.0.0.1"], [], "loopback address"),
        (["127.0.0.1", "93.184.215.14"], [], "loopback address"),
        # The loopback answer alone would be delivered: the private one must sink the whole request.
        (["127.0.0.1", "10.1.2.3"], LOOPBACK, "private address"),
        (["127.0.0.1", "::ffff:169.254.169.254"], LOOPBACK, "cloud metadata address (IPv4-mapped)"),
    ],
)
def test_post_refuses_a_name_if_any_answer_is_refused(
    receiver: Receiver, resolver: FakeResolver, answer: list[str], allowed: list[IPNetwork], reason: str
) -> None:
    resolver.set("mixed.example.test", answer)
    outcome = deliver(f"http://mixed.example.test:{receiver.port}/hook", allowed=allowed, timeout=2)
    assert outcome.status is None
    assert (
        outcome.error
        == f"refused: mixed.example.test resolves to an address that may not be called ({reason})"
    )
    assert receiver.settle() == 0


def test_post_connects_to_the_vetted_address_without_looking_the_name_up_again(
    receiver: Receiver, resolver: FakeResolver
) -> None:
    # A rebinding name: vetted as loopback (allowed here), then pointing somewhere else for any later lookup.
    resolver.set("rebind.example.test", ["127.0.0.1"], ["192.0.2.1"])
    outcome = deliver(f"http://rebind.example.test:{receiver.port}/hook", allowed=LOOPBACK, timeout=2)
    assert outcome.status == 200
    assert resolver.lookups.count("rebind.example.test") == 1
    (seen,) = receiver.requests
    assert seen.header("Host") == [f"rebind.example.test:{receiver.port}"]


def test_post_does_not_follow_redirects(make_receiver: Callable[..., Receiver]) -> None:
    first, second = make_receiver(), make_receiver()
    first.status = 302
    first.response_headers = [("Location", f"http://127.0.0.1:{second.port}/next")]
    outcome = deliver(f"http://127.0.0.1:{first.port}/hook", allowed=LOOPBACK)
    assert outcome.status == 302
    assert outcome.error == "redirect not followed"
    assert len(first.requests) == 1
    assert second.settle() == 0
    assert second.requests == []


def test_post_reports_an_error_status(receiver: Receiver) -> None:
    receiver.status = 503
    outcome = deliver(f"http://127.0.0.1:{receiver.port}/hook", allowed=LOOPBACK)
    assert (outcome.status, outcome.error) == (503, "HTTP 503")
    assert len(receiver.requests) == 1


def test_post_reads_only_the_start_of_a_large_response(receiver: Receiver) -> None:
    receiver.response_body = b"x" * (4 * 1024 * 1024)
    outcome = deliver(f"http://127.0.0.1:{receiver.port}/hook", allowed=LOOPBACK)
    assert (outcome.status, outcome.error) == (200, None)
    assert len(receiver.requests) == 1


def test_post_times_out_against_a_receiver_that_never_answers() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # connections queue up in the kernel and are never answered
        port = listener.getsockname()[1]
        started = time.monotonic()
        outcome = deliver(f"http://127.0.0.1:{port}/slow", allowed=LOOPBACK, timeout=0.5)
        elapsed = time.monotonic() - started
        assert outcome.status is None
        assert outcome.error == "timed out after 0.5 s"
        assert 0.45 <= elapsed < 2.0
        assert outcome.latency_ms >= 450
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(2)
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
    assert received.startswith(b"POST /slow HTTP/1.1\r\n")
    assert received.endswith(BODY)


def test_post_reports_connection_refused() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    outcome = deliver(f"http://127.0.0.1:{port}/hook", allowed=LOOPBACK, timeout=2)
    assert (outcome.status, outcome.error) == (None, "connection refused")


def test_post_https_verifies_the_url_host_with_the_given_ca(
    https_receiver: Receiver, resolver: FakeResolver, pki: Pki
) -> None:
    resolver.set(HOOKS_HOST, ["127.0.0.1"])
    url = f"https://{HOOKS_HOST}:{https_receiver.port}/hook"
    outcome = deliver(url, allowed=LOOPBACK, allow_http=False, ca_file=pki.ca_file)
    assert (outcome.status, outcome.error) == (200, None)
    (seen,) = https_receiver.requests
    assert seen.header("Host") == [f"{HOOKS_HOST}:{https_receiver.port}"]
    assert seen.body == BODY
    assert https_receiver.server_names == [HOOKS_HOST]


def test_post_https_fails_verification_without_the_ca(
    https_receiver: Receiver, resolver: FakeResolver
) -> None:
    resolver.set(HOOKS_HOST, ["127.0.0.1"])
    outcome = deliver(f"https://{HOOKS_HOST}:{https_receiver.port}/hook", allowed=LOOPBACK)
    assert outcome.status is None
    assert outcome.error is not None
    assert outcome.error.startswith("TLS certificate verification failed")
    assert https_receiver.requests == []


def test_post_https_refuses_a_certificate_for_another_name(
    https_receiver: Receiver, resolver: FakeResolver, pki: Pki
) -> None:
    resolver.set("other.example.test", ["127.0.0.1"])
    url = f"https://other.example.test:{https_receiver.port}/hook"
    outcome = deliver(url, allowed=LOOPBACK, ca_file=pki.ca_file)
    assert outcome.status is None
    assert outcome.error is not None
    assert outcome.error.startswith("TLS certificate verification failed")
    assert "other.example.test" in outcome.error  # the hostname mismatch, not an unknown CA
    assert https_receiver.requests == []


def test_post_refuses_http_unless_allowed(receiver: Receiver) -> None:
    outcome = deliver(f"http://127.0.0.1:{receiver.port}/hook", allowed=LOOPBACK, allow_http=False)
    assert (outcome.status, outcome.error) == (None, "refused: URL scheme must be https")
    assert receiver.settle() == 0


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Switchboard-Signature": "s3cret\r\nX-Injected: 1"}, "forbidden character"),
        ({"X-Switchboard-Signature": "s3cret\nX-Injected: 1"}, "forbidden character"),
        ({"X-Switchboard-Signature": "s3cret\x00"}, "forbidden character"),
        ({"X-Switchboard-Signature": "s3cret\u2028"}, "forbidden character"),
        ({"X-Sig\r\nX-Injected": "s3cret"}, "not a valid HTTP token"),
        ({"X Sig": "s3cret"}, "not a valid HTTP token"),
        ({"Host": "internal.example.test"}, "may not be given"),
        ({"Content-Length": "5"}, "may not be given"),
        ({"Transfer-Encoding": "chunked"}, "may not be given"),
        ({"X-Switchboard-Signature": " s3cret"}, "not valid HTTP"),
    ],
)
def test_post_refuses_bad_headers_without_connecting(
    receiver: Receiver, resolver: FakeResolver, headers: dict[str, str], reason: str
) -> None:
    resolver.set(HOOKS_HOST, ["127.0.0.1"])
    outcome = deliver(f"http://{HOOKS_HOST}:{receiver.port}/hook", headers, allowed=LOOPBACK)
    assert outcome.status is None
    assert outcome.error is not None
    assert outcome.error.startswith("refused: ")
    assert reason in outcome.error
    assert "s3cret" not in outcome.error
    assert resolver.lookups == []
    assert receiver.settle() == 0
