"""Tasks are data: one YAML file is one task, in lm-evaluation-harness's format; prompts are built as lm-eval does.

``load_task`` reads a task (or group) by name from the shipped tasks (``jazari_nlp/evaluation/tasks/``) and any
folders the user names, or from a file path. ``Task.build_requests`` renders every example of the evaluation split
into a :class:`Request`: the full prompt (description, few-shot examples, the question) and the continuations to
score, byte-identical to lm-eval 0.4's ``ConfigurableTask`` for the same YAML and data. A row that cannot be used
(an empty field, an answer index out of range, an empty choice list) becomes a Request with ``skipped`` set to the
reason, never dropped; problems known before any work (a missing file, split or field) are a :class:`TaskError`.

Example::

    task = load_task("jazari_example_mc")
    for req in task.build_requests(num_fewshot=3, limit=2):
        print(req.context + req.continuations[req.gold])
"""


# The task is split along its seams; every name stays importable from here:
# task_data (paths, reading the data), task_prompts (lm-eval's templates and turns), task_requests (Task,
# Request), task_registry (groups, finding tasks by name, export to lm-eval).
from jazari_nlp.evaluation.task_config import TaskError
from jazari_nlp.evaluation.task_data import (
    DATA_ROOT_VAR,
    DEFAULT_DATA_ROOT,
    PACKAGE_TASKS,
    TEXT_FORMATS,
    TaskData,
    data_root,
    expand_path,
    utf8_problem,
)
from jazari_nlp.evaluation.task_prompts import render, template_fields
from jazari_nlp.evaluation.task_registry import (
    TaskGroup,
    TaskInfo,
    export_lm_eval,
    list_tasks,
    load_task,
    load_tasks,
)
from jazari_nlp.evaluation.task_requests import Request, Task

__all__ = ["Task", "TaskInfo", "Request", "TaskError", "render", "template_fields", "utf8_problem", "PACKAGE_TASKS",
           "data_root", "expand_path", "DATA_ROOT_VAR", "DEFAULT_DATA_ROOT", "TEXT_FORMATS", "TaskData",
           "TaskGroup", "load_task", "load_tasks", "list_tasks", "export_lm_eval"]
