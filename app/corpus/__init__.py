"""The legal corpus in PostgreSQL: query building for Ukrainian, search, records, EDRPOU codes, the importer.

No Tornado here: the tools (app/tools/legal.py) and the CLI (`secondlayer import`) both call these functions.
"""
