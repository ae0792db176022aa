"""The data revision: one counter every write counts up in its own transaction; answers are kept under it."""
