"""Typed process settings from SWITCHBOARD_* environment variables, with unsafe combinations refused."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeSettingsError(ValueError):
    """Settings that would expose the service; the message says why and what to change."""


class Settings(BaseSettings):
    """Everything a Switchboard process needs to know before it touches the database."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    certfile: Path | None = None
    keyfile: Path | None = None
    # Peers whose X-Forwarded-For / X-Forwarded-Proto headers are believed (addresses or CIDRs).
    # Comma-separated in the environment (NoDecode: not parsed as JSON).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    pbx: Literal["simulated", "asterisk"] = "simulated"
    # The simulated PBX: seconds from dial to ringing, from ringing to answer, and of a call
    # once answered (0: until hung up).
    sim_ring_seconds: float = Field(default=1.0, ge=0.0, le=600.0)
    sim_answer_seconds: float = Field(default=2.0, ge=0.0, le=600.0)
    sim_hangup_seconds: float = Field(default=0.0, ge=0.0, le=86_400.0)
    # Asterisk Manager Interface (SWITCHBOARD_PBX=asterisk).
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str = ""
    ami_secret: SecretStr = SecretStr("")
    ami_channel: str = "PJSIP/{extension}"  # how Originate names the dialling extension's channel
    ami_context: str = "from-internal"  # the dialplan context Originate dials the number in
    # The user Asterisk runs as: at start-up, whether it may write the recordings directory is
    # checked (when that user exists on this machine) and a warning logged when it may not.
    ami_recordings_user: str = "asterisk"
    # Whether Switchboard sees the recordings directory Asterisk writes (the same machine or a
    # shared mount): then a recording whose file never appears is "failed". Without it (False),
    # Asterisk's MixMonitorStart alone says a recording runs, and downloads answer 404.
    ami_recordings_shared: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Development only: serve and accept plain HTTP (loopback only).
    insecure_http: bool = False
    # Benchmarks only: expose the framework floor route at /bench/floor.
    bench_floor_route: bool = False
    # Safety net only: changes reach every worker through the change feed within a fraction of a second.
    settings_cache_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
    # How often SQLite deployments poll for changes (PostgreSQL is told by LISTEN/NOTIFY).
    change_poll_seconds: float = Field(default=0.1, gt=0.0, le=5.0)
    auth_failures_per_minute: int = Field(default=10, ge=1)  # per client address
    requests_per_minute: int = Field(default=30_000, ge=1)  # per credential
    login_token_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    login_concurrency: int = Field(default=2, ge=1, le=64)  # password verifications at once
    argon2_time_cost: int = Field(default=2, ge=1)  # OWASP: 2 iterations
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8)  # OWASP: 19 MiB
    lead_batch_size: int = Field(default=1000, ge=1, le=10_000)  # leads per transaction
    lead_request_max_rows: int = Field(default=50_000, ge=1)  # leads in one insert/update request
    import_max_bytes: int = Field(default=1 << 30, ge=1)  # one directory import upload (413 past it)
    # A tenant administrator's import upload (413 past it; the smaller of the two applies): one
    # tenant's file must not tie up the shared server's disk and CPU for long. 64 MiB: ~300,000 users.
    import_tenant_max_bytes: int = Field(default=64 << 20, ge=1)
    # Any other request body (413 past it); 50,000 leads in one request fit in about 15 MB.
    max_body_bytes: int = Field(default=32 << 20, ge=1024)
    lead_writers: int = Field(default=4, ge=1, le=64)  # lead-writing requests at once
    lead_writer_wait_seconds: float = Field(default=30.0, ge=0.0, le=600.0)  # then 109 / 429
    audit_retention_days: int = Field(default=90, ge=1)
    event_retention_days: int = Field(default=7, ge=1)  # the event log, webhook deliveries and attempts
    # Webhooks. The key encrypting signing secrets at rest (Fernet, urlsafe base64 of 32 bytes);
    # unset: data_dir/webhook-secrets.key, created on first use. Every process needs the same key.
    webhook_key: SecretStr | None = None
    # Receivers in these networks may be called although private/loopback/link-local (webhookAllowedNetworks).
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_worker: bool = True  # deliver webhooks inside `switchboard serve` (also: `switchboard worker`)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0.0, le=60.0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=5.0, ge=0.0, le=3600.0)  # first retry; doubles, jittered
    webhook_backoff_max_seconds: float = Field(default=3600.0, ge=0.0, le=86_400.0)
    # A claimed delivery is due again after this long if its worker died mid-send (> the timeout).
    webhook_lease_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    webhook_concurrency: int = Field(default=8, ge=1, le=256)  # requests in flight per worker
    webhook_ca_file: Path | None = None  # an extra CA for receivers' certificates (private PKI)
    subscribe_max_wait_seconds: float = Field(default=60.0, ge=0.0, le=300.0)  # subscribe's timeOut cap
    audit_max_rows: int = Field(default=1_000_000, ge=1000)

    @field_validator("trusted_proxies", "webhook_allowed_networks", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", "webhook_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                what = {"trusted_proxies": "trusted proxy"}.get(
                    info.field_name or "", "webhook allowed network"
                )
                raise ValueError(f"{what} {entry!r} is not an address or CIDR") from exc
        return value

    @property
    def webhook_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.webhook_allowed_networks)

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'switchboard.db').resolve()}"

    @property
    def base_url(self) -> str:
        """Where `serve` answers with these settings (its banner; the demo's demo.env)."""
        scheme = "http" if self.insecure_http else "https"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def recordings_dir(self) -> Path:
        return (self.data_dir / "recordings").resolve()

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def check_serving(self, workers: int) -> None:
        """Refuse a configuration that would be unsafe or cannot work, saying why."""
        if self.insecure_http and not is_loopback_host(self.host):
            raise UnsafeSettingsError(
                f"plain HTTP is a development mode and is served on loopback only; "
                f"host {self.host!r} is not a loopback address. Drop --insecure-http, or "
                f"bind 127.0.0.1."
            )
        if (self.certfile is None) != (self.keyfile is None):
            raise UnsafeSettingsError("give both a certificate file and a key file, or neither")
        if workers > 1 and self.is_sqlite:
            raise UnsafeSettingsError(
                "SQLite serves one worker process; --workers > 1 needs PostgreSQL "
                "(set SWITCHBOARD_DATABASE_URL=postgresql://...)."
            )


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
