import pytest


@pytest.fixture(autouse=True)
def _forget_cached_key():
    """Each test database starts without keys; a worker's cached active key would belong to the last one."""
    from schoolid.provider import keys

    keys._cache.update(at=0.0, key=None, private={})
    yield
