"""Intake: where citizens meet the platform.

Takes reports (REST API now; web, SMS and Open311 later), stores them with the
reporter's contact data, gives a tracking number, and keeps each report's status and
history from the lifecycle events so the citizen can follow it.

Consumes: report.verified, report.rejected, report.routed, sla.deadline, notification.sent
Produces: report.submitted, reporter.contact (private: notifications only)
"""
