"""The desktop bundle's entry point (``packaging/vald-desktop.spec``): ``vald-desktop`` as one frozen program.

``freeze_support()`` comes first, before anything heavy is imported: the film helper process is spawned by
re-running this executable, and in that child it runs the helper's work and exits instead of opening a window.
"""

import multiprocessing

multiprocessing.freeze_support()

import sys  # noqa: E402

from vald_desktop.gui.app import main  # noqa: E402

sys.exit(main())
