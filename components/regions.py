"""The regions each cloud offers, maintained here so that a region name that does not exist fails
before anything is registered (the providers accept any string until the first API call).

- `GCP_REGIONS`: Compute Engine regions (`gcloud compute regions list`). Cloud Run, Cloud SQL,
  Memorystore and GKE are offered in each of them.
- `AWS_REGIONS`: the commercial partition (`aws ec2 describe-regions --all-regions`). The `ecs`
  platform puts CloudFront's certificate, WAF and health checks in us-east-1, which only the
  commercial partition has, so the China, GovCloud, ISO and European Sovereign Cloud partitions
  are not offered. Every name is also in the pinned pulumi_aws `Region` enum (a test checks it).

When a cloud opens a region, add it here (one line) and the stacks can use it.
`kubernetes` stacks run on an existing cluster: their region is informational and not checked.
"""

from __future__ import annotations

from components.config import Problem

GCP_REGIONS: frozenset[str] = frozenset(
    {
        "africa-south1",
        "asia-east1", "asia-east2",
        "asia-northeast1", "asia-northeast2", "asia-northeast3",
        "asia-south1", "asia-south2",
        "asia-southeast1", "asia-southeast2",
        "australia-southeast1", "australia-southeast2",
        "europe-central2",
        "europe-north1", "europe-north2",
        "europe-southwest1",
        "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
        "europe-west8", "europe-west9", "europe-west10", "europe-west12",
        "me-central1", "me-central2", "me-west1",
        "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
        "southamerica-east1", "southamerica-west1",
        "us-central1",
        "us-east1", "us-east4", "us-east5",
        "us-south1",
        "us-west1", "us-west2", "us-west3", "us-west4",
    }
)

AWS_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1",
        "ap-east-1", "ap-east-2",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
        "ap-southeast-6", "ap-southeast-7",
        "ca-central-1", "ca-west-1",
        "eu-central-1", "eu-central-2",
        "eu-north-1",
        "eu-south-1", "eu-south-2",
        "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1",
        "me-central-1", "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1", "us-east-2",
        "us-west-1", "us-west-2",
    }
)

REGIONS_OF_CLOUD: dict[str, frozenset[str]] = {"gcp": GCP_REGIONS, "aws": AWS_REGIONS}
CLOUD_NAMES = {"gcp": "Google Cloud", "aws": "AWS"}


def region_problems(config, cloud: str) -> list[Problem]:
    """`regions.primary` / `regions.secondary` that `cloud` ('gcp' or 'aws') does not have."""
    known = REGIONS_OF_CLOUD[cloud]
    problems = []
    for key, region in (("regions.primary", config.regions.primary), ("regions.secondary", config.regions.secondary)):
        if region is not None and region not in known:
            near = sorted(r for r in known if r.split("-")[0] == region.split("-")[0])
            hint = f" (in that geography: {', '.join(near)})" if near else ""
            problems.append(
                Problem(
                    key,
                    region,
                    f"is not a region of {CLOUD_NAMES[cloud]}; platform {config.platform} needs one of its "
                    f"regions such as {'us-central1' if cloud == 'gcp' else 'us-east-1'}{hint} "
                    "(the list is components/regions.py)",
                )
            )
    return problems
