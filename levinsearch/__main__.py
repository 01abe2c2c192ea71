"""`python -m levinsearch ...`: the command line, as the `levinsearch` script runs it."""
from levinsearch.cli import main

if __name__ == "__main__":
    main()
