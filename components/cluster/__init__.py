"""Kubernetes clusters the program creates (GKE)."""
