"""Notifications: tells the reporter what happened to their report.

It is one of only two services that hold contact data: it learns it from intake's
private, compacted ``reporter.contact`` topic, keyed by the opaque reporter reference
that report events carry. For now messages go through a logging sender (the address is
masked in the log); SMS through Kannel, email and webhooks come with their own issue.

Consumes: report.submitted, report.rejected, report.routed, reporter.contact (private)
Produces: notification.sent
"""
