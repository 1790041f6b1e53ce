"""The API docs page in a real browser (Debian's Chromium) against a real server: it loads, without
a redirect loop, and its operations are there."""

from __future__ import annotations

from typing import Any

from tests.support.browser import ONE_ENGINE, browser, require_browser, server, shot

__all__ = ["browser", "server"]  # fixtures, used by name

require_browser()


@ONE_ENGINE
def test_the_docs_page_loads_and_lists_the_operations(server: str, browser: Any) -> None:
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    redirects: list[str] = []
    page.on(
        "response",
        lambda response: redirects.append(response.url) if response.status in range(300, 400) else None,
    )
    for path in ("/api/v1/docs", "/api/v1/docs/"):
        response = page.goto(f"{server}{path}")  # ERR_TOO_MANY_REDIRECTS raised here before the fix
        assert response is not None
        assert response.status == 200
        assert page.url == f"{server}{path}"
        assert "Switchboard" in page.title()
    assert redirects == []
    # The page's own spec, fetched as Swagger UI fetches it (its script comes from a CDN, which a
    # machine without Internet access cannot reach: the operations are read from the spec it loads).
    operations = page.evaluate(
        """async () => {
            const url = document.documentElement.innerHTML.match(/url: '([^']+)'/)[1];
            const spec = await (await fetch(url)).json();
            return Object.entries(spec.paths).flatMap(
                ([path, ops]) => Object.keys(ops).map(m => `${m} ${path}`)
            );
        }"""
    )
    assert "get /api/v1/tenants/" in operations
    assert len(operations) > 100
    shot(page, "api-docs")
