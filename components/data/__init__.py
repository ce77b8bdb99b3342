"""Data services (PostgreSQL, Redis, MongoDB, RabbitMQ) behind one connection interface."""
