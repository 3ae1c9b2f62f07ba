"""One module per header tab; each builds its panel and knows how to refresh it."""
