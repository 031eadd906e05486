"""zanith: test-driven schema safety for PostgreSQL."""

__version__ = "0.1.0"
