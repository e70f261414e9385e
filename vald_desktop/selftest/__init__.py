"""The self-test behind ``vald doctor`` and ``vald-desktop --selftest``: one set of checks, one report.

``state`` holds the types (a check's result, the state the checks share); ``runner`` holds the check list, runs
it (a failed check never stops the others: later checks go on with a stand-in for what failed) and formats the
one-screen report; ``environment`` checks versions, device and DICOM decoders; ``pipeline`` walks the data path
once on the bundled sample film with the default model. The app adds its window check through
``run_selftest(extra=...)``.

Qt-free. May import ``vald_desktop.core`` only; the CLI's commands and the GUI import it.
"""
