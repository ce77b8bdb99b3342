"""GCP project-level building blocks shared by the `cloudrun` and `gke` platforms.

Free of provider SDK imports: the platforms validate their config with these before they load
pulumi_gcp (the resources both platforms build are wired in `components/platforms/gcp_wiring.py`).
"""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi

from components.config import ConfigError, StackContext


def raise_config_problems(context: StackContext, problems: Sequence[str]) -> None:
    """One ConfigError naming every problem (nothing is registered after it); none: no error."""
    if problems:
        raise ConfigError(
            f"Pulumi.{context.stack}.yaml: invalid configuration; nothing was created.\n"
            + "\n".join(f"  {p}" for p in problems)
        )


def deletion_protection_problems(context: StackContext) -> list[str]:
    """Production data services always keep deletion protection: `gcp.deletionProtection` cannot
    switch it off for a production stack."""
    cfg = context.config
    if cfg.is_production and not cfg.gcp.deletion_protection:
        return [
            "ai-assistant-platform:gcp.deletionProtection = False: production data services always keep "
            "deletion protection"
        ]
    return []


def project_id(context: StackContext) -> str:
    """The GCP project: `ai-assistant-platform:gcp.project`, else the provider's `gcp:project`."""
    project = context.config.gcp.project or pulumi.Config("gcp").get("project")
    if not project:
        raise_config_problems(
            context,
            [
                f"gcp:project: is required for platform {context.config.platform}; run "
                f"`pulumi config set gcp:project <project-id> --stack {context.stack}`"
            ],
        )
    return project


def shared_apis(context: StackContext) -> list[str]:
    """The APIs of what every GCP platform builds the same way (`components/platforms/gcp_wiring.py`):
    project IAM, the VPC with Private Service Access, Secret Manager, telemetry, the backup bucket,
    and Cloud SQL, Memorystore and billing budgets when the stack uses them. Each platform adds
    the APIs of its own parts."""
    cfg = context.config
    apis = [
        "cloudresourcemanager.googleapis.com",
        "iam.googleapis.com",
        "compute.googleapis.com",
        "servicenetworking.googleapis.com",
        "secretmanager.googleapis.com",
        "monitoring.googleapis.com",
        "logging.googleapis.com",
        "cloudtrace.googleapis.com",
        "storage.googleapis.com",
    ]
    if cfg.data.postgres.enabled:
        apis.append("sqladmin.googleapis.com")
    if cfg.data.redis.enabled:
        apis.append("redis.googleapis.com")
    if cfg.monitoring.enabled and cfg.monitoring.budgets.billing_account:
        apis.append("billingbudgets.googleapis.com")
    return apis


# The API each GCP resource type calls: a resource may be created only once that API is enabled
# (`gcp.projects.Service`), or the call fails on a fresh project. Keyed by SDK module, where every
# type of the module calls the same API, else by type token (the `projects` module spans several
# APIs). Service Usage itself (`serviceusage.googleapis.com`) is on in every project: it is what
# enables the others. Tests apply this table to every GCP resource of every GCP stack; a type it
# does not know fails them.
API_OF_MODULE: dict[str, str] = {
    "billing": "billingbudgets.googleapis.com",
    "certificatemanager": "certificatemanager.googleapis.com",
    "cloudrunv2": "run.googleapis.com",
    "cloudscheduler": "cloudscheduler.googleapis.com",
    "compute": "compute.googleapis.com",
    "container": "container.googleapis.com",
    "dns": "dns.googleapis.com",
    "firestore": "firestore.googleapis.com",
    "gkebackup": "gkebackup.googleapis.com",
    "kms": "cloudkms.googleapis.com",
    "logging": "logging.googleapis.com",
    "monitoring": "monitoring.googleapis.com",
    "redis": "redis.googleapis.com",
    "secretmanager": "secretmanager.googleapis.com",
    "serviceaccount": "iam.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "sql": "sqladmin.googleapis.com",
    "storage": "storage.googleapis.com",
    "workflows": "workflows.googleapis.com",
}
API_OF_TYPE: dict[str, str] = {
    # project IAM policy: Cloud Resource Manager getIamPolicy/setIamPolicy
    "gcp:projects/iAMMember:IAMMember": "cloudresourcemanager.googleapis.com",
    "gcp:projects/iAMCustomRole:IAMCustomRole": "iam.googleapis.com",
    "gcp:projects/service:Service": "serviceusage.googleapis.com",
    # generateServiceIdentity (Service Usage); it also needs the API it names (its `service`)
    "gcp:projects/serviceIdentity:ServiceIdentity": "serviceusage.googleapis.com",
}
# Enabled in every project (it enables the others): nothing waits for it.
BOOTSTRAP_API = "serviceusage.googleapis.com"


def api_of(type_token: str) -> Optional[str]:
    """The API a GCP resource type calls ('gcp:compute/network:Network' -> compute.googleapis.com);
    None for a type the tables do not know."""
    if type_token in API_OF_TYPE:
        return API_OF_TYPE[type_token]
    module = type_token.split(":")[1].split("/")[0] if type_token.count(":") == 2 else ""
    return API_OF_MODULE.get(module)


def continent_of(region: str) -> Optional[str]:
    """'us-central1' -> 'us', 'europe-west1' -> 'eu', 'asia-east1' -> 'asia'; None elsewhere."""
    return {"us": "us", "europe": "eu", "asia": "asia"}.get(region.split("-")[0])


def multi_region_of(region: str) -> str:
    """The Cloud Storage / snapshot multi-region that contains `region` (US, EU, ASIA), or the
    region itself where no multi-region covers it."""
    continent = continent_of(region)
    return continent.upper() if continent else region


def firestore_multi_region_of(region: str) -> str:
    """The Firestore multi-region of a region's continent: nam5 (US) or eur3 (Europe); the region
    itself elsewhere."""
    return {"us": "nam5", "eu": "eur3"}.get(continent_of(region) or "", region)


# The pulumi_gcp modules the GCP platforms use.
SDK_MODULES = (
    "billing",
    "certificatemanager",
    "cloudrunv2",
    "cloudscheduler",
    "compute",
    "dns",
    "firestore",
    "logging",
    "monitoring",
    "organizations",
    "projects",
    "redis",
    "secretmanager",
    "serviceaccount",
    "servicenetworking",
    "sql",
    "storage",
    "workflows",
)
