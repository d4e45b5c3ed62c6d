"""What users ask of parity's dataset tools, and what a correct call carries.

An `Intent` is one kind of request to one tool: a few phrasings with slots,
and the arguments that the filled-in phrasing pins down. Slot pools hold
values, or dicts of related values (a conversion's quantity and units) used
as ``{slot[key]}``. An argument written exactly ``"{slot}"`` or
``"{slot[key]}"`` takes the slot's value with its type (int, list, ...).
Only arguments the message makes unambiguous are listed: a message saying
"tomorrow at 3pm" pins no ISO date, so ``start`` is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Intent:
    tool: str
    templates: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)


def _c(**kw: Any) -> dict[str, Any]:
    return kw


SLOTS: dict[str, list[Any]] = {
    "city": ["Paris", "Tokyo", "Nairobi", "Buenos Aires", "Toronto", "Mumbai", "Oslo", "Cape Town", "Seattle", "Lisbon", "Seoul", "Denver", "Melbourne", "Cairo", "Dublin", "Lima"],
    "unit": [_c(text="Celsius", v="celsius"), _c(text="Fahrenheit", v="fahrenheit")],
    "days": [2, 3, 4, 5, 7],
    "meeting": ["Budget review", "Team standup", "Dentist appointment", "Project kickoff", "Lunch with Sam", "Quarterly planning"],
    "person": [_c(name="Ana", email="ana@example.com"), _c(name="Li", email="li.wei@example.com"), _c(name="Omar", email="omar@example.org"), _c(name="Priya", email="priya@example.net")],
    "pair": [
        _c(text="ana@example.com and omar@example.org", v=["ana@example.com", "omar@example.org"]),
        _c(text="li.wei@example.com and priya@example.net", v=["li.wei@example.com", "priya@example.net"]),
        _c(text="sam@example.com, jo@example.com and kim@example.com", v=["sam@example.com", "jo@example.com", "kim@example.com"]),
    ],
    "topic_mail": [_c(subject="Running late", body="I'm running about 15 minutes late."), _c(subject="Invoice attached", body="Please find the invoice for March attached."), _c(subject="Thank you", body="Thanks for your help yesterday!")],
    "dbq": [
        _c(table="orders", text="orders over 500 dollars", column="total", op=">", value="500"),
        _c(table="customers", text="customers in Germany", column="country", op="=", value="Germany"),
        _c(table="products", text="products whose name contains 'lamp'", column="name", op="contains", value="lamp"),
        _c(table="invoices", text="invoices with status unpaid", column="status", op="=", value="unpaid"),
        _c(table="orders", text="orders placed before 2024-01-01", column="order_date", op="<", value="2024-01-01"),
    ],
    "table": [_c(text="customers", v="customers"), _c(text="products", v="products"), _c(text="invoices", v="invoices")],
    "limit": [5, 10, 20],
    "conv": [
        _c(v=5, frm="miles", to="kilometers"), _c(v=72, frm="fahrenheit", to="celsius"), _c(v=2.5, frm="liters", to="gallons"),
        _c(v=180, frm="pounds", to="kilograms"), _c(v=12, frm="inches", to="centimeters"), _c(v=3, frm="cups", to="milliliters"),
    ],
    "dir": ["/home/ana/projects", "~/Downloads", "/var/log", "./src", "/tmp/reports"],
    "file": ["notes.txt", "/etc/hosts", "~/todo.md", "./README.md", "/var/log/app.log"],
    "lines": [10, 20, 50],
    "move": [_c(src="draft.docx", dst="archive/draft.docx"), _c(src="photo1.jpg", dst="holiday.jpg"), _c(src="~/Downloads/report.pdf", dst="~/Documents/report.pdf")],
    "pay": [
        _c(amount=25, cur="USD", cur_text="dollars", name="Maria Lopez", acct="ACC-1029"),
        _c(amount=40.5, cur="EUR", cur_text="euros", name="Jonas Berg", acct="DE-88231"),
        _c(amount=120, cur="GBP", cur_text="pounds", name="Ella Reid", acct="GB-55120"),
        _c(amount=3000, cur="JPY", cur_text="yen", name="Kenji Sato", acct="JP-77410"),
    ],
    "route": [_c(a="the Louvre", b="the Eiffel Tower"), _c(a="Central Station", b="the airport"), _c(a="my hotel", b="the convention center"), _c(a="Union Square", b="Golden Gate Park")],
    "mode": [_c(text="walk", v="walking"), _c(text="take public transit", v="transit"), _c(text="cycle", v="cycling"), _c(text="drive", v="driving")],
    "place": ["pizza", "a pharmacy", "coffee", "a bookshop", "sushi", "a gas station"],
    "ticker": [_c(name="Apple", sym="AAPL"), _c(name="Microsoft", sym="MSFT"), _c(name="Tesla", sym="TSLA"), _c(name="Nvidia", sym="NVDA"), _c(name="Amazon", sym="AMZN")],
    "fx": [_c(a="US dollar", b="euro", base="USD", quote="EUR"), _c(a="British pound", b="Japanese yen", base="GBP", quote="JPY"), _c(a="euro", b="Swiss franc", base="EUR", quote="CHF"), _c(a="Canadian dollar", b="Indian rupee", base="CAD", quote="INR")],
    "phrase": ["Where is the train station?", "Thank you very much", "I would like a coffee, please", "How much does this cost?", "Good morning, everyone"],
    "lang": ["Spanish", "French", "German", "Japanese", "Italian"],
    "remind": ["call my mother", "take the laundry out", "submit the timesheet", "water the plants", "buy milk"],
    "flight": [_c(a="JFK", b="LHR", date="2025-06-12"), _c(a="SFO", b="NRT", date="2025-07-01"), _c(a="CDG", b="FCO", date="2025-05-20"), _c(a="SYD", b="AKL", date="2025-09-03")],
    "party": [_c(text="two adults", adults=2), _c(text="two adults and one child", adults=2, children=1), _c(text="three adults and two kids", adults=3, children=2)],
    "cabin": [_c(text="business class", v="business"), _c(text="first class", v="first"), _c(text="premium economy", v="premium_economy")],
    "news": ["electric cars", "the Champions League", "climate policy", "space exploration", "interest rates"],
    "n": [3, 5],
}  # fmt: skip

INTENTS: list[Intent] = [
    Intent("get_weather", ("What's the weather like in {city} right now?", "Is it raining in {city} at the moment?", "How warm is it in {city} today?"), {"location": "{city}"}),
    Intent("get_weather", ("What's the temperature in {city} in {unit[text]}?", "Current weather in {city} please, in {unit[text]}."), {"location": "{city}", "unit": "{unit[v]}"}),
    Intent("get_forecast", ("What will the weather be in {city} over the next {days} days?", "Give me a {days}-day forecast for {city}."), {"location": "{city}", "days": "{days}"}),
    Intent("create_event", ("Put '{meeting}' on my calendar for tomorrow at 3pm.", "Schedule {meeting} next Monday at 10am."), {"title": "{meeting}"}),
    Intent("create_event", ("Create a calendar event '{meeting}' on Friday at 9am and invite {pair[text]}.",), {"title": "{meeting}", "attendees": "{pair[v]}"}),
    Intent("send_email", ("Email {person[email]} with the subject '{topic_mail[subject]}' saying: {topic_mail[body]}",), {"to": ["{person[email]}"], "subject": "{topic_mail[subject]}"}),
    Intent("send_email", ("Send an email to {pair[text]}, subject '{topic_mail[subject]}', body: {topic_mail[body]}",), {"to": "{pair[v]}", "subject": "{topic_mail[subject]}"}),
    Intent("query_database", ("Look up all {dbq[text]} in the database.", "Query the database for {dbq[text]}."), {"table": "{dbq[table]}", "filter": {"column": "{dbq[column]}", "operator": "{dbq[op]}", "value": "{dbq[value]}"}}),
    Intent("query_database", ("Show me the first {limit} rows of the {table[text]} table.",), {"table": "{table[v]}", "limit": "{limit}"}),
    Intent("convert_units", ("How many {conv[to]} is {conv[v]} {conv[frm]}?", "Convert {conv[v]} {conv[frm]} to {conv[to]}."), {"value": "{conv[v]}", "from_unit": "{conv[frm]}", "to_unit": "{conv[to]}"}),
    Intent("list_directory", ("What files are in {dir}?", "List the contents of the folder {dir}."), {"path": "{dir}"}),
    Intent("list_directory", ("List everything in {dir}, hidden files included.",), {"path": "{dir}", "include_hidden": True}),
    Intent("read_file", ("Show me what's in {file}.", "Open {file} and read it to me."), {"path": "{file}"}),
    Intent("read_file", ("Read the first {lines} lines of {file}.",), {"path": "{file}", "max_lines": "{lines}"}),
    Intent("move_file", ("Move {move[src]} to {move[dst]}.", "Rename {move[src]} to {move[dst]}."), {"source": "{move[src]}", "destination": "{move[dst]}"}),
    Intent("send_payment", ("Send {pay[amount]} {pay[cur_text]} to {pay[name]}, account {pay[acct]}.", "Pay {pay[name]} (account {pay[acct]}) {pay[amount]} {pay[cur]}."), {"amount": "{pay[amount]}", "currency": "{pay[cur]}", "recipient": {"name": "{pay[name]}", "account_id": "{pay[acct]}"}}),
    Intent("get_directions", ("How do I get from {route[a]} to {route[b]}?", "Directions from {route[a]} to {route[b]}, please."), {"origin": "{route[a]}", "destination": "{route[b]}"}),
    Intent("get_directions", ("I want to {mode[text]} from {route[a]} to {route[b]}. What's the route?",), {"origin": "{route[a]}", "destination": "{route[b]}", "mode": "{mode[v]}"}),
    Intent("find_places", ("Where can I get {place} near {city}?", "Find {place} close to {city}."), {"query": "{place}", "near": "{city}"}),
    Intent("find_places", ("Find {place} near {city} that is open right now.",), {"query": "{place}", "near": "{city}", "open_now": True}),
    Intent("get_stock_quote", ("What's {ticker[name]}'s stock price right now?", "How is {ticker[sym]} trading today?"), {"symbol": "{ticker[sym]}"}),
    Intent("get_exchange_rate", ("What's the exchange rate from the {fx[a]} to the {fx[b]}?", "How many {fx[quote]} do I get for one {fx[base]}?"), {"base": "{fx[base]}", "quote": "{fx[quote]}"}),
    Intent("translate_text", ("Translate '{phrase}' into {lang}.", "How do you say '{phrase}' in {lang}?"), {"text": "{phrase}", "target_language": "{lang}"}),
    Intent("set_reminder", ("Remind me to {remind} in two hours.", "Set a reminder to {remind} tomorrow morning."), {"message": "{remind}"}),
    Intent("search_flights", ("Find flights from {flight[a]} to {flight[b]} on {flight[date]}.",), {"origin": "{flight[a]}", "destination": "{flight[b]}", "date": "{flight[date]}"}),
    Intent("search_flights", ("Search {cabin[text]} flights from {flight[a]} to {flight[b]} on {flight[date]} for {party[text]}.",), {"origin": "{flight[a]}", "destination": "{flight[b]}", "date": "{flight[date]}", "cabin": "{cabin[v]}", "passengers": {"adults": "{party[adults]}"}}),
    Intent("get_news", ("What's the latest news on {news}?", "Give me the top {n} headlines about {news}."), {"topic": "{news}"}),
]  # fmt: skip

# Two asks in one message, each needing its own call to the same tool:
# (tool, phrasing, arguments of the first call, arguments of the second).
SAME_TOOL_PAIRS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("get_weather", "What's the weather in {city} and in {city2}?", {"location": "{city}"}, {"location": "{city2}"}),
    ("get_stock_quote", "What are {ticker[sym]} and {ticker2[sym]} trading at?", {"symbol": "{ticker[sym]}"}, {"symbol": "{ticker2[sym]}"}),
    ("translate_text", "Translate '{phrase}' into {lang} and into {lang2}.", {"text": "{phrase}", "target_language": "{lang}"}, {"text": "{phrase}", "target_language": "{lang2}"}),
    ("list_directory", "List the files in {dir} and in {dir2}.", {"path": "{dir}"}, {"path": "{dir2}"}),
    ("get_forecast", "Give me a {days}-day forecast for {city} and for {city2}.", {"location": "{city}", "days": "{days}"}, {"location": "{city2}", "days": "{days}"}),
]  # fmt: skip

JOINERS = ("{a} Also, {b}", "{a} And one more thing: {b}", "Two things, please. {a} {b}")

CHIT_CHAT = [
    "Hi! How are you today?", "Thanks, that was really helpful.", "Good morning!", "Tell me a joke about cats.",
    "Can you write a haiku about autumn?", "What's your favourite colour?", "I'm bored. Any ideas for a hobby?",
    "You're doing great, thank you.", "Say hello to my daughter, she's learning English.", "Goodnight!",
    "I love rainy days, they're so cosy.", "What do you think makes a good friend?", "Can you cheer me up a bit?",
    "Write one sentence about why dogs are great.", "Let's just chat for a minute.", "I finally finished my marathon training!",
    "Do you like music?", "Give me a fun fact about octopuses.", "Suggest a name for my new goldfish.", "How's your day going?",
]  # fmt: skip

OUT_OF_SCOPE = [
    "What is the capital of Australia?", "Explain photosynthesis in two sentences.", "Who wrote Pride and Prejudice?",
    "What is 17 times 23?", "Summarise the plot of Romeo and Juliet in one line.", "What does HTTP stand for?",
    "How many legs does a spider have?", "Give me a synonym for 'happy'.", "Why is the sky blue?",
    "What year did the Berlin Wall fall?", "Write a Python one-liner that reverses a string.", "What is the boiling point of water at sea level?",
    "Name three primary colours.", "Is a tomato a fruit or a vegetable?", "What is the square root of 144?",
    "Explain what a prime number is.", "Who painted the Mona Lisa?", "What's the difference between weather and climate?",
    "Spell 'necessary' backwards.", "What is the largest ocean on Earth?",
]  # fmt: skip
