"""GCP project-level building blocks shared by the `cloudrun` and `gke` platforms.

Free of provider SDK imports: the platforms validate their config with these before they load
pulumi_gcp (the resources both platforms build are wired in `components/platforms/gcp_wiring.py`).
"""

from __future__ import annotations

from typing import Optional

import pulumi

from components.config import Problem, StackConfig, StackContext


def deletion_protection_problems(config: StackConfig) -> list[Problem]:
    """Production data services always keep deletion protection: `gcp.deletionProtection` cannot
    switch it off for a production stack."""
    if config.is_production and not config.gcp.deletion_protection:
        return [Problem("gcp.deletionProtection", False, "production data services always keep deletion protection")]
    return []


def configured_project(config: StackConfig) -> Optional[str]:
    """`ai-assistant-platform:gcp.project`, else the provider's `gcp:project` (engine config)."""
    return config.gcp.project or pulumi.Config("gcp").get("project")


def project_problems(config: StackConfig) -> list[Problem]:
    if configured_project(config):
        return []
    return [
        Problem(
            "gcp.project",
            None,
            f"a GCP project is required for platform {config.platform}; run "
            "`pulumi config set gcp:project <project-id>` (or set ai-assistant-platform:gcp.project)",
        )
    ]


def gcp_problems(config: StackConfig) -> list[Problem]:
    """What every GCP platform (`cloudrun`, `gke`) checks: the project, the regions, deletion
    protection, and the pinned placement and export schedule of the data services."""
    from components.data.gcp_placement import placement_problems
    from components.regions import region_problems

    return (
        project_problems(config)
        + region_problems(config, "gcp")
        + deletion_protection_problems(config)
        + placement_problems(config)
    )


def project_id(context: StackContext) -> str:
    """The GCP project: `ai-assistant-platform:gcp.project`, else the provider's `gcp:project`
    (`project_problems` refuses a stack without one before anything is built)."""
    project = configured_project(context.config)
    assert project, "project_problems lets no GCP stack without a project through"
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
