"""What the wheel carries besides the `harness` package (metadata and dependencies: pyproject.toml).

`conf/` and the embedded datasets stay at the top of the repository; the wheel carries them as
package data under `harness/_data/` (`harness._data.conf` is built from `conf/`, and so on), so an
installed `harness run` finds its config, the sample dataset and the judge calibration set without
a checkout (harness/config.py: `PROJECT_ROOT`). The static site's CSS/JS are package data of
`harness.report`. Nothing is copied in the repository: the mapping happens when the wheel is built.

This is declared here rather than in pyproject.toml because `[tool.setuptools]` cannot combine
package discovery (`packages.find`) with extra packages mapped from other directories.
tests/test_packaging.py checks the built wheel.
"""

from setuptools import find_packages, setup

# package name inside the wheel -> directory in the repository
SHIPPED_DIRS = {
    "harness._data.conf": "conf",
    "harness._data.datasets": "datasets",
}

setup(
    # hydra_plugins/harness_launchers: the launchers of conf/hydra/launcher/. `hydra_plugins` is a
    # namespace package (Hydra's own plugins install into it too), which find_packages() cannot see:
    # named here, or the wheel and the editable install lack it. harness/cli.py registers the classes
    # with Hydra, because an editable install maps the module without a directory Hydra can walk.
    packages=[
        *find_packages(include=["harness", "harness.*"]),
        "hydra_plugins.harness_launchers",
        *SHIPPED_DIRS,
    ],
    package_dir=SHIPPED_DIRS,
    # Only what is listed here (not whatever git or a MANIFEST happens to track).
    include_package_data=False,
    package_data={
        "harness.report": ["site_assets/*"],
        # The fact checker's word lists and tables (read with importlib.resources).
        "harness.score.factcheck": ["data/*"],
        "harness._data.conf": ["**/*.yaml"],
        "harness._data.datasets": ["sample_ai_news/*", "judge_calibration/*"],
    },
)
