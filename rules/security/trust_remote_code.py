"""ML703 trust-remote-code: hub loaders told to run the repository's code, unpinned."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import keyword_value
from mllint.analysis.hub import HUB_LIBRARIES, hub_call, is_local_path, revision_of
from mllint.diagnostic import Severity
from mllint.rule import Rule


class TrustRemoteCode(Rule):
    """
    ## What it does
    Reports hub loaders called with `trust_remote_code=True` and no pinned revision.

    The loaders are `AutoModel.from_pretrained(...)` (any `from_pretrained`), `AutoConfig`,
    `AutoTokenizer`, `pipeline(...)`, `datasets.load_dataset(...)` and
    `SentenceTransformer(...)`. A revision is pinned when it is a full 40-character
    commit hash, or a variable (the caller decides); a branch or tag such as `"main"` or
    `"v1.0"` is not.

    ## Why is this bad?
    `trust_remote_code=True` downloads Python files from the model's repository and
    executes them in your process, with your credentials and data. Without a pinned
    commit, the code that runs is whatever the repository holds at that moment: a
    compromised account, a malicious pull request merged upstream, or a well-meant
    change can alter it between two runs, and you will not notice. Pinning the commit
    you reviewed makes the code you run the code you read.

    A model loaded from a local directory (`"./checkpoints/final"`, `"/models/x"`,
    `os.path.join(...)`) is not reported: its code is already on your disk.

    ## Example
    ```python
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("someorg/fancy-llm", trust_remote_code=True)
    ```

    ## Use instead
    ```python
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        "someorg/fancy-llm",
        trust_remote_code=True,
        revision="7b2e5c9a1f0d4e8b9c3a6d2f1e0b7a9c8d5e4f3a",  # the commit you reviewed
    )
    ```

    ## References
    - [Transformers: using custom code (`trust_remote_code`)](https://huggingface.co/docs/transformers/custom_models#using-a-model-with-custom-code)
    - [Hugging Face Hub security](https://huggingface.co/docs/hub/security)
    """

    code = "ML703"
    name = "trust-remote-code"
    category = "security"
    severity = Severity.ERROR
    requires_imports = HUB_LIBRARIES
    tags = ("security",)
    #: Code fetched over the network runs in the user's process when they run the
    #: program: CVSS 3.1 AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H = 8.8 (high).
    security_severity = 8.8

    def visit_Call(self, node: cst.Call) -> None:
        trust = keyword_value(node, "trust_remote_code")
        if not (isinstance(trust, cst.Name) and trust.value == "True"):
            return
        call = hub_call(node, self.context.call_name(node), self.context.code(node.func))
        if call is None or is_local_path(call.repository):
            return
        revision = revision_of(node)
        if revision.pinned:
            return
        what = (
            f"`{call.callee}({call.repository_text(self._repository(call.repository))}, "
            "trust_remote_code=True)`"
        )
        if revision.unpinned_value is not None:
            pinned = f'`revision="{revision.unpinned_value}"` names a branch or tag that can move'
            message = (
                f"{what} runs the repository's Python code and {pinned}; pin the commit "
                'you reviewed with `revision="<40-character commit hash>"`'
            )
        else:
            message = (
                f"{what} runs whatever Python code the repository holds today; pin the "
                'commit you reviewed with `revision="<40-character commit hash>"`'
            )
        self.report(node, message)

    def _repository(self, repository: cst.BaseExpression | None) -> str:
        if repository is None:
            return "..."
        text = self.context.code(repository)
        return text if len(text) <= 60 else "..."
