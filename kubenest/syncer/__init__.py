"""The syncer: copies each virtual cluster's pods (and what they use) to the host, and status back.

It reaches the host only through the Kubernetes API (`hostclient.py`), so any conformant cluster can
be a host; the embedded host is reached the same way. See docs/hosts.md.
"""
