"""No thread hop on the request path: app-wide dependencies, every shared dependency, every middleware
and the benchmarked hot routes run on the event loop (issue 21: one sync app-wide dependency put a
~150 µs hop on every request and halved throughput unnoticed)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from switchboard.app import create_app
from switchboard.settings import Settings

# The routes `make bench` measures (bench/__main__.py): (method, path template).
HOT_ROUTES = {
    ("GET", "/api/v1/tenants/{tenant_id}/groups/{group_id}/users/{user_id}/"),
    ("GET", "/api/v1/tenants/{tenant_id}/groups/{group_id}/users/"),
    ("GET", "/api/v1/tenants/"),
    ("POST", "/api/v1/search/objects/"),
    ("GET", "/servicemanager/rest/CampaignAPI/getCampaignList"),
    ("POST", "/servicemanager/rest/CampaignAPI/getCampaignList"),
    ("POST", "/servicemanager/rest/CampaignAPI/insertLeadFast"),
    ("POST", "/servicemanager/rest/CallManagementAPI/start"),
    ("POST", "/servicemanager/rest/CallManagementAPI/stop"),
    ("GET", "/servicemanager/rest/CallManagementAPI/subscribe"),
    ("POST", "/servicemanager/rest/CallManagementAPI/subscribe"),
}


def runs_on_the_loop(call: Callable[..., Any]) -> bool:
    """Whether FastAPI awaits `call` directly (a sync callable goes to the thread pool)."""
    while isinstance(call, functools.partial):
        call = call.func
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    if inspect.isroutine(call) or inspect.isclass(call):
        return False
    method = type(call).__call__
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


def _name(call: Callable[..., Any]) -> str:
    return f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', repr(call))}"


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield from _dependencies(sub)
        yield sub


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    where: Path = tmp_path_factory.mktemp("hop")
    return create_app(Settings(data_dir=where / "data", database_url=f"sqlite:///{where}/hop.db"))


def _routes(app: FastAPI) -> list[Any]:
    return [route for route in iter_route_contexts(app.routes) if getattr(route, "dependant", None)]


def test_the_check_tells_sync_from_async() -> None:
    def sync() -> None: ...

    async def coroutine() -> None: ...

    class AsyncCallable:
        async def __call__(self) -> None: ...

    class SyncCallable:
        def __call__(self) -> None: ...

    assert not runs_on_the_loop(sync)
    assert not runs_on_the_loop(functools.partial(sync))
    assert runs_on_the_loop(coroutine)
    assert runs_on_the_loop(functools.partial(coroutine))
    assert runs_on_the_loop(AsyncCallable())
    assert not runs_on_the_loop(SyncCallable())


def test_no_dependency_runs_on_a_thread(app: FastAPI) -> None:
    routes = _routes(app)
    assert len(routes) > 100  # the walk reached the included routers
    sync = {
        _name(dependency.call)
        for route in routes
        for dependency in _dependencies(route.dependant)
        if dependency.call is not None and not runs_on_the_loop(dependency.call)
    }
    assert sync == set(), "dependencies run on the thread pool (make them async def)"


def test_every_middleware_is_async(app: FastAPI) -> None:
    assert app.user_middleware
    for middleware in app.user_middleware:
        call = middleware.cls.__call__  # type: ignore[operator]
        assert inspect.iscoroutinefunction(call), f"{middleware.cls} is not async"


def test_the_benchmarked_routes_run_on_the_loop(app: FastAPI) -> None:
    endpoints = {
        (method, route.path): route.dependant.call for route in _routes(app) for method in route.methods or ()
    }
    missing = HOT_ROUTES - endpoints.keys()
    assert not missing, f"hot routes renamed? {missing}"
    sync = sorted(
        f"{method} {path}" for method, path in HOT_ROUTES if not runs_on_the_loop(endpoints[method, path])
    )
    assert sync == []
