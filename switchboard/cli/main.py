"""The switchboard command: init, serve, worker, db, demo, keys, accounts, allowlist, access, simulate,
import, export."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from switchboard.cli.common import DataDir, command_settings, err, open_database, tls_files, upgrade_schema
from switchboard.cli.readable_help import CommandGroup

if TYPE_CHECKING:  # settings, pydantic and the rest load where a command needs them (start-up time)
    from switchboard.settings import Settings

app = CommandGroup(
    help="Switchboard: a secure API layer for hosted telephony and contact centres.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = CommandGroup(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _export(settings: Settings) -> None:
    """Server worker processes build their settings from the environment: hand ours over."""
    from pydantic import SecretStr

    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, SecretStr):  # str() would hand over asterisks
            value = value.get_secret_value()
        os.environ[f"SWITCHBOARD_{name.upper()}"] = str(value)


@app.command()
def init(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Create the schema, the global API key and the 'admin' account; prints the secrets once."""
    from switchboard.system.bootstrap import ADMIN_USERNAME, initialise

    settings = command_settings(data_dir)
    upgrade_schema(settings)
    db = open_database(settings)
    with db.transaction() as session:
        created = initialise(session)
    db.engine.dispose()
    if created is None:
        message = "Already initialised: nothing changed (secrets are shown only when created)."
        if as_json:
            typer.echo(json.dumps({"initialised": False, "message": message}))
        else:
            err.print(message)
        return
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "initialised": True,
                    "global_api_key": created.global_api_key,
                    "admin_username": ADMIN_USERNAME,
                    "admin_password": created.admin_password,
                }
            )
        )
        return
    err.print("[bold]Switchboard initialised.[/bold] These secrets are shown once; store them safely.")
    sys.stderr.flush()
    typer.echo(f"global_api_key={created.global_api_key}")
    typer.echo(f"admin_username={ADMIN_USERNAME}")
    typer.echo(f"admin_password={created.admin_password}")


@db_app.command("upgrade")
def dbupgrade_schema(data_dir: DataDir = None) -> None:
    """Apply every pending schema migration."""
    settings = command_settings(data_dir)
    upgrade_schema(settings)
    err.print("Database schema is up to date.")


@app.command()
def demo(data_dir: DataDir = None) -> None:
    """Load the demo: two tenants, 220 users, every service kind, agent accounts, teams, campaign
    templates and campaigns; writes the demo's address and credentials to DATA_DIR/demo.env for
    your shell (`. data/demo.env`). Safe to run again."""
    from switchboard.cli.demo import load_demo
    from switchboard.cli.demo_env import DEMO_ENV, demo_secrets, read_demo_env, write_demo_env
    from switchboard.errors import SwitchboardError

    settings = command_settings(data_dir)
    upgrade_schema(settings)
    env_file = (settings.data_dir / DEMO_ENV).resolve()
    earlier = read_demo_env(env_file)
    db = open_database(settings)
    try:
        with db.transaction() as session:
            made = load_demo(session)
            secrets = demo_secrets(session, earlier)
    except SwitchboardError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        db.engine.dispose()
    # The certificate is made now if serve has not yet: curl can trust it before the first start.
    certificate = tls_files(settings)[0].resolve()
    write_demo_env(env_file, {"SB": settings.base_url, "CURL_CA_BUNDLE": str(certificate), **secrets.values})
    if not any(vars(made).values()):
        err.print("Demo data already present: nothing changed.")
    else:
        err.print(
            f"Demo loaded: {made.tenants} tenants, {made.groups} groups, {made.departments} departments, "
            f"{made.users} users, {made.service_users} service users; {made.accounts} accounts, "
            f"{made.teams} teams ({made.team_members} members), {made.campaign_templates} campaign "
            f"templates, {made.campaigns} campaigns."
        )
    if secrets.reissued and earlier:
        err.print(
            f"Re-issued in {DEMO_ENV} (the earlier ones no longer worked): {', '.join(secrets.reissued)}"
        )
    err.print(f"The demo's address and credentials, for your shell: . {env_file}", soft_wrap=True)
    typer.echo(f"demo_env={env_file}")


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port (default 8443).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, metavar="N", help="Worker processes (PostgreSQL only for >1).")
    ] = 1,
    certfile: Annotated[Path | None, typer.Option(metavar="FILE", help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(metavar="FILE", help="TLS private key (PEM).")] = None,
    insecure_http: Annotated[
        bool, typer.Option("--insecure-http", help="Development only: plain HTTP on loopback.")
    ] = False,
) -> None:
    """Serve the API over HTTPS (a self-signed localhost certificate is made if none is given)."""
    import uvicorn

    from switchboard.settings import UnsafeSettingsError

    settings = command_settings(
        data_dir,
        host=host,
        port=port,
        certfile=certfile,
        keyfile=keyfile,
        insecure_http=True if insecure_http else None,
    )
    try:
        settings.check_serving(workers)
    except UnsafeSettingsError as exc:
        err.print(f"[red]Refusing to start:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not _is_initialised(settings):
        err.print("[red]Not initialised:[/red] run `switchboard init` first.")
        raise typer.Exit(2)
    # Own the address first: a second `serve` on a busy port must leave before its startup work
    # (the PBX reconciliation, the event workers) writes to the database the running server uses.
    listener = _bind(settings.host, settings.port)
    ssl: dict[str, str] = {}
    self_signed: Path | None = None
    if not settings.insecure_http:
        cert, key = tls_files(settings)
        self_signed = None if settings.certfile and settings.keyfile else cert
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    else:
        err.print("[yellow]WARNING: serving plain HTTP (development only, loopback only).[/yellow]")
    _export(settings)
    typer.echo(banner(settings.base_url, self_signed), err=True)
    config = uvicorn.Config(
        "switchboard.server:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        proxy_headers=False,  # one parser for X-Forwarded-*: ours, with the trusted-proxy rule
        forwarded_allow_ips="",
        server_header=False,
        http="switchboard.web.request_line:LenientHttpToolsProtocol",  # raw spaces in URLs (Noojee)
        access_log=False,
        log_config=None,
        **ssl,  # type: ignore[arg-type]
    )
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[listener]).run()
            return
        server = uvicorn.Server(config)
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        return
    if not server.started:
        raise typer.Exit(3)


