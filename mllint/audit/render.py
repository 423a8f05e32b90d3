"""The audit report as text: rich terminal output, Markdown (a PR comment, a docs page), JSON."""

from __future__ import annotations

import io
import json

from mllint.audit.model import DASH, AuditReport, Evidence, ItemResult, Status


def render(report: AuditReport, output_format: str, *, color: bool = False) -> str:
    if output_format == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    if output_format == "markdown":
        return render_markdown(report)
    return render_terminal(report, color=color)


# -- Markdown ------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    """Keep Markdown from reading code or table syntax in messages as formatting."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_evidence(evidence: Evidence) -> str:
    where = f"`{evidence.where}` " if evidence.path else ""
    code = f"**{evidence.code}** " if evidence.code else ""
    return f"{where}{code}{_md_escape(evidence.text)}"


def render_markdown(report: AuditReport) -> str:
    lines = [f"# mllint audit: {report.project}", ""]
    score = report.score
    lines.append(
        f"**{score.text()}** of the applicable checklist items pass "
        f"({score.not_applicable} not applicable; {_files(report.files_checked)} checked)."
    )
    if report.required_failed:
        failed = ", ".join(f"`{item.id}`" for item in report.required_failed)
        lines.append("")
        lines.append(f"**Required items failing:** {failed}")
    lines += ["", "| section | passed |", "|---|---|"]
    for section in report.sections:
        lines.append(f"| {section.title} | {section.score.text()} |")
    lines.append(f"| **overall** | **{score.text()}** |")
    for section in report.sections:
        lines += ["", f"## {section.title} — {section.score.text()}", ""]
        for item in section.items:
            required = " *(required)*" if item.required else ""
            lines.append(
                f"- {item.status.mark} **{item.title}**{required} — {_md_escape(item.summary)}"
            )
            for evidence in item.evidence:
                lines.append(f"  - {_md_evidence(evidence)}")
            if item.more:
                lines.append(f"  - … and {item.more} more")
    lines += [
        "",
        "✓ passes, ✗ fails (the findings are listed; `mllint check` shows them in full), "
        f"{DASH} does not apply to this project.",
    ]
    return "\n".join(lines) + "\n"


# -- terminal ------------------------------------------------------------------------

_STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.NOT_APPLICABLE: "dim"}


def render_terminal(report: AuditReport, *, color: bool = False) -> str:
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        width=100 if not color else None,
        soft_wrap=not color,
    )
    score = report.score
    console.print(f"[bold]mllint audit: {escape(report.project)}[/bold]  ({report.root})")
    for section in report.sections:
        console.print()
        console.print(f"[bold]{escape(section.title)}[/bold]  {section.score.text()}")
        for item in section.items:
            style = _STYLE[item.status]
            required = " [bold](required)[/bold]" if item.required else ""
            console.print(
                f"  [{style}]{item.status.mark}[/{style}] {escape(item.title)}{required}"
                f" [dim]—[/dim] {escape(item.summary)}"
            )
            for evidence in item.evidence:
                console.print(f"      {_terminal_evidence(evidence, escape)}")
            if item.more:
                console.print(f"      [dim]… and {item.more} more[/dim]")
    console.print()
    console.print(
        f"[bold]Score: {score.text()}[/bold] of the applicable items pass "
        f"({score.not_applicable} not applicable; {_files(report.files_checked)} checked)."
    )
    if report.required_failed:
        failed = ", ".join(item.id for item in report.required_failed)
        console.print(f"[bold red]Required items failing: {escape(failed)}[/bold red]")
    return buffer.getvalue()


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _terminal_evidence(evidence: Evidence, escape) -> str:
    where = f"[cyan]{escape(evidence.where)}[/cyan] " if evidence.path else ""
    code = f"[bold]{evidence.code}[/bold] " if evidence.code else ""
    return f"{where}{code}{escape(evidence.text)}"


def item_line(item: ItemResult) -> str:
    """A plain one-line form of an item (for logs and tests)."""
    return f"{item.status.mark} {item.title} — {item.summary}"
