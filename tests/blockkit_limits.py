"""Block Kit limit checks, as pure functions, used by ``tests.slack_fake.FakeSlack``.

The numbers come from /work/shared/slack-reference/limits_and_escaping.md (Slack developer
docs at docs.slack.dev/reference/block-kit and python-slack-sdk's model validators @ ae87985e).
Errors are strings shaped like Slack's own ``invalid_blocks`` / ``invalid_arguments`` details:
``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.

* ``validate_message_blocks(blocks)`` -> pointers rooted at ``/blocks``
  (chat.postMessage, chat.update, chat.postEphemeral, response_url).
* ``validate_view(view)`` -> pointers rooted at ``/view`` (views.open/push/update/publish).
* ``validate_message_text(text)`` -> top-level ``text`` limit (40,000 characters).

Lengths are counted in code points (Python ``len``), as the SDK does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "BLOCK_TYPES",
    "ELEMENT_TYPES",
    "MAX_MESSAGE_BLOCKS",
    "MAX_MESSAGE_TEXT",
    "MAX_VIEW_BLOCKS",
    "validate_message_blocks",
    "validate_message_text",
    "validate_view",
]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_MARKDOWN_BLOCK_TEXT = 12_000

BLOCK_TYPES = frozenset(
    {
        "actions",
        "call",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)

_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)

INPUT_ELEMENT_TYPES = frozenset(
    _SELECTS
    | {
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "email_text_input",
        "file_input",
        "number_input",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "timepicker",
        "url_text_input",
    }
)

ACTIONS_ELEMENT_TYPES = frozenset(
    _SELECTS
    | {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "overflow",
        "radio_buttons",
        "rich_text_input",
        "timepicker",
        "workflow_button",
    }
)

SECTION_ACCESSORY_TYPES = frozenset(
    _SELECTS
    | {
        "button",
        "checkboxes",
        "datepicker",
        "image",
        "overflow",
        "radio_buttons",
        "timepicker",
        "workflow_button",
    }
)

ELEMENT_TYPES = frozenset(
    INPUT_ELEMENT_TYPES
    | ACTIONS_ELEMENT_TYPES
    | SECTION_ACCESSORY_TYPES
    | {"feedback_buttons", "icon_button", "image"}
)

_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Errors:
    """Accumulates ``"<problem> [json-pointer:<ptr>]"`` strings."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, problem: str, ptr: str) -> None:
        self.items.append(f"{problem} [json-pointer:{ptr}]")

    def too_long(self, limit: int, ptr: str) -> None:
        self.add(f"must be less than {limit + 1} characters", ptr)

    def too_many(self, limit: int, ptr: str) -> None:
        self.add(f"must be no more than {limit} items", ptr)

    def missing(self, field: str, ptr: str) -> None:
        self.add(f"missing required field: {field}", ptr)


def _check_str(
    errs: _Errors,
    obj: dict[str, Any],
    key: str,
    ptr: str,
    max_len: int,
    *,
    required: bool = False,
    min_len: int = 0,
) -> None:
    value = obj.get(key)
    if value is None:
        if required:
            errs.missing(key, ptr)
        return
    if not isinstance(value, str):
        errs.add("must be a string", f"{ptr}/{key}")
        return
    if len(value) < min_len:
        errs.add(f"must be more than {min_len - 1} characters", f"{ptr}/{key}")
    if len(value) > max_len:
        errs.too_long(max_len, f"{ptr}/{key}")


def _check_text_obj(
    errs: _Errors,
    obj: Any,
    ptr: str,
    max_len: int,
    *,
    plain_only: bool = False,
) -> None:
    """A composition text object: {"type": "plain_text"|"mrkdwn", "text": "..."}."""
    if not isinstance(obj, dict):
        errs.add("must be a text object", ptr)
        return
    ttype = obj.get("type")
    if ttype not in _TEXT_TYPES:
        errs.add("must be a valid enum value (plain_text, mrkdwn)", f"{ptr}/type")
    elif plain_only and ttype != "plain_text":
        errs.add("must be plain_text", f"{ptr}/type")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.missing("text", ptr)
        return
    if not text:
        errs.add("must be more than 0 characters", f"{ptr}/text")
    if len(text) > max_len:
        errs.too_long(max_len, f"{ptr}/text")


