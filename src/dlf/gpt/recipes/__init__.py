"""Module 4 recipes (experiments runnable with ``dlf run``)."""
