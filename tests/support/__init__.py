"""Test support shared by tests/ and bench/: live stacks, API clients, sample documents, bombs,
the nginx loopback config. Public: bench imports from here (and from tests/samples), never from a
suite's own modules or underscore names (tests/unit/test_bench_imports.py)."""
