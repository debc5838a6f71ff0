"""The audit itself as lineage: the headline verdicts as a facet of the result dataset."""

from __future__ import annotations

import hashlib

from audit import AuditResult
from lineage._facets import AuditResultDatasetFacet, plain

__all__ = ["audit_result_facet"]


def audit_result_facet(
    result: AuditResult, *, result_bytes: bytes | None = None
) -> AuditResultDatasetFacet:
    """The ``fairtrail_auditResult`` facet: status, policy and each criterion's verdict.

    Parameters
    ----------
    result : AuditResult
    result_bytes : bytes, optional
        The bundle's ``result.json``; its sha256 is recorded.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit import parse_spec, run_audit
    >>> df = pd.DataFrame({"y": [0, 1] * 200, "p": [1, 0, 0, 0, 1, 1, 1, 0] * 50,
    ...                    "g": (["a"] * 4 + ["b"] * 4) * 50})
    >>> spec = parse_spec({"data": {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]},
    ...                    "policy": {"thresholds": {"demographic_parity_ratio": 0.8}}})
    >>> facet = audit_result_facet(run_audit(spec, df))
    >>> facet.status, [(c["criterion"], c["verdict"]) for c in facet.criteria]
    ('fail', [('demographic_parity_ratio', 'fail')])
    """
    criteria = []
    for c in result.criteria:
        entry = {
            "criterion": c.criterion,
            "attribute": c.attribute,
            "verdict": c.verdict,
            "threshold": c.threshold,
            "estimate": c.estimate.value,
            "lower": c.estimate.lower,
            "upper": c.estimate.upper,
            "undefinedReason": c.estimate.undefined_reason,
        }
        criteria.append(plain(entry))
    return AuditResultDatasetFacet(
        auditId=result.audit_id,
        status=result.status,
        criteria=criteria,
        policyName=result.policy_name,
        policyVersion=result.policy_version,
        task=result.task,
        rowCount=int(result.data.n_rows),
        sensitiveFeatures=list(result.data.sensitive_features),
        resultSha256=hashlib.sha256(result_bytes).hexdigest() if result_bytes else None,
    )
