"""Run records: typed schema (`records`), the one writer (`store`) and the one reader (`reader`) that
every consumer of results/ (leaderboard, compare, gate, site, resume) goes through."""
