"""Fixtures shared by the test suite. Artifacts are made by real TensorFlow at test time, once
per session, in temporary folders; the corpus of real files lives in ../shared/corpus."""

pytest_plugins = [
    "fixtures.common",
    "fixtures.checkpoints",
    "fixtures.graphs",
    "fixtures.models",
]


def pytest_collection_modifyitems(config, items):
    """Every test that asks for the ``corpus`` fixture is a corpus test (marked ``corpus``)."""
    import pytest

    for item in items:
        if "corpus" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("corpus"):
            item.add_marker(pytest.mark.corpus)


def pytest_runtest_setup(item):
    """Corpus tests skip, all with one folded line, when the corpus is missing (fail on CI)."""
    if item.get_closest_marker("corpus"):
        from fixtures.common import skip_or_fail_without_corpus

        skip_or_fail_without_corpus()
