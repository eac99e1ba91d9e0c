"""The only code that talks to a scheduler. Everything here may do I/O; nothing on the
pure path (config, render, offline diff) imports it.

Each scheduler's backend is created by its plug-in (skytrain.schedulers), which imports
the client (the Kubernetes client, or the HTTP library for Marathon) only then.
"""
