"""The legal corpus in PostgreSQL: query building for Ukrainian, search, records, EDRPOU codes, the importers.

No Tornado server here (download.py uses its HTTP client): the tool families in app/tools/ and the CLI
(`secondlayer import`) both call these functions.

Query style. Reads (search.py, records.py) are SQL text with named `%(name)s` parameters: they are
full-text queries (to_tsquery, ts_headline, MATERIALIZED CTEs, the `- 0` that steers the planner) tuned
against PostgreSQL's plans (see RANKED_POOL in search.py and each dataset's queries.py), which is easier to do
and to review on the SQL as written than on what Core would generate. Only this package's own constants (column
lists, the text search configuration) are formatted into the text; every value from a caller is a
parameter. The official importers (one package per dataset) COPY into staging tables and merge, or upsert with
Core; ARCHITECTURE.md says which and why.
"""
