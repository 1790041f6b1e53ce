"""`switchboard simulate`: drive the simulated PBX of a running server over its API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from switchboard.cli.readable_help import CommandGroup

simulate_app = CommandGroup(help="Drive the simulated PBX of a running server.", no_args_is_help=True)
err = Console(stderr=True)


@simulate_app.command("call")
def simulate_call(
    to: Annotated[str, typer.Option("--to", metavar="EXTENSION", help="The extension called, e.g. 410.")],
    caller: Annotated[
        str, typer.Option("--from", metavar="NUMBER", help="The caller's number, e.g. +61390000001.")
    ],
    key: Annotated[
        str,
        typer.Option(
            "--key",
            metavar="KEY",
            envvar="SWITCHBOARD_API_KEY",
            help="An administrator's credential (the global key, a tenant admin's token or key); "
            "prefer the environment variable SWITCHBOARD_API_KEY to keep it out of shell history.",
        ),
    ],
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", metavar="TENANT", help="The tenant, if the extension is in several."),
    ] = None,
    url: Annotated[str, typer.Option("--url", metavar="URL", help="The server.")] = "https://127.0.0.1:8443",
    cacert: Annotated[
        Path | None,
        typer.Option(
            "--cacert",
            metavar="FILE",
            help="CA or certificate to trust (default: ./data/tls/localhost.crt if present).",
        ),
    ] = None,
) -> None:
    """An inbound call from --from to extension --to, on the server's simulated PBX."""
    import json
    import ssl
    import urllib.error
    import urllib.request

    if not url.startswith(("https://", "http://")):
        err.print("[red]--url must be an https:// (or, in development, http://) address[/red]")
        sys.exit(2)
    body = {"to": to, "from": caller, **({"tenantId": tenant} if tenant else {})}
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        f"{url.rstrip('/')}/api/v1/simulator/calls/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    trust = cacert or (Path("data/tls/localhost.crt") if Path("data/tls/localhost.crt").exists() else None)
    context = ssl.create_default_context(cafile=str(trust) if trust else None)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:  # noqa: S310
            call = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        err.print(f"[red]Refused ({exc.code}):[/red] {detail}")
        sys.exit(1)
    except (urllib.error.URLError, OSError) as exc:
        err.print(f"[red]Cannot reach {url}:[/red] {getattr(exc, 'reason', exc)}")
        sys.exit(1)
    print(json.dumps(call, indent=2))
