"""Case work between the SCC, operators and agencies (issue 18): referral packages, messages and data requests.

Layer: above audits (it reads flags, filings, transfers and the audit log), below api (which serves the
packages to agencies). The pages below it never import it: the flag page links to its download view by
URL name, and a referral builds its package through the Flag post_save receiver this app connects.
"""
