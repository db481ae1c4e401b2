"""A plugin written against API 1.2, as a third party would: the manifest here, the hooks
in `tests.api12.hooks`, imported only when the plugin starts."""

from nebula.api import Manifest

manifest = Manifest(
    api_version="1.2",
    description="counts starts and closes",
    hooks="tests.api12.hooks",
    config_schema={"type": "object", "additionalProperties": False,
                   "properties": {"greeting": {"type": "string", "default": "hello"}}},
)
misspelt = Manifest(api_version="1.2", hooks="tests.api12.misspelt")
