"""Fuzzing tfexplore with damaged and hostile artifacts (see ``python -m tests.fuzz --help``).

Every case copies an intact seed artifact (TF1 checkpoint with ``.meta``, TF2 checkpoint, V1
checkpoint, SavedModel, ``.keras``, ``.h5``, ``.pb``, ``.pbtxt``), damages it in one way
(:mod:`.mutate`), and runs what a user does first (open, explain, variables, stats, the graph
model, the safety scan) in a child process (:mod:`.child`). Every case must end in success or
a ``TFExploreError`` naming a file of the case, leave every file as it was, and never kill
the process.
"""
