"""Stack settings for the GKE component tests: production and staging GKE stacks derived from the
dev stack file, so the component tests do not depend on the prod-gke stack file."""

from __future__ import annotations

PROD_GKE = {
    "platform": "gke",
    "environment": "prod",
    "regions": {"primary": "us-central1", "secondary": "europe-west1"},
    "domain": "ai.example.com",
    "gke": {"masterAuthorizedNetworks": ["203.0.113.0/24", "198.51.100.7/32"]},
    # production GCP stacks pin the placement whose change replaces data
    "gcp": {"backupLocation": "US", "redisTier": "STANDARD_HA"},
}

STAGING_GKE = {
    "platform": "gke",
    "environment": "staging",
    "regions": {"primary": "us-central1"},
    "domain": "ai.example.com",
    "edge": {"cdn": False},
}
