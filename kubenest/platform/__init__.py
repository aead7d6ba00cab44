"""The platform: management objects in the root cluster (virtual clusters, later users, quotas, templates)."""
