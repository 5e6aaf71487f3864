# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One agent-neutral log collection model, rendered as Promtail YAML or Grafana Alloy syntax.

The code lives in four modules; this one re-exports their public names so that callers keep one
import (``module_utils.log_agents``):

- ``log_agent_model``: the role inputs, their problems (``input_problems``, ``stage_problems``)
  and the model (``model``);
- ``promtail_config``: ``promtail_config``, ``validate_promtail``, ``describe_promtail``;
- ``alloy_syntax``: ``Ref``, ``Block``, ``alloy_string``, ``alloy_value``, ``render_alloy``,
  ``parse_alloy``, ``AlloySyntaxError``;
- ``alloy_config``: ``alloy_blocks``, ``alloy_config``, ``validate_alloy``, ``describe_alloy``,
  ``ALLOY_COMPONENTS``.
"""

from __future__ import annotations

from ansible_collections.monitoring.stack.plugins.module_utils.alloy_config import (
    ALLOY_COMPONENTS,
    alloy_blocks,
    alloy_config,
    describe_alloy,
    validate_alloy,
)
from ansible_collections.monitoring.stack.plugins.module_utils.alloy_syntax import (
    AlloySyntaxError,
    Block,
    Ref,
    alloy_string,
    alloy_value,
    parse_alloy,
    render_alloy,
)
from ansible_collections.monitoring.stack.plugins.module_utils.log_agent_model import (
    AGENTS,
    DEFAULT_STAGES,
    HTTP_URL,
    JOURNAL_JOB,
    JOURNAL_RELABEL,
    STAGE_TYPES,
    component_name,
    input_problems,
    model,
    stage_problems,
)
from ansible_collections.monitoring.stack.plugins.module_utils.promtail_config import (
    describe_promtail,
    promtail_config,
    validate_promtail,
)

__all__ = [
    "AGENTS",
    "ALLOY_COMPONENTS",
    "AlloySyntaxError",
    "Block",
    "DEFAULT_STAGES",
    "HTTP_URL",
    "JOURNAL_JOB",
    "JOURNAL_RELABEL",
    "Ref",
    "STAGE_TYPES",
    "alloy_blocks",
    "alloy_config",
    "alloy_string",
    "alloy_value",
    "component_name",
    "describe_alloy",
    "describe_promtail",
    "input_problems",
    "model",
    "parse_alloy",
    "promtail_config",
    "render_alloy",
    "stage_problems",
    "validate_alloy",
    "validate_promtail",
]
