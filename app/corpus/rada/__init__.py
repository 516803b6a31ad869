"""Parliament from the Verkhovna Rada's open data (data.rada.gov.ua): bills with their passage and documents,
deputies, factions and groups, committees, subcommittees and commissions."""
