"""policy-tracker: watch privacy policies, diff them clause by clause, flag what matters."""

__version__ = "0.1.0"
