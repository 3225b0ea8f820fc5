"""The recipes of Module 1: runnable experiments built on ``dlf.scratch`` (one file each)."""
