import os
import shutil

import pytest

from tests.sinks import gateway, smtp  # noqa: F401 - fixtures for every test module

# Playwright's sync API runs an event loop in the test thread; the Django ORM calls made by tests
# around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SCHOOLID_CHROMIUM", "/usr/bin/chromium")
REQUIRE_SERVICES = os.environ.get("SCHOOLID_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    """Empty this run's cache keys only: other runs may share the Redis server."""
    from django.core.cache import caches

    cache = caches["default"]
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"*{settings.TEST_CACHE_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
    yield


@pytest.fixture(scope="session")
def chromium_browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if REQUIRE_SERVICES:
            pytest.fail(f"chromium not found at {CHROMIUM} (SCHOOLID_REQUIRE_SERVICES=1)")
        pytest.skip(f"chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser, live_server):
    context = chromium_browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
