"""Every namespaced Kubernetes object waits for the Namespace it lives in, when the stack creates it.

An object whose namespace is a plain string races the Namespace: on a fresh cluster the API server
answers `namespaces "<name>" not found` and the first `pulumi up` fails. The namespace must come
from the Namespace resource's output, which makes the dependency.
"""

from __future__ import annotations

import pytest

from tests.helpers import plan_of
from tools.plan import available_stacks


@pytest.mark.parametrize("stack", available_stacks())
def test_every_namespaced_object_depends_on_its_namespace(stack):
    resources = plan_of(stack).capture.resources
    namespaces = {
        r.inputs["metadata"]["name"]: r.urn for r in resources if r.type == "kubernetes:core/v1:Namespace"
    }
    racing = []
    for r in resources:
        if not r.type.startswith("kubernetes:") or r.type == "kubernetes:core/v1:Namespace":
            continue
        if r.type == "kubernetes:helm.sh/v3:Release":
            namespace = r.inputs.get("namespace")
        else:
            namespace = (r.inputs.get("metadata") or {}).get("namespace")
        if namespace in namespaces and namespaces[namespace] not in r.dependencies:
            racing.append(f"{r.type} {r.name} (namespace {namespace})")
    assert racing == [], "created without waiting for their Namespace:\n" + "\n".join(racing)
