"""SLA: runs every clock in a report's life so that no report is forgotten.

Every event that moves a clock is kept as a fact; the report's clocks are folded again
from all its facts in time order (:mod:`sla.domain`), so events from different topics
may arrive in any order. Deadlines live in the database and the scheduler
(:mod:`sla.scheduler`) fires warnings and breaches from there exactly once, across
restarts and instances. Working days come from :mod:`sla.workdays` (national holidays
from the ``holidays`` package, cuti bersama and closures as operator data).

Consumes: report.submitted, report.verified, report.rejected, report.routed,
          report.information_requested, report.information_added, report.handling,
          report.reporter_replied
Produces: sla.deadline (opened, updated, warning, breached), report.outcome (closed,
          escalated)
"""
