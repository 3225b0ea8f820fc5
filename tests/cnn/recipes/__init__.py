"""Tests of the Module 2 recipes (quick settings)."""
