"""Model calls shared by generation and the judge: litellm client, rate limiter, retries, response
cache/replay, cost and budget, prompt rendering."""
