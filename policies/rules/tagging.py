"""The project's labels/tags on every resource that can carry them.

DESIGN conventions: every resource carries `app`, `environment`, `managed-by: pulumi` (plus the
config's `tags`) -- `StackContext.labels` in components/config/loader.py. They drive cost reports
(seed 000 budgets), inventory and the monitoring selectors.

Where labels live: Kubernetes `metadata.labels` (every object); GCP `labels`, `userLabels`
(monitoring, Cloud SQL `settings.userLabels`), `resourceLabels` (GKE clusters, node pools'
`nodeConfig.resourceLabels`); AWS `tags`. The GCP/AWS table is generated from the pinned SDKs
(labelable.py).
"""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, Severity

from .base import Check, config_text, resource_policy
from .labelable import LABEL_PATH
from .props import get, is_unknown, items

PROJECT = "ai-assistant-platform"
REQUIRED = {"app": PROJECT, "managed-by": "pulumi"}

_K8S_EXCLUDED_PREFIXES = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")


def label_path(type_token: str) -> str | None:
    if type_token.startswith("kubernetes:"):
        if type_token.startswith(_K8S_EXCLUDED_PREFIXES) or type_token.endswith(("List", "Patch")):
            return None
        return "metadata.labels"
    return LABEL_PATH.get(type_token)


@resource_policy(
    name="resource-labels",
    theme="tagging",
    summary="Every resource that supports labels/tags carries the project's labels.",
    severity=Severity.LOW,
    types=("kubernetes:* (metadata.labels)", "gcp:* with labels/userLabels/resourceLabels", "aws:* with tags"),
    applies_to=lambda t: label_path(t) is not None,
    checks="`app: ai-assistant-platform`, `managed-by: pulumi` and `environment` (equal to the policy config "
    "`environment` when set) in Kubernetes metadata.labels, GCP labels/userLabels/resourceLabels (Cloud SQL "
    "settings.userLabels, node pools nodeConfig.resourceLabels) and AWS tags, for every type whose SDK "
    "accepts them.",
    source="DESIGN conventions (labels from StackContext.labels on every resource); seed 000 (cost alerts per "
    "environment need labels)",
    remediation="Pass `self.labels` (components/base.py) as labels/tags/metadata.labels of the resource.",
    config_schema=PolicyConfigSchema(
        properties={
            "environment": {
                "type": "string",
                "enum": ["dev", "staging", "prod"],
                "description": "The stack's environment; the `environment` label must equal it.",
            }
        }
    ),
)
def resource_labels(args: ResourceValidationArgs, check: Check) -> None:
    path = label_path(args.resource_type)
    labels = items(get(args.props, path), path)
    if not check.known(labels, path):
        return
    found = dict(labels)
    expected = dict(REQUIRED)
    environment = config_text(args, "environment")
    if environment:
        expected["environment"] = environment
    missing, wrong = [], []
    for key in ("app", "environment", "managed-by"):
        value = found.get(key)
        if is_unknown(value):
            check.unknown(f"{path}.{key}", value)
        elif value is None or value == "":
            missing.append(key)
        elif key in expected and value != expected[key]:
            wrong.append(f"{key}={value!r} (expected {expected[key]!r})")
    if missing:
        check.fail(f"{path} lacks {', '.join(missing)}.")
    if wrong:
        check.fail(f"{path} has {', '.join(wrong)}.")
