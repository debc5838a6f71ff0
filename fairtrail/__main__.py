"""``python -m fairtrail`` runs the command line."""

from fairtrail.cli import main

main()