def _check_confirm(errs: _Errors, confirm: Any, ptr: str) -> None:
    if not isinstance(confirm, dict):
        errs.add("must be an object", ptr)
        return
    for key, limit, required, plain in (
        ("title", 100, True, True),
        ("text", 300, True, False),
        ("confirm", 30, True, True),
        ("deny", 30, True, True),
    ):
        if key not in confirm:
            if required:
                errs.missing(key, ptr)
            continue
        _check_text_obj(errs, confirm[key], f"{ptr}/{key}", limit, plain_only=plain)
    style = confirm.get("style")
    if style is not None and style not in ("primary", "danger"):
        errs.add("must be a valid enum value (primary, danger)", f"{ptr}/style")


def _check_option(errs: _Errors, option: Any, ptr: str, *, allow_mrkdwn: bool = False) -> None:
    if not isinstance(option, dict):
        errs.add("must be an option object", ptr)
        return
    if "text" not in option:
        errs.missing("text", ptr)
    else:
        _check_text_obj(errs, option["text"], f"{ptr}/text", 75, plain_only=not allow_mrkdwn)
    _check_str(errs, option, "value", ptr, 150, required=True, min_len=1)
    if "description" in option:
        _check_text_obj(
            errs, option["description"], f"{ptr}/description", 75, plain_only=not allow_mrkdwn
        )
    _check_str(errs, option, "url", ptr, 3000)


def _check_options(
    errs: _Errors,
    el: dict[str, Any],
    ptr: str,
    max_items: int,
    *,
    required: bool = True,
    min_items: int = 1,
    allow_mrkdwn: bool = False,
) -> None:
    options = el.get("options")
    if options is None:
        if required:
            errs.missing("options", ptr)
        return
    if not isinstance(options, list):
        errs.add("must be an array", f"{ptr}/options")
        return
    if len(options) < min_items:
        errs.add(f"must provide at least {min_items} items", f"{ptr}/options")
    if len(options) > max_items:
        errs.too_many(max_items, f"{ptr}/options")
    for i, option in enumerate(options):
        _check_option(errs, option, f"{ptr}/options/{i}", allow_mrkdwn=allow_mrkdwn)


def _check_placeholder(errs: _Errors, el: dict[str, Any], ptr: str) -> None:
    if "placeholder" in el:
        _check_text_obj(errs, el["placeholder"], f"{ptr}/placeholder", 150, plain_only=True)


def _check_int(
    errs: _Errors, el: dict[str, Any], key: str, ptr: str, lo: int, hi: int
) -> int | None:
    value = el.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errs.add("must be an integer", f"{ptr}/{key}")
        return None
    if not lo <= value <= hi:
        errs.add(f"must be between {lo} and {hi}", f"{ptr}/{key}")
    return value


