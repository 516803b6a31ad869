"""The Unified State Register of Court Decisions (ЄДРСР): its official open-data dump, imported and searched."""
