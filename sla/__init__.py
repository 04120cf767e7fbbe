"""SLA: runs the clocks in a report's life so that no report is forgotten.

For now: when a report is routed, the agency's first-response clock opens with a
deadline 5 working days later (weekends skipped; holidays, cuti bersama, warnings and
breaches come with their own issue).

Consumes: report.routed
Produces: sla.deadline
"""
