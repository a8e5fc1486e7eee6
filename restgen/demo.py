"""``restgen demo``: the shipped Mixpanel spec against the bundled simulator, into DuckDB."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from restgen.engine.run import format_summary, run_spec
from restgen.simulator import MixpanelSimulator
from restgen.spec import load_spec

logger = logging.getLogger(__name__)
DEMO_PIPELINE = "mixpanel_demo"
DEMO_USER = "demo-user"
DEMO_SECRET = "demo-secret"
# The simulator's legacy project secret, for trying the spec the way project-secret users run it.
DEMO_API_SECRET = "demo-api-secret"
DEMO_PROJECT_ID = 4242


def mixpanel_spec_path() -> Path:
    """Return configs/mixpanel.yaml: the copy inside the wheel, or the repository's."""
    packaged = resources.files("restgen").joinpath("configs", "mixpanel.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "configs" / "mixpanel.yaml"


def simulator_variables(url: str, start_date: str) -> dict[str, str]:
    """Return the spec variables that point configs/mixpanel.yaml at a simulator at ``url``."""
    return {
        "api_host": url,
        "export_host": url,
        "username": DEMO_USER,
        "secret": DEMO_SECRET,
        "project_id": str(DEMO_PROJECT_ID),
        "start_date": start_date,
    }


def run_demo(*, seed: int = 0, days: int = 14) -> int:
    """Start the simulator, load every enabled Mixpanel endpoint and print the summary."""
    with MixpanelSimulator(seed=seed, days=days, username=DEMO_USER, secret=DEMO_SECRET, project_id=DEMO_PROJECT_ID) as simulator:
        start = simulator.history_start.isoformat()
        spec = load_spec(mixpanel_spec_path(), simulator_variables(simulator.url, start), use_dlt=False)
        result = run_spec(spec, pipeline_name=DEMO_PIPELINE, full_refresh=True)
    print(format_summary(result))
    database = result.database_path or f"{DEMO_PIPELINE}.duckdb"
    query = "SELECT event, count(*) AS events FROM mixpanel.export GROUP BY event ORDER BY events DESC"
    print(f"\nLoaded into {database}. Look at the data with:\n")
    print(f"  python -c \"import duckdb; duckdb.sql(\\\"{query}\\\").show()\" # after duckdb.connect('{database}')".replace(
        "duckdb.sql", f"duckdb.connect('{database}').sql").replace(f" # after duckdb.connect('{database}')", ""))
    return 0
