"""The recipes of Module 3: runnable experiments built on ``dlf.transformer`` (one file each).

All of them train through :mod:`dlf.transformer.seq2seq_training`; ``figures`` holds the plots
they share (attention heat-maps, accuracy against length).
"""
