"""`make bench`: throughput and latency of the product against the bare PostgreSQL path, measured in one run."""
