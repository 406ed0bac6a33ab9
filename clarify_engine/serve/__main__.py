"""``python -m clarify_engine.serve MODEL_FILE --port N``: the model server's command."""

import sys

from clarify_engine.serve._command import main

sys.exit(main())
