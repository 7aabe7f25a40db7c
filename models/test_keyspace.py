"""Run the keyspace state machine (models/keyspace.py) against the target."""

from models.keyspace import run_against


def test_keyspace_model(target):
    run_against(target)
