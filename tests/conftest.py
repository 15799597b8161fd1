"""Fixtures shared by the test suite. Artifacts are made by real TensorFlow at test time, once
per session, in temporary folders; the corpus of real files lives in ../shared/corpus."""

pytest_plugins = [
    "fixtures.common",
    "fixtures.checkpoints",
    "fixtures.graphs",
    "fixtures.models",
]
