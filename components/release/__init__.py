"""Progressive delivery on Kubernetes: the Argo Rollouts controller and each service's Rollout."""
