"""Context-window optimisation (Activity 1): ignore rules, a context loader, priority loading.

- `rules`: gitignore-style ignore rules (through `pathspec`) plus explicit `@max-size` rules, with
  warnings for lines that do not do what they seem to say (such as the guide's `**/*.json > 100KB`);
- `loader`: walk and read a project as an agent would, reporting files, bytes, tokens and wall time;
- `priority`: the guide's loading order (CLAUDE.md, task files, dependencies, background) in a budget;
- `sample`: the course's generated sample project (a podcast-production repository).
"""

from .errors import BudgetError, ContextError, IgnoreRuleError
from .loader import (CATEGORIES, Category, Excluded, FileEntry, Listing, LoadReport, Skipped, Walk,
                     by_category, category, fmt_wall, list_dir, load, missing, walk)
from .priority import TIERS, Placement, PriorityLoad, load_by_priority
from .rules import (IgnoreRules, IgnoreRuleWarning, Rule, RuleWarning, SizeRule, parse_rules, parse_size,
                    read_rules)
from .sample import SampleProject, sample_project

__all__ = ["BudgetError", "CATEGORIES", "Category", "ContextError", "Excluded", "FileEntry", "IgnoreRuleError",
           "IgnoreRuleWarning", "IgnoreRules", "Listing", "LoadReport", "Placement", "PriorityLoad", "Rule",
           "RuleWarning", "SampleProject", "SizeRule", "Skipped", "TIERS", "Walk", "by_category", "category",
           "fmt_wall", "list_dir", "load", "load_by_priority", "missing", "parse_rules", "parse_size", "read_rules",
           "sample_project", "walk"]
