"""ML706 unpinned-model-revision: hub downloads without a pinned commit."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import keyword_value
from mllint.analysis.hub import HUB_LIBRARIES, hub_call, looks_like_repo_id, revision_of
from mllint.diagnostic import Severity
from mllint.rule import Rule


class UnpinnedModelRevision(Rule):
    """
    ## What it does
    Reports models, datasets and files loaded from the Hugging Face Hub without a pinned
    commit.

    A load counts when it names the repository id as a string literal (`"org/name"`)
    and has no `revision=` set to a commit hash: `from_pretrained("org/name")`,
    `pipeline(model="org/name")`, `load_dataset("org/name")`, `hf_hub_download("org/name", ...)`,
    `snapshot_download(...)`, `SentenceTransformer("org/name")`. Off by default.

    ## Why is this bad?
    A repository id without a revision means "whatever the main branch holds when the
    program runs". The owner can retrain the weights, change the tokenizer or fix the
    dataset, and your results change without a line of your code changing; a
    compromised account can replace the files. Experiments that must be reproducible,
    and production services, should name the exact commit they were validated with.
    The check is off by default because exploratory notebooks rarely want this.

    Loads with `trust_remote_code=True` are ML703's (an error); they are not reported
    twice. A branch or tag (`revision="main"`, `"v2.0"`) is reported too, since it can
    move; a variable passed as `revision=` is trusted to be pinned by the caller.

    ## Example
    ```python
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained("google-bert/bert-base-uncased")
    ```

    ## Use instead
    ```python
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        "google-bert/bert-base-uncased",
        revision="86b5e0934494bd15c9632b12f734a8a67f723594",
    )
    ```

    ## References
    - [Transformers: `from_pretrained(revision=...)`](https://huggingface.co/docs/transformers/main_classes/model#transformers.PreTrainedModel.from_pretrained)
    - [Hub: revisions and commits](https://huggingface.co/docs/huggingface_hub/guides/download#from-specific-version)
    """

    code = "ML706"
    name = "unpinned-model-revision"
    category = "security"
    severity = Severity.INFO
    enabled_by_default = False
    requires_imports = HUB_LIBRARIES
    tags = ("security",)
    #: Integrity depends on a third party's repository, no code runs by itself:
    #: CVSS 3.1 AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N = 3.7 (low).
    security_severity = 3.7

    def visit_Call(self, node: cst.Call) -> None:
        call = hub_call(node, self.context.call_name(node), self.context.code(node.func))
        if call is None or not looks_like_repo_id(call.repository):
            return
        trust = keyword_value(node, "trust_remote_code")
        if isinstance(trust, cst.Name) and trust.value == "True":
            return  # ML703
        revision = revision_of(node)
        if revision.pinned:
            return
        repository = call.repository_text(self.context.code(call.repository))
        if revision.unpinned_value is not None:
            self.report(
                node,
                f'`{call.callee}({repository}, revision="{revision.unpinned_value}")` '
                "follows a branch or tag that can move; pin a 40-character commit hash",
            )
        else:
            self.report(
                node,
                f"`{call.callee}({repository})` loads whatever the hub serves on the day it "
                'runs; pin the commit you validated with `revision="<commit hash>"`',
            )
