"""What lessons use to show the package's own code: the notebook displays the source that runs, so the
lesson and the code cannot drift apart."""
from __future__ import annotations

import inspect


def show_source(obj):
    """The source of a class or function of the kit, as a highlighted code block in the notebook."""
    from IPython.display import Markdown
    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")
