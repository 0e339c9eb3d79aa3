"""What lessons use to show the package's own code: the notebook displays the source that runs, so the
lesson and the code cannot drift apart."""
from __future__ import annotations

import inspect


def show_source(*objs):
    """The source of classes or functions of the kit, as one highlighted code block in the notebook (one
    call for several: a cell displays only its last value)."""
    from IPython.display import Markdown
    return Markdown("```python\n" + "\n\n\n".join(inspect.getsource(o).rstrip() for o in objs) + "\n```")
