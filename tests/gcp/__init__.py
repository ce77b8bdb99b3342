"""Tests of the GCP components and the `cloudrun` stacks (staging, prod)."""
