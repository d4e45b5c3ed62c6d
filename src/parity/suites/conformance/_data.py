"""The fixed material the probes send: tools, prompts and the long filler text.

Every probe's bodies differ from every other's (a test pins it): the store
keys an exchange by its body, so two probes sending the same body would share
one answer.
"""

from __future__ import annotations

from typing import Any


def _tool(name: str, description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": props, "required": required},
    }}


WEATHER = _tool(
    "get_weather", "Get the current weather in a city. Use it for any question about weather.",
    {"city": {"type": "string", "description": "City name, e.g. Paris"},
     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    ["city"],
)
STOCK = _tool(
    "get_stock_price", "Get the latest trading price of a stock by its ticker symbol.",
    {"ticker": {"type": "string", "description": "Ticker symbol, e.g. AAPL"}},
    ["ticker"],
)
ORDER = _tool(
    "lookup_order", "Look up the shipping status of a customer order by its order id.",
    {"order_id": {"type": "string", "description": "Order id, e.g. A-1234"}},
    ["order_id"],
)
TOOLS = [WEATHER, STOCK, ORDER]

SYSTEM_TOOLS = "You are a helpful assistant. Use the tools when they can answer the question."

# Questions only a tool can answer: the model cannot know today's values.
NEEDS_TOOL = (
    ("weather", "What is the weather in Paris right now?", WEATHER),
    ("stock", "What is the current stock price of the ticker ZQXW?", STOCK),
    ("order", "Where is my order A-7731? Please check its shipping status.", ORDER),
    ("weather2", "Is it raining in Tokyo at the moment?", WEATHER),
)

PLAIN_QUESTION = "Explain in three sentences why the sky is blue."
STORY = "Write a long story about a lighthouse keeper and a storm."

PARALLEL = (
    ("cities", "What is the weather in Paris and what is the weather in London? "
               "Call the tool once for each city."),
    ("tickers", "Get the stock prices of AAPL and of MSFT. Call the tool once for each ticker."),
)

CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "country": {"type": "string"},
        "population_millions": {"type": "number"},
    },
    "required": ["city", "country", "population_millions"],
    "additionalProperties": False,
}

NEEDLE = "ORCHID-7419"
_FILLER = (
    "The village library opened at nine every morning. Readers came for newspapers, "
    "for novels and for the warm reading room. The librarian stamped the cards, "
    "shelved the returned books and answered questions about local history. "
)


def long_prompt(repeat_filler: int = 22) -> str:
    """About 1,200 tokens for SmolLM2's tokenizer: a needle first, filler, then the question.

    The testbed's model serves a 2,048-token slot; the prompt must fit with room
    for the answer, yet be long enough that a truncating server cuts the needle.
    """
    head = f"Remember this code: {NEEDLE}. You will be asked for it at the end.\n\n"
    tail = "\n\nWhat was the code given at the very beginning? Answer with the code only."
    return head + _FILLER * repeat_filler + tail


REPETITIVE = ("Write the word banana banana banana banana banana banana banana banana "
              "banana banana, over and over, as many times as you can.")
