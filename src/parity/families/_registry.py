"""The registry: one entry per family, as data. Order matters only for detection:
families whose markers overlap are tried in this order, and bare families last.

Every marker, delimiter and token below is what the family's official chat
template writes; tests/families renders those templates (listed in
``templates``) and checks each entry against the result.
"""

from __future__ import annotations

from . import _parsers as p
from . import _parsers_json as pj
from ._family import Family

THINK = ("<think>", "</think>")

_IM = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
_KIMI = ("<|im_end|>", "<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>")
_DEEPSEEK = ("<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>", "<｜Assistant｜>", "<｜User｜>")
_DEEPSEEK_CALLS = ("<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>",
                   "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>")
_LLAMA3 = ("<|eot_id|>", "<|eom_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|begin_of_text|>")

FAMILIES: tuple[Family, ...] = (
    Family(
        name="kimi-k2", title="Kimi K2.x (Instruct, Thinking)", parse=p.kimi_k2,
        call_tokens=("<|tool_calls_section_begin|>", "<|tool_call_begin|>",
                     "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|tool_calls_section_end|>"),
        reasoning=(THINK,), special_tokens=_KIMI, aliases=("kimi", "kimi-k2-thinking", "k2"),
        templates=("moonshotai-Kimi-K2.jinja", "Kimi-K2-Thinking.jinja"),
    ),
    Family(
        name="kimi-k3", title="Kimi K3 (XTML)", parse=p.kimi_k3,
        call_tokens=("<|open|>tools<|sep|>", "<|open|>call "),
        reasoning=(("<|open|>think<|sep|>", "<|close|>think<|sep|>"),),
        special_tokens=("<|open|>response<|sep|>", "<|close|>response<|sep|>", "<|close|>message<|sep|>",
                        "<|open|>", "<|close|>", "<|sep|>", "<|end_of_msg|>"), aliases=("k3",),
        templates=("Kimi-K3.jinja",),
    ),
    Family(
        name="deepseek-v3", title="DeepSeek V3 / R1", parse=p.deepseek_v3,
        call_tokens=_DEEPSEEK_CALLS, reasoning=(THINK,), special_tokens=_DEEPSEEK,
        aliases=("deepseek", "deepseek-r1"),
        templates=("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",),
    ),
    Family(
        name="deepseek-v3.1", title="DeepSeek V3.1", parse=p.deepseek_v31,
        call_tokens=_DEEPSEEK_CALLS, reasoning=(THINK,), special_tokens=_DEEPSEEK,
        templates=("deepseek-ai-DeepSeek-V3.1.jinja",),
    ),
    Family(
        name="deepseek-v3.2", title="DeepSeek V3.2 (DSML)", parse=p.dsml,
        call_tokens=("<｜DSML｜function_calls>", "<｜DSML｜invoke"),
        reasoning=(THINK,), special_tokens=_DEEPSEEK,
        templates=("deepseek-ai-DeepSeek-V3.2.jinja",),
    ),
    Family(
        name="deepseek-v4", title="DeepSeek V4 (DSML)", parse=p.dsml,
        call_tokens=("<｜DSML｜tool_calls>", "<｜DSML｜invoke"),
        reasoning=(THINK,), special_tokens=_DEEPSEEK,
        templates=("deepseek-ai-DeepSeek-V4.jinja",),
    ),
    Family(
        name="glm", title="GLM 4.5-5.x", parse=p.glm,
        call_tokens=("<arg_key>", "<arg_value>"), call_markers=("<tool_call>",),
        reasoning=(THINK,),
        special_tokens=("<|user|>", "<|assistant|>", "<|observation|>", "<|system|>", "[gMASK]", "<sop>"),
        aliases=("glm-4.5", "glm-4.6", "glm-4.7", "glm-5", "zai"),
        templates=("GLM-4.6.jinja", "GLM-4.7-Flash.jinja"),
    ),
    Family(
        name="gpt-oss", title="gpt-oss (Harmony)", parse=p.harmony,
        call_tokens=("<|call|>",), call_markers=("to=functions.",),
        # Analysis ends at <|end|>; the final channel's header marks where the answer starts; and
        # "…assistantfinal…" is what a server that drops special tokens leaves between the two.
        reasoning=(("<|channel|>analysis<|message|>", "<|end|>"), ("<|channel|>final<|message|>", ""),
                   ("", "assistantfinal")),
        special_tokens=("<|start|>assistant", "<|start|>", "<|end|>", "<|message|>", "<|channel|>",
                        "<|return|>", "<|constrain|>"),
        aliases=("harmony", "gpt-oss-120b", "gpt-oss-20b"),
        templates=("openai-gpt-oss-120b.jinja",),
    ),
    Family(
        name="qwen3-coder", title="Qwen3-Coder / Qwen3.5 (XML calls)", parse=p.qwen3_coder,
        call_markers=("<tool_call>", "<function=", "<parameter="), reasoning=(THINK,), special_tokens=_IM,
        aliases=("qwen3.5", "qwen3-xml"),
        templates=("Qwen3-Coder.jinja",),
    ),
    Family(
        name="qwen3", title="Qwen3 / Qwen2.5 / Hermes (JSON in <tool_call>)", parse=pj.hermes,
        call_markers=("<tool_call>",), reasoning=(THINK,), special_tokens=_IM,
        aliases=("qwen", "qwen2.5", "qwq", "hermes"),
        templates=("Qwen-Qwen3-0.6B.jinja", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"),
    ),
    Family(
        name="minimax-m2", title="MiniMax-M2", parse=p.minimax_m2,
        call_markers=("<minimax:tool_call>", "<invoke name="), reasoning=(THINK,),
        special_tokens=("]~b]", "]~!b[", "[e~["), aliases=("minimax",),
        templates=("MiniMax-M2.jinja",),
    ),
    Family(
        name="minimax-m1", title="MiniMax-M1", parse=pj.minimax_m1,
        call_markers=("<tool_calls>",), reasoning=(THINK,),
        special_tokens=("<beginning_of_sentence>", "<end_of_sentence>"),
        templates=("MiniMax-M1.jinja",),
    ),
    Family(
        name="mistral", title="Mistral ([TOOL_CALLS])", parse=pj.mistral,
        call_tokens=("[TOOL_CALLS]", "[CALL_ID]", "[ARGS]"), reasoning=(("[THINK]", "[/THINK]"),),
        special_tokens=("[INST]", "[/INST]", "</s>", "[TOOL_RESULTS]", "[/TOOL_RESULTS]",
                        "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]"),
        aliases=("mistral-small", "mistral-nemo", "magistral", "devstral", "ministral"),
        templates=("mistralai-Mistral-Nemo-Instruct-2407.jinja", "Mistral-Small-3.2-24B-Instruct-2506.jinja"),
    ),
    Family(
        name="gemma4", title="Gemma 4", parse=p.gemma4,
        call_tokens=("<|tool_call>", "<tool_call|>"), reasoning=(("<|channel>", "<channel|>"),),
        special_tokens=("<|turn>", "<turn|>", '<|"|>', "<|tool_response>", "<tool_response|>", "<|think|>"),
        aliases=("gemma", "gemma-4"),
        templates=("google-gemma-4-31B-it.jinja",),
    ),
    Family(
        name="llama3", title="Llama 3.x (JSON, <|python_tag|>)", parse=pj.llama3,
        call_tokens=("<|python_tag|>",), bare=True, special_tokens=_LLAMA3,
        aliases=("llama-3", "llama3.1", "llama3.2", "llama3.3"),
        templates=("meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.3-70B-Instruct.jinja"),
    ),
    Family(
        name="llama4", title="Llama 4 (pythonic)", parse=pj.pythonic, bare=True,
        special_tokens=("<|eot|>", "<|eom|>", "<|header_start|>", "<|header_end|>",
                        "<|python_start|>", "<|python_end|>"),
        aliases=("llama-4", "pythonic"),
        templates=("vllm-llama4-pythonic.jinja",),
    ),
    Family(
        name="generic", title="Generic (a JSON call object as the whole answer)", parse=pj.generic_json,
        bare=True, reasoning=(THINK, ("<thinking>", "</thinking>")),
    ),
)
