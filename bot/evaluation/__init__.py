"""Offline measurement: labelled questions, cross-validation and the fits it chooses.

Nothing here runs while serving; the CLI's `eval` is its only caller.
"""
