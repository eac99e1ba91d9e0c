"""Emulated schedulers (Kubernetes API, Marathon) for tests, benchmarks and the demo."""
