"""One archive for several machines: push to and pull from S3-compatible object storage.

The bucket mirrors the local archive's own two immutable kinds of file (see README, "Several
machines"): content-addressed objects and snapshot manifests. Every byte is sealed on this
machine (crypto.py) and nothing in the bucket is ever rewritten or deleted, so any number of
machines can push at once. Modules: ``config`` (remotes, keys, the machine id), ``crypto``
(keys, names, sealing), ``bucket`` (the S3 client, imported only by the commands that talk to a
bucket), ``push``, ``pull``, ``check`` (``verify --remote``).
"""
