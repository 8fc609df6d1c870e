"""Clients of other LRSs and importers of LRS/LMS exports (issue 6). Everything here feeds
the same ingest path as the HTTP API: portfolio.lrs.ingest.StatementIngest."""