def _check_element(
    errs: _Errors,
    el: Any,
    ptr: str,
    allowed: Iterable[str] | None = None,
) -> None:
    if not isinstance(el, dict):
        errs.add("must be an object", ptr)
        return
    etype = el.get("type")
    if not isinstance(etype, str) or not etype:
        errs.missing("type", ptr)
        return
    if etype not in ELEMENT_TYPES:
        errs.add(f"unsupported type: {etype}", f"{ptr}/type")
        return
    if allowed is not None and etype not in set(allowed):
        errs.add(f"element type {etype} is not allowed here", f"{ptr}/type")
    _check_str(errs, el, "action_id", ptr, 255)
    if "confirm" in el:
        _check_confirm(errs, el["confirm"], f"{ptr}/confirm")

    if etype == "button":
        if "text" not in el:
            errs.missing("text", ptr)
        else:
            _check_text_obj(errs, el["text"], f"{ptr}/text", 75, plain_only=True)
        _check_str(errs, el, "value", ptr, 2000)
        _check_str(errs, el, "url", ptr, 3000)
        _check_str(errs, el, "accessibility_label", ptr, 75)
        style = el.get("style")
        if style is not None and style not in ("primary", "danger"):
            errs.add("must be a valid enum value (primary, danger)", f"{ptr}/style")
    elif etype == "image":
        if "image_url" not in el and "slack_file" not in el:
            errs.missing("image_url", ptr)
        _check_str(errs, el, "image_url", ptr, 3000)
        _check_str(errs, el, "alt_text", ptr, 2000, required=True, min_len=1)
    elif etype == "plain_text_input":
        _check_placeholder(errs, el, ptr)
        _check_str(errs, el, "initial_value", ptr, 3000)
        lo = _check_int(errs, el, "min_length", ptr, 0, 3000)
        hi = _check_int(errs, el, "max_length", ptr, 1, 3000)
        if lo is not None and hi is not None and lo > hi:
            errs.add("min_length must not exceed max_length", f"{ptr}/min_length")
        initial = el.get("initial_value")
        if isinstance(initial, str) and hi is not None and len(initial) > hi:
            errs.too_long(hi, f"{ptr}/initial_value")
    elif etype in ("email_text_input", "url_text_input", "rich_text_input", "file_input"):
        _check_placeholder(errs, el, ptr)
    elif etype == "number_input":
        _check_placeholder(errs, el, ptr)
        if not isinstance(el.get("is_decimal_allowed"), bool):
            errs.missing("is_decimal_allowed", ptr)
    elif etype in ("static_select", "multi_static_select"):
        _check_placeholder(errs, el, ptr)
        if "option_groups" in el:
            groups = el["option_groups"]
            if not isinstance(groups, list):
                errs.add("must be an array", f"{ptr}/option_groups")
            else:
                if len(groups) > 100:
                    errs.too_many(100, f"{ptr}/option_groups")
                for gi, group in enumerate(groups):
                    gptr = f"{ptr}/option_groups/{gi}"
                    if not isinstance(group, dict):
                        errs.add("must be an object", gptr)
                        continue
                    _check_text_obj(errs, group.get("label"), f"{gptr}/label", 75, plain_only=True)
                    _check_options(errs, group, gptr, 100)
        else:
            _check_options(errs, el, ptr, 100)
        if "initial_option" in el:
            _check_option(errs, el["initial_option"], f"{ptr}/initial_option")
        for i, option in enumerate(el.get("initial_options") or []):
            _check_option(errs, option, f"{ptr}/initial_options/{i}")
        _check_int(errs, el, "max_selected_items", ptr, 1, 100)
    elif etype in _SELECTS:
        _check_placeholder(errs, el, ptr)
        _check_int(errs, el, "max_selected_items", ptr, 1, 100)
    elif etype == "overflow":
        _check_options(errs, el, ptr, 5)
    elif etype in ("checkboxes", "radio_buttons"):
        _check_options(errs, el, ptr, 10, allow_mrkdwn=True)
        if "initial_option" in el:
            _check_option(errs, el["initial_option"], f"{ptr}/initial_option", allow_mrkdwn=True)
        for i, option in enumerate(el.get("initial_options") or []):
            _check_option(errs, option, f"{ptr}/initial_options/{i}", allow_mrkdwn=True)
    elif etype == "datepicker":
        _check_placeholder(errs, el, ptr)
        initial = el.get("initial_date")
        if initial is not None and not (isinstance(initial, str) and _DATE_RE.match(initial)):
            errs.add("must be in the format YYYY-MM-DD", f"{ptr}/initial_date")
    elif etype == "timepicker":
        _check_placeholder(errs, el, ptr)
        initial = el.get("initial_time")
        if initial is not None and not (isinstance(initial, str) and _TIME_RE.match(initial)):
            errs.add("must be in the format HH:mm", f"{ptr}/initial_time")
    elif etype == "workflow_button":
        if "text" not in el:
            errs.missing("text", ptr)
        else:
            _check_text_obj(errs, el["text"], f"{ptr}/text", 75, plain_only=True)


