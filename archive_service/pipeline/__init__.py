"""The intake pipeline: steps with persisted state, run under a lease, resumable after a crash."""
