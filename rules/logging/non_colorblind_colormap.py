"""ML305 non-colorblind-colormap: plots drawn with jet, rainbow or hsv."""

from __future__ import annotations

import libcst as cst

from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule

#: Colormaps that are not perceptually uniform, lower-case, with what to use instead.
_BAD = {
    "jet": "viridis",
    "rainbow": "viridis",
    "gist_rainbow": "viridis",
    "nipy_spectral": "viridis",
    "gist_ncar": "viridis",
    "hsv": "twilight",  # cyclic data wants a cyclic, uniform map
}
_KEYWORDS = frozenset({"cmap", "colormap", "cmap_name"})
_GETTERS = frozenset(
    {
        "matplotlib.pyplot.get_cmap",
        "matplotlib.cm.get_cmap",
        "matplotlib.pyplot.set_cmap",
        "matplotlib.colormaps.get_cmap",
        "matplotlib.pyplot.colormaps.get_cmap",
        "seaborn.color_palette",
        "seaborn.mpl_palette",
    }
)
_CM_MODULES = ("matplotlib.cm.", "matplotlib.pyplot.cm.", "pylab.cm.")


def _bad_name(value: str) -> str | None:
    name = value.strip().lower()
    if name.endswith("_r"):
        name = name[:-2]
    return name if name in _BAD else None


class NonColorblindColormap(Rule):
    """
    ## What it does
    Reports plots drawn with the `jet`, `rainbow`, `gist_rainbow`, `nipy_spectral`,
    `gist_ncar` or `hsv` colormaps (and their reversed `_r` forms): `cmap="jet"` (or
    pandas' `colormap=`), `plt.get_cmap("jet")`, `plt.cm.jet`, `matplotlib.colormaps["jet"]`,
    `plt.jet()`. Confusion matrices, attention maps, feature maps and embeddings are the
    usual places.

    Info: a figure choice, but one that hides what it should show.

    ## Why is this bad?
    These maps are not perceptually uniform: their brightness jumps (the bright yellow
    and cyan bands of `jet`) create edges that are not in the data and hide real ones,
    they print badly in greyscale, and red-green colour-blind readers (about 1 in 12 men)
    cannot tell large from small values. `viridis` and `cividis` are uniform and readable
    by colour-blind readers; `twilight` is a uniform cyclic map for angles and phases.

    ## Example
    ```python
    plt.imshow(attention, cmap="jet")
    ```

    ## Use instead
    ```python
    plt.imshow(attention, cmap="viridis")
    ```

    ## Fix safety
    The fix names `viridis` (`twilight` for `hsv`) instead; unsafe because it changes
    how the figure looks.

    ## References
    - [Matplotlib: Choosing colormaps](https://matplotlib.org/stable/users/explain/colors/colormaps.html)
    - [Crameri, Shephard & Heron (2020), The misuse of colour in science communication](https://www.nature.com/articles/s41467-020-19160-7)
    """

    code = "ML305"
    name = "non-colorblind-colormap"
    category = "logging"
    severity = Severity.INFO
    fixable = Applicability.UNSAFE
    requires_imports = frozenset({"matplotlib", "seaborn", "pandas", "sklearn", "pylab"})

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in _KEYWORDS:
                self._string(arg.value)
        name = self.context.call_name(node) or ""
        if name in _GETTERS and node.args and node.args[0].keyword is None:
            self._string(node.args[0].value)
        elif name.startswith(("matplotlib.pyplot.", "pylab.")) and not node.args:
            bad = _bad_name(name.rsplit(".", 1)[-1])
            if bad is not None and name.rsplit(".", 1)[-1] in ("jet", "hsv", "nipy_spectral"):
                self.report(
                    node,
                    f"`{self.context.code(node)}` sets the {bad!r} colormap, which is not "
                    f"perceptually uniform nor readable by colour-blind readers; use "
                    f"`plt.{_BAD[bad]}()` (or `cividis`)",
                )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        bad = _bad_name(node.attr.value)  # first: most attributes name no colormap
        if bad is None:
            return
        name = self.context.qualified_name(node) or ""
        if not name.startswith(_CM_MODULES):
            return
        self._report(node, bad, f"`{self.context.code(node)}`", fix=None)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        name = self.context.qualified_name(node.value) or ""
        if name not in (
            "matplotlib.colormaps",
            "matplotlib.cm.cmap_d",
            "matplotlib.pyplot.colormaps",
        ):
            return
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            self._string(node.slice[0].slice.value)

    def _string(self, value: cst.BaseExpression) -> None:
        if not isinstance(value, cst.SimpleString):
            return
        text = value.evaluated_value
        if not isinstance(text, str):
            return
        bad = _bad_name(text)
        if bad is None:
            return
        better = _BAD[bad] + ("_r" if text.strip().lower().endswith("_r") else "")
        replacement = value.with_changes(value=value.prefix + value.quote + better + value.quote)
        fix = self.context.replacement_fix(
            value, replacement, f"Use the {better!r} colormap", Applicability.UNSAFE
        )
        self._report(value, bad, f"`{self.context.code(value)}`", fix=fix)

    def _report(self, node: cst.CSTNode, bad: str, shown: str, fix) -> None:
        extra = " (a cyclic, uniform map)" if bad == "hsv" else " or `cividis`"
        self.report(
            node,
            f"colormap {shown} is not perceptually uniform and hides values from "
            f"colour-blind readers; use `{_BAD[bad]}`{extra}",
            fix=fix,
        )