def _check_elements_list(
    errs: _Errors,
    block: dict[str, Any],
    ptr: str,
    max_items: int,
) -> list[Any]:
    elements = block.get("elements")
    if elements is None:
        errs.missing("elements", ptr)
        return []
    if not isinstance(elements, list):
        errs.add("must be an array", f"{ptr}/elements")
        return []
    if not elements:
        errs.add("must provide at least 1 items", f"{ptr}/elements")
    if len(elements) > max_items:
        errs.too_many(max_items, f"{ptr}/elements")
    return elements


def _check_duplicate_action_ids(errs: _Errors, elements: list[Any], ptr: str) -> None:
    seen: set[str] = set()
    for i, el in enumerate(elements):
        if isinstance(el, dict) and isinstance(el.get("action_id"), str):
            action_id = el["action_id"]
            if action_id in seen:
                errs.add(f"duplicate action_id: {action_id}", f"{ptr}/elements/{i}/action_id")
            seen.add(action_id)


def _check_block(errs: _Errors, block: Any, ptr: str) -> int:
    """Validate one block; returns the markdown-block text length (for the 12k total)."""
    if not isinstance(block, dict):
        errs.add("must be an object", ptr)
        return 0
    btype = block.get("type")
    if not isinstance(btype, str) or not btype:
        errs.missing("type", ptr)
        return 0
    if btype not in BLOCK_TYPES:
        errs.add(f"unsupported type: {btype}", f"{ptr}/type")
        return 0
    _check_str(errs, block, "block_id", ptr, 255)

    if btype == "section":
        has_text = "text" in block
        has_fields = "fields" in block
        if not has_text and not has_fields:
            errs.add("must provide either text or fields", ptr)
        if has_text:
            _check_text_obj(errs, block["text"], f"{ptr}/text", 3000)
        if has_fields:
            fields = block["fields"]
            if not isinstance(fields, list):
                errs.add("must be an array", f"{ptr}/fields")
            else:
                if not fields:
                    errs.add("must provide at least 1 items", f"{ptr}/fields")
                if len(fields) > 10:
                    errs.too_many(10, f"{ptr}/fields")
                for i, field in enumerate(fields):
                    _check_text_obj(errs, field, f"{ptr}/fields/{i}", 2000)
        if "accessory" in block:
            _check_element(errs, block["accessory"], f"{ptr}/accessory", SECTION_ACCESSORY_TYPES)
    elif btype == "header":
        if "text" not in block:
            errs.missing("text", ptr)
        else:
            _check_text_obj(errs, block["text"], f"{ptr}/text", 150, plain_only=True)
    elif btype == "context":
        for i, el in enumerate(_check_elements_list(errs, block, ptr, 10)):
            eptr = f"{ptr}/elements/{i}"
            if isinstance(el, dict) and el.get("type") == "image":
                _check_element(errs, el, eptr)
            else:
                _check_text_obj(errs, el, eptr, 3000)
    elif btype == "actions":
        elements = _check_elements_list(errs, block, ptr, 25)
        for i, el in enumerate(elements):
            _check_element(errs, el, f"{ptr}/elements/{i}", ACTIONS_ELEMENT_TYPES)
        _check_duplicate_action_ids(errs, elements, ptr)
    elif btype == "context_actions":
        elements = _check_elements_list(errs, block, ptr, 5)
        for i, el in enumerate(elements):
            _check_element(errs, el, f"{ptr}/elements/{i}", {"feedback_buttons", "icon_button"})
    elif btype == "input":
        if "label" not in block:
            errs.missing("label", ptr)
        else:
            _check_text_obj(errs, block["label"], f"{ptr}/label", 2000, plain_only=True)
        if "hint" in block:
            _check_text_obj(errs, block["hint"], f"{ptr}/hint", 2000, plain_only=True)
        if "element" not in block:
            errs.missing("element", ptr)
        else:
            _check_element(errs, block["element"], f"{ptr}/element", INPUT_ELEMENT_TYPES)
        for key in ("optional", "dispatch_action"):
            if key in block and not isinstance(block[key], bool):
                errs.add("must be a boolean", f"{ptr}/{key}")
    elif btype == "image":
        if "image_url" not in block and "slack_file" not in block:
            errs.missing("image_url", ptr)
        _check_str(errs, block, "image_url", ptr, 3000)
        _check_str(errs, block, "alt_text", ptr, 2000, required=True, min_len=1)
        if "title" in block:
            _check_text_obj(errs, block["title"], f"{ptr}/title", 2000, plain_only=True)
    elif btype == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            errs.missing("text", ptr)
            return 0
        if len(text) > MAX_MARKDOWN_BLOCK_TEXT:
            errs.too_long(MAX_MARKDOWN_BLOCK_TEXT, f"{ptr}/text")
        return len(text)
    elif btype == "rich_text":
        if not isinstance(block.get("elements"), list):
            errs.missing("elements", ptr)
    elif btype == "file":
        _check_str(errs, block, "external_id", ptr, 255, required=True, min_len=1)
        _check_str(errs, block, "source", ptr, 255, required=True, min_len=1)
    return 0


