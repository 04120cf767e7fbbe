"""Routing: decides which agency must answer each verified report.

For now a small table: national authorities by category (electricity to PLN, police
service to Polri), then the regency/city government by Kemendagri code, then the
province, then the national administrator for a manual disposition. The real area
data, the agency directory and dispositions come with their own issue.

Consumes: report.verified
Produces: report.routed
"""
