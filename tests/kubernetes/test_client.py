"""How the backend finds its cluster: kubeconfig and context, in-cluster, TLS, lazy import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import yaml

from skytrain.backends.kubernetes.client import api_client_for
from skytrain.errors import UsageError
from skytrain.schedulers import backend
from tests.kubernetes.conftest import app
from tests.support import ROOT


def test_an_environment_without_a_cluster_is_a_usage_error():
    environment = dataclasses.replace(app().environment, kubernetes=None)
    with pytest.raises(UsageError, match="'staging' has no kubernetes cluster in the environments file"):
        backend("kubernetes", environment)


def test_an_unknown_context_names_the_kubeconfig_and_the_context(k8s):
    with pytest.raises(
        UsageError,
        match=rf"cannot configure the Kubernetes client from {k8s.kubeconfig} for context 'nowhere'",
    ):
        api_client_for("nowhere")


def test_in_a_pod_without_kubeconfig_it_uses_the_service_account(monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(UsageError, match="from the in-cluster service account"):
        api_client_for("staging")  # no token file here: the in-cluster loader was the one asked


def test_tls_is_verified_against_the_kubeconfigs_authority(tmp_path, monkeypatch):
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "staging",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": "https://k8s.example.com:6443", "certificate-authority-data": "Y2E="},
            }
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "staging", "context": {"cluster": "c", "user": "u"}}],
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    configuration = api_client_for("staging").configuration
    assert configuration.verify_ssl is True and configuration.ssl_ca_cert
    assert configuration.host == "https://k8s.example.com:6443"


def test_the_backend_imports_the_client_only_when_created():
    code = (
        "import sys; import skytrain.backends.kubernetes, skytrain.backends.kubernetes.backend;"
        "assert 'kubernetes' not in sys.modules and 'urllib3' not in sys.modules, 'imported too early'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