def banner(base: str, self_signed: Path | None) -> str:
    """What `serve` prints as it starts: where the console, the API's index, its documentation and
    the health check answer (addresses only: no secret is ever part of one)."""
    from switchboard.kit.entry_points import BANNER_LINKS

    width = max(len(link.name) for link in BANNER_LINKS) + 1
    lines = [f"Switchboard is serving on {base}"]
    lines += [f"  {link.name + ':':<{width}} {base}{link.path}" for link in BANNER_LINKS]
    if self_signed is not None:
        lines.append(f"  (a self-signed certificate: browsers warn; clients may trust {self_signed})")
    return "\n".join(lines)


def _bind(host: str, port: int) -> socket.socket:
    """The server's listening address, bound (the workers listen on it); exit 3 if it is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait TIME_WAIT out
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        err.print(
            f"[red]Cannot serve on {host}:{port}:[/red] {reason}; nothing was started or changed.",
            soft_wrap=True,
        )
        raise typer.Exit(3) from exc
    sock.set_inheritable(True)
    return sock


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Deliver webhooks and keep the event log (beside `serve`, which also does by default;
    run any number, on any machine sharing the database and the webhook key)."""
    import asyncio

    from switchboard.events.standalone import run_worker
    from switchboard.logs import configure_logging

    settings = command_settings(data_dir)
    if not _is_initialised(settings):
        err.print("[red]Not initialised:[/red] run `switchboard init` first.")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings))


def _is_initialised(settings: Settings) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    from switchboard.system.bootstrap import is_initialised

    db = open_database(settings)
    try:
        with db.transaction() as session:
            return is_initialised(session)
    except SQLAlchemyError:
        return False
    finally:
        db.engine.dispose()


def _register_subcommands() -> None:
    from switchboard.cli.access import access_app, accounts_app, allowlist_app, keys_app
    from switchboard.cli.bulk import export_command, import_command
    from switchboard.cli.simulate import simulate_app

    app.add_typer(keys_app, name="keys")
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(allowlist_app, name="allowlist")
    app.add_typer(access_app, name="access")
    app.add_typer(simulate_app, name="simulate")
    app.command("import")(import_command)
    app.command("export")(export_command)


_register_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
