"""The application layer: the four services on each platform."""
