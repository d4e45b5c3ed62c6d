"""The tools parity's own tool-call dataset offers, as OpenAI function definitions.

Kept apart from the generator so the data reads as data. Descriptions are short
on purpose: the testbed serves a 135M-parameter model with a 2k context, and
three of these tools plus a conversation must fit with room to answer.
"""

from __future__ import annotations

from typing import Any


def _tool(
    name: str, description: str, props: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": props, "required": required},
        },
    }


def _s(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _enum(description: str, values: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": values, "description": description}


def _int(description: str, lo: int | None = None, hi: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "integer", "description": description}
    if lo is not None:
        spec["minimum"] = lo
    if hi is not None:
        spec["maximum"] = hi
    return spec


_UNIT = _enum("Temperature unit.", ["celsius", "fahrenheit"])
_EMAILS = {"type": "array", "items": {"type": "string"}, "description": "Email addresses."}

TOOLS: dict[str, dict[str, Any]] = {
    t["function"]["name"]: t
    for t in [
        _tool(
            "get_weather",
            "Current weather for a city.",
            {"location": _s("City name, e.g. Paris."), "unit": _UNIT},
            ["location"],
        ),
        _tool(
            "get_forecast",
            "Daily weather forecast for a city.",
            {"location": _s("City name."), "days": _int("Number of days, 1 to 7.", 1, 7), "unit": _UNIT},
            ["location", "days"],
        ),
        _tool(
            "create_event",
            "Create a calendar event.",
            {
                "title": _s("Event title."),
                "start": _s("Start, ISO 8601 date-time, e.g. 2025-03-14T15:00."),
                "duration_minutes": _int("Length in minutes.", 1),
                "attendees": _EMAILS,
            },
            ["title", "start"],
        ),
        _tool(
            "send_email",
            "Send an email.",
            {"to": _EMAILS, "subject": _s("Subject line."), "body": _s("Message text."), "cc": _EMAILS},
            ["to", "subject", "body"],
        ),
        _tool(
            "query_database",
            "Query a table of the company database.",
            {
                "table": _enum("Table name.", ["orders", "customers", "products", "invoices"]),
                "filter": {
                    "type": "object",
                    "description": "Row filter.",
                    "properties": {
                        "column": _s("Column name."),
                        "operator": _enum("Comparison.", ["=", ">", "<", "contains"]),
                        "value": _s("Value to compare with."),
                    },
                    "required": ["column", "operator", "value"],
                },
                "limit": _int("Maximum rows.", 1),
            },
            ["table"],
        ),
        _tool(
            "convert_units",
            "Convert a quantity between units.",
            {
                "value": {"type": "number", "description": "Quantity."},
                "from_unit": _s("Unit to convert from."),
                "to_unit": _s("Unit to convert to."),
            },
            ["value", "from_unit", "to_unit"],
        ),
        _tool(
            "list_directory",
            "List the files in a directory.",
            {
                "path": _s("Directory path."),
                "include_hidden": {"type": "boolean", "description": "Also list dotfiles."},
            },
            ["path"],
        ),
        _tool(
            "read_file",
            "Read a text file.",
            {"path": _s("File path."), "max_lines": _int("Stop after this many lines.", 1)},
            ["path"],
        ),
        _tool(
            "move_file",
            "Move or rename a file.",
            {"source": _s("Current path."), "destination": _s("New path.")},
            ["source", "destination"],
        ),
        _tool(
            "send_payment",
            "Send money to a recipient.",
            {
                "amount": {"type": "number", "description": "Amount to send.", "exclusiveMinimum": 0},
                "currency": _enum("Currency code.", ["USD", "EUR", "GBP", "JPY", "INR"]),
                "recipient": {
                    "type": "object",
                    "properties": {"name": _s("Recipient name."), "account_id": _s("Recipient account id.")},
                    "required": ["name", "account_id"],
                },
                "note": _s("Payment reference."),
            },
            ["amount", "currency", "recipient"],
        ),
        _tool(
            "get_directions",
            "Route between two places.",
            {
                "origin": _s("Start address or place."),
                "destination": _s("End address or place."),
                "mode": _enum("Travel mode.", ["driving", "walking", "transit", "cycling"]),
            },
            ["origin", "destination"],
        ),
        _tool(
            "find_places",
            "Find places such as restaurants or shops near a location.",
            {
                "query": _s("What to look for, e.g. pizza."),
                "near": _s("Location to search around."),
                "open_now": {"type": "boolean", "description": "Only places open now."},
                "max_results": _int("Maximum results.", 1, 20),
            },
            ["query", "near"],
        ),
        _tool("get_stock_quote", "Latest price of a stock.", {"symbol": _s("Ticker symbol, e.g. AAPL.")}, ["symbol"]),
        _tool(
            "get_exchange_rate",
            "Exchange rate between two currencies.",
            {"base": _s("ISO 4217 code to convert from."), "quote": _s("ISO 4217 code to convert to.")},
            ["base", "quote"],
        ),
        _tool(
            "translate_text",
            "Translate text into another language.",
            {"text": _s("Text to translate."), "target_language": _s("Language name, e.g. Spanish.")},
            ["text", "target_language"],
        ),
        _tool(
            "set_reminder",
            "Set a reminder.",
            {"message": _s("What to be reminded of."), "time": _s("When, e.g. 2025-03-14T09:00 or 'in 2 hours'.")},
            ["message", "time"],
        ),
        _tool(
            "search_flights",
            "Search flights.",
            {
                "origin": _s("Departure airport IATA code."),
                "destination": _s("Arrival airport IATA code."),
                "date": _s("Departure date, YYYY-MM-DD."),
                "passengers": {
                    "type": "object",
                    "properties": {"adults": _int("Adults.", 1), "children": _int("Children.", 0)},
                    "required": ["adults"],
                },
                "cabin": _enum("Cabin class.", ["economy", "premium_economy", "business", "first"]),
            },
            ["origin", "destination", "date"],
        ),
        _tool(
            "get_news",
            "Latest news headlines on a topic.",
            {"topic": _s("Topic."), "max_items": _int("How many headlines.", 1, 10)},
            ["topic"],
        ),
    ]
}  # fmt: skip

# Tools a message is easily confused with: offered together in "choice" cases.
CONFUSABLE: dict[str, list[str]] = {
    "get_weather": ["get_forecast", "find_places"],
    "get_forecast": ["get_weather", "set_reminder"],
    "create_event": ["set_reminder", "send_email"],
    "send_email": ["create_event", "translate_text"],
    "query_database": ["read_file", "get_news"],
    "convert_units": ["get_exchange_rate", "get_weather"],
    "list_directory": ["read_file", "move_file"],
    "read_file": ["list_directory", "query_database"],
    "move_file": ["list_directory", "read_file"],
    "send_payment": ["get_exchange_rate", "send_email"],
    "get_directions": ["find_places", "search_flights"],
    "find_places": ["get_directions", "get_weather"],
    "get_stock_quote": ["get_exchange_rate", "get_news"],
    "get_exchange_rate": ["convert_units", "get_stock_quote"],
    "translate_text": ["send_email", "get_news"],
    "set_reminder": ["create_event", "send_email"],
    "search_flights": ["get_directions", "get_forecast"],
    "get_news": ["get_stock_quote", "find_places"],
}
