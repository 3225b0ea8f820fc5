"""The Module 2 recipes (each module exposes ``RECIPE``; registered in ``dlf.recipes.catalog``)."""
