"""Client scope policies, apart from the records (models.py): the authorizer's scope
checks read them without loading every record class (a cold start pays each import).
"""

from __future__ import annotations

# What a client gets when it asks for scopes it may not have (RFC 6749 3.3): `strict` refuses
# the request (invalid_scope); `subset` grants the scopes it may have and says so in `scope`.
# Clients an operator registers are strict unless told; dynamically registered ones (RFC
# 7591, metadata documents) get DYNAMIC_SCOPE_POLICY: MCP clients ask for every scope.
STRICT, SUBSET = "strict", "subset"
SCOPE_POLICIES = (STRICT, SUBSET)
DYNAMIC_SCOPE_POLICY = SUBSET
