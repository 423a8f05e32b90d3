"""Questions about call arguments: by keyword, by position, and through *args/**kwargs."""

from __future__ import annotations

from collections.abc import Sequence

from mllint.importcache import cst  # LibCST, imported when a file is parsed


def has_keyword(call: cst.Call, name: str) -> bool:
    return any(arg.keyword is not None and arg.keyword.value == name for arg in call.args)


def keyword_value(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def argument(call: cst.Call, name: str, position: int | None = None) -> cst.BaseExpression | None:
    """The value passed for parameter ``name`` (by keyword, or at ``position``)."""
    value = keyword_value(call, name)
    if value is not None or position is None:
        return value
    positional: Sequence[cst.Arg] = [
        arg for arg in call.args if arg.keyword is None and not arg.star
    ]
    if position < len(positional):
        return positional[position].value
    return None


def has_star_arguments(call: cst.Call) -> bool:
    """True when ``*args``/``**kwargs`` may supply any parameter."""
    return any(arg.star for arg in call.args)


def with_keyword_argument(call: cst.Call, name: str, value: cst.BaseExpression) -> list[cst.Arg]:
    """``call``'s arguments plus ``name=value`` at the end, laid out like the others (for
    fixes): after ``, `` on one line, or on its own line with a trailing comma when the
    arguments are one per line."""
    new_arg = cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    elif args and isinstance(args[-1].comma, cst.Comma):
        trailing = args[-1].comma
        args[-1] = args[-1].with_changes(
            comma=trailing.with_changes(whitespace_after=call.whitespace_before_args)
        )
        new_arg = new_arg.with_changes(comma=trailing)
    return [*args, new_arg]
