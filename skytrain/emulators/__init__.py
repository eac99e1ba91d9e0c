"""In-process emulators of the schedulers' APIs, for the tests, the demo and the benchmarks.

They speak real HTTP on 127.0.0.1 (random port) so that the backends are exercised over
the same connections they use in production; nothing here imports pytest.
"""
