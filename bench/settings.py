"""Settings for the benchmark's web server: production settings, plus the offset-pagination route.

Everything comes from terrafusion.settings (and so from the environment, as in production); only the
URLconf differs, to add /bench/offset/properties/ beside the real API.
"""

from terrafusion.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
