"""GCP project-level building blocks shared by the `cloudrun` and `gke` platforms."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.config import ConfigError, StackContext


def project_id(context: StackContext) -> str:
    """The GCP project: `ai-assistant-platform:gcp.project`, else the provider's `gcp:project`."""
    project = context.config.gcp.project or pulumi.Config("gcp").get("project")
    if not project:
        raise ConfigError(
            f"Pulumi.{context.stack}.yaml: invalid configuration; nothing was created.\n"
            f"  gcp:project: is required for platform {context.config.platform}; run "
            f"`pulumi config set gcp:project <project-id> --stack {context.stack}`"
        )
    return project


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
    "cloudrunv2",
    "cloudscheduler",
    "compute",
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
