"""`python -m bench` (or `make bench`): HTTP throughput and latency of the property API under gunicorn.

See bench/__main__.py for what it measures and how.
"""
