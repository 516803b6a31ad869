"""The state register of legal entities, individual entrepreneurs and public associations (ЄДР).

`parse.py` reads the official XML dumps as a stream into `Entity` records, `load.py` copies them into staging
tables and merges them into the register's tables, `queries.py` answers the tools, and `commands.py` holds
`secondlayer import edr`.
"""
