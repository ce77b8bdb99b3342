"""Object storage building blocks shared by components of several concerns."""
