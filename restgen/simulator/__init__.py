"""Local HTTP simulators of the APIs restgen ships specs for, for tests and ``restgen demo``."""

from __future__ import annotations

from restgen.simulator.faults import Faults
from restgen.simulator.mixpanel import MixpanelSimulator
from restgen.simulator.mixpanel_app import RequestRecord
from restgen.simulator.rate_limits import Limits

__all__ = ["Faults", "Limits", "MixpanelSimulator", "RequestRecord"]
