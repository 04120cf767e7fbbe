"""Verification: decides whether a report can go on to an agency.

For now the simplest real rule: a report with a story is verified automatically; an
empty one (no words to act on) is rejected with a reason the citizen can act on. The
5W1H checks, duplicates, scope and the verifier's console come with their own issue.

Consumes: report.submitted
Produces: report.verified, report.rejected
"""
