"""双评双比 ballot counting: print, scan, review, tally, report."""

__version__ = "0.3.0"
