"""Entry point of the zoneedit plugin (being built; contributes nothing yet)."""

from nebula.api import Manifest

manifest = Manifest(api_version="1.0", description="zoneedit (in progress)")
