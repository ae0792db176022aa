"""The `scorecard` operator command: one entry over the API's, the collector's and the simulator's commands."""
