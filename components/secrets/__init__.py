"""Application secrets: provided and generated values, and the per-platform secret stores."""
