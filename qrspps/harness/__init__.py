"""Run plumbing shared by every task: the problem built from config and the typed task result."""
