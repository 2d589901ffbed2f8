"""`make bench`: every bench_*.py module's ``bench()`` result in one table."""
