"""Tests of dlf.cnn."""
