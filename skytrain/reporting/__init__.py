"""How results reach people and machines: the terminal text and --output json of an
operation or a status (results.py), the step-by-step record of a run (steps.py) and the
JUnit XML Jenkins reads (junit.py). One place, so the three always say the same."""
