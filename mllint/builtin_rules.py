"""The engine's own rules (ML0xx): reported by the engine itself, not by a visitor."""

from __future__ import annotations

from mllint.diagnostic import Severity
from mllint.rule import Rule


class SyntaxErrorRule(Rule):
    """
    ## What it does
    Reports a file that cannot be analysed because it does not parse as Python, or
    because its bytes are not text in its declared encoding.

    ## Why is this bad?
    mllint cannot check what it cannot parse, so every other rule is silent on this
    file. Python itself would refuse to run it.

    ## Example
    ```python
    def train(model
        ...
    ```

    ## Use instead
    ```python
    def train(model):
        ...
    ```

    ## Notes
    This finding cannot be silenced with `# noqa` (the comment may not even be
    reachable); exclude the file instead, or fix it.
    """

    code = "ML001"
    name = "syntax-error"
    category = "engine"
    severity = Severity.ERROR


class UnusedNoqaRule(Rule):
    """
    ## What it does
    Reports an mllint code in a `# noqa: ...` comment that suppressed no finding on
    its line: the code is unknown, the rule is not enabled, or the rule no longer fires.

    ## Why is this bad?
    Stale suppressions hide nothing today but would silently hide a real finding
    tomorrow, and they mislead readers about what is wrong with the line.

    ## Example
    ```python
    state = torch.load(path, weights_only=True)  # noqa: ML701
    ```

    ## Use instead
    ```python
    state = torch.load(path, weights_only=True)
    ```

    ## Notes
    Only codes of mllint's form (`ML` followed by digits) are judged; codes of other
    tools (`E501`, `F401`) and a blanket `# noqa` are left alone. Off by default.
    """

    code = "ML002"
    name = "unused-noqa"
    category = "engine"
    severity = Severity.INFO
    enabled_by_default = False


class IoErrorRule(Rule):
    """
    ## What it does
    Reports a file that mllint was asked to check but could not read: permission
    denied, removed during the run, or not a regular file.

    ## Why is this bad?
    A file that is silently skipped is a file whose mistakes go unreported. The run
    continues with the other files.

    ## Example
    A file without read permission for the user running mllint.

    ## Use instead
    Make the file readable, or exclude it (`extend-exclude` in the configuration).
    """

    code = "ML003"
    name = "io-error"
    category = "engine"
    severity = Severity.ERROR
