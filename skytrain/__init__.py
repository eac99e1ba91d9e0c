"""skytrain: one description of a service, deployed to Marathon and Kubernetes alike."""

__version__ = "0.1.0"
