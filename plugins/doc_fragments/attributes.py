# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `attributes` every monitoring.stack module shares.

A module extends one check/diff fragment, one platform fragment and, when it belongs to a
module_defaults group, one action-group fragment; its own DOCUMENTATION only adds `details`.
"""

from __future__ import annotations


class ModuleDocFragment(object):
    # Check mode and diff mode, both fully supported.
    CHECK_DIFF = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

    # Modules that only read: check mode runs everything, there is nothing to diff.
    CHECK_ONLY = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

    PLATFORM_AWS = r"""
attributes:
  platform:
    description: Runs where the task runs (usually C(localhost)) and talks to the AWS APIs.
    support: full
    platforms: aws
"""

    PLATFORM_GRAFANA = r"""
attributes:
  platform:
    description: Runs where the task runs (usually C(localhost)) and talks to Grafana over HTTP(S).
    support: full
    platforms: all
"""

    PLATFORM_POSIX = r"""
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
"""

    ACTION_GROUP_AWS = r"""
attributes:
  action_group:
    description: Use C(group/monitoring.stack.aws) in C(module_defaults) to set the AWS options once.
    support: full
    membership: [monitoring.stack.aws]
"""

    ACTION_GROUP_GRAFANA = r"""
attributes:
  action_group:
    description: Use C(group/monitoring.stack.grafana) in C(module_defaults) to set the Grafana connection options once.
    support: full
    membership: [monitoring.stack.grafana]
"""
