"""One module per ``vald`` subcommand; see :mod:`vald_desktop.cli`."""
