"""Private networks for the cloud platforms."""
