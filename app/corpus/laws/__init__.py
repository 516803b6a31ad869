"""Legislation from the Verkhovna Rada's open data (data.rada.gov.ua): cards, editions, article texts and citations.

`formats.py` reads the publisher's files (no database), `store.py` writes them, `queries.py` reads the corpus for
the tools, `citations.py` finds citations in text, `commands.py` is `secondlayer import rada-laws`.
"""