def _check_blocks(errs: _Errors, blocks: Any, ptr: str, max_blocks: int) -> None:
    if not isinstance(blocks, list):
        errs.add("must be an array", ptr)
        return
    if len(blocks) > max_blocks:
        errs.add(f"no more than {max_blocks} items allowed", ptr)
    seen_ids: set[str] = set()
    markdown_total = 0
    for i, block in enumerate(blocks):
        bptr = f"{ptr}/{i}"
        markdown_total += _check_block(errs, block, bptr)
        if isinstance(block, dict) and isinstance(block.get("block_id"), str):
            block_id = block["block_id"]
            if block_id in seen_ids:
                errs.add(f"duplicate block_id: {block_id}", f"{bptr}/block_id")
            seen_ids.add(block_id)
    if markdown_total > MAX_MARKDOWN_BLOCK_TEXT:
        errs.add(
            f"cumulative markdown block text must be less than {MAX_MARKDOWN_BLOCK_TEXT + 1}"
            " characters",
            ptr,
        )


def validate_message_blocks(blocks: Any, *, pointer: str = "/blocks") -> list[str]:
    """Errors for a message's ``blocks`` (≤ 50 blocks); empty list when valid."""
    errs = _Errors()
    _check_blocks(errs, blocks, pointer, MAX_MESSAGE_BLOCKS)
    return errs.items


def validate_message_text(text: Any, *, pointer: str = "/text") -> list[str]:
    """Errors for a message's top-level ``text`` (≤ 40,000 characters)."""
    errs = _Errors()
    if text is None:
        return []
    if not isinstance(text, str):
        errs.add("must be a string", pointer)
    elif len(text) > MAX_MESSAGE_TEXT:
        errs.too_long(MAX_MESSAGE_TEXT, pointer)
    return errs.items


def validate_view(view: Any, *, pointer: str = "/view") -> list[str]:
    """Errors for a modal or Home tab view payload; empty list when valid."""
    errs = _Errors()
    if not isinstance(view, dict):
        errs.add("must be an object", pointer)
        return errs.items
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        errs.add("must be a valid enum value (modal, home)", f"{pointer}/type")
    blocks = view.get("blocks")
    if blocks is None:
        errs.missing("blocks", pointer)
    else:
        _check_blocks(errs, blocks, f"{pointer}/blocks", MAX_VIEW_BLOCKS)
    if vtype == "modal":
        if "title" not in view:
            errs.missing("title", pointer)
        else:
            _check_text_obj(errs, view["title"], f"{pointer}/title", 24, plain_only=True)
    elif "title" in view:
        _check_text_obj(errs, view["title"], f"{pointer}/title", 24, plain_only=True)
    for key in ("submit", "close"):
        if key in view and view[key] is not None:
            _check_text_obj(errs, view[key], f"{pointer}/{key}", 24, plain_only=True)
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if vtype == "modal" and has_input and view.get("submit") is None:
        errs.add("submit is required when an input block is present", f"{pointer}/submit")
    _check_str(errs, view, "private_metadata", pointer, 3000)
    _check_str(errs, view, "callback_id", pointer, 255)
    _check_str(errs, view, "external_id", pointer, 255)
    for key in ("clear_on_close", "notify_on_close", "submit_disabled"):
        if key in view and not isinstance(view[key], bool):
            errs.add("must be a boolean", f"{pointer}/{key}")
    return errs.items
