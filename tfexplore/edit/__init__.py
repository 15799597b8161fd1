"""Checkpoint surgery: a checkpoint rewritten to fit other code (renamed, reshaped, dropped,
converted), planned as a table and checked before a byte is written. Writes new files only,
tensor by tensor; runs no op from any file."""
