"""Evaluation helpers: continuous-level sweeps, the runner behind ``scripts/*_experiment.py`` and training curves.

Above ``utils`` (they build networks and datasets, and run the train/test runners); nothing here is registered."""
