"""The ``conformance`` tool set: the fixture the official MCP conformance suite expects.

Names, arguments and returned content follow the suite's server scenarios exactly; a tenant
with this set enabled can be tested with ``conformance server --url .../mcp/<slug>``.
"""

from tools.conformance.resources import PROMPTS, RESOURCES, TEMPLATES
from tools.conformance.tools import TOOLS
from tools.registry import ToolSet, register

CONFORMANCE = register(
    ToolSet(
        name="conformance",
        tools=TOOLS,
        resources=RESOURCES,
        templates=TEMPLATES,
        prompts=PROMPTS,
        instructions="Test fixture for the MCP conformance suite.",
        description=(
            "The fixture of tools, resources and prompts the official MCP conformance suite "
            "expects. For test deployments only."
        ),
        internal=True,
    )
)
